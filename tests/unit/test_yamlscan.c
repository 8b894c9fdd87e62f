/* Unit tests of the block-subset scanner (compiler/yamlscan.c) against libyaml.
 *
 * The scanner must read every stream of its subset exactly as libyaml does (events, marks,
 * values, styles), and must refuse everything else so that libyaml reads it. Three checks:
 * streams written to exercise each construct of the subset are accepted and agree; streams
 * just outside it are refused; and every YAML file in the source tree that the scanner
 * accepts agrees with libyaml, with the bundled samples accepted (a scanner that refused
 * everything would pass the first two checks and make polc slow again).
 */
#include "unit.h"

#include "reader.h"

#ifndef POLC_SRCDIR
#define POLC_SRCDIR "."
#endif

static const char *const type_names[] = {
    "stream-start", "stream-end",    "document-start", "document-end", "scalar", "sequence-start",
    "sequence-end", "mapping-start", "mapping-end",    "alias",	       "other"};

static void print_event(const char *who, const struct yevent_vec *ev, size_t i)
{
	if (i >= ev->n) {
		fprintf(stderr, "    %s: (no event %zu)\n", who, i);
		return;
	}
	const struct yevent *e = &ev->v[i];
	fprintf(stderr, "    %s: %s at %d:%d %s \"%.*s\"\n", who, type_names[e->type], e->line,
		e->col, e->quoted ? "quoted" : "plain", (int)e->len, e->value ? e->value : "");
}

/* Both readers on text; true when the scanner accepted. Asserts that they agree. */
static bool scan_agrees(const char *name, const char *text, size_t len)
{
	struct yevent_vec fast = {0}, slow = {0};
	bool accepted = yaml_scan_fast(text, len, &fast) == 0;
	if (accepted) {
		int rc = yaml_scan_libyaml(text, len, &slow);
		CU_ASSERT_EQUAL(rc, 0);
		size_t i = yevent_vec_mismatch(&fast, &slow);
		CU_ASSERT_EQUAL(i, (size_t)-1);
		if (rc != 0 || i != (size_t)-1) {
			fprintf(stderr, "\n  %s: the scanner and libyaml disagree at event %zu\n",
				name, i);
			print_event("scanner", &fast, i);
			print_event("libyaml", &slow, i);
		}
	}
	yevent_vec_free(&fast);
	yevent_vec_free(&slow);
	return accepted;
}

/* ---------------------------------------------------------------- inside the subset */

static const char *const inside[] = {
    /* kubectl's List: indentless sequences, nested mappings */
    "apiVersion: v1\nitems:\n- apiVersion: cilium.io/v2\n  kind: CiliumNetworkPolicy\n"
    "  metadata:\n    labels:\n      app.kubernetes.io/name: web\n    name: a\n"
    "  spec:\n    ingress:\n    - fromEndpoints:\n      - matchLabels:\n"
    "          k8s:io.kubernetes.pod.namespace: shop\n    toPorts:\n    - ports:\n"
    "      - port: \"80\"\n        protocol: TCP\nkind: List\nmetadata:\n  resourceVersion: \"\"\n",
    /* documents: explicit, implicit, empty, comments around them */
    "a: 1\n---\nb: 2\n",
    "---\na: 1\n---\n---\n# nothing\n---\nb: 2\n--- # comment\n",
    "# only a comment\n",
    "",
    "---\n",
    "a: 1\n---\n",
    "---\n ",
    "---\n# c",
    "---\n---",
    /* sequences of mappings, deeper sequences, a dash alone on its line, wide dashes */
    "ports:\n  - port: 80\n    protocol: TCP\n  - port: 443\n",
    "a:\n- x\n- 'y'\n- [z]\n",
    "a:\n-\n  b: 1\n- c\n",
    "-   key: v\n    other: w\n-   x\n",
    "a:\n- b:\n  - c\n  d: e\n",
    /* empty values: before a sibling, at a dedent, at the end without a newline */
    "a:\nb: 1\n",
    "a:\n  b:\nc:",
    "a:   # why\nb: 1\n",
    "- a:\n  b:\n",
    /* plain scalars: colons and hashes inside, signs, null, URLs, trailing blanks */
    "url: http://example.com:8080/x#y\nk8s:io.kubernetes.pod.namespace: x\nn: -1\nz: ~\n",
    "a: b   \nc: d # comment\ne: f#g\n",
    "a: some words here\n",
    /* quoted scalars and keys, with escapes */
    "a: 'it''s'\nb: \"say \\\"hi\\\"\\n\\t\\\\\"\n'c': \"\"\n\"d e\": ''\n",
    "a: \"   spaced   \"\n",
    /* flow collections on one line */
    "a: {}\nb: []\nc: [{}]\nd: {app: web, tier: \"x\"}\ne: [a, 'b', \"c\"]\nf: [[x], {y: [z]}]\n",
    "- {from: a/b, to: c, port: 80/TCP, verdict: allow}\n",
    "a: [ 1 , 2 ]\n",
    /* comments and blank lines between entries, indented comments */
    "a:\n\n  # c\n  b: 1\n\n    # deeper comment\n  c: 2\n",
    /* literal block scalars, as kubectl writes last-applied-configuration */
    "metadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n"
    "      {\"apiVersion\":\"v1\",\"kind\":\"Pod\"}\n  name: x\n",
    "a: |\n  line one\n    deeper\n\n  line three\nb: 1\n",
    "a: |-\n  x\n\n  y\n\nb: 2\n",
    "- |\n  x\n- y\n",
    "a: |\n  # not a comment\n# a comment\nb: |\n  x",
    "a: |\n  x\n---\nb: 1\n",
    /* quoted scalars over several lines, as go-yaml folds long strings */
    "a: 'one\n  two'\nb: 'one\n\n  two'\nc: \"x \\t\n   y\"\n",
    "metadata:\n  annotations:\n    x: '{\"a\":1}\n\n      '\n  name: y\n",
    "- 'a\n  b'\n- c\n",
    "a: 'x  \n   y  '\nb: '\n  c'\nd: 'e\n   \n\n  f'\n",
    /* plain scalars over several lines */
    "a: one\n  two\n\n  three # c\nb: x\n   y\n",
    "- one\n  two\n- k: v\n    w\n  l: m\n",
    "a:\n  b: one\n\n   # a comment ends it\n  c: d\n",
    /* JSON, as kubectl get -o json and jq write it: the root over many lines */
    "{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\n      \"kind\": \"Pod\",\n"
    "      \"n\": -1.5e3,\n      \"ok\": true,\n      \"x\": null,\n      \"e\": {},\n"
    "      \"l\": []\n    }\n  ],\n  \"kind\": \"List\"\n}\n",
    "[\n  1,\n  \"two\"\n]",
    "a: \"\\u003cb\\u003e \\/ \\r \\b \\f \\u00e9 \\u20ac\"\n",
    /* Windows line breaks */
    "a: 1\r\nb:\r\n- 'x'\r\nc: |\r\n  line\r\n  two\r\n",
    /* no newline at the end */
    "a: b",
    "- x",
};

