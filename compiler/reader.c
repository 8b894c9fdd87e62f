/* Reader: YAML or JSON stream -> positioned node tree, with explicit limits.
 *
 * libyaml's event parser drives a small stack machine. We refuse what Kubernetes manifests never
 * need and attackers love (anchors, aliases, deep nesting, huge documents), and what silently
 * changes meaning (duplicate keys). Input is pulled through our own read handler so that a huge
 * document is refused after reading just past the limit, never slurped whole.
 */
#include "polc.h"

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
}

struct reader {
	struct arena *a;
	FILE *in;
	struct source *src;
	const struct reader_limits *lim;
	struct diag_sink *d;
	size_t cap;         /* of src->text */
	size_t doc_start;   /* byte offset where the current document began */
	bool over_doc;      /* the read handler stopped at the document limit */
	bool over_input;    /* ... at the input limit */
	bool io_error;
};

/* libyaml pulls bytes through here; we keep a copy for caret display and enforce limits. */
static int read_handler(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct reader *r = data;
	*size_read = 0;
	if (r->src->len - r->doc_start > r->lim->max_document_bytes) {
		r->over_doc = true;
		return 0;
	}
	if (r->src->len > r->lim->max_input_bytes) {
		r->over_input = true;
		return 0;
	}
	size_t n = fread(buf, 1, size, r->in);
	if (n == 0 && ferror(r->in)) {
		r->io_error = true;
		return 0;
	}
	if (r->src->len + n + 1 > r->cap) {
		while (r->src->len + n + 1 > r->cap)
			r->cap = r->cap ? r->cap * 2 : 65536;
		r->src->text = xrealloc(r->src->text, r->cap);
	}
	memcpy(r->src->text + r->src->len, buf, n);
	r->src->len += n;
	r->src->text[r->src->len] = 0;
	*size_read = n;
	return 1;
}

/* libyaml counts columns in characters from 0; we report 1-based. */
static struct node *new_node(struct reader *r, enum node_kind k, yaml_mark_t m)
{
	struct node *n = arena_alloc(r->a, sizeof(*n));
	n->kind = k;
	n->src = r->src;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
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
			 "%s (byte 0x%02x at offset %zu)", p->problem ? p->problem : "bad input", byte,
			 p->problem_offset);
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
					"duplicate key \"%s\" (%zu times in this mapping)", again->str,
					run);
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

/* A container under construction. */
struct frame {
	struct node *node;
	struct ptrvec keys, vals;
	struct node *pending_key; /* maps: key waiting for its value */
};

static void attach(struct reader *r, struct frame *f, struct node *child)
{
	if (f->node->kind == NODE_SEQ) {
		ptrvec_push(&f->vals, child);
	} else if (!f->pending_key) {
		f->pending_key = child;
	} else {
		ptrvec_push(&f->keys, f->pending_key);
		ptrvec_push(&f->vals, child);
		f->pending_key = NULL;
	}
}

static bool finish_frame(struct reader *r, struct frame *f)
{
	struct node *n = f->node;
	n->n = f->vals.n;
	n->vals = arena_alloc(r->a, (n->n ? n->n : 1) * sizeof(struct node *));
	if (n->n)
		memcpy(n->vals, f->vals.v, n->n * sizeof(struct node *));
	if (n->kind == NODE_MAP) {
		n->keys = arena_alloc(r->a, (n->n ? n->n : 1) * sizeof(struct node *));
		if (n->n)
			memcpy(n->keys, f->keys.v, n->n * sizeof(struct node *));
	}
	ptrvec_free(&f->keys);
	ptrvec_free(&f->vals);
	return n->kind != NODE_MAP || check_duplicate_keys(r, n);
}

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

static const char *ALIAS_HINT =
	"write the value out in full; polc refuses anchors and aliases so that an alias bomb "
	"cannot exhaust memory";

struct parse_state {
	struct frame stack[256];
	int depth;
	bool failed;
};

