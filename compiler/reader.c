/* Reader: YAML or JSON stream -> positioned node tree, with explicit limits.
 *
 * Two front ends produce one event stream (reader.h): the block-subset scanner (yamlscan.c)
 * for the plain style that kubectl and generators write, and libyaml's event parser for
 * everything else and for every error. A small stack machine builds the tree from the events.
 * We refuse what Kubernetes manifests never need and attackers love (anchors, aliases, deep
 * nesting, huge documents), and what silently changes meaning (duplicate keys). Input is pulled
 * in chunks: a stream that fits the document limit is read whole and offered to the scanner;
 * a larger one streams through libyaml, so a huge document is refused after reading just past
 * the limit, never slurped whole.
 */
#include "reader.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

void reader_default_limits(struct reader_limits *lim)
{
	lim->max_document_bytes = 16u << 20;
	lim->max_input_bytes = 1u << 30;
	lim->max_depth = 64;
	lim->libyaml_only = false;
}

struct reader {
	struct arena *a;
	FILE *in;
	struct source *src;
	const struct reader_limits *lim;
	struct diag_sink *d;
	size_t cap;	  /* of src->text */
	size_t pos;	  /* bytes of src->text handed to libyaml */
	size_t doc_start; /* offset where the current document began */
	bool eof;	  /* src->text holds the whole input */
	bool over_doc;	  /* the read handler stopped at the document limit */
	bool over_input;  /* ... at the input limit */
	bool io_error;
};

/* Appends up to want bytes of input to src->text (kept NUL-terminated for carets). */
static int read_more(struct reader *r, size_t want)
{
	if (r->src->len + want + 1 > r->cap) {
		while (r->src->len + want + 1 > r->cap)
			r->cap = r->cap ? r->cap * 2 : 65536;
		r->src->text = xrealloc(r->src->text, r->cap);
	}
	size_t n = fread(r->src->text + r->src->len, 1, want, r->in);
	r->src->len += n;
	r->src->text[r->src->len] = 0;
	if (n < want) {
		if (ferror(r->in)) {
			r->io_error = true;
			return -1;
		}
		r->eof = true;
	}
	return 0;
}

/* Reads until the end of the input or just past the document limit, whichever comes first. */
static void read_ahead(struct reader *r)
{
	while (!r->eof && !r->io_error && r->src->len <= r->lim->max_document_bytes &&
	       r->src->len <= r->lim->max_input_bytes)
		read_more(r, 65536);
}

/* libyaml pulls bytes through here, from what was read ahead and then from the input. */
static int read_handler(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct reader *r = data;
	*size_read = 0;
	if (r->pos - r->doc_start > r->lim->max_document_bytes) {
		r->over_doc = true;
		return 0;
	}
	if (r->pos > r->lim->max_input_bytes) {
		r->over_input = true;
		return 0;
	}
	if (r->pos == r->src->len && !r->eof && read_more(r, size) < 0)
		return 0;
	size_t n = r->src->len - r->pos < size ? r->src->len - r->pos : size;
	memcpy(buf, r->src->text + r->pos, n);
	r->pos += n;
	*size_read = n;
	return 1;
}

/* Events count lines and columns (in characters) from 0; we report 1-based. */
static struct node *new_node(struct reader *r, enum node_kind k, const struct yevent *e)
{
	struct node *n = arena_alloc(r->a, sizeof(*n));
	n->kind = k;
	n->src = r->src;
	n->line = e->line + 1;
	n->col = e->col + 1;
	return n;
}

static int line_of_offset(const struct source *s, size_t off, int *col)
{
	int line = 1;
	size_t bol = 0;
	for (size_t i = 0; i < off && i < s->len; i++)
		if (s->text[i] == '\n') {
			line++;
			bol = i + 1;
		}
	/* columns count characters, as libyaml's marks do: the bytes before off are valid UTF-8,
	 * so each byte that does not continue a sequence starts one */
	int chars = 0;
	for (size_t i = bol; i < off && i < s->len; i++)
		chars += ((unsigned char)s->text[i] & 0xc0) != 0x80;
	*col = chars + 1;
	return line;
}

static const char *TEMPLATE_HINT =
    "render it first (helm template, or the tool that owns it) and lint the output";

