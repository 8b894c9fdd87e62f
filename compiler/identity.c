/* Identities: numbers for label sets, the way Cilium gives them.
 *
 * Reserved identities keep Cilium's numbers (0-10). Every distinct pod label set gets a global
 * identity from 256 up, every prefix that a policy names gets a local-scope CIDR identity
 * (0x01000001 up). Numbering is a pure function of the inputs: label sets are numbered in sorted
 * order, and a previous allocation file, when given, keeps the numbers it has.
 */
#include "polc.h"
#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

void semantics_defaults(struct semantics *s)
{
	*s = (struct semantics){
		.enable_policy = ENFORCE_DEFAULT,
		.allow_localhost = true,
		.cidr_match_nodes = false,
		.default_local_cluster = true,
		.node_selector_labels = false,
		.host_firewall = false,
		.non_default_deny_policies = true,
		.cluster_name = "default",
	};
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "false")) {
		*out = false;
		return 0;
	}
	return -1;
}

int semantics_set(struct semantics *s, const char *assignment, char *err, size_t errsize)
{
	const char *eq = strchr(assignment, '=');
	if (!eq) {
		snprintf(err, errsize, "option '%s' needs a value: NAME=VALUE", assignment);
		return -1;
	}
	size_t klen = (size_t)(eq - assignment);
	const char *v = eq + 1;
	struct {
		const char *name;
		bool *field;
	} bools[] = {
		{"allow-localhost", &s->allow_localhost},
		{"policy-default-local-cluster", &s->default_local_cluster},
		{"enable-node-selector-labels", &s->node_selector_labels},
		{"enable-host-firewall", &s->host_firewall},
		{"enable-non-default-deny-policies", &s->non_default_deny_policies},
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(*bools); i++)
		if (strlen(bools[i].name) == klen && !strncmp(assignment, bools[i].name, klen)) {
			if (parse_bool(v, bools[i].field) == 0)
				return 0;
			snprintf(err, errsize, "%s is true or false, not '%s'", bools[i].name, v);
			return -1;
		}
	if (klen == 13 && !strncmp(assignment, "enable-policy", 13)) {
		s->enable_policy = !strcmp(v, "always") ? ENFORCE_ALWAYS
				   : !strcmp(v, "never") ? ENFORCE_NEVER
							 : ENFORCE_DEFAULT;
		if (strcmp(v, "always") && strcmp(v, "never") && strcmp(v, "default")) {
			snprintf(err, errsize, "enable-policy is default, always or never");
			return -1;
		}
		return 0;
	}
	if (klen == 22 && !strncmp(assignment, "policy-cidr-match-mode", 22)) {
		s->cidr_match_nodes = !strcmp(v, "nodes");
		if (*v && strcmp(v, "nodes")) {
			snprintf(err, errsize, "policy-cidr-match-mode is empty or nodes");
			return -1;
		}
		return 0;
	}
	if (klen == 12 && !strncmp(assignment, "cluster-name", 12) && *v) {
		s->cluster_name = v;
		return 0;
	}
	snprintf(err, errsize, "unknown option '%.*s' (see docs/semantics.md)", (int)klen,
		 assignment);
	return -1;
}

/* ---------------------------------------------------------------- label sets */

struct id_entry {
	const char *key;
	struct identity *id;
	UT_hash_handle hh;
};

static int cmp_label(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	int c = strcmp(x->source, y->source);
	return c ? c : strcmp(x->key, y->key);
}

static const char *label_key(struct arena *a, struct label_set *ls)
{
	sort_items(ls->v, ls->n, sizeof(*ls->v), cmp_label);
	struct strbuf sb = {0};
	for (size_t i = 0; i < ls->n; i++)
		sb_printf(&sb, "%s%s:%s=%s", i ? ";" : "", ls->v[i].source, ls->v[i].key,
			  ls->v[i].value);
	const char *k = arena_strdup(a, sb.s ? sb.s : "");
	sb_free(&sb);
	return k;
}

static struct identity *new_identity(struct cluster *c, uint32_t id, struct label_set ls)
{
	struct identity *i = arena_alloc(&c->arena, sizeof(*i));
	i->id = id;
	i->labels = ls;
	i->key = label_key(&c->arena, &i->labels);
	struct id_entry *e = arena_alloc(&c->arena, sizeof(*e));
	e->key = i->key;
	e->id = i;
	struct id_entry *index = c->by_key;
	HASH_ADD_KEYPTR(hh, index, e->key, strlen(e->key), e);
	c->by_key = index;
	return i;
}

