/* Inventory reader: `kubectl get pods,namespaces,nodes,services -A -o yaml` (or -o json, a
 * List or a multi-document stream, several files) into pods, namespaces, nodes and services,
 * with each pod's Cilium identity label set. */
#include "polc.h"

#include <arpa/inet.h>
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

/* InternalIP and ExternalIP addresses; Hostname and the like are not addresses. */
static const char **node_addresses(struct arena *a, const struct node *seq, size_t *n)
{
	*n = 0;
	if (!seq || seq->kind != NODE_SEQ)
		return NULL;
	const char **v = arena_alloc(a, (seq->n + 1) * sizeof(char *));
	for (size_t i = 0; i < seq->n; i++) {
		const char *type = str(seq->vals[i], "type"), *ip = str(seq->vals[i], "address");
		struct prefix p;
		if (ip && type && strstr(type, "IP") && parse_prefix(ip, &p, true) == 0)
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
	p->host_ip = str(status, "hostIP");
	p->k8s_labels = map_labels(a, node_get(meta, "labels"), "k8s");
	p->ips = ip_list(a, node_get(status, "podIPs"), "ip", &p->nips);
	if (!p->nips && str(status, "podIP")) {
		p->ips = arena_alloc(a, sizeof(char *));
		p->ips[0] = str(status, "podIP");
		p->nips = 1;
	}
	/* A pod that has finished (a completed Job) keeps its podIP in the API, but Cilium has
	 * removed its endpoint and ipcache entries, and the address may already be a new pod's. */
	const char *phase = str(status, "phase");
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		p->nips = 0;
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

static void read_service_ports(struct arena *a, const struct node *ports, struct k8s_service *s)
{
	s->ports = arena_alloc(a, ((ports && ports->kind == NODE_SEQ ? ports->n : 0) + 1) *
				      sizeof(*s->ports));
	for (size_t i = 0; ports && ports->kind == NODE_SEQ && i < ports->n; i++) {
		const struct node *pn = ports->vals[i], *tp = node_get(pn, "targetPort");
		struct service_port *sp = &s->ports[s->nports++];
		sp->name = str(pn, "name");
		sp->protocol = str(pn, "protocol") ? str(pn, "protocol") : "TCP";
		sp->port = str(pn, "port") ? atoi(str(pn, "port")) : 0;
		sp->node_port = str(pn, "nodePort") ? atoi(str(pn, "nodePort")) : 0;
		const char *t = node_scalar(tp);
		if (t && (tp->quoted || t[0] < '0' || t[0] > '9'))
			sp->target_name = t;
		else
			sp->target_port = t ? atoi(t) : sp->port;
	}
}

static void read_service(struct arena *a, const struct node *obj, struct k8s_service *s)
{
	const struct node *meta = node_get(obj, "metadata"), *spec = node_get(obj, "spec");
	s->name = str(meta, "name") ? str(meta, "name") : "";
	s->namespace = str(meta, "namespace") ? str(meta, "namespace") : "default";
	s->type = str(spec, "type") ? str(spec, "type") : "ClusterIP";
	s->labels = node_get(meta, "labels");
	const struct node *sel = node_get(spec, "selector");
	s->has_selector = sel && sel->kind == NODE_MAP && sel->n > 0;
	s->selector = map_labels(a, sel, "k8s");
	s->cluster_ips = ip_list(a, node_get(spec, "clusterIPs"), NULL, &s->ncluster_ips);
	if (!s->ncluster_ips && str(spec, "clusterIP") && strcmp(str(spec, "clusterIP"), "None")) {
		s->cluster_ips = arena_alloc(a, sizeof(char *));
		s->cluster_ips[s->ncluster_ips++] = str(spec, "clusterIP");
	}
	read_service_ports(a, node_get(spec, "ports"), s);
	size_t next, nlb;
	const char **ext = ip_list(a, node_get(spec, "externalIPs"), NULL, &next);
	const char **lb = ip_list(a, node_get(node_get(node_get(obj, "status"), "loadBalancer"), "ingress"),
				  "ip", &nlb);
	s->external_ips = arena_alloc(a, (next + nlb + 1) * sizeof(char *));
	for (size_t i = 0; i < next; i++)
		s->external_ips[s->nexternal_ips++] = ext[i];
	for (size_t i = 0; i < nlb; i++)
		s->external_ips[s->nexternal_ips++] = lb[i];
}

static struct k8s_service *find_service(struct inventory *inv, const char *ns, const char *name)
{
	for (size_t i = 0; i < inv->nservices; i++)
		if (!strcmp(inv->services[i].namespace, ns) && !strcmp(inv->services[i].name, name))
			return &inv->services[i];
	return NULL;
}

/* EndpointSlices name their service in the kubernetes.io/service-name label. */
static void read_endpoint_slice(struct arena *a, struct inventory *inv, const struct node *obj)
{
	const struct node *meta = node_get(obj, "metadata");
	const char *ns = str(meta, "namespace") ? str(meta, "namespace") : "default";
	const char *svc = str(node_get(meta, "labels"), "kubernetes.io/service-name");
	struct k8s_service *s = svc ? find_service(inv, ns, svc) : NULL;
	const struct node *eps = node_get(obj, "endpoints");
	if (!s || !eps || eps->kind != NODE_SEQ)
		return;
	size_t add = 0;
	for (size_t i = 0; i < eps->n; i++) {
		const struct node *addrs = node_get(eps->vals[i], "addresses");
		add += addrs && addrs->kind == NODE_SEQ ? addrs->n : 0;
	}
	const char **v = arena_alloc(a, (s->nbackends + add + 1) * sizeof(char *));
	if (s->nbackends)
		memcpy(v, s->backends, s->nbackends * sizeof(char *));
	s->backends = v;
	for (size_t i = 0; i < eps->n; i++) {
		size_t n;
		const char **ips = ip_list(a, node_get(eps->vals[i], "addresses"), NULL, &n);
		for (size_t k = 0; k < n; k++)
			s->backends[s->nbackends++] = ips[k];
	}
}

/* Without Node objects, a pod's nodeName and hostIP still say where a node is: its address is
 * a node's (host or remote-node), never world. */
static void add_nodes_from_pods(struct arena *a, struct inventory *inv)
{
	struct k8s_node *all = arena_alloc(a, (inv->nnodes + inv->npods + 1) * sizeof(*all));
	memcpy(all, inv->nodes, inv->nnodes * sizeof(*all));
	size_t n = inv->nnodes;
	for (size_t i = 0; i < inv->npods; i++) {
		const struct pod *p = &inv->pods[i];
		const char *ip = p->host_ip ? p->host_ip : p->host_network && p->nips ? p->ips[0] : NULL;
		if (!p->node || !ip)
			continue;
		size_t k = 0;
		while (k < n && strcmp(all[k].name, p->node))
			k++;
		if (k < n)
			continue; /* known: its Node object (or an earlier pod) says where it is */
		all[n].name = p->node;
		all[n].ips = arena_alloc(a, sizeof(char *));
		all[n].ips[0] = ip;
		all[n].nips = 1;
		n++;
	}
	inv->nodes = all;
	inv->nnodes = n;
}

/* Deployments name their ReplicaSets "<deployment>-<pod-template-hash>". */
static const char *workload_of(struct arena *a, const struct pod *p)
{
	if (!p->owner_kind || !p->owner_name)
		return NULL;
	const char *hash = label_get(&p->k8s_labels, "k8s", "pod-template-hash");
	size_t n = strlen(p->owner_name);
	if (!strcmp(p->owner_kind, "ReplicaSet") && hash && n > strlen(hash) + 1 &&
	    !strcmp(p->owner_name + n - strlen(hash), hash) && p->owner_name[n - strlen(hash) - 1] == '-')
		return arena_printf(a, "%s/%.*s", p->namespace, (int)(n - strlen(hash) - 1),
				    p->owner_name);
	return arena_printf(a, "%s/%s", p->namespace, p->owner_name);
}

static const char *const CONTROLLERS[] = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
					  "Job", "CronJob", "PodTemplate", NULL};

static bool is_controller(const struct node *obj)
{
	const char *k = node_scalar(node_get(obj, "kind"));
	for (const char *const *c = CONTROLLERS; k && *c; c++)
		if (!strcmp(k, *c))
			return true;
	return false;
}

/* The pod template of a controller (CronJob nests it one level deeper). */
static const struct node *pod_template(const struct node *obj)
{
	const char *k = node_scalar(node_get(obj, "kind"));
	if (k && !strcmp(k, "PodTemplate"))
		return node_get(obj, "template");
	const struct node *spec = node_get(obj, "spec");
	if (k && !strcmp(k, "CronJob"))
		spec = node_get(node_get(spec, "jobTemplate"), "spec");
	return node_get(spec, "template");
}

static bool workload_has_pods(const struct inventory *inv, const char *workload)
{
	for (size_t i = 0; i < inv->npods; i++)
		if (inv->pods[i].workload && !strcmp(inv->pods[i].workload, workload))
			return true;
	return false;
}

/* A controller with no pods yet becomes a pod-like workload, so policies can be analysed
 * before anything is deployed. */
static void read_template_workload(struct arena *a, struct inventory *inv, const struct node *obj)
{
	const struct node *meta = node_get(obj, "metadata"), *tmpl = pod_template(obj);
	const char *ns = str(meta, "namespace") ? str(meta, "namespace") : "default";
	const char *name = str(meta, "name");
	if (!tmpl || !name)
		return;
	const char *workload = arena_printf(a, "%s/%s", ns, name);
	if (workload_has_pods(inv, workload))
		return;
	struct pod *p = &inv->pods[inv->npods++];
	read_pod(a, tmpl, p);
	p->at = obj;
	p->name = name;
	p->namespace = ns;
	p->nips = 0;
	p->node = NULL;
	p->workload = workload;
	p->from_template = true;
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

/* An address the compiler would put in the ipcache must be one: a bad one is an input error at
 * its place in the inventory, not an image that fails its own verification later. */
static bool is_address(const char *text)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

static int check_address(const struct node *at, const char *what, struct diag_sink *d)
{
	const char *text = at && at->kind == NODE_SCALAR && !node_is_null(at) ? at->str : NULL;
	if (!text || is_address(text))
		return 0;
	diag_at(d, R_SCHEMA_PATTERN, at, "an IPv4 address such as 10.0.1.5 or an IPv6 address",
		"%s \"%s\" is not an IP address", what, text);
	return -1;
}

static int check_port_number(const struct node *pn, const char *field, struct diag_sink *d)
{
	const struct node *num = node_get(pn, field);
	unsigned long v;
	if (!num || node_is_null(num) ||
	    (num->kind == NODE_SCALAR && !num->quoted && parse_uint(num->str, 65535, &v) && v))
		return 0;
	diag_at(d, R_SCHEMA_RANGE, num, "a port number from 1 to 65535", "%s %s is not a port number",
		field, num->kind == NODE_SCALAR ? num->str : "(not a scalar)");
	return -1;
}

/* What the API server guarantees of a port: a number 1-65535 and TCP, UDP or SCTP. Named
 * ports resolve through these, so a value the API would refuse must not be guessed at. */
static int check_port(const struct node *pn, const char *field, struct diag_sink *d)
{
	int rc = check_port_number(pn, field, d);
	const struct node *proto = node_get(pn, "protocol");
	const char *p = proto && proto->kind == NODE_SCALAR && !node_is_null(proto) ? proto->str : NULL;
	if (p && strcmp(p, "TCP") && strcmp(p, "UDP") && strcmp(p, "SCTP")) {
		diag_at(d, R_SCHEMA_ENUM, proto, "TCP, UDP or SCTP (upper case), as the API writes it",
			"protocol \"%s\" is not one Kubernetes accepts", p);
		rc = -1;
	}
	return rc;
}

static int check_ports(const struct node *ports, const char *field, struct diag_sink *d)
{
	int rc = 0;
	for (size_t k = 0; ports && ports->kind == NODE_SEQ && k < ports->n; k++)
		rc |= check_port(ports->vals[k], field, d);
	return rc;
}

static int check_service(const struct node *svc, struct diag_sink *d)
{
	const struct node *spec = node_get(svc, "spec"), *ports = node_get(spec, "ports");
	int rc = check_ports(ports, "port", d);
	for (size_t k = 0; ports && ports->kind == NODE_SEQ && k < ports->n; k++)
		rc |= check_port_number(ports->vals[k], "nodePort", d);
	const struct node *ext = node_get(spec, "externalIPs");
	for (size_t k = 0; ext && ext->kind == NODE_SEQ && k < ext->n; k++)
		rc |= check_address(ext->vals[k], "externalIPs[]", d);
	const struct node *lb = node_get(node_get(node_get(svc, "status"), "loadBalancer"), "ingress");
	for (size_t k = 0; lb && lb->kind == NODE_SEQ && k < lb->n; k++)
		rc |= check_address(node_get(lb->vals[k], "ip"), "loadBalancer.ingress[].ip", d);
	return rc;
}

static int check_container_ports(const struct node *podspec, struct diag_sink *d)
{
	int rc = 0;
	const struct node *containers = node_get(podspec, "containers");
	for (size_t i = 0; containers && containers->kind == NODE_SEQ && i < containers->n; i++)
		rc |= check_ports(node_get(containers->vals[i], "ports"), "containerPort", d);
	return rc;
}

/* What read_pod and read_service rely on: addresses that are addresses, ports that are ports. */
static int check_fields(const struct ptrvec *objs, struct diag_sink *d)
{
	int rc = 0;
	for (size_t i = 0; i < objs->n; i++) {
		const struct node *status = node_get(objs->v[i], "status");
		if (is_kind(objs->v[i], "Pod"))
			rc |= check_container_ports(node_get(objs->v[i], "spec"), d);
		else if (is_controller(objs->v[i]))
			rc |= check_container_ports(node_get(pod_template(objs->v[i]), "spec"), d);
		else if (is_kind(objs->v[i], "Service"))
			rc |= check_service(objs->v[i], d);
		if (is_kind(objs->v[i], "Pod")) {
			const struct node *ips = node_get(status, "podIPs");
			for (size_t k = 0; ips && ips->kind == NODE_SEQ && k < ips->n; k++)
				rc |= check_address(node_get(ips->vals[k], "ip"), "podIPs[].ip", d);
			rc |= check_address(node_get(status, "podIP"), "podIP", d);
			rc |= check_address(node_get(status, "hostIP"), "hostIP", d);
		} else if (is_kind(objs->v[i], "Node")) {
			const struct node *addrs = node_get(status, "addresses");
			for (size_t k = 0; addrs && addrs->kind == NODE_SEQ && k < addrs->n; k++) {
				const char *type = str(addrs->vals[k], "type");
				if (type && (!strcmp(type, "InternalIP") || !strcmp(type, "ExternalIP")))
					rc |= check_address(node_get(addrs->vals[k], "address"),
							    "a node address", d);
			}
		}
	}
	return rc;
}

/* One pod, one endpoint: a pod listed twice (two outputs of kubectl concatenated, or a stale
 * copy), or two running pods with one address (or one pod listing it twice), leave Cilium's
 * view to whichever came last, so the inventory is refused. */
static bool already_reported(const struct ptrvec *reported, const struct pod *p)
{
	for (size_t k = 0; k < reported->n; k++)
		if (reported->v[k] == p)
			return true;
	return false;
}

static void report_conflict(struct diag_sink *d, const struct pod *a, const struct pod *b)
{
	char where[64] = "";
	if (a->at->src == b->at->src && a != b)
		snprintf(where, sizeof where, " (line %d)", a->at->line);
	if (a == b)
		diag_at(d, R_INVENTORY_CONFLICT, b->at, "list each address once",
			"pod %s/%s lists one address twice", b->namespace, b->name);
	else if (!strcmp(a->namespace, b->namespace) && !strcmp(a->name, b->name))
		diag_at(d, R_INVENTORY_CONFLICT, b->at, "keep one copy of each object",
			"pod %s/%s appears twice in the inventory%s", b->namespace, b->name, where);
	else
		diag_at(d, R_INVENTORY_CONFLICT, b->at,
			"take the inventory in one kubectl get: each running pod has its own addresses",
			"pod %s/%s has an address of pod %s/%s%s", b->namespace, b->name, a->namespace,
			a->name, where);
}

static int cmp_pod_name(const void *x, const void *y)
{
	const struct pod *a = *(const struct pod *const *)x, *b = *(const struct pod *const *)y;
	int c = strcmp(a->namespace, b->namespace);
	if (!c)
		c = strcmp(a->name, b->name);
	return c ? c : a->at->line - b->at->line;
}

static void check_unique_names(const struct inventory *inv, struct ptrvec *reported,
			       struct diag_sink *d)
{
	const struct pod **v = xcalloc(inv->npods + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < inv->npods; i++)
		if (!inv->pods[i].from_template && inv->pods[i].at)
			v[n++] = &inv->pods[i];
	sort_items(v, n, sizeof(*v), cmp_pod_name);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i]->namespace, v[i - 1]->namespace) &&
		    !strcmp(v[i]->name, v[i - 1]->name) && !already_reported(reported, v[i])) {
			report_conflict(d, v[i - 1], v[i]);
			ptrvec_push(reported, (void *)v[i]);
		}
	free(v);
}