static bool looks_like_template(const struct source *s)
{
	return s->text && (strstr(s->text, "{{") != NULL);
}

/* Turns libyaml's parser error into one located diagnostic. */
static void report_parser_error(struct reader *r, yaml_parser_t *p)
{
	const char *path = r->src->path;
	if (r->over_doc) {
		int col;
		int line = line_of_offset(r->src, r->doc_start, &col);
		diag_pos(r->d, R_YAML_SIZE, r->src, path, line, col,
			 "split the document, or raise the limit with --max-document-size",
			 "document starting here is larger than the limit of %zu bytes",
			 r->lim->max_document_bytes);
		return;
	}
	if (r->over_input) {
		diag_pos(r->d, R_YAML_SIZE, NULL, path, 0, 0,
			 "split the input, or raise the limit with --max-input-size",
			 "input is larger than the limit of %zu bytes", r->lim->max_input_bytes);
		return;
	}
	if (r->io_error) {
		diag_pos(r->d, R_IO, NULL, path, 0, 0, NULL, "read failed: %s", strerror(errno));
		return;
	}
	int line, col;
	if (p->error == YAML_READER_ERROR) {
		line = line_of_offset(r->src, p->problem_offset, &col);
		unsigned byte = p->problem_offset < r->src->len
				    ? (unsigned char)r->src->text[p->problem_offset]
				    : (unsigned)p->problem_value & 0xff;
		diag_pos(r->d, R_YAML_UTF8, r->src, path, line, col,
			 "save the file as UTF-8 (Kubernetes accepts nothing else)",
			 "%s (byte 0x%02x at offset %zu)", p->problem ? p->problem : "bad input",
			 byte, p->problem_offset);
		return;
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	/* "found unexpected end of stream" is where the file ends; point at what was left open. */
	if (p->problem && strstr(p->problem, "end of stream") && p->context) {
		line = (int)p->context_mark.line + 1;
		col = (int)p->context_mark.column + 1;
	}
	if (looks_like_template(r->src)) {
		diag_pos(r->d, R_YAML_TEMPLATE, r->src, path, line, col, TEMPLATE_HINT,
			 "this looks like a Go or Helm template, not YAML (%s)",
			 p->problem ? p->problem : "syntax error");
		return;
	}
	diag_pos(r->d, R_YAML_SYNTAX, r->src, path, line, col,
		 p->context ? "check indentation and quoting near here" : NULL, "%s%s%s",
		 p->problem ? p->problem : "syntax error", p->context ? " " : "",
		 p->context ? p->context : "");
}

static int cmp_keys(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	int c = memcmp(x->str, y->str, x->len);
	if (c)
		return c;
	return x->line != y->line ? x->line - y->line : x->col - y->col;
}

/* Duplicate keys silently drop data in most YAML loaders; we refuse them. O(n log n), and one
 * diagnostic per repeated key however often it repeats, so a hostile mapping with a key
 * 100,000 times costs one message, not 100,000. */
static bool check_duplicate_keys(struct reader *r, struct node *map)
{
	if (map->n < 2)
		return true;
	struct node **sorted = xmalloc(map->n * sizeof(*sorted));
	memcpy(sorted, map->keys, map->n * sizeof(*sorted));
	sort_items(sorted, map->n, sizeof(*sorted), cmp_keys);
	bool ok = true;
	for (size_t i = 0; i < map->n;) {
		size_t run = 1;
		while (i + run < map->n && sorted[i]->len == sorted[i + run]->len &&
		       memcmp(sorted[i]->str, sorted[i + run]->str, sorted[i]->len) == 0)
			run++;
		if (run > 1) {
			struct node *first = sorted[i], *again = sorted[i + 1];
			char hint[128];
			snprintf(hint, sizeof hint, "the first \"%.40s\" is at line %d; keep one",
				 first->str, first->line);
			if (run > 2)
				diag_at(r->d, R_YAML_DUPLICATE_KEY, again, hint,
					"duplicate key \"%s\" (%zu times in this mapping)",
					again->str, run);
			else
				diag_at(r->d, R_YAML_DUPLICATE_KEY, again, hint,
					"duplicate key \"%s\"", again->str);
			ok = false;
		}
		i += run;
	}
	free(sorted);
	return ok;
}

/* A container under construction. Its children wait on the builder's shared stacks, from
 * keys_base and vals_base up, so that building a node costs no allocation of its own. */
struct frame {
	struct node *node;
	size_t keys_base, vals_base;
	struct node *pending_key; /* maps: key waiting for its value */
};

struct builder {
	struct frame stack[256];
	int depth;
	bool failed;
	struct ptrvec keys, vals; /* children of every open frame, innermost last */
	struct ptrvec *docs;
	int doc_index;
};

static void attach(struct builder *b, struct frame *f, struct node *child)
{
	if (f->node->kind == NODE_SEQ) {
		ptrvec_push(&b->vals, child);
	} else if (!f->pending_key) {
		f->pending_key = child;
	} else {
		ptrvec_push(&b->keys, f->pending_key);
		ptrvec_push(&b->vals, child);
		f->pending_key = NULL;
	}
}

static struct node **take(struct reader *r, struct ptrvec *from, size_t base)
{
	size_t n = from->n - base;
	struct node **v = arena_alloc(r->a, (n ? n : 1) * sizeof(struct node *));
	if (n)
		memcpy(v, from->v + base, n * sizeof(struct node *));
	from->n = base;
	return v;
}

static bool finish_frame(struct reader *r, struct builder *b, struct frame *f)
{
	struct node *n = f->node;
	n->n = b->vals.n - f->vals_base;
	n->vals = take(r, &b->vals, f->vals_base);
	if (n->kind == NODE_MAP)
		n->keys = take(r, &b->keys, f->keys_base);
	return n->kind != NODE_MAP || check_duplicate_keys(r, n);
}

static const char *ALIAS_HINT =
    "write the value out in full; polc refuses anchors and aliases so that an alias bomb "
    "cannot exhaust memory";

static bool open_collection(struct reader *r, struct builder *b, const struct yevent *e)
{
	if (b->depth >= r->lim->max_depth || b->depth >= 255) {
		diag_pos(r->d, R_YAML_DEPTH, r->src, r->src->path, e->line + 1, e->col + 1,
			 "flatten the structure; policies need far less nesting",
			 "nesting deeper than the limit of %d", r->lim->max_depth);
		return false;
	}
	struct node *n = new_node(r, e->type == YEV_MAPPING_START ? NODE_MAP : NODE_SEQ, e);
	if (b->depth > 0 && b->stack[b->depth - 1].node->kind == NODE_MAP &&
	    !b->stack[b->depth - 1].pending_key) {
		if (looks_like_template(r->src))
			diag_at(r->d, R_YAML_TEMPLATE, n, TEMPLATE_HINT,
				"this looks like a Go or Helm template, not YAML");
		else
			diag_at(r->d, R_YAML_SYNTAX, n, "use a plain string as the key",
				"complex mapping keys are not supported");
		return false;
	}
	b->stack[b->depth++] =
	    (struct frame){.node = n, .keys_base = b->keys.n, .vals_base = b->vals.n};
	return true;
}

/* Handles one event; returns false on a fatal error (already reported). */
static bool on_event(struct reader *r, struct builder *b, const struct yevent *e)
{
	struct node *n = NULL;
	if (e->type == YEV_ALIAS || e->anchor) {
		diag_pos(r->d, R_YAML_ALIAS, r->src, r->src->path, e->line + 1, e->col + 1,
			 ALIAS_HINT, "%s \"%s\" is not allowed",
			 e->type == YEV_ALIAS ? "alias" : "anchor",
			 e->type == YEV_ALIAS ? e->value : e->anchor);
		return false;
	}
	switch (e->type) {
	case YEV_DOCUMENT_START:
		r->doc_start = e->index;
		return true;
	case YEV_SCALAR:
		n = new_node(r, NODE_SCALAR, e);
		n->str = e->in_place ? (char *)e->value : arena_strndup(r->a, e->value, e->len);
		n->len = e->len;
		n->quoted = e->quoted;
		break;
	case YEV_SEQUENCE_START:
	case YEV_MAPPING_START:
		return open_collection(r, b, e);
	case YEV_SEQUENCE_END:
	case YEV_MAPPING_END:
		n = b->stack[--b->depth].node;
		if (!finish_frame(r, b, &b->stack[b->depth]))
			b->failed = true;
		break;
	default:
		return true;
	}
	if (b->depth == 0) {
		struct document *doc = arena_alloc(r->a, sizeof(*doc));
		doc->root = n;
		doc->index = b->doc_index++;
		if (!(n->kind == NODE_SCALAR && node_is_null(n)))
			ptrvec_push(b->docs, doc);
	} else {
		attach(b, &b->stack[b->depth - 1], n);
	}
	return true;
}

/* ---- libyaml's events, as ours */

static const char *anchor_of(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)e->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)e->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return (const char *)e->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static enum yevent_type yevent_type_of(yaml_event_type_t t)
{
	switch (t) {
	case YAML_STREAM_START_EVENT:
		return YEV_STREAM_START;
	case YAML_STREAM_END_EVENT:
		return YEV_STREAM_END;
	case YAML_DOCUMENT_START_EVENT:
		return YEV_DOCUMENT_START;
	case YAML_DOCUMENT_END_EVENT:
		return YEV_DOCUMENT_END;
	case YAML_SCALAR_EVENT:
		return YEV_SCALAR;
	case YAML_SEQUENCE_START_EVENT:
		return YEV_SEQUENCE_START;
	case YAML_SEQUENCE_END_EVENT:
		return YEV_SEQUENCE_END;
	case YAML_MAPPING_START_EVENT:
		return YEV_MAPPING_START;
	case YAML_MAPPING_END_EVENT:
		return YEV_MAPPING_END;
	case YAML_ALIAS_EVENT:
		return YEV_ALIAS;
	default:
		return YEV_OTHER;
	}
}