/* Handles one event; returns false on a fatal error (already reported). */
static bool on_event(struct reader *r, struct parse_state *ps, yaml_event_t *e,
		     struct ptrvec *docs, int *doc_index)
{
	struct node *n = NULL;
	if (e->type == YAML_ALIAS_EVENT || anchor_of(e)) {
		diag_pos(r->d, R_YAML_ALIAS, r->src, r->src->path, (int)e->start_mark.line + 1,
			 (int)e->start_mark.column + 1, ALIAS_HINT, "%s \"%s\" is not allowed",
			 e->type == YAML_ALIAS_EVENT ? "alias" : "anchor",
			 e->type == YAML_ALIAS_EVENT ? (const char *)e->data.alias.anchor
						     : anchor_of(e));
		return false;
	}
	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		r->doc_start = e->start_mark.index;
		return true;
	case YAML_SCALAR_EVENT:
		n = new_node(r, NODE_SCALAR, e->start_mark);
		n->str = arena_strndup(r->a, (const char *)e->data.scalar.value,
				       e->data.scalar.length);
		n->len = e->data.scalar.length;
		n->quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ps->depth >= r->lim->max_depth || ps->depth >= 255) {
			diag_pos(r->d, R_YAML_DEPTH, r->src, r->src->path,
				 (int)e->start_mark.line + 1, (int)e->start_mark.column + 1,
				 "flatten the structure; policies need far less nesting",
				 "nesting deeper than the limit of %d", r->lim->max_depth);
			return false;
		}
		n = new_node(r, e->type == YAML_MAPPING_START_EVENT ? NODE_MAP : NODE_SEQ,
			     e->start_mark);
		if (ps->depth > 0 && ps->stack[ps->depth - 1].node->kind == NODE_MAP &&
		    !ps->stack[ps->depth - 1].pending_key) {
			if (looks_like_template(r->src))
				diag_at(r->d, R_YAML_TEMPLATE, n, TEMPLATE_HINT,
					"this looks like a Go or Helm template, not YAML");
			else
				diag_at(r->d, R_YAML_SYNTAX, n, "use a plain string as the key",
					"complex mapping keys are not supported");
			return false;
		}
		memset(&ps->stack[ps->depth], 0, sizeof(struct frame));
		ps->stack[ps->depth++].node = n;
		return true;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		n = ps->stack[--ps->depth].node;
		if (!finish_frame(r, &ps->stack[ps->depth]))
			ps->failed = true;
		break;
	default:
		return true;
	}
	if (ps->depth == 0) {
		struct document *doc = arena_alloc(r->a, sizeof(*doc));
		doc->root = n;
		doc->index = (*doc_index)++;
		if (!(n->kind == NODE_SCALAR && node_is_null(n)))
			ptrvec_push(docs, doc);
	} else {
		attach(r, &ps->stack[ps->depth - 1], n);
	}
	return true;
}

int read_stream(struct arena *a, const char *path, FILE *in, const struct reader_limits *lim,
		struct diag_sink *d, struct source **src_out, struct ptrvec *docs_out)
{
	struct reader r = {.a = a, .in = in, .lim = lim, .d = d};
	r.src = arena_alloc(a, sizeof(*r.src));
	r.src->path = arena_strdup(a, path);
	*src_out = r.src;

	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input(&p, read_handler, &r);
	struct parse_state *ps = xcalloc(1, sizeof(*ps));
	int doc_index = 0;
	bool ok = true, done = false;
	while (ok && !done) {
		yaml_event_t e;
		if (!yaml_parser_parse(&p, &e)) {
			report_parser_error(&r, &p);
			ok = false;
			break;
		}
		done = e.type == YAML_STREAM_END_EVENT;
		ok = on_event(&r, ps, &e, docs_out, &doc_index);
		yaml_event_delete(&e);
	}
	for (int i = 0; i < ps->depth; i++) {
		ptrvec_free(&ps->stack[i].keys);
		ptrvec_free(&ps->stack[i].vals);
	}
	if (ps->failed)
		ok = false;
	free(ps);
	yaml_parser_delete(&p);
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

struct node *node_get(const struct node *map, const char *key)
{
	if (!map || map->kind != NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->kind == NODE_SCALAR && !strcmp(map->keys[i]->str, key))
			return map->vals[i];
	return NULL;
}

struct node *node_key(const struct node *map, const char *key)
{
	if (!map || map->kind != NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->kind == NODE_SCALAR && !strcmp(map->keys[i]->str, key))
			return map->keys[i];
	return NULL;
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
