/* IR builder: validated node trees -> typed policies (ir.h). No checking happens here; the
 * schema already vouched for the shapes, so a value of the wrong shape is simply skipped. */
#include "polc.h"

#include <stdlib.h>
#include <string.h>

const char *policy_kind_name(enum policy_kind k)
{
	static const char *names[] = {"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy",
				      "NetworkPolicy"};
	return names[k];
}

static const char *str(const struct node *map, const char *key)
{
	const struct node *n = node_get(map, key);
	return n && n->kind == NODE_SCALAR && !node_is_null(n) ? n->str : NULL;
}

static int int_or(const struct node *map, const char *key, int dflt)
{
	const char *s = str(map, key);
	return s ? atoi(s) : dflt;
}

/* Fills the presence and item count of a list field; returns its node if it has items. */
#define LIST_BEGIN(a, list, map, key, T)                                                          \
	({                                                                                        \
		const struct node *n_ = node_get(map, key);                                       \
		(list).at = n_;                                                                   \
		(list).presence = !n_ ? P_ABSENT : node_is_null(n_) ? P_NULL : P_PRESENT;        \
		(list).n = n_ && n_->kind == NODE_SEQ ? n_->n : 0;                               \
		(list).v = arena_alloc(a, ((list).n + 1) * sizeof(T));                            \
		n_ && n_->kind == NODE_SEQ ? n_ : NULL;                                           \
	})

static void string_list(struct arena *a, const struct node *map, const char *key, void *out)
{
	IR_LIST(const char *) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, key, const char *);
	for (size_t i = 0; seq && i < seq->n; i++)
		l->v[i] = node_scalar(seq->vals[i]) ? seq->vals[i]->str : "";
}

void ir_selector(struct arena *a, const struct node *n, struct selector *out)
{
	memset(out, 0, sizeof(*out));
	out->at = n;
	if (!n) {
		out->presence = P_ABSENT;
		return;
	}
	out->presence = node_is_null(n) ? P_NULL : P_PRESENT;
	const struct node *ml = node_get(n, "matchLabels");
	const struct node *me = node_get(n, "matchExpressions");
	size_t cap = (ml && ml->kind == NODE_MAP ? ml->n : 0) +
		     (me && me->kind == NODE_SEQ ? me->n : 0);
	out->reqs = arena_alloc(a, (cap + 1) * sizeof(*out->reqs));
	for (size_t i = 0; ml && ml->kind == NODE_MAP && i < ml->n; i++) {
		struct label_req *r = &out->reqs[out->n++];
		r->key = ml->keys[i]->str;
		r->op = OP_IN;
		r->values = arena_alloc(a, sizeof(char *));
		r->values[0] = node_scalar(ml->vals[i]) ? ml->vals[i]->str : "";
		r->nvalues = 1;
		r->at = ml->keys[i];
	}
	for (size_t i = 0; me && me->kind == NODE_SEQ && i < me->n; i++) {
		const struct node *e = me->vals[i];
		const char *op = str(e, "operator");
		struct label_req *r = &out->reqs[out->n++];
		r->key = str(e, "key") ? str(e, "key") : "";
		r->op = !op                          ? OP_IN
			: !strcmp(op, "NotIn")        ? OP_NOT_IN
			: !strcmp(op, "Exists")       ? OP_EXISTS
			: !strcmp(op, "DoesNotExist") ? OP_DOES_NOT_EXIST
						      : OP_IN;
		IR_LIST(const char *) vals;
		string_list(a, e, "values", &vals);
		r->values = vals.v;
		r->nvalues = vals.n;
		r->at = e;
	}
}

static void selector_list(struct arena *a, const struct node *map, const char *key, void *out)
{
	IR_LIST(struct selector) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, key, struct selector);
	for (size_t i = 0; seq && i < seq->n; i++)
		ir_selector(a, seq->vals[i], &l->v[i]);
}

static void cidr_rules(struct arena *a, const struct node *map, const char *key, void *out)
{
	IR_LIST(struct cidr_rule) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, key, struct cidr_rule);
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct node *e = seq->vals[i];
		struct cidr_rule *c = &l->v[i];
		c->at = e;
		c->cidr = str(e, "cidr");
		c->group_ref = str(e, "cidrGroupRef");
		ir_selector(a, node_get(e, "cidrGroupSelector"), &c->group_selector);
		string_list(a, e, "except", &c->except);
	}
}

static void services(struct arena *a, const struct node *map, const char *key, void *out)
{
	IR_LIST(struct service_ref) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, key, struct service_ref);
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct node *e = seq->vals[i], *byname = node_get(e, "k8sService"),
				  *bysel = node_get(e, "k8sServiceSelector");
		struct service_ref *s = &l->v[i];
		s->at = e;
		s->by_selector = bysel != NULL;
		s->name = str(byname, "serviceName");
		s->namespace = str(bysel ? bysel : byname, "namespace");
		ir_selector(a, node_get(bysel, "selector"), &s->selector);
	}
}

