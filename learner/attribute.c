/* Who an address is, from the inventory: a pod (and so a workload, through its owner
 * references), a node (host or remote-node, depending on who looks), a service address (whose
 * backends and target ports the synthesiser uses, since Cilium matches after DNAT), the API
 * server (default/kubernetes), an address inside a pod CIDR that no known pod has (a stale
 * inventory), or the world.
 */
#include "learn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct aent {
	struct ip ip;
	struct addr_info info;
	bool used;
};

struct lent {
	struct ip ip;
	uint16_t port;
	uint8_t proto;
	bool used;
};

struct attr {
	const struct inventory *inv;
	struct aent *tab;
	size_t cap;
	struct lent *listen;
	size_t lcap;
	struct prefix *cidrs; /* pod CIDRs of the nodes */
	size_t ncidrs;
};

static uint64_t hip(const struct ip *a)
{
	uint64_t x, y;
	memcpy(&x, a->b, 8);
	memcpy(&y, a->b + 8, 8);
	x ^= y * 0x9e3779b97f4a7c15ull;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

static struct aent *slot(const struct attr *a, const struct ip *ip)
{
	size_t i = (size_t)hip(ip) & (a->cap - 1);
	while (a->tab[i].used && memcmp(&a->tab[i].ip, ip, 16))
		i = (i + 1) & (a->cap - 1);
	return &a->tab[i];
}

static void put(struct attr *a, const char *text, enum peer_class cls, const struct pod *pod,
		const struct k8s_node *node, const struct k8s_service *svc, bool override)
{
	struct ip ip;
	if (!text || ip_parse(text, &ip) < 0)
		return;
	struct aent *e = slot(a, &ip);
	if (e->used && !override)
		return;
	e->used = true;
	e->ip = ip;
	e->info = (struct addr_info){cls, pod, node, svc};
}

static uint8_t proto_num(const char *p)
{
	if (!p || !strcasecmp(p, "TCP"))
		return 6;
	if (!strcasecmp(p, "UDP"))
		return 17;
	if (!strcasecmp(p, "SCTP"))
		return 132;
	return 0;
}

static void listen_put(struct attr *a, const char *text, uint8_t proto, int port)
{
	struct ip ip;
	if (!text || port <= 0 || port > 65535 || ip_parse(text, &ip) < 0)
		return;
	size_t i = (size_t)(hip(&ip) ^ ((uint64_t)port << 8 | proto)) & (a->lcap - 1);
	while (a->listen[i].used) {
		if (a->listen[i].port == port && a->listen[i].proto == proto &&
		    !memcmp(&a->listen[i].ip, &ip, 16))
			return;
		i = (i + 1) & (a->lcap - 1);
	}
	a->listen[i] = (struct lent){ip, (uint16_t)port, proto, true};
}

bool attr_listens(const struct attr *a, const struct ip *ip, uint8_t proto, uint16_t port)
{
	size_t i = (size_t)(hip(ip) ^ ((uint64_t)port << 8 | proto)) & (a->lcap - 1);
	while (a->listen[i].used) {
		if (a->listen[i].port == port && a->listen[i].proto == proto &&
		    !memcmp(&a->listen[i].ip, ip, 16))
			return true;
		i = (i + 1) & (a->lcap - 1);
	}
	return false;
}

static bool is_apiserver_service(const struct k8s_service *s)
{
	return !strcmp(s->namespace, "default") && !strcmp(s->name, "kubernetes");
}

/* spec.podCIDRs of the Node objects (the inventory keeps nodes' addresses only). */
static void pod_cidrs(struct attr *a, const struct inventory *inv)
{
	if (!inv->objects)
		return;
	const struct ptrvec *other = &inv->objects->other;
	for (size_t i = 0; i < other->n; i++) {
		const struct node *obj = other->v[i];
		const char *kind = node_scalar(node_get(obj, "kind"));
		if (!kind || strcmp(kind, "Node"))
			continue;
		const struct node *spec = node_get(obj, "spec");
		const struct node *list = node_get(spec, "podCIDRs");
		const struct node *one = node_get(spec, "podCIDR");
		size_t n = list && list->kind == NODE_SEQ ? list->n : 0;
		for (size_t k = 0; k < n + 1; k++) {
			const char *t = k < n ? node_scalar(list->vals[k]) : node_scalar(one);
			struct prefix p;
			if (!t || parse_prefix(t, &p, false) < 0)
				continue;
			a->cidrs = xrealloc(a->cidrs, (a->ncidrs + 1) * sizeof(*a->cidrs));
			a->cidrs[a->ncidrs++] = p;
		}
	}
}

struct attr *attr_build(const struct inventory *inv)
{
	struct attr *a = xcalloc(1, sizeof(*a));
	a->inv = inv;
	size_t n = 64;
	for (size_t i = 0; i < inv->npods; i++)
		n += inv->pods[i].nips;
	for (size_t i = 0; i < inv->nnodes; i++)
		n += inv->nodes[i].nips;
	for (size_t i = 0; i < inv->nservices; i++)
		n += inv->services[i].ncluster_ips + inv->services[i].nexternal_ips +
		     inv->services[i].nbackends;
	a->cap = 64;
	while (a->cap < n * 2)
		a->cap <<= 1;
	a->tab = xcalloc(a->cap, sizeof(*a->tab));
	size_t ln = 64;
	for (size_t i = 0; i < inv->npods; i++)
		ln += inv->pods[i].nips * (inv->pods[i].nports + 1);
	for (size_t i = 0; i < inv->nservices; i++)
		ln += (inv->services[i].ncluster_ips + inv->services[i].nexternal_ips) *
		      (inv->services[i].nports + 1);
	a->lcap = 64;
	while (a->lcap < ln * 2)
		a->lcap <<= 1;
	a->listen = xcalloc(a->lcap, sizeof(*a->listen));

	for (size_t i = 0; i < inv->nnodes; i++)
		for (size_t k = 0; k < inv->nodes[i].nips; k++)
			put(a, inv->nodes[i].ips[k], PC_NODE, NULL, &inv->nodes[i], NULL, false);
	for (size_t i = 0; i < inv->npods; i++) {
		const struct pod *p = &inv->pods[i];
		if (p->from_template)
			continue;
		for (size_t k = 0; k < p->nips; k++) {
			if (!p->host_network)
				put(a, p->ips[k], PC_POD, p, NULL, NULL, false);
			for (size_t j = 0; j < p->nports; j++)
				listen_put(a, p->ips[k], proto_num(p->ports[j].protocol), p->ports[j].port);
		}
	}
	for (size_t i = 0; i < inv->nservices; i++) {
		const struct k8s_service *s = &inv->services[i];
		bool api = is_apiserver_service(s);
		for (size_t k = 0; k < s->ncluster_ips; k++) {
			if (!strcasecmp(s->cluster_ips[k], "None"))
				continue;
			put(a, s->cluster_ips[k], api ? PC_APISERVER : PC_SERVICE, NULL, NULL, s, true);
			for (size_t j = 0; j < s->nports; j++)
				listen_put(a, s->cluster_ips[k], proto_num(s->ports[j].protocol),
					   s->ports[j].port);
		}
		/* external and load-balancer addresses lead to the backends as the ClusterIP does */
		for (size_t k = 0; k < s->nexternal_ips; k++) {
			put(a, s->external_ips[k], PC_SERVICE, NULL, NULL, s, true);
			for (size_t j = 0; j < s->nports; j++)
				listen_put(a, s->external_ips[k], proto_num(s->ports[j].protocol),
					   s->ports[j].port);
		}
		if (api)
			for (size_t k = 0; k < s->nbackends; k++)
				put(a, s->backends[k], PC_APISERVER, NULL, NULL, s, true);
	}
	pod_cidrs(a, inv);
	return a;
}

void attr_free(struct attr *a)
{
	if (!a)
		return;
	free(a->tab);
	free(a->listen);
	free(a->cidrs);
	free(a);
}

const struct inventory *attr_inventory(const struct attr *a)
{
	return a->inv;
}

void attr_lookup(const struct attr *a, const struct ip *ip, struct addr_info *out)
{
	const struct aent *e = slot(a, ip);
	if (e->used) {
		*out = e->info;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->cls = PC_WORLD;
	struct prefix p = {.family = ip_is_v4(ip) ? 4 : 6, .len = ip_is_v4(ip) ? 32 : 128};
	if (p.family == 4)
		memcpy(p.addr, ip->b + 12, 4);
	else
		memcpy(p.addr, ip->b, 16);
	for (size_t i = 0; i < a->ncidrs; i++)
		if (prefix_contains(&a->cidrs[i], &p)) {
			out->cls = PC_CLUSTER;
			return;
		}
}

static bool pod_selected(const struct k8s_service *svc, const struct pod *p)
{
	if (!svc->has_selector || strcmp(p->namespace, svc->namespace))
		return false;
	for (size_t i = 0; i < svc->selector.n; i++) {
		const char *v = label_get(&p->k8s_labels, "k8s", svc->selector.v[i].key);
		if (!v || strcmp(v, svc->selector.v[i].value))
			return false;
	}
	return true;
}

size_t attr_backends(const struct attr *a, const struct k8s_service *svc, const struct pod **out,
		     size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < a->inv->npods && n < max; i++) {
		const struct pod *p = &a->inv->pods[i];
		if (!p->from_template && !p->host_network && p->nips && pod_selected(svc, p))
			out[n++] = p;
	}
	return n;
}

const struct k8s_service *attr_node_port(const struct attr *a, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; port && i < a->inv->nservices; i++) {
		const struct k8s_service *s = &a->inv->services[i];
		for (size_t k = 0; k < s->nports; k++)
			if (s->ports[k].node_port == port && proto_num(s->ports[k].protocol) == proto)
				return s;
	}
	return NULL;
}

int attr_target_port(const struct k8s_service *svc, const struct pod *backend, uint8_t proto,
		     uint16_t port, bool node_port, const char **port_name)
{
	for (size_t i = 0; i < svc->nports; i++) {
		const struct service_port *sp = &svc->ports[i];
		if ((node_port ? sp->node_port : sp->port) != port || proto_num(sp->protocol) != proto)
			continue;
		if (port_name)
			*port_name = sp->target_name;
		if (sp->target_name) {
			for (size_t k = 0; backend && k < backend->nports; k++)
				if (backend->ports[k].name && !strcmp(backend->ports[k].name, sp->target_name) &&
				    proto_num(backend->ports[k].protocol) == proto)
					return backend->ports[k].port;
			return -1; /* a named port the backend does not have */
		}
		return sp->target_port > 0 ? sp->target_port : sp->port;
	}
	return -1;
}