struct pod_address {
	struct prefix ip;
	const struct pod *pod;
};

static int cmp_pod_address(const void *a, const void *b)
{
	const struct pod_address *x = a, *y = b;
	if (x->ip.family != y->ip.family)
		return x->ip.family - y->ip.family;
	int c = memcmp(x->ip.addr, y->ip.addr, 16);
	if (c)
		return c;
	return x->pod->at->line != y->pod->at->line ? x->pod->at->line - y->pod->at->line
						    : strcmp(x->pod->name, y->pod->name);
}

static void check_unique_addresses(const struct inventory *inv, struct ptrvec *reported,
				   struct diag_sink *d)
{
	size_t n = 0, total = 0;
	for (size_t i = 0; i < inv->npods; i++)
		total += inv->pods[i].nips;
	struct pod_address *v = xcalloc(total ? total : 1, sizeof(*v));
	for (size_t i = 0; i < inv->npods; i++) {
		const struct pod *p = &inv->pods[i];
		for (size_t k = 0; !p->host_network && p->at && k < p->nips; k++)
			if (parse_prefix(p->ips[k], &v[n].ip, true) == 0)
				v[n++].pod = p;
	}
	sort_items(v, n, sizeof(*v), cmp_pod_address);
	for (size_t i = 1; i < n; i++) {
		if (v[i].ip.family != v[i - 1].ip.family ||
		    memcmp(v[i].ip.addr, v[i - 1].ip.addr, 16))
			continue;
		const struct pod *a = v[i - 1].pod, *b = v[i].pod;
		if (already_reported(reported, b) || (a != b && already_reported(reported, a)))
			continue;
		report_conflict(d, a, b);
		ptrvec_push(reported, (void *)b);
	}
	free(v);
}