static void test_inside_subset(void)
{
	for (size_t i = 0; i < sizeof inside / sizeof *inside; i++) {
		bool accepted = scan_agrees("inside", inside[i], strlen(inside[i]));
		CU_ASSERT(accepted);
		if (!accepted)
			fprintf(stderr, "\n  refused: %s\n", inside[i]);
	}
}

/* ---------------------------------------------------------------- just outside it */

static const char *const outside[] = {
    "a: >\n  text\n",		 /* folded block scalars */
    "a: |+\n  text\n\n",	 /* kept final breaks */
    "a: |2\n   text\n",		 /* an indentation indicator */
    "a: | # c\n  text\n",	 /* a comment after the indicator */
    "a: |\n\n  text\n",		 /* an empty line before the first */
    "a: |\n  text\n   \nb: 1\n", /* a line of spaces */
    "- a: |\n  text\n",		 /* not deeper than its mapping */
    "a: |\n",			 /* nothing below */
    "a: &x 1\nb: *x\n",		 /* anchors and aliases: libyaml reports them */
    "a: !!str 1\n",		 /* tags */
    "a:\t1\n",			 /* tabs */
    "a: 1\rb: 2\n",		 /* a CR that is not a CRLF line break */
    "a: \xc3\xa9\n",		 /* UTF-8 (columns count characters) */
    "a: b\n  c: d\n",		 /* a mapping value in a plain scalar's continuation */
    "a: 'b\nc'\n",		 /* a quoted one that goes back to its key's column */
    "a: 'b\n---\n'\n",		 /* a document marker inside a quoted scalar */
    "'a\n b': 1\n",		 /* a key over two lines */
    "a: [\"x\n  y\"]\n",	 /* a quoted scalar over two lines in a flow collection */
    "a: \"x\\\n  y\"\n",	 /* an escaped line break */

    "a: b: c\n",	      /* an error */
    "- - a\n",		      /* a compact nested sequence */
    "-\n- a\n",		      /* an empty entry */
    "a: 1\n...\n",	      /* document end marker */
    "%YAML 1.1\n---\na: 1\n", /* directives */
    "? a\n: b\n",	      /* complex keys */
    "a: [x,\n  y]\n",	      /* flow over two lines */
    "{\"a\":1}\n",	      /* JSON's value right after the colon */
    "{\n  \"a\": 1,\n}\n",    /* a trailing comma */
    "[\n---\n]\n",	      /* a document marker in a flow collection */
    "a: [x, ]\n",	      /* an empty flow entry */
    "a: {b}\n",		      /* a flow key without a value */
    "a: \"\\ud800\"\n",	      /* a surrogate */
    "a: \"\\u0000\"\n",	      /* NUL */
    "a: \"\\x41\"\n",	      /* escapes JSON does not have */
    "hello\n",		      /* a scalar document */
    "  a: 1\n",		      /* an indented root */
    "a: 1\n  b: 2\n",	      /* indentation that libyaml refuses */
    "a:\n  - b\n  c: 1\n",    /* a mapping key after a sequence at its column */
    "a: 1\n- b\n",	      /* a sequence entry after a mapping value */
    "a : 1\n",		      /* a blank before the colon */
    "a: \"x\"y\n",	      /* text after a quoted scalar */
    "a: [entity:host]\n",     /* a colon in a flow scalar */
    "---x: 1\n",	      /* a scalar that starts like a marker */
};