static void fqdns(struct arena *a, const struct node *map, const char *key, void *out)
{
	IR_LIST(struct fqdn) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, key, struct fqdn);
	for (size_t i = 0; seq && i < seq->n; i++) {
		l->v[i].match_name = str(seq->vals[i], "matchName");
		l->v[i].match_pattern = str(seq->vals[i], "matchPattern");
		l->v[i].at = seq->vals[i];
	}
}

static void node_list(struct arena *a, const struct node *map, const char *key, void *out)
{
	IR_LIST(const struct node *) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, key, const struct node *);
	for (size_t i = 0; seq && i < seq->n; i++)
		l->v[i] = seq->vals[i];
}

static void tls(const struct node *n, struct tls_context *t)
{
	t->present = n && !node_is_null(n);
	t->at = n;
	t->secret_name = str(node_get(n, "secret"), "name");
	t->secret_namespace = str(node_get(n, "secret"), "namespace");
}

static void http_rules(struct arena *a, const struct node *map, void *out)
{
	IR_LIST(struct http_rule) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, "http", struct http_rule);
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct node *e = seq->vals[i];
		struct http_rule *h = &l->v[i];
		h->at = e;
		h->method = str(e, "method");
		h->path = str(e, "path");
		h->host = str(e, "host");
		h->method_at = node_get(e, "method");
		h->path_at = node_get(e, "path");
		h->host_at = node_get(e, "host");
		string_list(a, e, "headers", &h->headers);
		const struct node *hm = LIST_BEGIN(a, h->header_matches, e, "headerMatches",
						   struct header_match);
		for (size_t k = 0; hm && k < hm->n; k++) {
			struct header_match *m = &h->header_matches.v[k];
			m->at = hm->vals[k];
			m->name = str(hm->vals[k], "name");
			m->value = str(hm->vals[k], "value");
			m->mismatch = str(hm->vals[k], "mismatch");
			m->secret_name = str(node_get(hm->vals[k], "secret"), "name");
			m->secret_namespace = str(node_get(hm->vals[k], "secret"), "namespace");
		}
	}
}

static void kafka_rules(struct arena *a, const struct node *map, void *out)
{
	IR_LIST(struct kafka_rule) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, "kafka", struct kafka_rule);
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct node *e = seq->vals[i];
		struct kafka_rule *k = &l->v[i];
		k->at = e;
		k->role = str(e, "role");
		k->api_key = str(e, "apiKey");
		k->api_version = str(e, "apiVersion");
		k->client_id = str(e, "clientID");
		k->topic = str(e, "topic");
	}
}

static void l7_rules(struct arena *a, const struct node *rules, struct port_rule *p)
{
	p->rules_at = rules;
	http_rules(a, rules, &p->http);
	kafka_rules(a, rules, &p->kafka);
	fqdns(a, rules, "dns", &p->dns);
	p->l7proto = str(rules, "l7proto");
	node_list(a, rules, "l7", &p->l7_generic);
	for (size_t i = 0; rules && rules->kind == NODE_MAP && i < rules->n; i++) {
		const char *k = rules->keys[i]->str;
		enum l7_kind kind = !strcmp(k, "http")      ? L7_HTTP
				    : !strcmp(k, "kafka")   ? L7_KAFKA
				    : !strcmp(k, "dns")     ? L7_DNS
				    : !strcmp(k, "l7proto") ? L7_GENERIC
							    : L7_NONE;
		const struct node *v = rules->vals[i];
		bool empty = node_is_null(v) || (v->kind == NODE_SEQ && v->n == 0);
		if (kind != L7_NONE && !empty) {
			p->l7_kind = kind;
			break;
		}
	}
}

static void port_rules(struct arena *a, const struct node *map, void *out)
{
	IR_LIST(struct port_rule) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, map, "toPorts", struct port_rule);
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct node *e = seq->vals[i];
		struct port_rule *p = &l->v[i];
		p->at = e;
		const struct node *ports = LIST_BEGIN(a, p->ports, e, "ports", struct port_protocol);
		for (size_t k = 0; ports && k < ports->n; k++) {
			struct port_protocol *pp = &p->ports.v[k];
			pp->at = ports->vals[k];
			pp->port = str(ports->vals[k], "port");
			pp->port_at = node_get(ports->vals[k], "port");
			pp->end_port = int_or(ports->vals[k], "endPort", -1);
			pp->protocol = str(ports->vals[k], "protocol");
		}
		const struct node *rules = node_get(e, "rules");
		if (rules && !node_is_null(rules))
			l7_rules(a, rules, p);
		tls(node_get(e, "terminatingTLS"), &p->terminating_tls);
		tls(node_get(e, "originatingTLS"), &p->originating_tls);
		string_list(a, e, "serverNames", &p->server_names);
		const struct node *lis = node_get(e, "listener");
		if (lis && !node_is_null(lis)) {
			p->has_listener = true;
			p->listener_kind = str(node_get(lis, "envoyConfig"), "kind");
			p->listener_config = str(node_get(lis, "envoyConfig"), "name");
			p->listener_name = str(lis, "name");
			p->listener_priority = int_or(lis, "priority", 0);
		}
	}
}

