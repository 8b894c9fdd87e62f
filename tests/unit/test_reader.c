/* Unit tests of the reader (compiler/reader.c): YAML/JSON streams to positioned node trees,
 * and the limits and refusals that protect everything after it. */
#include "unit.h"

/* ---------------------------------------------------------------- streams and documents */

static void test_multi_document(void)
{
	struct parsed p;
	parse(&p, "kind: A\n---\nkind: B\n---\nkind: C\n");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	CU_ASSERT_EQUAL_FATAL(p.docs.n, 3);
	const char *want[] = {"A", "B", "C"};
	for (size_t i = 0; i < 3; i++) {
		struct document *doc = p.docs.v[i];
		CU_ASSERT_EQUAL(doc->index, (int)i);
		CU_ASSERT_EQUAL(doc->root->kind, NODE_MAP);
		CU_ASSERT_EQUAL(doc->root->line, 1 + 2 * (int)i);
		CU_ASSERT_EQUAL(doc->root->col, 1);
		CU_ASSERT_STRING_EQUAL(node_scalar(node_get(doc->root, "kind")), want[i]);
	}
	CU_ASSERT_PTR_NOT_NULL(p.src);
	CU_ASSERT_STRING_EQUAL(p.src->path, "inline.yaml");
	CU_ASSERT_EQUAL(p.src->len, strlen("kind: A\n---\nkind: B\n---\nkind: C\n"));
	parsed_free(&p);
}

static void test_empty_documents_skipped(void)
{
	struct parsed p;
	/* documents 0, 1, 3, 4 are empty, a comment, ~ and null: only 2 and 5 remain */
	parse(&p,
	      "---\n---\n# only a comment\n---\nkind: A\n---\n~\n---\nnull\n...\n---\nkind: B\n");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	CU_ASSERT_EQUAL_FATAL(p.docs.n, 2);
	CU_ASSERT_EQUAL(((struct document *)p.docs.v[0])->index, 2);
	CU_ASSERT_EQUAL(((struct document *)p.docs.v[1])->index, 5);
	CU_ASSERT_STRING_EQUAL(node_scalar(node_get(doc_root(&p, 0), "kind")), "A");
	CU_ASSERT_EQUAL(doc_root(&p, 0)->line, 5);
	CU_ASSERT_STRING_EQUAL(node_scalar(node_get(doc_root(&p, 1), "kind")), "B");
	CU_ASSERT_EQUAL(doc_root(&p, 1)->line, 12);
	parsed_free(&p);

	parse(&p, "");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.docs.n, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	parsed_free(&p);

	parse(&p, "# nothing but a comment\n\n");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.docs.n, 0);
	parsed_free(&p);

	/* a quoted "null" is a string, so that document is kept */
	parse(&p, "\"null\"\n");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL_FATAL(p.docs.n, 1);
	CU_ASSERT_EQUAL(doc_root(&p, 0)->kind, NODE_SCALAR);
	parsed_free(&p);
}

