/* Inventory reader: `kubectl get pods,namespaces,nodes,services -A -o yaml` (or -o json, a
 * List or a multi-document stream, several files) into pods, namespaces, nodes and services,
 * with each pod's Cilium identity label set. */
#include "polc.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const struct node *map, const char *key)
{
	const struct node *n = node_get(map, key);
	return n && n->kind == NODE_SCALAR && !node_is_null(n) ? n->str : NULL;
}

static struct label_set map_labels(struct arena *a, const struct node *map, const char *source)
{
	struct label_set ls = {0};
	if (!map || map->kind != NODE_MAP)
		return ls;
	ls.v = arena_alloc(a, (map->n + 1) * sizeof(*ls.v));
	for (size_t i = 0; i < map->n; i++) {
		const char *v = node_scalar(map->vals[i]);
		ls.v[ls.n++] = (struct label){source, map->keys[i]->str, v ? v : ""};
	}
	return ls;
}

static const char **ip_list(struct arena *a, const struct node *seq, const char *field,
			    size_t *n)
{
	*n = 0;
	if (!seq || seq->kind != NODE_SEQ)
		return NULL;
	const char **v = arena_alloc(a, (seq->n + 1) * sizeof(char *));
	for (size_t i = 0; i < seq->n; i++) {
		const char *ip = field ? str(seq->vals[i], field) : node_scalar(seq->vals[i]);
		if (ip)
			v[(*n)++] = ip;
	}
	return v;
}

static void read_pod(struct arena *a, const struct node *obj, struct pod *p)
{
	const struct node *meta = node_get(obj, "metadata"), *spec = node_get(obj, "spec"),
			  *status = node_get(obj, "status");
	p->at = obj;
	p->name = str(meta, "name") ? str(meta, "name") : "";
	p->namespace = str(meta, "namespace") ? str(meta, "namespace") : "default";
	p->service_account = str(spec, "serviceAccountName");
	if (!p->service_account)
		p->service_account = "default";
	p->node = str(spec, "nodeName");
	p->host_network = str(spec, "hostNetwork") && !strcmp(str(spec, "hostNetwork"), "true");
	p->k8s_labels = map_labels(a, node_get(meta, "labels"), "k8s");
	p->ips = ip_list(a, node_get(status, "podIPs"), "ip", &p->nips);
	if (!p->nips && str(status, "podIP")) {
		p->ips = arena_alloc(a, sizeof(char *));
		p->ips[0] = str(status, "podIP");
		p->nips = 1;
	}
	const struct node *owners = node_get(meta, "ownerReferences");
	if (owners && owners->kind == NODE_SEQ && owners->n) {
		p->owner_kind = str(owners->vals[0], "kind");
		p->owner_name = str(owners->vals[0], "name");
	}
	const struct node *containers = node_get(spec, "containers");
	size_t cap = 0;
	for (size_t i = 0; containers && containers->kind == NODE_SEQ && i < containers->n; i++) {
		const struct node *ports = node_get(containers->vals[i], "ports");
		cap += ports && ports->kind == NODE_SEQ ? ports->n : 0;
	}
	p->ports = arena_alloc(a, (cap + 1) * sizeof(*p->ports));
	for (size_t i = 0; containers && containers->kind == NODE_SEQ && i < containers->n; i++) {
		const struct node *ports = node_get(containers->vals[i], "ports");
		for (size_t k = 0; ports && ports->kind == NODE_SEQ && k < ports->n; k++) {
			const struct node *pn = ports->vals[k];
			const char *num = str(pn, "containerPort");
			p->ports[p->nports++] = (struct container_port){
				str(pn, "name"), str(pn, "protocol") ? str(pn, "protocol") : "TCP",
				num ? atoi(num) : 0};
		}
	}
}

static const struct k8s_namespace *find_namespace(const struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->nnamespaces; i++)
		if (!strcmp(inv->namespaces[i].name, name))
			return &inv->namespaces[i];
	return NULL;
}