static void icmp_rules(struct arena *a, const struct node *map, struct rule_elem *r)
{
	const struct node *seq = LIST_BEGIN(a, r->icmps, map, "icmps", r->icmps.v[0]);
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct node *fields =
			LIST_BEGIN(a, r->icmps.v[i], seq->vals[i], "fields", struct icmp_field);
		for (size_t k = 0; fields && k < fields->n; k++) {
			struct icmp_field *f = &r->icmps.v[i].v[k];
			f->at = fields->vals[k];
			f->family = str(fields->vals[k], "family");
			f->type = str(fields->vals[k], "type");
		}
	}
}

/* The peer field names of an element, in the order of enum peer_kind. */
static const char *const PEER_FIELDS[2][PEER__COUNT] = {
	{"fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities", "",
	 "", "fromGroups", "fromNodes"},
	{"toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities", "toServices",
	 "toFQDNs", "toGroups", "toNodes"},
};

const char *peer_field_name(enum direction dir, enum peer_kind k)
{
	return PEER_FIELDS[dir][k];
}

static void rule_elem(struct arena *a, const struct node *e, enum direction dir, bool deny,
		      struct rule_elem *r)
{
	const char *const *f = PEER_FIELDS[dir];
	r->at = e;
	r->dir = dir;
	r->deny = deny;
	selector_list(a, e, f[PEER_ENDPOINTS], &r->endpoints);
	selector_list(a, e, f[PEER_REQUIRES], &r->requires);
	selector_list(a, e, f[PEER_NODES], &r->nodes);
	string_list(a, e, f[PEER_CIDR], &r->cidr);
	cidr_rules(a, e, f[PEER_CIDR_SET], &r->cidr_set);
	string_list(a, e, f[PEER_ENTITIES], &r->entities);
	node_list(a, e, f[PEER_GROUPS], &r->groups);
	if (dir == DIR_EGRESS) {
		services(a, e, f[PEER_SERVICES], &r->services);
		fqdns(a, e, f[PEER_FQDNS], &r->fqdns);
	}
	port_rules(a, e, &r->to_ports);
	icmp_rules(a, e, r);
	r->auth_mode = str(node_get(e, "authentication"), "mode");
	for (size_t i = 0; e && e->kind == NODE_MAP && i < e->n; i++)
		for (int k = 0; k < PEER__COUNT; k++)
			if (*f[k] && !strcmp(e->keys[i]->str, f[k]))
				r->peer_at[k] = e->keys[i];
}

static void rule_elems(struct arena *a, const struct node *spec, const char *key,
		       enum direction dir, bool deny, void *out)
{
	IR_LIST(struct rule_elem) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, spec, key, struct rule_elem);
	for (size_t i = 0; seq && i < seq->n; i++)
		rule_elem(a, seq->vals[i], dir, deny, &l->v[i]);
}

static enum tristate tri(const struct node *map, const char *key)
{
	const char *s = str(map, key);
	return !s ? TRI_UNSET : !strcmp(s, "true") ? TRI_TRUE : TRI_FALSE;
}

static void rule(struct arena *a, const struct node *spec, struct rule *r)
{
	r->at = spec;
	ir_selector(a, node_get(spec, "endpointSelector"), &r->endpoint_selector);
	ir_selector(a, node_get(spec, "nodeSelector"), &r->node_selector);
	rule_elems(a, spec, "ingress", DIR_INGRESS, false, &r->ingress);
	rule_elems(a, spec, "ingressDeny", DIR_INGRESS, true, &r->ingress_deny);
	rule_elems(a, spec, "egress", DIR_EGRESS, false, &r->egress);
	rule_elems(a, spec, "egressDeny", DIR_EGRESS, true, &r->egress_deny);
	const struct node *dd = node_get(spec, "enableDefaultDeny");
	r->default_deny_ingress = tri(dd, "ingress");
	r->default_deny_egress = tri(dd, "egress");
	const struct node *labels = LIST_BEGIN(a, r->labels, spec, "labels", struct rule_label);
	for (size_t i = 0; labels && i < labels->n; i++)
		r->labels.v[i] = (struct rule_label){str(labels->vals[i], "key"),
						     str(labels->vals[i], "value"),
						     str(labels->vals[i], "source")};
	r->description = str(spec, "description");
	r->log = str(node_get(spec, "log"), "value");
}

