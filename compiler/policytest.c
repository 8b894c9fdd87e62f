/* polc test: policy unit tests for CI (docs/policy-tests.md).
 *
 * A test file names an inventory and policies (paths relative to the file, or inline
 * objects), Cilium agent options, and expectations {from, to, port, verdict, reason?}. Steps
 * add or remove objects between lists of expectations. Every expectation is decided by
 * trace_flow(), so a failure prints the same explanation `polc trace` would.
 */
#include "polc.h"
#include "trace.h"

#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

struct test_run {
	int passed, failed, errors;
	bool json, verbose;
	struct json j;
	struct schema_set *schemas;
};

/* The objects of one test at one step: a flat list of object nodes. */
struct objects {
	struct arena arena; /* owns the files read */
	struct ptrvec list;
	struct ptrvec sources;
};

/* ---------------------------------------------------------------- objects */

static void add_object(struct objects *o, const struct node *obj)
{
	const char *kind = node_scalar(node_get(obj, "kind"));
	const struct node *items = node_get(obj, "items");
	if (kind && !strcmp(kind, "List") && items && items->kind == NODE_SEQ) {
		for (size_t i = 0; i < items->n; i++)
			ptrvec_push(&o->list, items->vals[i]);
		return;
	}
	ptrvec_push(&o->list, (void *)obj);
}

static int add_path(struct objects *o, const char *dir, const char *rel, struct diag_sink *d)
{
	char *path = rel[0] == '/' || !strcmp(dir, ".") ? xstrdup(rel) : NULL;
	if (!path) {
		size_t n = strlen(dir) + strlen(rel) + 2;
		path = xmalloc(n);
		snprintf(path, n, "%s/%s", dir, rel);
	}
	struct ptrvec files = {0};
	int rc = collect_inputs(path, &files, d);
	struct reader_limits lim;
	reader_default_limits(&lim);
	for (size_t i = 0; rc == 0 && i < files.n; i++) {
		FILE *in = fopen(files.v[i], "rb");
		struct source *src;
		struct ptrvec docs = {0};
		if (!in) {
			diag_pos(d, R_IO, NULL, files.v[i], 0, 0, NULL, "cannot open");
			rc = -1;
			break;
		}
		rc = read_stream(&o->arena, files.v[i], in, &lim, d, &src, &docs);
		fclose(in);
		ptrvec_push(&o->sources, src);
		for (size_t k = 0; rc == 0 && k < docs.n; k++)
			add_object(o, ((struct document *)docs.v[k])->root);
		ptrvec_free(&docs);
	}
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	ptrvec_free(&files);
	free(path);
	return rc;
}