static struct identity *find_by_key(const struct cluster *c, const char *key)
{
	struct id_entry *index = c->by_key, *e = NULL;
	HASH_FIND_STR(index, key, e);
	return e ? e->id : NULL;
}

static struct label_set one_label(struct arena *a, const char *source, const char *key,
				  const char *key2)
{
	struct label_set ls = {arena_alloc(a, 2 * sizeof(struct label)), 0};
	ls.v[ls.n++] = (struct label){source, key, ""};
	if (key2)
		ls.v[ls.n++] = (struct label){source, key2, ""};
	return ls;
}

static void add_reserved(struct cluster *c, struct ptrvec *out)
{
	static const struct {
		uint32_t id;
		const char *label, *label2;
	} reserved[] = {
		{ID_HOST, "host", NULL},
		{ID_WORLD, "world", NULL},
		{ID_UNMANAGED, "unmanaged", NULL},
		{ID_HEALTH, "health", NULL},
		{ID_INIT, "init", NULL},
		{ID_REMOTE_NODE, "remote-node", NULL},
		{ID_KUBE_APISERVER, "kube-apiserver", "remote-node"},
		{ID_INGRESS, "ingress", NULL},
		{ID_WORLD_IPV4, "world-ipv4", NULL},
		{ID_WORLD_IPV6, "world-ipv6", NULL},
	};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
		ptrvec_push(out, new_identity(c, reserved[i].id,
					      one_label(&c->arena, "reserved", reserved[i].label,
							reserved[i].label2)));
}

/* ---------------------------------------------------------------- allocation file */

/* Lines "NUMBER LABELS"; '#' starts a comment. Unknown label sets are simply not reused. */
struct alloc_entry {
	const char *key;
	uint32_t id;
	UT_hash_handle hh;
};

static struct alloc_entry *read_alloc(struct arena *a, const char *path, uint32_t *max_global,
				      uint32_t *max_local, struct diag_sink *d, int *rc)
{
	struct alloc_entry *map = NULL;
	*rc = 0;
	if (!path)
		return NULL;
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT) {
			diag_pos(d, R_IO, NULL, path, 0, 0, NULL, "cannot read: %s", strerror(errno));
			*rc = -1;
		}
		return NULL;
	}
	char line[8192];
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		char *sp = strchr(line, ' ');
		char *end;
		unsigned long id = strtoul(line, &end, 0);
		if (!sp || end != sp) {
			diag_pos(d, R_IO, NULL, path, lineno, 1, "each line is: NUMBER LABELS",
				 "malformed identity allocation line");
			*rc = -1;
			continue;
		}
		struct alloc_entry *e = arena_alloc(a, sizeof(*e));
		e->key = arena_strdup(a, sp + 1);
		e->id = (uint32_t)id;
		HASH_ADD_KEYPTR(hh, map, e->key, strlen(e->key), e);
		if (id & ID_LOCAL_SCOPE) {
			if (id > *max_local)
				*max_local = (uint32_t)id;
		} else if (id > *max_global) {
			*max_global = (uint32_t)id;
		}
	}
	fclose(f);
	return map;
}

