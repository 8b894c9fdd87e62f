/* CRD coverage: every property of Cilium's policy CRDs must be known to polc's schemas.
 *
 * Each CRD is read with polc's own reader. For every version, the property names of
 * openAPIV3Schema are checked against polc's root type, and everything under `spec` (and the
 * items of `specs`) is walked through properties, items, additionalProperties and the
 * anyOf/oneOf/allOf branches into dotted paths ("ingress.toPorts.ports.endPort"), each of which
 * must be in schema_list_paths() of the rule type ("Rule", "CIDRGroupSpec").
 *
 * The copies in tests/data/crds/ are always checked. When POLC_REFERENCE_DIR names a Cilium
 * reference tree, or $POLC_SRCDIR/../shared/reference/cilium exists, the CRDs found there are
 * checked as well, so that CI sees the newest upstream CRDs.
 */
#include "unit.h"

#include <sys/stat.h>

#ifndef POLC_SRCDIR
#define POLC_SRCDIR "."
#endif

#define CRD_SUBDIR "pkg/k8s/apis/cilium.io/client/crds/v2"

static struct schema_set *S;
static char local_dir[4096], upstream_dir[8192];
static bool upstream_required; /* POLC_REFERENCE_DIR was given explicitly */
static bool show_notes = true;

/* Which polc types describe a CRD: by kind and version. */
struct crd_root {
	const char *kind, *version, *root, *rule;
};
static const struct crd_root ROOTS[] = {
    {"CiliumNetworkPolicy", "v2", "CiliumNetworkPolicy", "Rule"},
    {"CiliumClusterwideNetworkPolicy", "v2", "CiliumClusterwideNetworkPolicy", "Rule"},
    {"CiliumCIDRGroup", "v2", "CiliumCIDRGroupV2", "CIDRGroupSpec"},
    {"CiliumCIDRGroup", "v2alpha1", "CiliumCIDRGroupV2Alpha1", "CIDRGroupSpec"},
    {NULL, NULL, NULL, NULL},
};

static const char *const FILES[] = {"ciliumnetworkpolicies.yaml",
				    "ciliumclusterwidenetworkpolicies.yaml",
				    "ciliumcidrgroups.yaml", NULL};

/* ---------------------------------------------------------------- path sets */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct pathset {
	struct ptrvec v; /* sorted char * */
	struct arena a;
};

static void pathset_load(struct pathset *ps, const char *root)
{
	memset(ps, 0, sizeof(*ps));
	schema_list_paths(S, root, &ps->v, &ps->a);
	qsort(ps->v.v, ps->v.n, sizeof(void *), cmp_str);
}

static bool pathset_has(const struct pathset *ps, const char *path)
{
	return bsearch(&path, ps->v.v, ps->v.n, sizeof(void *), cmp_str) != NULL;
}

static void pathset_free(struct pathset *ps)
{
	ptrvec_free(&ps->v);
	arena_free(&ps->a);
}

/* ---------------------------------------------------------------- walking a CRD schema */

struct found {
	const char *path;
	int line;
};

struct walk {
	struct arena *a;
	struct found *v;
	size_t n, cap;
};

static void add_found(struct walk *w, const char *path, int line)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].path, path))
			return;
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 256;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = (struct found){path, line};
}

/* Records every property below the OpenAPI schema n as prefix.name, recursively. */
static void walk_schema(struct walk *w, const struct node *n, const char *prefix, int depth)
{
	if (!n || n->kind != NODE_MAP || depth > 64)
		return;
	const struct node *props = node_get(n, "properties");
	for (size_t i = 0; props && props->kind == NODE_MAP && i < props->n; i++) {
		const char *name = props->keys[i]->str;
		char *path = arena_printf(w->a, "%s%s%s", prefix, *prefix ? "." : "", name);
		add_found(w, path, props->keys[i]->line);
		walk_schema(w, props->vals[i], path, depth + 1);
	}
	walk_schema(w, node_get(n, "items"), prefix, depth + 1);
	const struct node *ap = node_get(n, "additionalProperties");
	if (ap && ap->kind == NODE_MAP)
		walk_schema(w, ap, prefix, depth + 1);
	const char *branches[] = {"anyOf", "oneOf", "allOf"};
	for (size_t b = 0; b < 3; b++) {
		const struct node *list = node_get(n, branches[b]);
		for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->n; i++)
			walk_schema(w, list->vals[i], prefix, depth + 1);
	}
}

static const struct crd_root *root_for(const char *kind, const char *version)
{
	for (const struct crd_root *r = ROOTS; r->kind; r++)
		if (!strcmp(r->kind, kind) && !strcmp(r->version, version))
			return r;
	return NULL;
}

/* Checks one CRD file; returns the number of properties polc does not know (or 1 if the file
 * cannot be read as a CRD), printing each. */