static void cilium_rules(struct arena *a, const struct node *doc, struct policy *p)
{
	const struct node *spec = node_get(doc, "spec"), *specs = node_get(doc, "specs");
	p->has_spec = spec && !node_is_null(spec);
	p->has_specs = specs && specs->kind == NODE_SEQ;
	size_t n = (p->has_spec ? 1 : 0) + (p->has_specs ? specs->n : 0);
	p->rules.presence = n ? P_PRESENT : P_ABSENT;
	p->rules.v = arena_alloc(a, (n + 1) * sizeof(struct rule));
	if (p->has_spec)
		rule(a, spec, &p->rules.v[p->rules.n++]);
	for (size_t i = 0; p->has_specs && i < specs->n; i++)
		rule(a, specs->vals[i], &p->rules.v[p->rules.n++]);
}

static void knp_rules(struct arena *a, const struct node *spec, const char *key,
		      const char *peers, void *out)
{
	IR_LIST(struct knp_rule) *l = out;
	const struct node *seq = LIST_BEGIN(a, *l, spec, key, struct knp_rule);
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct node *e = seq->vals[i];
		struct knp_rule *r = &l->v[i];
		r->at = e;
		const struct node *ps = LIST_BEGIN(a, r->peers, e, peers, struct knp_peer);
		for (size_t k = 0; ps && k < ps->n; k++) {
			struct knp_peer *peer = &r->peers.v[k];
			const struct node *pn = ps->vals[k], *ipb = node_get(pn, "ipBlock");
			peer->at = pn;
			ir_selector(a, node_get(pn, "podSelector"), &peer->pod_selector);
			ir_selector(a, node_get(pn, "namespaceSelector"), &peer->namespace_selector);
			peer->ip_cidr = str(ipb, "cidr");
			string_list(a, ipb, "except", &peer->ip_except);
		}
		const struct node *ports = LIST_BEGIN(a, r->ports, e, "ports", struct knp_port);
		for (size_t k = 0; ports && k < ports->n; k++) {
			struct knp_port *kp = &r->ports.v[k];
			const struct node *pn = ports->vals[k], *port = node_get(pn, "port");
			kp->at = pn;
			kp->protocol = str(pn, "protocol");
			kp->port = str(pn, "port");
			kp->named = port && port->kind == NODE_SCALAR &&
				    (port->quoted || (port->str[0] < '0' || port->str[0] > '9'));
			kp->end_port = int_or(pn, "endPort", -1);
		}
	}
}

static void knp(struct arena *a, const struct node *doc, struct policy *p)
{
	const struct node *spec = node_get(doc, "spec");
	ir_selector(a, node_get(spec, "podSelector"), &p->knp.pod_selector);
	string_list(a, spec, "policyTypes", &p->knp.policy_types);
	knp_rules(a, spec, "ingress", "from", &p->knp.ingress);
	knp_rules(a, spec, "egress", "to", &p->knp.egress);
}

/* lint.polc.io/disable: "id1, id2" on an object silences those lints inside it. */
bool *annotation_disables(struct arena *a, const struct node *meta)
{
	const char *v = str(node_get(meta, "annotations"), "lint.polc.io/disable");
	if (!v)
		return NULL;
	bool *off = arena_alloc(a, RULE__COUNT * sizeof(bool));
	char *copy = arena_strdup(a, v), *save = NULL;
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		int r = rule_by_id(tok);
		if (r >= 0)
			off[r] = true;
	}
	return off;
}

struct policy *ir_policy(struct arena *a, const struct node *doc, enum policy_kind kind,
			 struct diag_sink *d)
{
	struct policy *p = arena_alloc(a, sizeof(*p));
	const struct node *meta = node_get(doc, "metadata");
	p->kind = kind;
	p->at = doc;
	p->src = doc->src;
	p->name = str(meta, "name") ? str(meta, "name") : "";
	p->namespace = str(meta, "namespace");
	p->namespace_given = p->namespace != NULL;
	if (kind != KIND_CCNP && !p->namespace)
		p->namespace = "default";
	if (kind == KIND_CCNP)
		p->namespace = NULL;
	p->disabled_lints = annotation_disables(a, meta);
	if (kind == KIND_KNP)
		knp(a, doc, p);
	else
		cilium_rules(a, doc, p);
	(void)d;
	return p;
}

struct cidr_group *ir_cidr_group(struct arena *a, const struct node *doc)
{
	struct cidr_group *g = arena_alloc(a, sizeof(*g));
	g->at = doc;
	g->name = str(node_get(doc, "metadata"), "name");
	g->labels = node_get(node_get(doc, "metadata"), "labels");
	string_list(a, node_get(doc, "spec"), "externalCIDRs", &g->cidrs);
	return g;
}