int identity_write_alloc(const struct cluster *c, const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs("# polc identity allocation: NUMBER LABELS; keep it to keep numbers stable\n", f);
	for (size_t i = 0; i < c->nids; i++)
		if (c->ids[i]->id >= ID_FIRST_GLOBAL)
			fprintf(f, "%u %s\n", c->ids[i]->id, c->ids[i]->key);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

/* ---------------------------------------------------------------- building */

static int cmp_identity(const void *a, const void *b)
{
	const struct identity *x = *(const struct identity *const *)a,
			      *y = *(const struct identity *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Pod security labels with the cluster name from the options. */
static struct label_set pod_labels(struct cluster *c, const struct pod *p)
{
	struct label_set ls = {arena_alloc(&c->arena, (p->identity.n + 1) * sizeof(struct label)), 0};
	for (size_t i = 0; i < p->identity.n; i++) {
		ls.v[ls.n] = p->identity.v[i];
		if (!strcmp(ls.v[ls.n].key, "io.cilium.k8s.policy.cluster"))
			ls.v[ls.n].value = c->sem.cluster_name;
		ls.n++;
	}
	return ls;
}

static uint32_t next_number(struct alloc_entry *alloc, const char *key, uint32_t *next)
{
	struct alloc_entry *e = NULL;
	HASH_FIND_STR(alloc, key, e);
	return e ? e->id : (*next)++;
}

struct keyed_pod {
	const char *key;
	size_t index;
};

static int cmp_keyed_pod(const void *a, const void *b)
{
	const struct keyed_pod *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static void add_pod_identities(struct cluster *c, struct alloc_entry *alloc, uint32_t *next,
			       struct ptrvec *out)
{
	const struct inventory *inv = c->inv;
	struct keyed_pod *sorted = xmalloc((inv->npods + 1) * sizeof(*sorted));
	struct label_set *sets = xmalloc((inv->npods + 1) * sizeof(*sets));
	size_t n = 0;
	/* Pods on the host network are not endpoints: their address is the node's (host or
	 * remote-node), exactly as Cilium sees them. */
	for (size_t i = 0; i < inv->npods; i++) {
		if (inv->pods[i].host_network)
			continue;
		sets[i] = pod_labels(c, &inv->pods[i]);
		sorted[n++] = (struct keyed_pod){label_key(&c->arena, &sets[i]), i};
	}
	/* Number new label sets in sorted order so the result does not depend on input order. */
	sort_items(sorted, n, sizeof(*sorted), cmp_keyed_pod);
	for (size_t i = 0; i < n; i++) {
		if ((i && !strcmp(sorted[i].key, sorted[i - 1].key)) || find_by_key(c, sorted[i].key))
			continue;
		uint32_t id = next_number(alloc, sorted[i].key, next);
		ptrvec_push(out, new_identity(c, id, sets[sorted[i].index]));
	}
	/* Endpoints keep the inventory's order. */
	c->eps = arena_alloc(&c->arena, (n + 1) * sizeof(*c->eps));
	c->neps = n;
	size_t *slot = xcalloc(inv->npods + 1, sizeof(size_t));
	for (size_t i = 0, k = 0; i < inv->npods; i++)
		slot[i] = inv->pods[i].host_network ? (size_t)-1 : k++;
	for (size_t i = 0; i < n; i++) {
		const struct pod *p = &inv->pods[sorted[i].index];
		struct endpoint *ep = &c->eps[slot[sorted[i].index]];
		ep->pod = p;
		ep->namespace = p->namespace;
		ep->name = p->from_template ? p->workload
					    : arena_printf(&c->arena, "%s/%s", p->namespace, p->name);
		ep->workload = p->workload;
		ep->node = p->node;
		ep->id = find_by_key(c, sorted[i].key);
	}
	free(slot);
	free(sorted);
	free(sets);
}

/* ---- CIDR identities: one per prefix the policies name */

static void collect_prefix(struct ptrvec *texts, const char *t)
{
	if (t)
		ptrvec_push(texts, (void *)t);
}

static void collect_elem_prefixes(struct ptrvec *texts, const struct rule_elem *e,
				  const struct corpus *corpus)
{
	for (size_t i = 0; i < e->cidr.n; i++)
		collect_prefix(texts, e->cidr.v[i]);
	for (size_t i = 0; i < e->cidr_set.n; i++) {
		const struct cidr_rule *cr = &e->cidr_set.v[i];
		collect_prefix(texts, cr->cidr);
		for (size_t k = 0; k < cr->except.n; k++)
			collect_prefix(texts, cr->except.v[k]);
		for (size_t g = 0; g < corpus->cidr_groups.n; g++) {
			const struct cidr_group *grp = corpus->cidr_groups.v[g];
			for (size_t k = 0; cidr_group_named(grp, cr) && k < grp->cidrs.n; k++)
				collect_prefix(texts, grp->cidrs.v[k]);
		}
	}
}

static void collect_policy_prefixes(struct ptrvec *texts, const struct policy *p,
				    const struct corpus *corpus)
{
	for (size_t r = 0; r < p->rules.n; r++) {
		const struct rule *rule = &p->rules.v[r];
		const struct rule_elem *lists[] = {rule->ingress.v, rule->ingress_deny.v,
						   rule->egress.v, rule->egress_deny.v};
		size_t counts[] = {rule->ingress.n, rule->ingress_deny.n, rule->egress.n,
				   rule->egress_deny.n};
		for (int l = 0; l < 4; l++)
			for (size_t i = 0; i < counts[l]; i++)
				collect_elem_prefixes(texts, &lists[l][i], corpus);
	}
	const struct knp_rule *kl[] = {p->knp.ingress.v, p->knp.egress.v};
	size_t kn[] = {p->knp.ingress.n, p->knp.egress.n};
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < kn[l]; i++)
			for (size_t k = 0; k < kl[l][i].peers.n; k++) {
				const struct knp_peer *peer = &kl[l][i].peers.v[k];
				collect_prefix(texts, peer->ip_cidr);
				for (size_t e = 0; e < peer->ip_except.n; e++)
					collect_prefix(texts, peer->ip_except.v[e]);
			}
}

static int cmp_prefix(const void *a, const void *b)
{
	const struct prefix *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, 16);
	return c ? c : x->len - y->len;
}

void format_prefix(const struct prefix *p, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, addr, sizeof addr);
	snprintf(buf, size, "%s/%d", addr, p->len);
}

static void add_cidr_identities(struct cluster *c, const struct corpus *policies,
				struct alloc_entry *alloc, uint32_t *next_local,
				struct ptrvec *out)
{
	struct ptrvec texts = {0};
	for (size_t i = 0; policies && i < policies->policies.n; i++)
		collect_policy_prefixes(&texts, policies->policies.v[i], policies);
	for (size_t s = 0; s < c->inv->nservices; s++)
		for (size_t b = 0; !c->inv->services[s].has_selector && b < c->inv->services[s].nbackends; b++)
			collect_prefix(&texts, c->inv->services[s].backends[b]);
	struct prefix *pv = xmalloc((texts.n + 1) * sizeof(*pv));
	size_t n = 0;
	for (size_t i = 0; i < texts.n; i++)
		if (parse_prefix(texts.v[i], &pv[n], true) == 0 && pv[n].len > 0)
			n++;
	sort_items(pv, n, sizeof(*pv), cmp_prefix);
	for (size_t i = 0; i < n; i++) {
		if (i && !cmp_prefix(&pv[i], &pv[i - 1]))
			continue;
		char text[64];
		format_prefix(&pv[i], text, sizeof text);
		struct label_set ls = {arena_alloc(&c->arena, 2 * sizeof(struct label)), 0};
		ls.v[ls.n++] = (struct label){"cidr", arena_strdup(&c->arena, text), ""};
		const char *world = !c->dual_stack ? "world" : pv[i].family == 4 ? "world-ipv4"
										 : "world-ipv6";
		ls.v[ls.n++] = (struct label){"reserved", world, ""};
		const char *key = label_key(&c->arena, &ls);
		struct identity *id = new_identity(c, next_number(alloc, key, next_local), ls);
		id->is_cidr = true;
		id->cidr = pv[i];
		ptrvec_push(out, id);
	}
	free(pv);
	ptrvec_free(&texts);
}

/* ---- named ports, for egress rules (one number everywhere, or none) */

struct named_port {
	char key[80];
	long port;
	UT_hash_handle hh;
};

static uint8_t proto_number(const char *p)
{
	return !strcmp(p, "UDP") ? 17 : !strcmp(p, "SCTP") ? 132 : 6;
}

static void port_key(char *buf, size_t size, const char *name, uint8_t proto)
{
	size_t i = 0;
	for (; name[i] && i + 8 < size; i++)
		buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	snprintf(buf + i, size - i, "/%u", proto);
}

static void index_named_ports(struct cluster *c)
{
	struct named_port *index = NULL;
	for (size_t i = 0; i < c->neps; i++) {
		const struct pod *p = c->eps[i].pod;
		for (size_t k = 0; k < p->nports; k++) {
			const struct container_port *cp = &p->ports[k];
			if (!cp->name || cp->port <= 0)
				continue;
			struct named_port *e = NULL;
			char key[80];
			port_key(key, sizeof key, cp->name, proto_number(cp->protocol));
			HASH_FIND_STR(index, key, e);
			if (!e) {
				e = arena_alloc(&c->arena, sizeof(*e));
				snprintf(e->key, sizeof e->key, "%s", key);
				e->port = cp->port;
				HASH_ADD_STR(index, key, e);
			} else if (e->port != cp->port) {
				e->port = -1; /* two numbers for one name: Cilium installs nothing */
			}
		}
	}
	c->named_ports = index;
}

long cluster_named_port(const struct cluster *c, const char *name, uint8_t proto)
{
	struct named_port *index = c->named_ports, *e = NULL;
	char key[80];
	port_key(key, sizeof key, name, proto);
	HASH_FIND_STR(index, key, e);
	return e ? e->port : -1;
}

static bool detect_dual_stack(const struct inventory *inv)
{
	bool v4 = false, v6 = false;
	for (size_t i = 0; i < inv->npods; i++)
		for (size_t k = 0; k < inv->pods[i].nips; k++) {
			if (strchr(inv->pods[i].ips[k], ':'))
				v6 = true;
			else
				v4 = true;
		}
	return v4 && v6;
}

struct cluster *cluster_build(const struct inventory *inv, const struct corpus *policies,
			      const struct semantics *sem, const char *alloc_path,
			      struct diag_sink *d)
{
	struct cluster *c = xcalloc(1, sizeof(*c));
	c->inv = inv;
	c->sem = *sem;
	c->dual_stack = detect_dual_stack(inv);
	uint32_t max_global = ID_FIRST_GLOBAL - 1, max_local = ID_LOCAL_SCOPE;
	int rc;
	struct alloc_entry *alloc = read_alloc(&c->arena, alloc_path, &max_global, &max_local, d, &rc);
	if (rc < 0) {
		HASH_CLEAR(hh, alloc);
		cluster_free(c);
		return NULL;
	}
	struct ptrvec ids = {0};
	add_reserved(c, &ids);
	uint32_t next_global = max_global + 1, next_local = max_local + 1;
	add_pod_identities(c, alloc, &next_global, &ids);
	add_cidr_identities(c, policies, alloc, &next_local, &ids);
	HASH_CLEAR(hh, alloc);
	sort_items(ids.v, ids.n, sizeof(void *), cmp_identity);
	c->ids = (struct identity **)ids.v;
	c->nids = ids.n;
	cluster_index_labels(c);
	index_named_ports(c);
	return c;
}

void cluster_free(struct cluster *c)
{
	if (!c)
		return;
	struct id_entry *index = c->by_key;
	HASH_CLEAR(hh, index);
	cluster_free_label_index(c);
	struct named_port *np = c->named_ports;
	HASH_CLEAR(hh, np);
	free(c->ids);
	arena_free(&c->arena);
	free(c);
}

const struct identity *identity_by_key(const struct cluster *c, const char *key)
{
	return find_by_key(c, key);
}

size_t identity_index(const struct cluster *c, uint32_t id)
{
	size_t lo = 0, hi = c->nids;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->ids[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct identity *identity_by_id(const struct cluster *c, uint32_t id)
{
	size_t i = identity_index(c, id);
	return i < c->nids && c->ids[i]->id == id ? c->ids[i] : NULL;
}

const struct endpoint *endpoint_by_name(const struct cluster *c, const char *name)
{
	for (size_t i = 0; i < c->neps; i++)
		if (!strcmp(c->eps[i].name, name))
			return &c->eps[i];
	/* A workload name stands for its first pod. */
	for (size_t i = 0; i < c->neps; i++)
		if (c->eps[i].workload && !strcmp(c->eps[i].workload, name))
			return &c->eps[i];
	return NULL;
}

static bool same_ip(const char *a, const struct prefix *p)
{
	struct prefix q;
	return parse_prefix(a, &q, true) == 0 && q.family == p->family &&
	       !memcmp(q.addr, p->addr, 16);
}

/* A node's address is the host to its own pods and a remote node to the others; one that
 * serves the API server is kube-apiserver (which also carries the remote-node label). */
uint32_t node_identity(const struct inventory *inv, const struct k8s_node *n, size_t ip,
		       const char *local_node)
{
	if (local_node && !strcmp(local_node, n->name))
		return ID_HOST;
	return inventory_is_apiserver(inv, n->ips[ip]) ? ID_KUBE_APISERVER : ID_REMOTE_NODE;
}

const struct identity *identity_for_ip(const struct cluster *c, const char *ip,
				       const char *local_node)
{
	struct prefix addr;
	if (parse_prefix(ip, &addr, true) != 0 || addr.len != (addr.family == 4 ? 32 : 128))
		return NULL;
	const struct inventory *inv = c->inv;
	for (size_t i = 0; i < inv->nnodes; i++)
		for (size_t k = 0; k < inv->nodes[i].nips; k++)
			if (same_ip(inv->nodes[i].ips[k], &addr))
				return identity_by_id(c, node_identity(inv, &inv->nodes[i], k, local_node));
	for (size_t i = 0; i < c->neps; i++) {
		const struct pod *p = c->eps[i].pod;
		for (size_t k = 0; !p->host_network && k < p->nips; k++)
			if (same_ip(p->ips[k], &addr))
				return c->eps[i].id;
	}
	const struct identity *best = NULL;
	for (size_t i = 0; i < c->nids; i++) {
		const struct identity *id = c->ids[i];
		if (id->is_cidr && prefix_contains(&id->cidr, &addr) &&
		    (!best || id->cidr.len > best->cidr.len))
			best = id;
	}
	if (best)
		return best;
	return identity_by_id(c, !c->dual_stack ? ID_WORLD
				 : addr.family == 4 ? ID_WORLD_IPV4
						    : ID_WORLD_IPV6);
}