static void test_outside_subset(void)
{
	for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
		struct yevent_vec ev = {0};
		int rc = yaml_scan_fast(outside[i], strlen(outside[i]), &ev);
		CU_ASSERT_EQUAL(rc, -1);
		if (rc != -1)
			fprintf(stderr, "\n  accepted: %s\n", outside[i]);
		CU_ASSERT_EQUAL(ev.n, 0);
		yevent_vec_free(&ev);
	}
}

/* A long key is libyaml's to refuse (simple keys end at 1024 characters). */
static void test_long_key_refused(void)
{
	char text[1200];
	memset(text, 'k', 1100);
	memcpy(text + 1100, ": v\n", 5);
	struct yevent_vec ev = {0};
	CU_ASSERT_EQUAL(yaml_scan_fast(text, strlen(text), &ev), -1);
	yevent_vec_free(&ev);
}

/* Nesting past the reader's limits is libyaml's (and the builder's) to report. */
static void test_deep_flow_refused(void)
{
	char text[2000] = "a: ";
	size_t n = strlen(text);
	for (int i = 0; i < 400; i++)
		text[n++] = '[';
	for (int i = 0; i < 400; i++)
		text[n++] = ']';
	text[n++] = '\n';
	struct yevent_vec ev = {0};
	CU_ASSERT_EQUAL(yaml_scan_fast(text, n, &ev), -1);
	yevent_vec_free(&ev);
}

/* ---------------------------------------------------------------- the source tree */

struct tree_stats {
	size_t files, accepted;
};

static bool check_file(const char *path, struct tree_stats *st)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	struct strbuf text = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		sb_add(&text, chunk, n);
	fclose(f);
	st->files++;
	bool accepted = scan_agrees(path, text.s ? text.s : "", text.len);
	st->accepted += accepted;
	sb_free(&text);
	return accepted;
}

static void test_source_tree_agrees(void)
{
	static const char *const dirs[] = {"samples", "tests/data", "tests/images", "tests/golden",
					   "tests/fuzz/corpus"};
	struct tree_stats st = {0};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		/* the files polc lint would read there */
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/%s", POLC_SRCDIR, dirs[i]);
		struct ptrvec paths = {0};
		struct diag_sink d;
		diag_init(&d);
		CU_ASSERT_EQUAL(collect_inputs(dir, &paths, &d), 0);
		for (size_t k = 0; k < paths.n; k++) {
			check_file(paths.v[k], &st);
			free(paths.v[k]);
		}
		ptrvec_free(&paths);
		diag_free(&d);
	}
	fprintf(stderr, "\n  %zu of %zu files read by the scanner, all as libyaml reads them\n",
		st.accepted, st.files);
	CU_ASSERT(st.files > 100);
	CU_ASSERT(st.accepted > 100);
}

/* What kubectl writes and what the samples hold takes the fast path. */
static void test_samples_accepted(void)
{
	static const char *const files[] = {
	    "samples/inventory/shop.yaml", "samples/testbed/policies/shop-api.yaml",
	    "samples/testbed/policies/shop-data.yaml", "samples/testbed/policies/shop-web.yaml"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", POLC_SRCDIR, files[i]);
		struct tree_stats st = {0};
		CU_ASSERT(check_file(path, &st));
		CU_ASSERT_EQUAL(st.files, 1);
	}
}

int main(void)
{
	static const struct test_case subset[] = {
	    {"inside the subset: accepted, read as libyaml reads", test_inside_subset},
	    {"outside the subset: refused, left to libyaml", test_outside_subset},
	    {"keys longer than libyaml's simple-key limit refused", test_long_key_refused},
	    {"nesting past the limits refused", test_deep_flow_refused},
	    {NULL, NULL}};
	static const struct test_case tree[] = {
	    {"every YAML file of the source tree agrees", test_source_tree_agrees},
	    {"the samples and kubectl output take the fast path", test_samples_accepted},
	    {NULL, NULL}};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (!add_suite("yamlscan: subset", subset, NULL, NULL) ||
	    !add_suite("yamlscan: source tree", tree, NULL, NULL)) {
		CU_cleanup_registry();
		return 1;
	}
	return run_tests();
}
