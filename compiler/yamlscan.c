/* Block-subset scanner: the YAML that kubectl and generators write, read without libyaml.
 *
 * The subset: printable ASCII and newlines; `---` between documents; block mappings and block
 * sequences (indentless ones too, as kubectl writes them, and `- key: v` compact mappings);
 * plain scalars on one line; single- and double-quoted scalars on one line (escapes \\ \" \n
 * \t); flow collections on one line of plain or quoted scalars (`{}`, `[{}]`,
 * `{app: web}`); comments. Anything else (tabs, CR, UTF-8, block scalars, tags, anchors,
 * multi-line scalars, `...`, directives, empty sequence entries, JSON over several lines,
 * errors of any kind) returns -1, and the reader hands the whole stream to libyaml.
 *
 * Where the subset and YAML agree, the events are libyaml's, marks included: the tests compare
 * the two (reader.h). Being strict costs only speed; being lax would change meaning.
 */
#include "reader.h"

#include <stdlib.h>
#include <string.h>

enum line_kind { LINE_CONTENT, LINE_DOCUMENT, LINE_EOF };

struct scan {
	const char *t;
	size_t len;
	size_t p;   /* cursor */
	size_t bol; /* start of the cursor's line */
	int line;   /* 0-based */
	int indent; /* of the current content line */
	enum line_kind at;
	int depth;
	struct yevent_vec *out;
};

/* Deeper than the reader's own limit can be, so that libyaml reports it. */
enum { MAX_NESTING = 300, MAX_KEY_CHARS = 1000 };

static char ch_at(const struct scan *s, size_t k)
{
	return s->p + k < s->len ? s->t[s->p + k] : '\n';
}

static char ch(const struct scan *s)
{
	return ch_at(s, 0);
}

static bool is_blank_or_end(char c)
{
	return c == ' ' || c == '\n';
}