/* The security labels Cilium derives for a pod (cilium-semantics.md 3.5). */
static void derive_identity(struct arena *a, const struct inventory *inv, struct pod *p)
{
	const struct k8s_namespace *ns = find_namespace(inv, p->namespace);
	size_t cap = p->k8s_labels.n + (ns ? ns->labels.n : 0) + 4;
	struct label_set *id = &p->identity;
	id->v = arena_alloc(a, cap * sizeof(*id->v));
	for (size_t i = 0; i < p->k8s_labels.n; i++)
		if (label_is_identity_relevant(p->k8s_labels.v[i].key))
			id->v[id->n++] = p->k8s_labels.v[i];
	id->v[id->n++] = (struct label){"k8s", "io.kubernetes.pod.namespace", p->namespace};
	for (size_t i = 0; ns && i < ns->labels.n; i++)
		id->v[id->n++] = (struct label){
			"k8s", arena_printf(a, "io.cilium.k8s.namespace.labels.%s", ns->labels.v[i].key),
			ns->labels.v[i].value};
	if (!ns) /* Kubernetes always sets this label on a namespace */
		id->v[id->n++] = (struct label){
			"k8s", "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name",
			p->namespace};
	id->v[id->n++] = (struct label){"k8s", "io.cilium.k8s.policy.serviceaccount",
					p->service_account};
	id->v[id->n++] = (struct label){"k8s", "io.cilium.k8s.policy.cluster", inv->cluster_name};
}

static void read_service(struct arena *a, const struct node *obj, struct k8s_service *s)
{
	const struct node *meta = node_get(obj, "metadata"), *spec = node_get(obj, "spec");
	s->name = str(meta, "name") ? str(meta, "name") : "";
	s->namespace = str(meta, "namespace") ? str(meta, "namespace") : "default";
	s->type = str(spec, "type") ? str(spec, "type") : "ClusterIP";
	const struct node *sel = node_get(spec, "selector");
	s->has_selector = sel && sel->kind == NODE_MAP && sel->n > 0;
	s->selector = map_labels(a, sel, "k8s");
	s->cluster_ips = ip_list(a, node_get(spec, "clusterIPs"), NULL, &s->ncluster_ips);
}

static size_t count_kind(const struct ptrvec *objs, const char *kind)
{
	size_t n = 0;
	for (size_t i = 0; i < objs->n; i++) {
		const char *k = node_scalar(node_get(objs->v[i], "kind"));
		n += k && !strcmp(k, kind);
	}
	return n;
}

static bool is_kind(const struct node *obj, const char *kind)
{
	const char *k = node_scalar(node_get(obj, "kind"));
	return k && !strcmp(k, kind);
}

struct inventory *inventory_load(const char *const *paths, size_t npaths,
				 const struct reader_limits *lim, struct diag_sink *d)
{
	struct inventory *inv = xcalloc(1, sizeof(*inv));
	inv->objects = xcalloc(1, sizeof(struct corpus));
	corpus_init(inv->objects);
	struct schema_set *s = schema_builtin();
	struct load_options o = {.limits = *lim, .inventory = true};
	int rc = corpus_load(inv->objects, &o, s, paths, npaths, d);
	schema_free(s);
	if (rc < 0) {
		inventory_free(inv);
		return NULL;
	}
	struct arena *a = &inv->objects->arena;
	const struct ptrvec *objs = &inv->objects->other;
	inv->cluster_name = "default";
	inv->namespaces = arena_alloc(a, (count_kind(objs, "Namespace") + 1) * sizeof(*inv->namespaces));
	inv->pods = arena_alloc(a, (count_kind(objs, "Pod") + 1) * sizeof(*inv->pods));
	inv->nodes = arena_alloc(a, (count_kind(objs, "Node") + 1) * sizeof(*inv->nodes));
	inv->services = arena_alloc(a, (count_kind(objs, "Service") + 1) * sizeof(*inv->services));
	for (size_t i = 0; i < objs->n; i++) {
		const struct node *obj = objs->v[i], *meta = node_get(obj, "metadata");
		if (is_kind(obj, "Namespace")) {
			struct k8s_namespace *ns = &inv->namespaces[inv->nnamespaces++];
			ns->at = obj;
			ns->name = str(meta, "name") ? str(meta, "name") : "";
			ns->labels = map_labels(a, node_get(meta, "labels"), "k8s");
		} else if (is_kind(obj, "Node")) {
			struct k8s_node *n = &inv->nodes[inv->nnodes++];
			n->name = str(meta, "name") ? str(meta, "name") : "";
			n->labels = map_labels(a, node_get(meta, "labels"), "node");
			n->ips = ip_list(a, node_get(node_get(obj, "status"), "addresses"), "address",
					 &n->nips);
		} else if (is_kind(obj, "Service")) {
			read_service(a, obj, &inv->services[inv->nservices++]);
		}
	}
	for (size_t i = 0; i < objs->n; i++)
		if (is_kind(objs->v[i], "Pod"))
			read_pod(a, objs->v[i], &inv->pods[inv->npods++]);
	for (size_t i = 0; i < inv->npods; i++)
		derive_identity(a, inv, &inv->pods[i]);
	return inv;
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	corpus_free(inv->objects);
	free(inv->objects);
	free(inv);
}