static int check_unique_pods(const struct inventory *inv, struct diag_sink *d)
{
	struct ptrvec reported = {0}; /* one message per pod */
	check_unique_names(inv, &reported, d);
	check_unique_addresses(inv, &reported, d);
	int rc = reported.n ? -1 : 0;
	ptrvec_free(&reported);
	return rc;
}

struct inventory *inventory_load(const char *const *paths, size_t npaths,
				 const struct reader_limits *lim, struct diag_sink *d)
{
	struct corpus *objects = xcalloc(1, sizeof(*objects));
	corpus_init(objects);
	struct schema_set *s = schema_builtin();
	/* `kubectl get -o yaml` of a large cluster is one List document of many megabytes: for
	 * inventories the document limit is the input limit. */
	struct load_options o = {.limits = *lim, .inventory = true};
	if (o.limits.max_document_bytes < o.limits.max_input_bytes)
		o.limits.max_document_bytes = o.limits.max_input_bytes;
	int rc = corpus_load(objects, &o, s, paths, npaths, d);
	schema_free(s);
	if (rc >= 0 && check_fields(&objects->other, d) < 0)
		rc = -1;
	if (rc < 0) {
		corpus_free(objects);
		free(objects);
		return NULL;
	}
	struct inventory *inv = inventory_build(objects);
	if (check_unique_pods(inv, d) < 0) {
		inventory_free(inv);
		return NULL;
	}
	return inv;
}