static void test_positions(void)
{
	struct parsed p;
	parse(&p, "apiVersion: v1\n"
		  "kind: X\n"
		  "spec:\n"
		  "  ingress:\n"
		  "  - fromEndpoints:\n"
		  "      - matchLabels: {app: web}\n"
		  "    toPorts: []\n");
	CU_ASSERT_EQUAL_FATAL(p.rc, 0);
	CU_ASSERT_EQUAL_FATAL(p.docs.n, 1);
	struct node *root = doc_root(&p, 0);
	CU_ASSERT_EQUAL(root->line, 1);
	CU_ASSERT_EQUAL(root->col, 1);
	CU_ASSERT_EQUAL_FATAL(root->n, 3);
	/* keys are nodes too */
	CU_ASSERT_EQUAL(root->keys[2]->line, 3);
	CU_ASSERT_EQUAL(root->keys[2]->col, 1);
	CU_ASSERT_STRING_EQUAL(root->keys[2]->str, "spec");
	struct node *v1 = node_get(root, "apiVersion");
	CU_ASSERT_EQUAL(v1->line, 1);
	CU_ASSERT_EQUAL(v1->col, 13);
	struct node *spec = node_get(root, "spec");
	CU_ASSERT_EQUAL(spec->kind, NODE_MAP);
	CU_ASSERT_EQUAL(spec->line, 4);
	CU_ASSERT_EQUAL(spec->col, 3);
	struct node *ingress = node_get(spec, "ingress");
	CU_ASSERT_EQUAL_FATAL(ingress->kind, NODE_SEQ);
	CU_ASSERT_EQUAL(ingress->line, 5);
	CU_ASSERT_EQUAL(ingress->col, 3);
	CU_ASSERT_EQUAL_FATAL(ingress->n, 1);
	struct node *rule = ingress->vals[0];
	CU_ASSERT_EQUAL(rule->kind, NODE_MAP);
	CU_ASSERT_EQUAL(rule->line, 5);
	CU_ASSERT_EQUAL(rule->col, 5);
	struct node *fe = node_get(rule, "fromEndpoints");
	CU_ASSERT_EQUAL_FATAL(fe->kind, NODE_SEQ);
	CU_ASSERT_EQUAL(fe->line, 6);
	CU_ASSERT_EQUAL(fe->col, 7);
	struct node *sel = fe->vals[0];
	CU_ASSERT_EQUAL(sel->line, 6);
	CU_ASSERT_EQUAL(sel->col, 9);
	struct node *ml = node_get(sel, "matchLabels");
	CU_ASSERT_EQUAL_FATAL(ml->kind, NODE_MAP);
	CU_ASSERT_EQUAL(ml->line, 6);
	CU_ASSERT_EQUAL(ml->col, 22);
	CU_ASSERT_EQUAL(ml->keys[0]->col, 23);
	CU_ASSERT_EQUAL(ml->vals[0]->col, 28);
	CU_ASSERT_STRING_EQUAL(ml->vals[0]->str, "web");
	struct node *tp = node_get(rule, "toPorts");
	CU_ASSERT_EQUAL(tp->kind, NODE_SEQ);
	CU_ASSERT_EQUAL(tp->n, 0);
	CU_ASSERT_EQUAL(tp->line, 7);
	CU_ASSERT_EQUAL(tp->col, 14);
	parsed_free(&p);

	/* columns count characters, not bytes: "é" is one column */
	parse(&p, "k\xc3\xa9: v\n");
	CU_ASSERT_EQUAL_FATAL(p.docs.n, 1);
	CU_ASSERT_EQUAL(doc_root(&p, 0)->vals[0]->col, 5);
	parsed_free(&p);
}

static void test_quoted_and_plain(void)
{
	struct parsed p;
	parse(&p, "a: \"80\"\nb: 80\nc: '80'\nd: |\n  80\ne: >\n  80\nf: null\ng: \"null\"\nh: ~\n"
		  "i:\nj: ''\n");
	CU_ASSERT_EQUAL_FATAL(p.rc, 0);
	struct node *r = doc_root(&p, 0);
	CU_ASSERT_TRUE(node_get(r, "a")->quoted);
	CU_ASSERT_STRING_EQUAL(node_get(r, "a")->str, "80");
	CU_ASSERT_FALSE(node_get(r, "b")->quoted);
	CU_ASSERT_STRING_EQUAL(node_get(r, "b")->str, "80");
	CU_ASSERT_TRUE(node_get(r, "c")->quoted);
	CU_ASSERT_TRUE(node_get(r, "d")->quoted); /* block scalars are strings too */
	CU_ASSERT_STRING_EQUAL(node_get(r, "d")->str, "80\n");
	CU_ASSERT_TRUE(node_get(r, "e")->quoted);
	CU_ASSERT_TRUE(node_is_null(node_get(r, "f")));
	CU_ASSERT_FALSE(node_is_null(node_get(r, "g")));
	CU_ASSERT_TRUE(node_is_null(node_get(r, "h")));
	CU_ASSERT_PTR_NOT_NULL(node_get(r, "i")); /* given, with an empty (null) value */
	CU_ASSERT_TRUE(node_is_null(node_get(r, "i")));
	CU_ASSERT_FALSE(node_is_null(node_get(r, "j"))); /* '' is the empty string */
	CU_ASSERT_EQUAL(node_get(r, "j")->len, 0);
	parsed_free(&p);
}