/* A field that holds a path, or a list of paths and inline objects. */
static int add_field(struct objects *o, const char *dir, const struct node *field,
		     struct diag_sink *d)
{
	if (!field || node_is_null(field))
		return 0;
	if (field->kind == NODE_SCALAR)
		return add_path(o, dir, field->str, d);
	if (field->kind != NODE_SEQ) {
		diag_at(d, R_SCHEMA_TYPE, field, "write a path, or a list of paths and objects",
			"expected a path or a list");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < field->n; i++) {
		const struct node *v = field->vals[i];
		if (v->kind == NODE_SCALAR)
			rc |= add_path(o, dir, v->str, d);
		else
			add_object(o, v);
	}
	return rc;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void remove_objects(struct objects *o, const struct node *refs)
{
	for (size_t r = 0; refs && refs->kind == NODE_SEQ && r < refs->n; r++) {
		const char *kind = node_scalar(node_get(refs->vals[r], "kind"));
		const char *ns = node_scalar(node_get(refs->vals[r], "namespace"));
		const char *name = node_scalar(node_get(refs->vals[r], "name"));
		size_t out = 0;
		for (size_t i = 0; i < o->list.n; i++) {
			const struct node *obj = o->list.v[i], *meta = node_get(obj, "metadata");
			bool match = same(kind, node_scalar(node_get(obj, "kind"))) &&
				     same(name, node_scalar(node_get(meta, "name"))) &&
				     (!ns || same(ns, node_scalar(node_get(meta, "namespace"))));
			if (!match)
				o->list.v[out++] = o->list.v[i];
		}
		o->list.n = out;
	}
}

/* ---------------------------------------------------------------- one stage */

/* Builds a session from the objects: policy kinds are checked, the rest is inventory. */
static int build_session(struct session *s, const struct objects *o, struct schema_set *schemas)
{
	struct corpus *inv_objects = xcalloc(1, sizeof(*inv_objects));
	corpus_init(inv_objects);
	for (size_t i = 0; i < o->list.n; i++)
		corpus_add_document(&s->policies, &s->load, schemas, o->list.v[i], &s->diag);
	for (size_t i = 0; i < s->policies.other.n; i++)
		ptrvec_push(&inv_objects->other, s->policies.other.v[i]);
	s->inv = inventory_build(inv_objects);
	if (s->diag.counts[SEV_ERROR])
		return -1;
	return session_build(s);
}

static const char *verdict_word(enum verdict v)
{
	return v == VERDICT_ALLOW ? "allow" : "deny";
}

static bool reason_matches(const struct trace_result *r, const char *want)
{
	const struct half *h[] = {&r->egress, &r->ingress};
	for (int i = 0; i < 2; i++) {
		if (!h[i]->present)
			continue;
		/* A denied flow is explained by the half that denies it. */
		if (r->verdict == VERDICT_DENY && h[i]->fast.verdict != VERDICT_DENY)
			continue;
		if (!strcmp(reason_name(h[i]->fast.reason), want))
			return true;
	}
	return false;
}

static void report(struct test_run *run, const struct node *at, bool ok, const char *what,
		   const struct trace_result *r)
{
	if (ok)
		run->passed++;
	else
		run->failed++;
	if (run->json) {
		json_obj_open(&run->j, NULL);
		json_str(&run->j, "file", at->src->path);
		json_int(&run->j, "line", at->line);
		json_bool(&run->j, "passed", ok);
		json_str(&run->j, "message", what);
		if (r) {
			json_arr_open(&run->j, "trace");
			trace_print_json(&run->j, r);
			json_arr_close(&run->j);
		}
		json_obj_close(&run->j);
		return;
	}
	if (ok && !run->verbose)
		return;
	printf("%s %s:%d: %s\n", ok ? "PASS" : "FAIL", at->src->path, at->line, what);
	if (!ok && r) {
		trace_print_text(stdout, r);
		putchar('\n');
	}
}

static void check_expectation(struct test_run *run, const struct session *s,
			      const struct node *e)
{
	const char *from = node_scalar(node_get(e, "from")), *to = node_scalar(node_get(e, "to"));
	const char *port = node_scalar(node_get(e, "port"));
	const char *want = node_scalar(node_get(e, "verdict"));
	const char *reason = node_scalar(node_get(e, "reason"));
	char what[512], err[256];
	struct trace_result r;
	if (trace_flow(s, from, to, port, &r, err, sizeof err) < 0) {
		snprintf(what, sizeof what, "%s", err);
		report(run, e, false, what, NULL);
		return;
	}
	bool ok = !strcmp(verdict_word(r.verdict), want) && (!reason || reason_matches(&r, reason));
	bool agree = (!r.egress.present || r.egress.agree) && (!r.ingress.present || r.ingress.agree);
	snprintf(what, sizeof what, "%s -> %s %s: expected %s%s%s, got %s%s", from, to, port, want,
		 reason ? " " : "", reason ? reason : "", verdict_word(r.verdict),
		 agree ? "" : " (internal error: the fast path, the reference or the image disagree)");
	report(run, e, ok && agree, what, &r);
}

static void check_list(struct test_run *run, const struct session *s, const struct node *list)
{
	for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->n; i++)
		check_expectation(run, s, list->vals[i]);
}

static int apply_options(struct session *s, const struct node *opts)
{
	for (size_t i = 0; opts && opts->kind == NODE_MAP && i < opts->n; i++) {
		char assign[512], err[256];
		snprintf(assign, sizeof assign, "%s=%s", opts->keys[i]->str,
			 node_scalar(opts->vals[i]) ? opts->vals[i]->str : "");
		if (semantics_set(&s->sem, assign, err, sizeof err) < 0) {
			diag_at(&s->diag, R_SCHEMA_ENUM, opts->keys[i], NULL, "%s", err);
			return -1;
		}
	}
	return 0;
}