/* The view stays valid until the libyaml event is deleted. */
static struct yevent yevent_of(const yaml_event_t *e)
{
	struct yevent y = {
	    .type = yevent_type_of(e->type),
	    .line = (int)e->start_mark.line,
	    .col = (int)e->start_mark.column,
	    .index = e->start_mark.index,
	    .anchor = anchor_of(e),
	};
	if (e->type == YAML_SCALAR_EVENT) {
		y.value = (const char *)e->data.scalar.value;
		y.len = e->data.scalar.length;
		y.quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	} else if (e->type == YAML_ALIAS_EVENT) {
		y.value = (const char *)e->data.alias.anchor;
		y.len = strlen(y.value);
	}
	return y;
}

static bool build_with_libyaml(struct reader *r, struct builder *b)
{
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input(&p, read_handler, r);
	bool ok = true, done = false;
	while (ok && !done) {
		yaml_event_t e;
		if (!yaml_parser_parse(&p, &e)) {
			report_parser_error(r, &p);
			ok = false;
			break;
		}
		done = e.type == YAML_STREAM_END_EVENT;
		struct yevent y = yevent_of(&e);
		ok = on_event(r, b, &y);
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	return ok;
}

/* The scanner reads a copy of the text in which its scalars then end in place: the tree's
 * strings point into that copy instead of each being copied out. Returns -1 when the text is
 * outside the scanner's subset (nothing built: libyaml's turn), else whether the tree was
 * built without a fatal error. */
static int build_from_scanner(struct reader *r, struct builder *b)
{
	struct yevent_vec ev = {0};
	if (yaml_scan_fast(r->src->text, r->src->len, &ev) < 0) {
		yevent_vec_free(&ev);
		return -1;
	}
	yaml_scan_terminate(&ev, arena_strndup(r->a, ev.base, ev.base_len));
	bool ok = true;
	for (size_t i = 0; ok && i < ev.n; i++)
		ok = on_event(r, b, &ev.v[i]);
	yevent_vec_free(&ev);
	return ok;
}

int yaml_scan_libyaml(const char *text, size_t len, struct yevent_vec *out)
{
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	int rc = 0;
	for (bool done = false; !done;) {
		yaml_event_t e;
		if (!yaml_parser_parse(&p, &e)) {
			rc = -1;
			break;
		}
		done = e.type == YAML_STREAM_END_EVENT;
		struct yevent y = yevent_of(&e);
		if (y.value)
			y.value = arena_strndup(&out->scratch, y.value, y.len);
		if (y.anchor)
			y.anchor = arena_strdup(&out->scratch, y.anchor);
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 64;
			out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
		}
		out->v[out->n++] = y;
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	return rc;
}

int read_stream(struct arena *a, const char *path, FILE *in, const struct reader_limits *lim,
		struct diag_sink *d, struct source **src_out, struct ptrvec *docs_out)
{
	struct reader r = {.a = a, .in = in, .lim = lim, .d = d};
	r.src = arena_alloc(a, sizeof(*r.src));
	r.src->path = arena_strdup(a, path);
	*src_out = r.src;

	struct builder *b = xcalloc(1, sizeof(*b));
	b->docs = docs_out;
	read_ahead(&r);
	bool whole =
	    r.eof && r.src->len <= lim->max_document_bytes && r.src->len <= lim->max_input_bytes;
	int scanned = whole && !lim->libyaml_only ? build_from_scanner(&r, b) : -1;
	bool ok = scanned < 0 ? build_with_libyaml(&r, b) : scanned == 1;
	if (b->failed)
		ok = false;
	ptrvec_free(&b->keys);
	ptrvec_free(&b->vals);
	free(b);
	/* The text lives in the arena's lifetime too: hand it over. */
	if (r.src->text) {
		r.src->braces = memmem(r.src->text, r.src->len, "{{", 2) != NULL;
		char *t = arena_strndup(a, r.src->text, r.src->len);
		free(r.src->text);
		r.src->text = t;
	}
	return ok ? 0 : -1;
}

/* ---- helpers on nodes */

bool node_is_null(const struct node *n)
{
	if (!n)
		return true;
	if (n->kind != NODE_SCALAR || n->quoted)
		return false;
	return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

/* Lookups dominate linting: the first byte settles most comparisons without a call. */
static size_t key_index(const struct node *map, const char *key)
{
	size_t i = 0;
	for (; i < map->n; i++) {
		const struct node *k = map->keys[i];
		if (k->kind == NODE_SCALAR && k->str[0] == key[0] && !strcmp(k->str, key))
			break;
	}
	return i;
}

struct node *node_get(const struct node *map, const char *key)
{
	if (!map || map->kind != NODE_MAP)
		return NULL;
	size_t i = key_index(map, key);
	return i < map->n ? map->vals[i] : NULL;
}

struct node *node_key(const struct node *map, const char *key)
{
	if (!map || map->kind != NODE_MAP)
		return NULL;
	size_t i = key_index(map, key);
	return i < map->n ? map->keys[i] : NULL;
}

const char *node_scalar(const struct node *n)
{
	return n && n->kind == NODE_SCALAR ? n->str : NULL;
}

/* ---- input collection */

static bool is_policy_file(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(const char *dir, struct ptrvec *out, struct diag_sink *d, int depth)
{
	if (depth > 32) {
		diag_pos(d, R_IO, NULL, dir, 0, 0, "check for symlink loops",
			 "directory nesting deeper than 32");
		return -1;
	}
	DIR *dh = opendir(dir);
	if (!dh) {
		diag_pos(d, R_IO, NULL, dir, 0, 0, NULL, "cannot open directory: %s",
			 strerror(errno));
		return -1;
	}
	struct ptrvec names = {0};
	struct dirent *de;
	while ((de = readdir(dh)))
		if (de->d_name[0] != '.')
			ptrvec_push(&names, xstrdup(de->d_name));
	closedir(dh);
	sort_items(names.v, names.n, sizeof(void *), cmp_str);
	int rc = 0;
	for (size_t i = 0; i < names.n; i++) {
		size_t len = strlen(dir) + strlen(names.v[i]) + 2;
		char *p = xmalloc(len);
		snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			 (char *)names.v[i]);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (walk_dir(p, out, d, depth + 1) < 0)
				rc = -1;
			free(p);
		} else if (is_policy_file(names.v[i])) {
			ptrvec_push(out, p);
		} else {
			free(p);
		}
		free(names.v[i]);
	}
	ptrvec_free(&names);
	return rc;
}

int collect_inputs(const char *arg, struct ptrvec *paths, struct diag_sink *d)
{
	if (!strcmp(arg, "-")) {
		ptrvec_push(paths, xstrdup("-"));
		return 0;
	}
	struct stat st;
	if (stat(arg, &st) != 0) {
		diag_pos(d, R_IO, NULL, arg, 0, 0, "check the path", "cannot open: %s",
			 strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return walk_dir(arg, paths, d, 0);
	ptrvec_push(paths, xstrdup(arg));
	return 0;
}