static void test_json_input(void)
{
	struct parsed p;
	parse(
	    &p,
	    "{\"apiVersion\": \"cilium.io/v2\", \"spec\": {\"ports\": [80, \"81\"]}, \"n\": null}");
	CU_ASSERT_EQUAL_FATAL(p.rc, 0);
	CU_ASSERT_EQUAL_FATAL(p.docs.n, 1);
	struct node *r = doc_root(&p, 0);
	CU_ASSERT_EQUAL(r->kind, NODE_MAP);
	CU_ASSERT_STRING_EQUAL(node_scalar(node_get(r, "apiVersion")), "cilium.io/v2");
	CU_ASSERT_TRUE(r->keys[0]->quoted);
	struct node *ports = node_get(node_get(r, "spec"), "ports");
	CU_ASSERT_EQUAL_FATAL(ports->kind, NODE_SEQ);
	CU_ASSERT_EQUAL_FATAL(ports->n, 2);
	CU_ASSERT_FALSE(ports->vals[0]->quoted); /* a JSON number */
	CU_ASSERT_TRUE(ports->vals[1]->quoted);	 /* a JSON string */
	CU_ASSERT_EQUAL(ports->vals[1]->col, 55);
	CU_ASSERT_TRUE(node_is_null(node_get(r, "n")));
	parsed_free(&p);

	parse(&p, "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}\n");
	CU_ASSERT_EQUAL_FATAL(p.rc, 0);
	r = doc_root(&p, 0);
	CU_ASSERT_EQUAL(r->line, 1);
	CU_ASSERT_EQUAL(r->col, 1);
	CU_ASSERT_EQUAL(r->keys[1]->line, 3);
	CU_ASSERT_EQUAL(r->keys[1]->col, 3);
	struct node *b = node_get(r, "b");
	CU_ASSERT_EQUAL(b->line, 3);
	CU_ASSERT_EQUAL(b->col, 8);
	CU_ASSERT_EQUAL(b->vals[0]->line, 4);
	CU_ASSERT_EQUAL(b->vals[0]->col, 5);
	parsed_free(&p);

	/* broken JSON is a syntax error at the place it breaks */
	parse(&p, "{\n  \"a\": [1, 2\n}\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	CU_ASSERT_EQUAL(p.d.n, 1);
	CU_ASSERT_EQUAL(p.d.v[0].rule, R_YAML_SYNTAX);
	CU_ASSERT_EQUAL(p.d.v[0].line, 3);
	parsed_free(&p);
}

/* ---------------------------------------------------------------- refusals */

static void test_anchors_and_aliases(void)
{
	struct parsed p;
	parse(&p, "a: &x 1\nb: *x\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_ALIAS, 1, 4);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "anchor \"x\""));
	CU_ASSERT_PTR_NOT_NULL(p.d.v[0].hint);
	parsed_free(&p);

	parse(&p, "a: 1\nb: *x\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_ALIAS, 2, 4);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "alias \"x\""));
	parsed_free(&p);

	/* anchored containers and merge keys too */
	parse(&p, "base: &b {k: v}\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_ALIAS, 1, 7);
	parsed_free(&p);

	parse(&p, "spec:\n  <<: *b\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_ALIAS, 2, 7);
	parsed_free(&p);
}

static void test_duplicate_keys(void)
{
	struct parsed p;
	parse(&p, "kind: A\nspec: {}\nkind: B\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_DUPLICATE_KEY, 3, 1);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"kind\""));
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "line 1"));
	parsed_free(&p);

	/* nested, and written once quoted and once plain: the same key */
	parse(&p, "spec:\n  a: 1\n  b: 2\n  \"a\": 3\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_DUPLICATE_KEY, 4, 3);
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "line 2"));
	parsed_free(&p);

	/* three times: one message at the first repeat, with the count, so that a key repeated
	 * 100,000 times is one message and not 100,000 */
	parse(&p, "a: 1\na: 2\nb: 0\na: 3\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	CU_ASSERT_EQUAL_FATAL(p.d.n, 1);
	CU_ASSERT_EQUAL(count_rule(&p.d, R_YAML_DUPLICATE_KEY), 1);
	CU_ASSERT_EQUAL(p.d.v[0].line, 2);
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "line 1"));
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "3 times"));
	parsed_free(&p);

	/* the same key in two different maps is fine; so are keys that only share a prefix */
	parse(&p, "x: {a: 1}\ny: {a: 2}\nab: 1\na: 2\n");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	parsed_free(&p);

	/* JSON objects too */
	parse(&p, "{\"a\": 1,\n \"a\": 2}");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_DUPLICATE_KEY, 2, 2);
	parsed_free(&p);
}