static struct yevent *emit_at(struct scan *s, enum yevent_type type, size_t at)
{
	struct yevent_vec *ev = s->out;
	if (ev->n == ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 1024;
		ev->v = xrealloc(ev->v, ev->cap * sizeof(*ev->v));
	}
	struct yevent *e = &ev->v[ev->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->line = s->line;
	e->col = (int)(at - s->bol);
	e->index = at;
	return e;
}

static struct yevent *emit(struct scan *s, enum yevent_type type)
{
	return emit_at(s, type, s->p);
}

static void emit_scalar(struct scan *s, size_t at, const char *value, size_t len, bool quoted)
{
	struct yevent *e = emit_at(s, YEV_SCALAR, at);
	e->value = value;
	e->len = len;
	e->quoted = quoted;
}

static bool descend(struct scan *s)
{
	return ++s->depth <= MAX_NESTING;
}

static void skip_spaces(struct scan *s)
{
	while (s->p < s->len && s->t[s->p] == ' ')
		s->p++;
}

static void next_line_start(struct scan *s)
{
	const char *nl = memchr(s->t + s->p, '\n', s->len - s->p);
	s->p = nl ? (size_t)(nl - s->t) + 1 : s->len;
	s->bol = s->p;
	s->line++;
}

/* "---" or "..." at the start of a line, then a blank: a document marker. */
static bool is_marker(const struct scan *s, char c)
{
	return ch(s) == c && ch_at(s, 1) == c && ch_at(s, 2) == c;
}

/* Moves to the next line with content, past blank and comment-only lines. */
static int find_content(struct scan *s)
{
	for (;;) {
		skip_spaces(s);
		if (s->p >= s->len) {
			s->at = LINE_EOF;
			return 0;
		}
		char c = s->t[s->p];
		if (c == '\n' || c == '#') {
			next_line_start(s);
			continue;
		}
		s->indent = (int)(s->p - s->bol);
		s->at = LINE_CONTENT;
		if (s->indent > 0)
			return 0;
		if (c == '%' || is_marker(s, '.'))
			return -1; /* directives and document ends: libyaml's business */
		if (is_marker(s, '-')) {
			if (!is_blank_or_end(ch_at(s, 3)))
				return -1; /* "---x" is a scalar */
			s->at = LINE_DOCUMENT;
		}
		return 0;
	}
}

/* The rest of the line must be blank or a comment; then on to the next content line. */
static int end_line(struct scan *s)
{
	size_t value_end = s->p;
	skip_spaces(s);
	if (ch(s) != '\n' && (ch(s) != '#' || s->p == value_end))
		return -1;
	next_line_start(s);
	return find_content(s);
}

static bool is_seq_entry(const struct scan *s)
{
	return ch(s) == '-' && is_blank_or_end(ch_at(s, 1));
}

/* Can a plain scalar start here? Indicators start other tokens (or are libyaml's to judge). */
static bool plain_start(const struct scan *s)
{
	char c = ch(s);
	if (c == '-')
		return !is_blank_or_end(ch_at(s, 1));
	return !strchr("?:,[]{}#&*!|>'\"%@`\n ", c);
}

/* Where the quoted scalar starting at the cursor ends (past the closing quote), or 0. */
static size_t quoted_end(const struct scan *s, bool *escaped)
{
	char q = ch(s);
	*escaped = false;
	for (size_t i = s->p + 1; i < s->len && s->t[i] != '\n'; i++) {
		char c = s->t[i];
		if (q == '\'' && c == '\'') {
			if (i + 1 < s->len && s->t[i + 1] == '\'') {
				*escaped = true;
				i++;
				continue;
			}
			return i + 1;
		}
		if (q == '"' && c == '\\') {
			if (i + 1 >= s->len || !memchr("\\\"nt", s->t[i + 1], 4))
				return 0;
			*escaped = true;
			i++;
			continue;
		}
		if (q == '"' && c == '"')
			return i + 1;
	}
	return 0;
}

static const char *unescape(struct scan *s, const char *from, size_t len, char q, size_t *out)
{
	char *v = arena_alloc(&s->out->scratch, len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = from[i];
		if (q == '\'' && c == '\'')
			i++;
		else if (q == '"' && c == '\\')
			c = from[++i] == 'n' ? '\n' : from[i] == 't' ? '\t' : from[i];
		v[n++] = c;
	}
	*out = n;
	return v;
}

static int quoted(struct scan *s)
{
	bool escaped;
	size_t end = quoted_end(s, &escaped);
	if (!end)
		return -1;
	const char *body = s->t + s->p + 1;
	size_t len = end - s->p - 2;
	if (escaped)
		body = unescape(s, body, len, ch(s), &len);
	emit_scalar(s, s->p, body, len, true);
	s->p = end;
	return 0;
}

/* A block mapping key and its ':'. */
static int block_key(struct scan *s)
{
	size_t start = s->p;
	if (ch(s) == '"' || ch(s) == '\'') {
		if (quoted(s) < 0)
			return -1;
	} else {
		if (!plain_start(s))
			return -1;
		size_t i = s->p;
		while (i < s->len && s->t[i] != '\n' &&
		       !(s->t[i] == ':' && (i + 1 == s->len || is_blank_or_end(s->t[i + 1])))) {
			if (s->t[i] == '#' && s->t[i - 1] == ' ')
				return -1;
			i++;
		}
		if (i >= s->len || s->t[i] != ':' || s->t[i - 1] == ' ')
			return -1;
		emit_scalar(s, start, s->t + start, i - start, false);
		s->p = i;
	}
	if (s->p - start > MAX_KEY_CHARS || ch(s) != ':' || !is_blank_or_end(ch_at(s, 1)))
		return -1;
	s->p++;
	return 0;
}

/* Does the line from the cursor hold "key:"? */
static bool line_has_key(const struct scan *s)
{
	size_t i = s->p;
	if (ch(s) == '[' || ch(s) == '{')
		return false; /* a flow collection: its colons are its own */
	if (ch(s) == '"' || ch(s) == '\'') {
		bool escaped;
		i = quoted_end(s, &escaped);
		return i && i < s->len && s->t[i] == ':';
	}
	for (; i < s->len && s->t[i] != '\n'; i++) {
		if (s->t[i] == '#' && i > s->p && s->t[i - 1] == ' ')
			return false;
		if (s->t[i] == ':' && (i + 1 == s->len || is_blank_or_end(s->t[i + 1])))
			return true;
	}
	return false;
}

/* ---- flow collections, on one line */

static int flow_node(struct scan *s);

static int flow_plain(struct scan *s)
{
	if (!plain_start(s))
		return -1;
	size_t start = s->p;
	while (s->p < s->len && !strchr(" ,[]{}#:'\"\n", s->t[s->p]))
		s->p++;
	emit_scalar(s, start, s->t + start, s->p - start, false);
	return 0;
}

static int flow_collection(struct scan *s)
{
	bool map = ch(s) == '{';
	char close = map ? '}' : ']';
	emit(s, map ? YEV_MAPPING_START : YEV_SEQUENCE_START);
	s->p++;
	skip_spaces(s);
	for (bool first = true; !(first && ch(s) == close); first = false) {
		if (map) {
			size_t key = s->p;
			if ((ch(s) == '"' || ch(s) == '\'' ? quoted(s) : flow_plain(s)) < 0 ||
			    s->p - key > MAX_KEY_CHARS || ch(s) != ':' || ch_at(s, 1) != ' ')
				return -1;
			s->p++;
			skip_spaces(s);
		}
		if (flow_node(s) < 0)
			return -1;
		skip_spaces(s);
		if (ch(s) == close)
			break;
		if (ch(s) != ',')
			return -1;
		s->p++;
		skip_spaces(s);
		if (ch(s) == close || ch(s) == ',')
			return -1; /* empty entries */
	}
	s->p++;
	emit(s, map ? YEV_MAPPING_END : YEV_SEQUENCE_END);
	return 0;
}

static int flow_node(struct scan *s)
{
	if (!descend(s))
		return -1;
	int rc = ch(s) == '[' || ch(s) == '{'	 ? flow_collection(s)
		 : ch(s) == '"' || ch(s) == '\'' ? quoted(s)
						 : flow_plain(s);
	s->depth--;
	return rc;
}

/* ---- block collections */

static int block_node(struct scan *s);
static int block_map(struct scan *s);

/* A value on the key's or the entry's line: a scalar or a flow collection. */
static int inline_value(struct scan *s)
{
	char c = ch(s);
	if (c == '"' || c == '\'')
		return quoted(s);
	if (c == '[' || c == '{')
		return flow_node(s);
	if (!plain_start(s))
		return -1;
	size_t start = s->p, end = s->p;
	for (size_t i = s->p; i < s->len && s->t[i] != '\n'; i++) {
		if (s->t[i] == '#' && s->t[i - 1] == ' ')
			break;
		if (s->t[i] == ':' && (i + 1 == s->len || is_blank_or_end(s->t[i + 1])))
			return -1; /* "a: b: c" */
		if (s->t[i] != ' ')
			end = i + 1;
	}
	emit_scalar(s, start, s->t + start, end - start, false);
	s->p = end;
	return 0;
}

/* The sequence whose first '-' is at the cursor. An indentless one (a mapping's value at the
 * mapping's own column) ends at the first line there that is not an entry. */
static int block_seq(struct scan *s, bool indentless)
{
	int col = (int)(s->p - s->bol);
	if (!descend(s))
		return -1;
	emit(s, YEV_SEQUENCE_START);
	for (;;) {
		size_t after_dash = ++s->p;
		skip_spaces(s);
		int rc;
		if (ch(s) == '\n' || ch(s) == '#') {
			s->p = after_dash; /* end_line wants the blank before a comment */
			rc = end_line(s);
			if (rc == 0 && (s->at != LINE_CONTENT || s->indent <= col))
				return -1; /* an empty entry */
			if (rc == 0)
				rc = block_node(s);
		} else if (is_seq_entry(s)) {
			return -1; /* "- - a" */
		} else if (line_has_key(s)) {
			rc = block_map(s);
		} else {
			rc = inline_value(s);
			if (rc == 0)
				rc = end_line(s);
		}
		if (rc < 0)
			return -1;
		if (s->at != LINE_CONTENT || s->indent < col)
			break;
		if (s->indent > col)
			return -1;
		if (!is_seq_entry(s)) {
			if (indentless)
				break;
			return -1;
		}
	}
	emit(s, YEV_SEQUENCE_END);
	s->depth--;
	return 0;
}

/* The value after "key:" when the line ends there. libyaml marks an empty value just past the
 * ':'. */
static int block_value_below(struct scan *s, int col, size_t after_colon, int colon_line)
{
	size_t bol = s->bol;
	if (end_line(s) < 0)
		return -1;
	if (s->at == LINE_CONTENT && s->indent > col)
		return block_node(s);
	if (s->at == LINE_CONTENT && s->indent == col && is_seq_entry(s))
		return block_seq(s, true);
	struct yevent *e = emit_at(s, YEV_SCALAR, after_colon);
	e->line = colon_line;
	e->col = (int)(after_colon - bol);
	e->value = "";
	return 0;
}

static int block_map(struct scan *s)
{
	int col = (int)(s->p - s->bol);
	if (!descend(s))
		return -1;
	emit(s, YEV_MAPPING_START);
	for (;;) {
		if (block_key(s) < 0)
			return -1;
		size_t after_colon = s->p;
		int colon_line = s->line;
		skip_spaces(s);
		int rc;
		if (ch(s) == '\n' || ch(s) == '#') {
			s->p = after_colon; /* end_line wants the blank before a comment */
			rc = block_value_below(s, col, after_colon, colon_line);
		} else {
			rc = inline_value(s);
			if (rc == 0)
				rc = end_line(s);
		}
		if (rc < 0)
			return -1;
		if (s->at != LINE_CONTENT || s->indent < col)
			break;
		if (s->indent > col || is_seq_entry(s))
			return -1;
	}
	emit(s, YEV_MAPPING_END);
	s->depth--;
	return 0;
}

static int block_node(struct scan *s)
{
	return is_seq_entry(s) ? block_seq(s, false) : block_map(s);
}

/* ---- the stream */

static void empty_document(struct scan *s)
{
	emit_scalar(s, s->p, "", 0, false);
	emit(s, YEV_DOCUMENT_END);
}

static bool printable_ascii(const char *t, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if ((c < 0x20 && c != '\n') || c > 0x7e)
			return false;
	}
	return true;
}

