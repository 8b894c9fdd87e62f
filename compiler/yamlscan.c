/* Block-subset scanner: the YAML that kubectl and generators write, read without libyaml.
 *
 * The subset: printable ASCII, LF or CRLF line breaks; `---` between documents; block mappings
 * and block sequences (indentless ones too, as kubectl writes them, and `- key: v` compact
 * mappings); plain, single- and double-quoted scalars (JSON's escapes), over several lines
 * too, as go-yaml folds long strings; literal block scalars (`|`, `|-`); flow collections of
 * plain or quoted scalars (`{}`, `[{}]`, `{app: web}`), on one line, or over many as a
 * document's root (JSON); comments. Anything else (tabs, lone CRs, UTF-8, folded block
 * scalars, tags, anchors, `...`, directives, empty sequence entries, errors of any kind)
 * returns -1, and the reader hands the whole stream to libyaml.
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
	bool flow_lines; /* inside a document's root flow collection (JSON): breaks are blanks */
	struct yevent_vec *out;
};

/* A 16 MiB document can hold millions of events, all kept until the tree is built. */
_Static_assert(sizeof(struct yevent) <= 48, "struct yevent grew");

/* Nesting deeper than the reader's limit can ever be (255), and keys near libyaml's limit for
 * a simple key (1024 characters), are libyaml's to read and to report. */
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

/* "---" or "..." at the cursor: a document marker if a blank follows (the callers look). */
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
static bool plain_start_at(const struct scan *s, size_t at)
{
	char c = at < s->len ? s->t[at] : '\n';
	if (c == '-')
		return at + 1 < s->len && !is_blank_or_end(s->t[at + 1]);
	return !strchr("?:,[]{}#&*!|>'\"%@`\n ", c);
}

static bool plain_start(const struct scan *s)
{
	return plain_start_at(s, s->p);
}

/* A line inside a quoted scalar that spans lines: blank, or deeper than the enclosing block
 * collection (stricter than libyaml, which checks nothing here). So no line at column 0, and
 * no document marker, is ever inside one. */
static bool quoted_line_ok(const struct scan *s, size_t bol, int block_col)
{
	size_t q = bol;
	while (q < s->len && s->t[q] == ' ')
		q++;
	return q >= s->len || s->t[q] == '\n' || (int)(q - bol) > block_col;
}

/* The length of the escape at t (a backslash in a double-quoted scalar), or 0 for one left to
 * libyaml: \\ \" \/ \b \f \n \r \t, and \uXXXX for a character other than NUL and the
 * surrogates (JSON writers escape so; Go's writes <, > and & as \u003c, \u003e, \u0026). */
static size_t escape_len(const char *t, size_t avail)
{
	if (avail >= 2 && memchr("\\\"/bfnrt", t[1], 8))
		return 2;
	if (avail < 6 || t[1] != 'u')
		return 0;
	unsigned cp = 0;
	for (int k = 2; k < 6; k++) {
		char c = t[k];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return 0;
		cp = cp * 16 + (unsigned)d;
	}
	return cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : 6;
}

/* Writes the character of the valid escape at t (UTF-8 for \u); returns the bytes written. */
static size_t decode_escape(const char *t, char *out)
{
	static const char from[] = "\\\"/bfnrt", to[] = "\\\"/\b\f\n\r\t";
	const char *k = memchr(from, t[1], 8);
	if (k) {
		*out = to[k - from];
		return 1;
	}
	unsigned cp = (unsigned)strtoul((char[]){t[2], t[3], t[4], t[5], 0}, NULL, 16);
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | cp >> 12);
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* Where the quoted scalar starting at the cursor ends (past the closing quote), or 0. It may
 * span lines only when block_col >= 0 (a value in a block collection at that column); keys and
 * flow collections keep to one line. *decode says the value is not the text between quotes. */
static size_t quoted_end(const struct scan *s, int block_col, bool *decode)
{
	char q = ch(s);
	*decode = false;
	for (size_t i = s->p + 1; i < s->len; i++) {
		char c = s->t[i];
		if (c == '\n') {
			if (block_col < 0 || !quoted_line_ok(s, i + 1, block_col))
				return 0;
			*decode = true;
		} else if (q == '\'' && c == '\'') {
			if (i + 1 < s->len && s->t[i + 1] == '\'') {
				*decode = true;
				i++;
				continue;
			}
			return i + 1;
		} else if (q == '"' && c == '\\') {
			size_t k = escape_len(s->t + i, s->len - i);
			if (!k)
				return 0;
			*decode = true;
			i += k - 1;
		} else if (q == '"' && c == '"') {
			return i + 1;
		}
	}
	return 0;
}