static void test_depth_limit(void)
{
	struct reader_limits lim;
	reader_default_limits(&lim);
	CU_ASSERT_EQUAL(lim.max_depth, 64);
	CU_ASSERT_EQUAL(lim.max_document_bytes, (size_t)16 << 20);
	CU_ASSERT_EQUAL(lim.max_input_bytes, (size_t)1 << 30);

	const char *text = "a:\n  b:\n    c:\n      d: 1\n"; /* four nested mappings */
	struct parsed p;
	lim.max_depth = 3;
	parse_with(&p, text, strlen(text), &lim);
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_DEPTH, 4, 7);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "limit of 3"));
	parsed_free(&p);

	lim.max_depth = 4;
	parse_with(&p, text, strlen(text), &lim);
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	parsed_free(&p);

	/* sequences count as well; the default allows 64 levels and refuses the 65th */
	char deep[200];
	reader_default_limits(&lim);
	for (int levels = 64; levels <= 65; levels++) {
		memset(deep, '[', (size_t)levels);
		memset(deep + levels, ']', (size_t)levels);
		deep[2 * levels] = 0;
		parse_with(&p, deep, strlen(deep), &lim);
		if (levels == 64) {
			CU_ASSERT_EQUAL(p.rc, 0);
			CU_ASSERT_EQUAL(p.d.n, 0);
		} else {
			CU_ASSERT_EQUAL(p.rc, -1);
			ASSERT_ONLY_DIAG(&p.d, R_YAML_DEPTH, 1, 65);
		}
		parsed_free(&p);
	}
}

/* Appends n small documents of the form "kind: dNNNNN" to sb. */
static void small_docs(struct strbuf *sb, int n)
{
	for (int i = 0; i < n; i++)
		sb_printf(sb, "---\nkind: d%05d\n", i);
}

static void test_document_size_limit(void)
{
	struct reader_limits lim;
	reader_default_limits(&lim);
	lim.max_document_bytes = 100;
	struct parsed p;

	/* 60 documents of 17 bytes: 1020 bytes in all, each well under the limit */
	struct strbuf sb = {0};
	small_docs(&sb, 60);
	parse_with(&p, sb.s, sb.len, &lim);
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	CU_ASSERT_EQUAL(p.docs.n, 60);
	parsed_free(&p);
	sb_free(&sb);

	/* 5000 of them (85 KB): read in several chunks, the limit still applies per document */
	small_docs(&sb, 5000);
	parse_with(&p, sb.s, sb.len, &lim);
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	if (p.d.n)
		dump_diags(&p.d);
	CU_ASSERT_EQUAL(p.docs.n, 5000);
	parsed_free(&p);
	sb_free(&sb);

	/* one small document, then one of 300 bytes: refused, pointing at where it starts */
	sb_puts(&sb, "kind: small\n---\nkind: big\nname: ");
	for (int i = 0; i < 300; i++)
		sb_puts(&sb, "x");
	sb_puts(&sb, "\n");
	parse_with(&p, sb.s, sb.len, &lim);
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_SIZE, 2, 1);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "100 bytes"));
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "--max-document-size"));
	parsed_free(&p);
	sb_free(&sb);

	/* the same big document, read through a file as polc reads its inputs */
	sb_puts(&sb, "name: ");
	for (int i = 0; i < 200000; i++)
		sb_puts(&sb, "y");
	sb_puts(&sb, "\n");
	lim.max_document_bytes = 1000;
	parse_with(&p, sb.s, sb.len, &lim);
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_SIZE, 1, 1);
	/* refused soon after the limit, not after slurping the whole input */
	CU_ASSERT_TRUE(p.src->len < 100000);
	parsed_free(&p);
	sb_free(&sb);
}

static void test_input_size_limit(void)
{
	struct reader_limits lim;
	reader_default_limits(&lim);
	lim.max_input_bytes = 100;
	struct parsed p;
	struct strbuf sb = {0};

	small_docs(&sb, 12); /* 204 bytes */
	parse_with(&p, sb.s, sb.len, &lim);
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_SIZE, 0, 0);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "input is larger than the limit of 100 bytes"));
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "--max-input-size"));
	CU_ASSERT_STRING_EQUAL(p.d.v[0].path, "inline.yaml");
	parsed_free(&p);
	sb_free(&sb);

	/* exactly at the limit is allowed: 5 documents of 17 bytes and a 15-byte comment */
	small_docs(&sb, 5);
	sb_puts(&sb, "# padding....\n");
	sb_puts(&sb, "\n");
	CU_ASSERT_EQUAL_FATAL(sb.len, 100);
	parse_with(&p, sb.s, sb.len, &lim);
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	CU_ASSERT_EQUAL(p.docs.n, 5);
	parsed_free(&p);
	sb_free(&sb);
}

