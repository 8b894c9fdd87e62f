/* Diagnostics: the one place every message goes through, and its three renderings.
 *
 *   text   compiler style, with the source line and a caret (colour only on a TTY)
 *   json   an array of objects, stable key order
 *   sarif  SARIF 2.1.0, one run, a rule per id, for code-scanning uploads
 */
#include "polc.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct rule_info rule_table[RULE__COUNT] = {
#define RULE(sym, id, sev, summary) [sym] = {id, sev, summary},
#include "rules.def"
#undef RULE
};

int rule_by_id(const char *id)
{
	for (int i = 0; i < RULE__COUNT; i++)
		if (!strcmp(rule_table[i].id, id))
			return i;
	return -1;
}

static const char *SEVERITY_NAME[] = {"note", "warning", "error"};

void diag_init(struct diag_sink *d)
{
	memset(d, 0, sizeof(*d));
}

void diag_free(struct diag_sink *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].message);
		free(d->v[i].hint);
		free(d->v[i].line_text);
	}
	free(d->v);
	free(d->line_start);
	memset(d, 0, sizeof(*d));
}

static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	char *s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

/* Errors cannot be silenced: they are what Cilium itself would refuse. */
static bool silenced(const struct diag_sink *d, enum rule_id r)
{
	if (rule_table[r].severity == SEV_ERROR)
		return false;
	return d->disabled[r] || (d->object_disabled && d->object_disabled[r]);
}

/* Lines longer than this are not quoted: a minified 4 MB line would drown the message. */
#define MAX_QUOTED_LINE 400
static const char *source_line(struct diag_sink *d, const struct source *s, int line,
			       size_t *len);

