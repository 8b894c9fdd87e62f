/* Loading: inputs -> documents -> (List items) -> schema -> IR -> Cilium's own checks. */
#include "polc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void corpus_init(struct corpus *c)
{
	memset(c, 0, sizeof(*c));
}

void corpus_free(struct corpus *c)
{
	ptrvec_free(&c->sources);
	ptrvec_free(&c->policies);
	ptrvec_free(&c->cidr_groups);
	ptrvec_free(&c->other);
	arena_free(&c->arena);
}

static bool is_policy_api(const char *api)
{
	return strstr(api, "cilium.io") || strstr(api, "networking.k8s.io");
}

static void add_object(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		       const struct node *obj, struct diag_sink *d)
{
	const char *api = node_scalar(node_get(obj, "apiVersion"));
	const char *kind = node_scalar(node_get(obj, "kind"));
	if (obj->kind != NODE_MAP || !api || !kind) {
		diag_at(d, R_KIND_MISSING, obj,
			"every Kubernetes object starts with apiVersion: and kind:",
			"document has no %s", !api ? "apiVersion" : "kind");
		return;
	}
	const struct schema_type *t = schema_for_kind(s, api, kind);
	if (!t) {
		if (!o->inventory && is_policy_api(api))
			diag_at(d, R_KIND_UNKNOWN, obj,
				"polc checks cilium.io/v2 CiliumNetworkPolicy, "
				"CiliumClusterwideNetworkPolicy, CiliumCIDRGroup and "
				"networking.k8s.io/v1 NetworkPolicy",
				"%s %s is not checked", api, kind);
		ptrvec_push(&c->other, (void *)obj);
		return;
	}
	/* The annotation silences lints in the whole object, schema warnings included. */
	d->object_disabled = annotation_disables(&c->arena, node_get(obj, "metadata"));
	int errors = schema_validate(s, t, obj, d);
	d->object_disabled = NULL;
	if (errors > 0)
		return;
	if (!strcmp(kind, "CiliumCIDRGroup")) {
		ptrvec_push(&c->cidr_groups, ir_cidr_group(&c->arena, obj));
		return;
	}
	enum policy_kind k = !strcmp(kind, "NetworkPolicy")		     ? KIND_KNP
			     : !strcmp(kind, "CiliumClusterwideNetworkPolicy") ? KIND_CCNP
									       : KIND_CNP;
	struct policy *p = ir_policy(&c->arena, obj, k, d);
	d->object_disabled = p->disabled_lints;
	check_policy(p, d);
	d->object_disabled = NULL;
	ptrvec_push(&c->policies, p);
}

/* A Go or Helm template can parse as YAML and still carry {{ ... }} in its values. */
static const struct node *find_template(const struct node *n, int depth)
{
	if (!n || depth > 256)
		return NULL;
	if (n->kind == NODE_SCALAR)
		return strstr(n->str, "{{") && strstr(n->str, "}}") ? n : NULL;
	for (size_t i = 0; i < n->n; i++) {
		const struct node *t = find_template(n->vals[i], depth + 1);
		if (!t && n->kind == NODE_MAP)
			t = find_template(n->keys[i], depth + 1);
		if (t)
			return t;
	}
	return NULL;
}

/* `kubectl get -o yaml` wraps objects in a v1 List; unwrap it (one level, as kubectl does). */
int corpus_add_document(struct corpus *c, const struct load_options *o,
			const struct schema_set *s, const struct node *root, struct diag_sink *d)
{
	/* Walk the tree only when its file has a "{{" at all. */
	const struct source *src = root->src;
	const struct node *tmpl = src && src->braces ? find_template(root, 0) : NULL;
	if (tmpl) {
		diag_at(d, R_YAML_TEMPLATE, tmpl,
			"render it first (helm template, or the tool that owns it) and lint the output",
			"this document is an unrendered Go or Helm template");
		return -1; /* not a policy at all: an input error, like a syntax error */
	}
	const char *kind = node_scalar(node_get(root, "kind"));
	const struct node *items = node_get(root, "items");
	if (kind && !strcmp(kind, "List")) {
		if (items && items->kind == NODE_SEQ) {
			for (size_t i = 0; i < items->n; i++)
				add_object(c, o, s, items->vals[i], d);
		} else if (!node_is_null(items)) {
			diag_at(d, R_SCHEMA_TYPE, items ? items : root, NULL,
				"a List needs items: as a list of objects");
		}
		return 0;
	}
	add_object(c, o, s, root, d);
	return 0;
}

static int load_path(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		     const char *path, struct diag_sink *d)
{
	FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!in) {
		diag_pos(d, R_IO, NULL, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
		return -1;
	}
	struct source *src;
	struct ptrvec docs = {0};
	int rc = read_stream(&c->arena, path, in, &o->limits, d, &src, &docs);
	if (in != stdin)
		fclose(in);
	ptrvec_push(&c->sources, src);
	/* A stream with a syntax error is refused whole: nothing half-read is checked. */
	for (size_t i = 0; rc == 0 && i < docs.n; i++)
		if (corpus_add_document(c, o, s, ((struct document *)docs.v[i])->root, d) < 0)
			rc = -1;
	ptrvec_free(&docs);
	return rc;
}

int corpus_load(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		const char *const *args, size_t nargs, struct diag_sink *d)
{
	int rc = 0;
	for (size_t i = 0; i < nargs; i++) {
		struct ptrvec paths = {0};
		if (collect_inputs(args[i], &paths, d) < 0)
			rc = -1;
		for (size_t k = 0; k < paths.n; k++) {
			if (load_path(c, o, s, paths.v[k], d) < 0)
				rc = -1;
			free(paths.v[k]);
		}
		ptrvec_free(&paths);
	}
	return rc;
}