static void test_invalid_utf8(void)
{
	struct parsed p;
	parse(&p, "a: b\nc: \xff\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_UTF8, 2, 4);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "0xff"));
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "offset 8"));
	parsed_free(&p);

	/* a lead byte whose continuation byte is missing: libyaml points at the byte that
	 * should have continued it, the "(" in column 12 */
	parse(&p, "kind: X\nmetadata:\n  name: ab\xc3(\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_UTF8, 3, 12);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "offset 29"));
	parsed_free(&p);

	/* well-formed multi-byte characters are fine */
	parse(&p, "description: \"caf\xc3\xa9 \xe2\x9c\x93\"\n");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	parsed_free(&p);
}

static void test_template_detection(void)
{
	struct parsed p;
	/* not YAML at all: the parser fails, and the {{ tells why */
	parse(&p, "kind: A\nimage: \"{{ printf \"%s\" .X }}\"\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_TEMPLATE, 2, 20);
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "helm template"));
	parsed_free(&p);

	/* a syntax error in a file with no template is just a syntax error */
	parse(&p, "kind: A\nimage: \"x\" y\"\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_SYNTAX, 2, 12);
	parsed_free(&p);

	/* a template that happens to parse as YAML is caught when loading, at the value */
	struct schema_set *s = schema_builtin();
	struct loaded l;
	load_text(&l, s,
		  "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
		  "  name: \"{{ .Name }}\"\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n");
	CU_ASSERT_EQUAL(l.rc, -1); /* an input error, like a syntax error */
	ASSERT_ONLY_DIAG(&l.d, R_YAML_TEMPLATE, 4, 9);
	CU_ASSERT_EQUAL(l.c.policies.n, 0); /* not checked any further */
	loaded_free(&l);
	schema_free(s);

	/* "{{ .X }}" unquoted is a flow mapping whose key is another flow mapping: still a
	 * template, reported where the inner braces start */
	parse(&p, "kind: A\nname: {{ .Name }}\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_TEMPLATE, 2, 8);
	parsed_free(&p);
	parse(&p, "{{- if .Values.enabled }}\nkind: A\n{{- end }}\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_TEMPLATE, 1, 2);
	parsed_free(&p);
}

static void test_complex_keys(void)
{
	struct parsed p;
	parse(&p, "? [a, b]\n: 1\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_SYNTAX, 1, 3);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "complex mapping keys"));
	parsed_free(&p);

	parse(&p, "spec:\n  ? {a: 1}\n  : 2\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_SYNTAX, 2, 5);
	parsed_free(&p);

	parse(&p, "{[a]: 1}\n");
	CU_ASSERT_EQUAL(p.rc, -1);
	ASSERT_ONLY_DIAG(&p.d, R_YAML_SYNTAX, 1, 2);
	parsed_free(&p);

	/* an explicit key that is a plain scalar is just a key */
	parse(&p, "? a\n: 1\n");
	CU_ASSERT_EQUAL(p.rc, 0);
	CU_ASSERT_STRING_EQUAL(node_scalar(node_get(doc_root(&p, 0), "a")), "1");
	parsed_free(&p);
}

/* ---------------------------------------------------------------- node helpers */

static void test_node_helpers(void)
{
	struct parsed p;
	parse(&p, "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: \"null\"\ng: 'null'\nh: nil\n"
		  "i: []\nj: {}\nk: 0\nl: x\n");
	CU_ASSERT_EQUAL_FATAL(p.rc, 0);
	struct node *r = doc_root(&p, 0);
	CU_ASSERT_TRUE(node_is_null(NULL));
	const char *nulls[] = {"a", "b", "c", "d", "e"};
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_TRUE(node_is_null(node_get(r, nulls[i])));
	const char *not_nulls[] = {"f", "g", "h", "i", "j", "k", "l"};
	for (size_t i = 0; i < 7; i++)
		CU_ASSERT_FALSE(node_is_null(node_get(r, not_nulls[i])));
	CU_ASSERT_FALSE(node_is_null(r));

	CU_ASSERT_PTR_NULL(node_get(r, "missing"));
	CU_ASSERT_PTR_NULL(node_get(NULL, "a"));
	CU_ASSERT_PTR_NULL(node_get(node_get(r, "i"), "a")); /* not a map */
	CU_ASSERT_PTR_NULL(node_get(node_get(r, "l"), "a"));
	CU_ASSERT_PTR_EQUAL(node_get(r, "l"), r->vals[11]);
	CU_ASSERT_STRING_EQUAL(node_scalar(node_get(r, "l")), "x");
	CU_ASSERT_PTR_NULL(node_scalar(node_get(r, "j")));
	CU_ASSERT_PTR_NULL(node_scalar(NULL));
	CU_ASSERT_EQUAL(node_get(r, "i")->kind, NODE_SEQ);
	CU_ASSERT_EQUAL(node_get(r, "j")->kind, NODE_MAP);
	CU_ASSERT_EQUAL(node_get(r, "j")->n, 0);
	/* node_key: the key node itself, where diagnostics about a field point */
	struct node *k = node_key(r, "l");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_PTR_EQUAL(k, r->keys[11]);
	CU_ASSERT_EQUAL(k->line, 12);
	CU_ASSERT_EQUAL(k->col, 1);
	CU_ASSERT_PTR_NULL(node_key(r, "missing"));
	CU_ASSERT_PTR_NULL(node_key(node_get(r, "i"), "a"));
	/* lookups are exact: no case folding, no prefixes */
	CU_ASSERT_PTR_NULL(node_get(r, "L"));
	CU_ASSERT_PTR_NULL(node_get(r, ""));
	parsed_free(&p);
}

static void test_collect_inputs(void)
{
	struct ptrvec paths = {0};
	struct diag_sink d;
	diag_init(&d);
	CU_ASSERT_EQUAL(collect_inputs("-", &paths, &d), 0);
	CU_ASSERT_EQUAL_FATAL(paths.n, 1);
	CU_ASSERT_STRING_EQUAL(paths.v[0], "-");
	free(paths.v[0]);
	ptrvec_free(&paths);

	CU_ASSERT_EQUAL(collect_inputs("no/such/file.yaml", &paths, &d), -1);
	CU_ASSERT_EQUAL(paths.n, 0);
	ASSERT_ONLY_DIAG(&d, R_IO, 0, 0);
	CU_ASSERT_STRING_EQUAL(d.v[0].path, "no/such/file.yaml");
	ptrvec_free(&paths);
	diag_free(&d);
}

/* Columns count characters, as node columns do: after "k\xc3\xa9: " the bad byte is
 * character 5 (byte 6). */
static void test_utf8_column_in_characters(void)
{
	struct parsed p;
	parse(&p, "k\xc3\xa9: \xff\n");
	ASSERT_ONLY_DIAG(&p.d, R_YAML_UTF8, 1, 5);
	parsed_free(&p);
}

/* The suites run twice: as polc reads (the block-subset scanner first), and with libyaml
 * alone. */
static int with_scanner(void)
{
	unit_libyaml_only = false;
	return 0;
}

static int libyaml_only(void)
{
	unit_libyaml_only = true;
	return 0;
}

int main(void)
{
	static const struct test_case streams[] = {
	    {"multi-document stream", test_multi_document},
	    {"empty documents are skipped", test_empty_documents_skipped},
	    {"line and column of nodes (1-based)", test_positions},
	    {"quoted vs plain scalars", test_quoted_and_plain},
	    {"JSON input", test_json_input},
	    {NULL, NULL}};
	static const struct test_case refusals[] = {
	    {"anchors and aliases refused", test_anchors_and_aliases},
	    {"duplicate keys refused, both lines reported", test_duplicate_keys},
	    {"depth limit", test_depth_limit},
	    {"per-document size limit", test_document_size_limit},
	    {"input size limit", test_input_size_limit},
	    {"invalid UTF-8 with line and column", test_invalid_utf8},
	    {"UTF-8 error column counts characters", test_utf8_column_in_characters},
	    {"template detection", test_template_detection},
	    {"complex keys refused", test_complex_keys},
	    {NULL, NULL}};
	static const struct test_case helpers[] = {
	    {"node_is_null, node_get, node_key, node_scalar", test_node_helpers},
	    {"collect_inputs", test_collect_inputs},
	    {NULL, NULL}};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (!add_suite("reader: streams", streams, with_scanner, NULL) ||
	    !add_suite("reader: refusals", refusals, with_scanner, NULL) ||
	    !add_suite("reader (libyaml only): streams", streams, libyaml_only, NULL) ||
	    !add_suite("reader (libyaml only): refusals", refusals, libyaml_only, NULL) ||
	    !add_suite("reader: helpers", helpers, with_scanner, NULL)) {
		CU_cleanup_registry();
		return 1;
	}
	return run_tests();
}