/* Runs one stage: builds the cluster from the objects and checks the expectations. */
static int run_stage(struct test_run *run, const struct objects *o, const struct node *opts,
		     const struct node *expect)
{
	struct session s;
	session_init(&s);
	s.with_images = true;
	int rc = apply_options(&s, opts);
	if (rc == 0)
		rc = build_session(&s, o, run->schemas);
	if (rc == 0)
		check_list(run, &s, expect);
	if (rc < 0) {
		diag_sort(&s.diag);
		diag_render(&s.diag, FORMAT_TEXT, stderr, -1);
		run->errors++;
	}
	session_free(&s);
	return rc;
}

static int run_file(struct test_run *run, const char *path)
{
	struct diag_sink d;
	diag_init(&d);
	struct objects o = {0};
	struct reader_limits lim;
	reader_default_limits(&lim);
	struct source *src;
	struct ptrvec docs = {0};
	FILE *in = fopen(path, "rb");
	int rc = -1;
	if (!in) {
		diag_pos(&d, R_IO, NULL, path, 0, 0, NULL, "cannot open the test file");
		goto out;
	}
	rc = read_stream(&o.arena, path, in, &lim, &d, &src, &docs);
	fclose(in);
	if (rc < 0 || docs.n != 1) {
		if (rc == 0)
			diag_pos(&d, R_SCHEMA_TYPE, src, path, 1, 1, NULL,
				 "a test file holds exactly one YAML document");
		rc = -1;
		goto out;
	}
	const struct node *t = ((struct document *)docs.v[0])->root;
	if (schema_validate(run->schemas, schema_type_named(run->schemas, "PolicyTest"), t, &d)) {
		rc = -1;
		goto out;
	}
	char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	rc = add_field(&o, dir, node_get(t, "inventory"), &d) |
	     add_field(&o, dir, node_get(t, "policies"), &d);
	const struct node *opts = node_get(t, "options"), *steps = node_get(t, "steps");
	if (rc == 0)
		rc = run_stage(run, &o, opts, node_get(t, "expect"));
	for (size_t i = 0; rc == 0 && steps && steps->kind == NODE_SEQ && i < steps->n; i++) {
		const struct node *step = steps->vals[i];
		remove_objects(&o, node_get(step, "remove"));
		rc = add_field(&o, dir, node_get(step, "add"), &d);
		if (rc == 0)
			rc = run_stage(run, &o, opts, node_get(step, "expect"));
	}
	free(copy);
out:
	if (d.n) {
		diag_sort(&d);
		diag_render(&d, FORMAT_TEXT, stderr, -1);
	}
	if (rc < 0)
		run->errors++;
	ptrvec_free(&docs);
	ptrvec_free(&o.list);
	ptrvec_free(&o.sources);
	arena_free(&o.arena);
	diag_free(&d);
	return rc;
}

int do_test(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct test_run run = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jvh", opts, NULL)) != -1) {
		if (c == 'j')
			run.json = true;
		else if (c == 'v')
			run.verbose = true;
		else {
			puts(TEST_USAGE);
			return c == 'h' ? EXIT_CLEAN : EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "polc test: no test file given\n%s\n", TEST_USAGE);
		return EXIT_USAGE;
	}
	run.schemas = schema_builtin();
	struct diag_sink d;
	diag_init(&d);
	struct ptrvec files = {0};
	for (int i = optind; i < argc; i++)
		if (collect_inputs(argv[i], &files, &d) < 0)
			run.errors++;
	if (run.json) {
		json_begin(&run.j, stdout, true);
		json_obj_open(&run.j, NULL);
		json_arr_open(&run.j, "results");
	}
	for (size_t i = 0; i < files.n; i++) {
		run_file(&run, files.v[i]);
		free(files.v[i]);
	}
	ptrvec_free(&files);
	if (run.json) {
		json_arr_close(&run.j);
		json_int(&run.j, "passed", run.passed);
		json_int(&run.j, "failed", run.failed);
		json_int(&run.j, "errors", run.errors);
		json_obj_close(&run.j);
		json_end(&run.j);
	} else {
		diag_render(&d, FORMAT_TEXT, stderr, -1);
		printf("%d passed, %d failed\n", run.passed, run.failed);
	}
	diag_free(&d);
	schema_free(run.schemas);
	return run.errors ? EXIT_USAGE : run.failed ? EXIT_FINDINGS : EXIT_CLEAN;
}
