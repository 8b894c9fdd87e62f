/* Labels and selectors the way Cilium reads them.
 *
 * A selector key is written "source:key" or bare; bare means source "any", which matches a
 * label of any source. Cilium also writes "source.key"; we accept the colon form that users
 * write, and treat a leading "$" or "reserved." as the reserved source.
 */
#include "polc.h"

#include <stdlib.h>
#include <string.h>

bool label_is_identity_relevant(const char *key)
{
	static const char *const drop_prefix[] = {
		"io.kubernetes", "kubernetes.io", "k8s.io", "annotation", "topology.kubernetes.io",
		"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
		"batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/controller-uid",
		"pod-template-generation", "pod-template-hash", "controller-revision-hash",
		"controller-uid", "etcd_node"};
	static const char *const keep_prefix[] = {
		"io.kubernetes.pod.namespace", "io.cilium.k8s.namespace.labels",
		"app.kubernetes.io", "io.cilium.k8s.policy.cluster",
		"io.cilium.k8s.policy.serviceaccount"};
	for (size_t i = 0; i < sizeof(keep_prefix) / sizeof(*keep_prefix); i++)
		if (!strncmp(key, keep_prefix[i], strlen(keep_prefix[i])))
			return true;
	if (strstr(key, "beta.kubernetes.io"))
		return false;
	for (size_t i = 0; i < sizeof(drop_prefix) / sizeof(*drop_prefix); i++)
		if (!strncmp(key, drop_prefix[i], strlen(drop_prefix[i])))
			return false;
	return true;
}

const char *label_get(const struct label_set *ls, const char *source, const char *key)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->v[i].key, key) &&
		    (!strcmp(source, "any") || !strcmp(source, ls->v[i].source)))
			return ls->v[i].value;
	return NULL;
}

/* Splits "k8s:app" into ("k8s", "app"); a bare key has source "any". */
static const char *split_key(const char *written, char *source, size_t size)
{
	const char *colon = strchr(written, ':');
	if (written[0] == '$') {
		snprintf(source, size, "reserved");
		return written + 1;
	}
	if (!strncmp(written, "reserved.", 9)) { /* Cilium's own dotted spelling */
		snprintf(source, size, "reserved");
		return written + 9;
	}
	if (!colon || (size_t)(colon - written) >= size) {
		snprintf(source, size, "any");
		return written;
	}
	snprintf(source, size, "%.*s", (int)(colon - written), written);
	return colon + 1;
}

static bool any_source_has(const struct label_set *ls, const char *source, const char *key,
			   const char *const *values, size_t nvalues, bool *present)
{
	*present = false;
	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];
		if (strcmp(l->key, key) != 0 || (strcmp(source, "any") && strcmp(source, l->source)))
			continue;
		*present = true;
		for (size_t k = 0; k < nvalues; k++)
			if (!strcmp(values[k], l->value))
				return true;
	}
	return false;
}

/* Against a metadata.labels mapping (services, CIDR groups): labels of source k8s. */
bool selector_matches_labels_node(const struct selector *sel, const struct node *labels)
{
	struct label_set ls = {0};
	struct label small[32];
	size_t n = labels && labels->kind == NODE_MAP ? labels->n : 0;
	ls.v = n <= 32 ? small : xmalloc(n * sizeof(struct label));
	for (size_t i = 0; i < n; i++) {
		const char *v = node_scalar(labels->vals[i]);
		ls.v[ls.n++] = (struct label){"k8s", labels->keys[i]->str, v ? v : ""};
	}
	bool ok = selector_matches(sel, &ls);
	if (ls.v != small)
		free(ls.v);
	return ok;
}

bool selector_matches(const struct selector *sel, const struct label_set *labels)
{
	for (size_t i = 0; i < sel->n; i++) {
		const struct label_req *r = &sel->reqs[i];
		char source[32];
		const char *key = split_key(r->key, source, sizeof source);
		bool present;
		bool in = any_source_has(labels, source, key, r->values, r->nvalues, &present);
		bool ok = r->op == OP_IN		 ? in
			  : r->op == OP_NOT_IN	 ? !in
			  : r->op == OP_EXISTS	 ? present
						 : !present;
		if (!ok)
			return false;
	}
	return true;
}