struct inventory *inventory_build(struct corpus *objects)
{
	struct inventory *inv = xcalloc(1, sizeof(*inv));
	inv->objects = objects;
	struct arena *a = &inv->objects->arena;
	const struct ptrvec *objs = &inv->objects->other;
	inv->cluster_name = "default";
	inv->namespaces = arena_alloc(a, (count_kind(objs, "Namespace") + 1) * sizeof(*inv->namespaces));
	size_t npods = count_kind(objs, "Pod");
	for (const char *const *k = CONTROLLERS; *k; k++)
		npods += count_kind(objs, *k);
	inv->pods = arena_alloc(a, (npods + 1) * sizeof(*inv->pods));
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
			n->ips = node_addresses(a, node_get(node_get(obj, "status"), "addresses"),
						&n->nips);
		} else if (is_kind(obj, "Service")) {
			read_service(a, obj, &inv->services[inv->nservices++]);
		}
	}
	for (size_t i = 0; i < objs->n; i++)
		if (is_kind(objs->v[i], "EndpointSlice"))
			read_endpoint_slice(a, inv, objs->v[i]);
	for (size_t i = 0; i < objs->n; i++)
		if (is_kind(objs->v[i], "Pod")) {
			struct pod *p = &inv->pods[inv->npods++];
			read_pod(a, objs->v[i], p);
			p->workload = workload_of(a, p);
		}
	for (size_t i = 0; i < objs->n; i++)
		if (is_controller(objs->v[i]))
			read_template_workload(a, inv, objs->v[i]);
	add_nodes_from_pods(a, inv);
	for (size_t i = 0; i < inv->npods; i++)
		derive_identity(a, inv, &inv->pods[i]);
	return inv;
}

bool inventory_is_apiserver(const struct inventory *inv, const char *ip)
{
	struct prefix a, b;
	if (parse_prefix(ip, &a, true) != 0)
		return false;
	for (size_t i = 0; i < inv->nservices; i++) {
		const struct k8s_service *s = &inv->services[i];
		if (strcmp(s->namespace, "default") || strcmp(s->name, "kubernetes"))
			continue;
		for (size_t k = 0; k < s->nbackends; k++)
			if (parse_prefix(s->backends[k], &b, true) == 0 && a.family == b.family &&
			    !memcmp(a.addr, b.addr, 16))
				return true;
	}
	return false;
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	corpus_free(inv->objects);
	free(inv->objects);
	free(inv);
}