/* The value of a quoted scalar from the text between its quotes, as libyaml reads it: escapes
 * decoded; across lines, blanks around each line break dropped and the break folded: one
 * break becomes a space, n+1 breaks (blank lines between) become n newlines. */
static const char *decode_quoted(struct scan *s, const char *from, size_t len, char q, size_t *out)
{
	char *v = arena_alloc(&s->out->scratch, len + 1);
	size_t n = 0, solid = 0; /* solid: v's length without trailing blanks from the text */
	for (size_t i = 0; i < len;) {
		char c = from[i];
		if (c == '\n') {
			n = solid;
			size_t breaks = 0;
			for (i++; i < len && (from[i] == ' ' || from[i] == '\n'); i++)
				breaks += from[i] == '\n';
			if (!breaks)
				v[n++] = ' ';
			while (breaks--)
				v[n++] = '\n';
			solid = n;
			continue;
		}
		if (c == ' ') {
			v[n++] = ' ';
			i++;
			continue;
		}
		if (q == '"' && c == '\\') {
			n += decode_escape(from + i, v + n);
			i += escape_len(from + i, len - i);
		} else {
			v[n++] = c;
			i += q == '\'' && c == '\'' ? 2 : 1; /* '' is one quote */
		}
		solid = n;
	}
	*out = n;
	return v;
}

static int quoted(struct scan *s, int block_col)
{
	bool decode;
	size_t end = quoted_end(s, block_col, &decode);
	if (!end)
		return -1;
	const char *body = s->t + s->p + 1;
	size_t len = end - s->p - 2;
	if (decode)
		body = decode_quoted(s, body, len, ch(s), &len);
	emit_scalar(s, s->p, body, len, true);
	for (; s->p < end; s->p++)
		if (s->t[s->p] == '\n') {
			s->line++;
			s->bol = s->p + 1;
		}
	return 0;
}