static size_t check_crd(const char *dir, const char *file)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *in = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL(in);
	if (!in) {
		printf("\n    cannot open %s\n", path);
		return 1;
	}
	struct arena a = {0};
	struct diag_sink d;
	diag_init(&d);
	struct reader_limits lim;
	reader_default_limits(&lim);
	lim.max_depth = 200; /* an OpenAPI schema nests deeper than any policy */
	struct source *src;
	struct ptrvec docs = {0};
	int rc = read_stream(&a, path, in, &lim, &d, &src, &docs);
	fclose(in);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(d.n, 0);
	if (d.n)
		dump_diags(&d);
	size_t unknown = 0, versions = 0, checked = 0;
	for (size_t i = 0; rc == 0 && i < docs.n; i++) {
		const struct node *crd = ((struct document *)docs.v[i])->root;
		const char *kind = node_scalar(node_get(crd, "kind"));
		if (!kind || strcmp(kind, "CustomResourceDefinition") != 0)
			continue;
		const struct node *spec = node_get(crd, "spec");
		const char *res_kind = node_scalar(node_get(node_get(spec, "names"), "kind"));
		const char *group = node_scalar(node_get(spec, "group"));
		const struct node *vs = node_get(spec, "versions");
		CU_ASSERT_PTR_NOT_NULL_FATAL(res_kind);
		CU_ASSERT_PTR_NOT_NULL_FATAL(group);
		CU_ASSERT_FATAL(vs && vs->kind == NODE_SEQ);
		for (size_t k = 0; k < vs->n; k++) {
			const char *version = node_scalar(node_get(vs->vals[k], "name"));
			const struct node *schema =
			    node_get(node_get(vs->vals[k], "schema"), "openAPIV3Schema");
			if (!version || !schema)
				continue;
			versions++;
			char api[128];
			snprintf(api, sizeof api, "%s/%s", group, version);
			const struct crd_root *r = root_for(res_kind, version);
			bool served = schema_for_kind(S, api, res_kind) != NULL;
			CU_ASSERT_PTR_NOT_NULL(r);
			CU_ASSERT_TRUE(served);
			if (!r || !served) {
				printf("\n    %s: polc has no schema for %s %s", file, api,
				       res_kind);
				unknown++;
				continue;
			}
			struct pathset top, rule;
			pathset_load(&top, r->root);
			pathset_load(&rule, r->rule);
			CU_ASSERT(top.v.n > 0 && rule.v.n > 0);

			/* the object's own fields (apiVersion, kind, metadata, spec, specs, status)
			 */
			const struct node *props = node_get(schema, "properties");
			for (size_t p = 0; props && props->kind == NODE_MAP && p < props->n; p++)
				if (!pathset_has(&top, props->keys[p]->str)) {
					printf("\n    unknown to polc: %s (%s %s, %s:%d)",
					       props->keys[p]->str, res_kind, version, file,
					       props->keys[p]->line);
					unknown++;
				}

			/* everything under spec and specs[] */
			struct walk w = {.a = &a};
			walk_schema(&w, node_get(props, "spec"), "", 0);
			const struct node *specs = node_get(props, "specs");
			walk_schema(&w, node_get(specs, "items"), "", 0);
			CU_ASSERT(w.n > 0);
			for (size_t f = 0; f < w.n; f++)
				if (!pathset_has(&rule, w.v[f].path)) {
					printf("\n    unknown to polc: %s.%s (%s %s, %s:%d)",
					       r->rule, w.v[f].path, res_kind, version, file,
					       w.v[f].line);
					unknown++;
				}
			/* the other way round, for information: fields polc accepts that this
			 * CRD does not have (the API server would prune or refuse them); only
			 * the first path where they part is shown */
			for (size_t q = 0; q < rule.v.n; q++) {
				const char *mine = rule.v.v[q];
				const char *dot = strrchr(mine, '.');
				size_t plen = dot ? (size_t)(dot - mine) : 0;
				bool in_crd = false, parent_in_crd = plen == 0;
				for (size_t f = 0; f < w.n; f++) {
					in_crd |= !strcmp(w.v[f].path, mine);
					parent_in_crd |= strlen(w.v[f].path) == plen &&
							 !strncmp(w.v[f].path, mine, plen);
				}
				if (!in_crd && parent_in_crd && show_notes)
					printf("\n    note: polc knows %s.%s, which %s %s does not "
					       "have",
					       r->rule, mine, res_kind, version);
			}
			printf("\n    %s %s: %zu properties under spec, all checked", res_kind,
			       version, w.n);
			checked += w.n;
			free(w.v);
			pathset_free(&top);
			pathset_free(&rule);
		}
	}
	CU_ASSERT(versions > 0);
	CU_ASSERT(checked > 0);
	if (unknown)
		printf("\n    %zu propert%s of %s unknown to polc's schemas\n", unknown,
		       unknown == 1 ? "y" : "ies", path);
	ptrvec_free(&docs);
	diag_free(&d);
	arena_free(&a);
	return versions ? unknown : unknown + 1;
}