static int scan_stream(struct scan *s)
{
	emit(s, YEV_STREAM_START);
	bool explicit_open = false; /* a "---" whose document has no content yet */
	if (find_content(s) < 0)
		return -1;
	while (s->at != LINE_EOF) {
		if (s->at == LINE_DOCUMENT) {
			if (explicit_open)
				empty_document(s);
			emit(s, YEV_DOCUMENT_START);
			explicit_open = true;
			s->p += 3;
			if (end_line(s) < 0)
				return -1;
			continue;
		}
		if (!explicit_open)
			emit(s, YEV_DOCUMENT_START);
		explicit_open = false;
		if (s->indent != 0 || block_node(s) < 0 || s->at == LINE_CONTENT)
			return -1;
		emit(s, YEV_DOCUMENT_END);
	}
	if (explicit_open)
		empty_document(s);
	emit(s, YEV_STREAM_END);
	return 0;
}

int yaml_scan_fast(const char *text, size_t len, struct yevent_vec *out)
{
	if (!printable_ascii(text, len))
		return -1;
	struct scan s = {.t = text, .len = len, .out = out};
	if (scan_stream(&s) < 0) {
		out->n = 0;
		return -1;
	}
	return 0;
}

void yaml_scan_terminate(const char *text, char *copy, size_t len, struct yevent_vec *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		struct yevent *e = &ev->v[i];
		if (e->type != YEV_SCALAR || e->value < text || e->value >= text + len)
			continue;
		char *v = copy + (e->value - text);
		v[e->len] = 0;
		e->value = v;
		e->in_place = true;
	}
}

void yevent_vec_free(struct yevent_vec *ev)
{
	free(ev->v);
	arena_free(&ev->scratch);
	memset(ev, 0, sizeof(*ev));
}

static bool yevent_same(const struct yevent *x, const struct yevent *y)
{
	if (x->type != y->type)
		return false;
	bool positioned =
	    x->type == YEV_SCALAR || x->type == YEV_SEQUENCE_START || x->type == YEV_MAPPING_START;
	if (positioned && (x->line != y->line || x->col != y->col))
		return false;
	if (x->type != YEV_SCALAR)
		return true;
	return x->quoted == y->quoted && x->len == y->len &&
	       (x->len == 0 || memcmp(x->value, y->value, x->len) == 0);
}

size_t yevent_vec_mismatch(const struct yevent_vec *a, const struct yevent_vec *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++)
		if (!yevent_same(&a->v[i], &b->v[i]))
			return i;
	return a->n == b->n ? (size_t)-1 : n;
}