/* A block mapping key and its ':'. */
static int block_key(struct scan *s)
{
	size_t start = s->p;
	if (ch(s) == '"' || ch(s) == '\'') {
		if (quoted(s, -1) < 0)
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
		bool decode;
		i = quoted_end(s, -1, &decode);
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

/* ---- flow collections: on one line, or over many as a document's root (JSON) */

static int flow_node(struct scan *s);

/* Blanks inside a flow collection, and line breaks in a root one. A document marker there is
 * libyaml's error to report. */
static int flow_skip(struct scan *s)
{
	for (;;) {
		skip_spaces(s);
		if (!s->flow_lines || s->p >= s->len || s->t[s->p] != '\n')
			return 0;
		next_line_start(s);
		if (is_marker(s, '-') || is_marker(s, '.'))
			return -1;
	}
}

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
	if (flow_skip(s) < 0)
		return -1;
	for (bool first = true; !(first && ch(s) == close); first = false) {
		if (map) {
			size_t key = s->p;
			if ((ch(s) == '"' || ch(s) == '\'' ? quoted(s, -1) : flow_plain(s)) < 0 ||
			    s->p - key > MAX_KEY_CHARS || ch(s) != ':' || ch_at(s, 1) != ' ')
				return -1;
			s->p++;
			skip_spaces(s); /* the value is on the key's line */
		}
		if (flow_node(s) < 0 || flow_skip(s) < 0)
			return -1;
		if (ch(s) == close)
			break;
		if (ch(s) != ',')
			return -1;
		s->p++;
		if (flow_skip(s) < 0 || ch(s) == close || ch(s) == ',')
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
		 : ch(s) == '"' || ch(s) == '\'' ? quoted(s, -1)
						 : flow_plain(s);
	s->depth--;
	return rc;
}

/* ---- block collections */

static int block_node(struct scan *s);
static int block_map(struct scan *s);
static int inline_value(struct scan *s, int block_col);

/* Spaces at the start of the line at bol, and whether nothing else is on it. */
static int line_indent(const struct scan *s, size_t bol, bool *blank)
{
	size_t q = bol;
	while (q < s->len && s->t[q] == ' ')
		q++;
	*blank = q >= s->len || s->t[q] == '\n';
	return (int)(q - bol);
}

/* A literal block scalar ("|" or "|-", as kubectl writes last-applied-configuration), from
 * its indicator to the next content line. Its indentation is that of its first line, which must
 * be deeper than the enclosing collection's column (block_col); lines holding only spaces, and
 * empty lines before the first, are libyaml's to judge. Clipped ("|"), the value keeps one
 * final line break; stripped ("|-"), none. */
static int block_literal(struct scan *s, int block_col)
{
	size_t event = s->out->n;
	emit_scalar(s, s->p, "", 0, true);
	s->p++;
	bool strip = ch(s) == '-';
	s->p += strip;
	skip_spaces(s);
	if (s->p >= s->len || s->t[s->p] != '\n')
		return -1; /* indentation indicators, "+", comments, the end of the input */
	next_line_start(s);
	bool blank;
	int indent = line_indent(s, s->bol, &blank);
	if (blank || indent <= block_col)
		return -1;
	/* find the last line of the scalar: lines as deep as its first, and empty lines between */
	size_t first = s->bol, end = s->bol, bol = s->bol;
	bool broken = false; /* the last line ends with a line break */
	for (;;) {
		int sp = line_indent(s, bol, &blank);
		if (blank && sp > 0)
			return -1;
		if (bol >= s->len || (!blank && sp < indent))
			break;
		const char *nl = memchr(s->t + bol, '\n', s->len - bol);
		size_t eol = nl ? (size_t)(nl - s->t) : s->len;
		if (!blank) {
			end = eol;
			broken = nl != NULL;
		}
		bol = nl ? eol + 1 : s->len;
	}
	char *v = arena_alloc(&s->out->scratch, end - first + 2);
	size_t n = 0;
	for (size_t at = first; at < end;) {
		const char *nl = memchr(s->t + at, '\n', end - at);
		size_t eol = nl ? (size_t)(nl - s->t) : end;
		if (eol > at) { /* not an empty line */
			memcpy(v + n, s->t + at + indent, eol - at - (size_t)indent);
			n += eol - at - (size_t)indent;
		}
		if (eol < end)
			v[n++] = '\n';
		at = eol + 1;
	}
	if (broken && !strip)
		v[n++] = '\n';
	s->out->v[event].value = v;
	s->out->v[event].len = n;
	/* on to the line after the scalar's last one */
	while (s->bol < end) {
		s->p = s->bol;
		next_line_start(s);
	}
	s->p = s->bol;
	return find_content(s);
}

/* A value after "key: " or "- ", then the rest of its line: a scalar or a flow collection on
 * the line, or a literal block scalar below it. */
static int value_then_line(struct scan *s, int block_col)
{
	if (ch(s) == '|')
		return block_literal(s, block_col);
	int rc = inline_value(s, block_col);
	return rc < 0 ? rc : end_line(s);
}

/* Where the plain scalar's text on this line ends (trailing blanks left out), or 0 when a ": "
 * makes the line libyaml's. *comment says a " #" ended it. */
static size_t plain_line_end(const struct scan *s, size_t from, bool *comment)
{
	size_t end = from;
	*comment = false;
	for (size_t i = from; i < s->len && s->t[i] != '\n'; i++) {
		if (s->t[i] == '#' && i > from && s->t[i - 1] == ' ') {
			*comment = true;
			break;
		}
		if (s->t[i] == ':' && (i + 1 == s->len || is_blank_or_end(s->t[i + 1])))
			return 0; /* "a: b: c" */
		if (s->t[i] != ' ')
			end = i + 1;
	}
	return end;
}

/* A plain scalar, and the lines that continue it: those deeper than the enclosing block
 * collection's column, until a comment. As in a quoted scalar, one line break folds to a space
 * and n+1 to n newlines. */
static int plain_value(struct scan *s, int block_col)
{
	bool comment;
	size_t start = s->p, end = plain_line_end(s, start, &comment);
	if (!end)
		return -1;
	struct strbuf folded = {0};
	while (!comment && block_col >= 0) {
		size_t i = end, breaks = 0, next_bol = s->bol; /* the rest of end's line is blank */
		for (; i < s->len && (s->t[i] == ' ' || s->t[i] == '\n'); i++)
			if (s->t[i] == '\n') {
				breaks++;
				next_bol = i + 1;
			}
		if (i >= s->len || (int)(i - next_bol) <= block_col || s->t[i] == '#')
			break;
		size_t e = plain_start_at(s, i) ? plain_line_end(s, i, &comment) : 0;
		if (!e) {
			sb_free(&folded);
			return -1;
		}
		if (!folded.len)
			sb_add(&folded, s->t + start, end - start);
		if (breaks == 1)
			sb_add(&folded, " ", 1);
		while (--breaks)
			sb_add(&folded, "\n", 1);
		sb_add(&folded, s->t + i, e - i);
		end = e;
	}
	const char *value = s->t + start;
	size_t len = end - start;
	if (folded.len) {
		value = arena_strndup(&s->out->scratch, folded.s, folded.len);
		len = folded.len;
	}
	emit_scalar(s, start, value, len, false);
	sb_free(&folded);
	for (; s->p < end; s->p++)
		if (s->t[s->p] == '\n') {
			s->line++;
			s->bol = s->p + 1;
		}
	return 0;
}

/* A value on the key's or the entry's line: a scalar or a flow collection. Quoted and plain
 * scalars may go on over the following lines, as go-yaml (kubectl) folds long strings. */
static int inline_value(struct scan *s, int block_col)
{
	char c = ch(s);
	if (c == '"' || c == '\'')
		return quoted(s, block_col);
	if (c == '[' || c == '{')
		return flow_node(s);
	if (!plain_start(s))
		return -1;
	return plain_value(s, block_col);
}

/* After an entry of the block collection at col: 1 when the next content line is at col too,
 * 0 when the collection has ended (a line to its left, a document marker, the end), -1 when
 * the line is deeper (continuing nothing the scanner knows: libyaml's to judge). */
static int next_at_column(const struct scan *s, int col)
{
	if (s->at != LINE_CONTENT || s->indent < col)
		return 0;
	return s->indent > col ? -1 : 1;
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
			rc = value_then_line(s, col);
		}
		int more = rc < 0 ? -1 : next_at_column(s, col);
		if (more < 0 || (more && !is_seq_entry(s) && !indentless))
			return -1;
		if (!more || !is_seq_entry(s))
			break;
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
			rc = value_then_line(s, col);
		}
		int more = rc < 0 ? -1 : next_at_column(s, col);
		if (more < 0 || (more && is_seq_entry(s)))
			return -1;
		if (!more)
			break;
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

/* libyaml marks an empty document's null where the next token starts: the next "---", or the
 * end of the stream, which it moves to the start of a new line when the last line has no
 * line break. */
static void empty_document(struct scan *s)
{
	emit_scalar(s, s->p, "", 0, false);
	if (s->at == LINE_EOF && s->p > s->bol) {
		s->out->v[s->out->n - 1].line = s->line + 1;
		s->out->v[s->out->n - 1].col = 0;
	}
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

/* A document's root: a block collection, or a flow one that may span lines (JSON). */
static int root_node(struct scan *s)
{
	if (ch(s) != '[' && ch(s) != '{')
		return block_node(s);
	s->flow_lines = true;
	int rc = flow_node(s);
	s->flow_lines = false;
	return rc < 0 ? rc : end_line(s);
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
		if (s->indent != 0 || root_node(s) < 0 || s->at == LINE_CONTENT)
			return -1;
		emit(s, YEV_DOCUMENT_END);
	}
	if (explicit_open)
		empty_document(s);
	emit(s, YEV_STREAM_END);
	return 0;
}

/* Windows line breaks: libyaml reads CRLF as one break, so the scanner reads the text with
 * the CRs taken out. A CR anywhere else is libyaml's. */
static const char *without_crlf(const char *text, size_t *len, struct yevent_vec *out)
{
	if (!memchr(text, '\r', *len))
		return text;
	char *u = out->unix_text = xmalloc(*len + 1);
	size_t n = 0;
	for (size_t i = 0; i < *len; i++) {
		if (text[i] == '\r') {
			if (i + 1 >= *len || text[i + 1] != '\n')
				return NULL;
			continue;
		}
		u[n++] = text[i];
	}
	*len = n;
	return u;
}

int yaml_scan_fast(const char *text, size_t len, struct yevent_vec *out)
{
	text = without_crlf(text, &len, out);
	if (!text || !printable_ascii(text, len))
		return -1;
	out->base = text;
	out->base_len = len;
	struct scan s = {.t = text, .len = len, .out = out};
	if (scan_stream(&s) < 0) {
		out->n = 0;
		return -1;
	}
	return 0;
}

void yaml_scan_terminate(struct yevent_vec *ev, char *copy)
{
	const char *text = ev->base;
	for (size_t i = 0; i < ev->n; i++) {
		struct yevent *e = &ev->v[i];
		if (e->type != YEV_SCALAR || e->value < text || e->value >= text + ev->base_len)
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
	free(ev->unix_text);
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