static void push(struct diag_sink *d, enum rule_id r, const struct source *src, const char *path,
		 int line, int col, const char *hint, char *msg)
{
	if (silenced(d, r)) {
		free(msg);
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	struct diagnostic *g = &d->v[d->n++];
	g->rule = r;
	g->severity = rule_table[r].severity;
	g->src = src;
	g->path = xstrdup(path ? path : "");
	g->line = line;
	g->col = col;
	g->span = 1;
	g->message = msg;
	g->hint = hint ? xstrdup(hint) : NULL;
	size_t len;
	const char *text = source_line(d, src, line, &len);
	g->line_text = text && len < MAX_QUOTED_LINE ? strndup(text, len) : NULL;
	g->src = NULL;
	d->counts[g->severity]++;
}

void diag_at(struct diag_sink *d, enum rule_id r, const struct node *at, const char *hint,
	     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	push(d, r, at ? at->src : NULL, at && at->src ? at->src->path : NULL, at ? at->line : 0,
	     at ? at->col : 0, hint, msg);
	if (at && at->kind == NODE_SCALAR && d->n && d->v[d->n - 1].message == msg)
		d->v[d->n - 1].span = at->len && !at->quoted ? (int)at->len : 1;
}

void diag_pos(struct diag_sink *d, enum rule_id r, const struct source *src, const char *path,
	      int line, int col, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	push(d, r, src, path, line, col, hint, msg);
}

static int cmp_diag(const void *a, const void *b)
{
	const struct diagnostic *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line - y->line;
	if (x->col != y->col)
		return x->col - y->col;
	if (x->rule != y->rule)
		return (int)x->rule - (int)y->rule;
	return strcmp(x->message, y->message);
}

/* Sorted output keeps CI diffs stable whatever order inputs were read in. */
void diag_sort(struct diag_sink *d)
{
	if (d->n > 1)
		sort_items(d->v, d->n, sizeof(*d->v), cmp_diag);
}

/* ---- text */

/* Brings d's line index up to date with s: built when the source changes (or its text moved,
 * or shrank: another source at the same address), extended when a source that is still being
 * read has grown. */
static void index_lines(struct diag_sink *d, const struct source *s)
{
	if (d->lines_of != s || d->lines_text != s->text || d->lines_scanned > s->len) {
		d->lines_of = s;
		d->lines_text = s->text;
		d->nlines = d->lines_scanned = 0;
	}
	if (!d->nlines) {
		if (!d->lines_cap) {
			d->lines_cap = 256;
			d->line_start = xmalloc(d->lines_cap * sizeof(*d->line_start));
		}
		d->line_start[d->nlines++] = 0;
	}
	const char *p = s->text + d->lines_scanned, *end = s->text + s->len;
	for (const char *nl; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		if (d->nlines == d->lines_cap) {
			d->lines_cap *= 2;
			d->line_start = xrealloc(d->line_start, d->lines_cap * sizeof(*d->line_start));
		}
		d->line_start[d->nlines++] = (size_t)(nl + 1 - s->text);
	}
	d->lines_scanned = s->len;
}

/* The text of a 1-based line and its length, capped at MAX_QUOTED_LINE so that a million
 * diagnostics on one long line do not each scan it to its end. */
static const char *source_line(struct diag_sink *d, const struct source *s, int line,
			       size_t *len)
{
	if (!s || !s->text || line < 1)
		return NULL;
	index_lines(d, s);
	if ((size_t)line > d->nlines)
		return NULL;
	const char *p = s->text + d->line_start[line - 1], *end = s->text + s->len;
	size_t room = (size_t)(end - p) < MAX_QUOTED_LINE ? (size_t)(end - p) : MAX_QUOTED_LINE;
	const char *nl = memchr(p, '\n', room);
	*len = nl ? (size_t)(nl - p) : room;
	if (*len && *len < MAX_QUOTED_LINE && p[*len - 1] == '\r')
		(*len)--;
	return p;
}

struct colors {
	const char *bold, *red, *magenta, *cyan, *green, *reset;
};

static void render_one_text(const struct diagnostic *g, FILE *out, const struct colors *c)
{
	const char *sevcol = g->severity == SEV_ERROR     ? c->red
			     : g->severity == SEV_WARNING ? c->magenta
							  : c->cyan;
	fputs(c->bold, out);
	if (g->line > 0)
		fprintf(out, "%s:%d:%d: ", g->path, g->line, g->col);
	else if (g->path[0])
		fprintf(out, "%s: ", g->path);
	fprintf(out, "%s%s:%s%s %s [%s]%s\n", sevcol, SEVERITY_NAME[g->severity], c->reset,
		c->bold, g->message, rule_table[g->rule].id, c->reset);
	const char *text = g->line_text;
	size_t len = text ? strlen(text) : 0;
	if (text) {
		fprintf(out, "%5d | %.*s\n      | ", g->line, (int)len, text);
		for (int i = 1; i < g->col && (size_t)i <= len; i++)
			fputc(text[i - 1] == '\t' ? '\t' : ' ', out);
		fprintf(out, "%s^", c->green);
		for (int i = 1; i < g->span && i < 60; i++)
			fputc('~', out);
		fprintf(out, "%s\n", c->reset);
	}
	if (g->hint)
		fprintf(out, "      = hint: %s\n", g->hint);
}

static void render_text(const struct diag_sink *d, FILE *out, bool color)
{
	static const struct colors plain = {"", "", "", "", "", ""};
	static const struct colors ansi = {"\033[1m",  "\033[1;31m", "\033[1;35m",
					   "\033[1;36m", "\033[1;32m", "\033[0m"};
	for (size_t i = 0; i < d->n; i++)
		render_one_text(&d->v[i], out, color ? &ansi : &plain);
	if (d->n)
		fprintf(out, "%zu error%s, %zu warning%s\n", d->counts[SEV_ERROR],
			d->counts[SEV_ERROR] == 1 ? "" : "s", d->counts[SEV_WARNING],
			d->counts[SEV_WARNING] == 1 ? "" : "s");
}

/* ---- json */

static void render_json(const struct diag_sink *d, FILE *out)
{
	struct json j;
	json_begin(&j, out, true);
	json_obj_open(&j, NULL);
	json_obj_open(&j, "summary");
	json_int(&j, "errors", (long long)d->counts[SEV_ERROR]);
	json_int(&j, "warnings", (long long)d->counts[SEV_WARNING]);
	json_int(&j, "notes", (long long)d->counts[SEV_NOTE]);
	json_obj_close(&j);
	json_arr_open(&j, "diagnostics");
	for (size_t i = 0; i < d->n; i++) {
		const struct diagnostic *g = &d->v[i];
		json_obj_open(&j, NULL);
		json_str(&j, "file", g->path);
		json_int(&j, "line", g->line);
		json_int(&j, "column", g->col);
		json_str(&j, "severity", SEVERITY_NAME[g->severity]);
		json_str(&j, "id", rule_table[g->rule].id);
		json_str(&j, "message", g->message);
		json_str(&j, "hint", g->hint);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	json_end(&j);
}

/* ---- sarif */

static const char *sarif_level(enum severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "note";
}

static void sarif_rules(struct json *j)
{
	json_arr_open(j, "rules");
	for (int r = 0; r < RULE__COUNT; r++) {
		json_obj_open(j, NULL);
		json_str(j, "id", rule_table[r].id);
		json_obj_open(j, "shortDescription");
		json_str(j, "text", rule_table[r].summary);
		json_obj_close(j);
		json_obj_open(j, "help");
		json_str(j, "text", "See docs/lints.md for a bad and a good example.");
		json_obj_close(j);
		json_obj_open(j, "defaultConfiguration");
		json_str(j, "level", sarif_level(rule_table[r].severity));
		json_obj_close(j);
		json_obj_close(j);
	}
	json_arr_close(j);
}

static void sarif_result(struct json *j, const struct diagnostic *g)
{
	json_obj_open(j, NULL);
	json_str(j, "ruleId", rule_table[g->rule].id);
	json_int(j, "ruleIndex", g->rule);
	json_str(j, "level", sarif_level(g->severity));
	json_obj_open(j, "message");
	if (g->hint) {
		size_t n = strlen(g->message) + strlen(g->hint) + 16;
		char *text = xmalloc(n);
		snprintf(text, n, "%s (hint: %s)", g->message, g->hint);
		json_str(j, "text", text);
		free(text);
	} else {
		json_str(j, "text", g->message);
	}
	json_obj_close(j);
	json_arr_open(j, "locations");
	json_obj_open(j, NULL);
	json_obj_open(j, "physicalLocation");
	json_obj_open(j, "artifactLocation");
	json_str(j, "uri", g->path[0] && strcmp(g->path, "-") ? g->path : "stdin");
	json_obj_close(j);
	if (g->line > 0) {
		json_obj_open(j, "region");
		json_int(j, "startLine", g->line);
		json_int(j, "startColumn", g->col);
		json_int(j, "endColumn", g->col + g->span);
		json_obj_close(j);
	}
	json_obj_close(j);
	json_obj_close(j);
	json_arr_close(j);
	json_obj_close(j);
}

static void render_sarif(const struct diag_sink *d, FILE *out)
{
	struct json j;
	json_begin(&j, out, true);
	json_obj_open(&j, NULL);
	json_str(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	json_str(&j, "version", "2.1.0");
	json_arr_open(&j, "runs");
	json_obj_open(&j, NULL);
	json_obj_open(&j, "tool");
	json_obj_open(&j, "driver");
	json_str(&j, "name", "polc");
	json_str(&j, "version", PACKAGE_VERSION);
	sarif_rules(&j);
	json_obj_close(&j);
	json_obj_close(&j);
	json_arr_open(&j, "results");
	for (size_t i = 0; i < d->n; i++)
		sarif_result(&j, &d->v[i]);
	json_arr_close(&j);
	json_obj_close(&j);
	json_arr_close(&j);
	json_obj_close(&j);
	json_end(&j);
}

void diag_render(const struct diag_sink *d, enum diag_format f, FILE *out, int color)
{
	switch (f) {
	case FORMAT_TEXT:
		render_text(d, out, color < 0 ? isatty(fileno(out)) : color);
		break;
	case FORMAT_JSON:
		render_json(d, out);
		break;
	case FORMAT_SARIF:
		render_sarif(d, out);
		break;
	}
}