/* ---------------------------------------------------------------- tests */

static int setup(void)
{
	S = schema_builtin();
	return S ? 0 : 1;
}

static int teardown(void)
{
	schema_free(S);
	S = NULL;
	return 0;
}

static void check_dir(const char *dir)
{
	for (const char *const *f = FILES; *f; f++) {
		size_t unknown = check_crd(dir, *f);
		CU_ASSERT_EQUAL(unknown, 0);
	}
}

static void test_local_crds(void)
{
	check_dir(local_dir);
}

static void test_upstream_crds(void)
{
	check_dir(upstream_dir);
}

/* The walk itself, on a small hand-written schema. */
static void test_walk(void)
{
	struct parsed p;
	parse(&p, "properties:\n"
		  "  a:\n"
		  "    type: array\n"
		  "    items:\n"
		  "      properties:\n"
		  "        b: {type: string}\n"
		  "        m:\n"
		  "          type: object\n"
		  "          additionalProperties:\n"
		  "            properties: {c: {type: string}}\n"
		  "  d:\n"
		  "    anyOf:\n"
		  "    - properties: {e: {}}\n"
		  "    - required: [f]\n");
	CU_ASSERT_EQUAL_FATAL(p.rc, 0);
	struct arena a = {0};
	struct walk w = {.a = &a};
	walk_schema(&w, doc_root(&p, 0), "", 0);
	const char *want[] = {"a", "a.b", "a.m", "a.m.c", "d", "d.e"};
	const int lines[] = {2, 6, 7, 10, 11, 13};
	CU_ASSERT_EQUAL_FATAL(w.n, 6);
	for (size_t i = 0; i < 6; i++) {
		CU_ASSERT_STRING_EQUAL(w.v[i].path, want[i]);
		CU_ASSERT_EQUAL(w.v[i].line, lines[i]);
	}
	free(w.v);
	arena_free(&a);
	parsed_free(&p);
}

/* A CRD with two properties polc does not have: both are found, with their lines. */
static void test_detects_unknown(void)
{
	const char *crd =
	    "apiVersion: apiextensions.k8s.io/v1\n"
	    "kind: CustomResourceDefinition\n"
	    "spec:\n"
	    "  group: cilium.io\n"
	    "  names: {kind: CiliumNetworkPolicy}\n"
	    "  versions:\n"
	    "  - name: v2\n"
	    "    schema:\n"
	    "      openAPIV3Schema:\n"
	    "        properties:\n"
	    "          apiVersion: {type: string}\n"
	    "          spec:\n"
	    "            properties:\n"
	    "              endpointSelector: {type: object}\n"
	    "              egress:\n"
	    "                items:\n"
	    "                  properties:\n"
	    "                    toPorts: {items: {properties: {newL7: {type: object}}}}\n"
	    "          futureField: {type: object}\n";
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/polc-crd-XXXXXX", dir && *dir ? dir : ".");
	char *made = mkdtemp(tmpl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(made);
	char file[8192];
	snprintf(file, sizeof file, "%s/crd.yaml", made);
	FILE *f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(crd, f);
	fclose(f);
	show_notes = false;
	CU_ASSERT_EQUAL(check_crd(made, "crd.yaml"), 2);
	show_notes = true;
	unlink(file);
	rmdir(made);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
	const char *srcdir = getenv("POLC_SRCDIR");
	if (!srcdir || !*srcdir)
		srcdir = POLC_SRCDIR;
	snprintf(local_dir, sizeof local_dir, "%s/tests/data/crds", srcdir);
	const char *ref = getenv("POLC_REFERENCE_DIR");
	if (ref && *ref) {
		snprintf(upstream_dir, sizeof upstream_dir, "%s/" CRD_SUBDIR, ref);
		upstream_required = true;
	} else {
		char guess[4096];
		snprintf(guess, sizeof guess, "%s/../shared/reference/cilium", srcdir);
		if (is_dir(guess))
			snprintf(upstream_dir, sizeof upstream_dir, "%s/" CRD_SUBDIR, guess);
	}

	static const struct test_case local[] = {
	    {"walk of an OpenAPI schema", test_walk},
	    {"a property polc lacks is reported", test_detects_unknown},
	    {"tests/data/crds: every property known to polc", test_local_crds},
	    {NULL, NULL}};
	static const struct test_case upstream[] = {
	    {"upstream CRDs: every property known to polc", test_upstream_crds}, {NULL, NULL}};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	bool ok = add_suite("CRD coverage", local, setup, teardown);
	if (ok && *upstream_dir && (upstream_required || is_dir(upstream_dir)))
		ok = add_suite("CRD coverage (upstream reference)", upstream, setup, teardown);
	else
		printf("no upstream Cilium reference found (set POLC_REFERENCE_DIR): checking the "
		       "copies in tests/data/crds only\n");
	if (!ok) {
		CU_cleanup_registry();
		return 1;
	}
	return run_tests();
}
