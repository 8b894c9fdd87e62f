/* The reference evaluator: one half of one flow, decided straight from the parsed policies.
 *
 * Deliberately simple and separate from translate/selcache/resolve: no flat rules, no identity
 * sets, no entry tables. It walks every policy that selects the endpoint for every question
 * (which policies those are is found once per endpoint: ref_subject_build). It is the oracle
 * for the differential tests, for `polc verify` and for the explanations of `polc trace`.
 * Where the two disagree, one of them misreads Cilium.
 */
#include "polc.h"
#include "resolve.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rctx {
	const struct cluster *c;
	const struct corpus *corpus;
	const struct ref_query *q;
	const struct policy *p;
	const struct rule *rule;
};

/* ---------------------------------------------------------------- labels */

static const char *lookup_label(const struct label_set *ls, const char *source, const char *key)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->v[i].key, key) &&
		    (!strcmp(source, "any") || !strcmp(source, ls->v[i].source)))
			return ls->v[i].value;
	return NULL;
}

/* One requirement against a label set; keys are "source:key" or bare (any source). */
static bool req_holds(const struct label_req *r, const struct label_set *ls)
{
	char source[32] = "any";
	const char *key = r->key;
	const char *colon = strchr(r->key, ':');
	if (r->key[0] == '$' || !strncmp(r->key, "reserved.", 9)) {
		strcpy(source, "reserved");
		key = r->key + (r->key[0] == '$' ? 1 : 9);
	} else if (colon && (size_t)(colon - r->key) < sizeof source) {
		memcpy(source, r->key, (size_t)(colon - r->key));
		source[colon - r->key] = 0;
		key = colon + 1;
	}
	bool present = false, in = false;
	for (size_t i = 0; i < ls->n; i++) {
		if (strcmp(ls->v[i].key, key) || (strcmp(source, "any") && strcmp(source, ls->v[i].source)))
			continue;
		present = true;
		for (size_t k = 0; k < r->nvalues; k++)
			in |= !strcmp(r->values[k], ls->v[i].value);
	}
	switch (r->op) {
	case OP_IN:
		return in;
	case OP_NOT_IN:
		return !in;
	case OP_EXISTS:
		return present;
	default:
		return !present;
	}
}

static bool all_hold(const struct selector *s, const struct label_set *ls, const char *skip_key)
{
	for (size_t i = 0; i < s->n; i++)
		if ((!skip_key || strcmp(s->reqs[i].key, skip_key)) && !req_holds(&s->reqs[i], ls))
			return false;
	return true;
}

static bool mentions(const struct selector *s, const char *bare, bool prefix)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *colon = strchr(s->reqs[i].key, ':');
		const char *k = colon ? colon + 1 : s->reqs[i].key;
		if (prefix ? !strncmp(k, bare, strlen(bare)) : !strcmp(k, bare))
			return true;
	}
	return false;
}

static bool names_reserved(const struct selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strncmp(s->reqs[i].key, "reserved:", 9) || !strncmp(s->reqs[i].key, "reserved.", 9) ||
		    s->reqs[i].key[0] == '$')
			return true;
	return false;
}

/* ---------------------------------------------------------------- who is who */

static const char *pod_namespace(const struct identity *id)
{
	return lookup_label(&id->labels, "k8s", "io.kubernetes.pod.namespace");
}

static bool in_local_cluster(const struct rctx *x, const struct identity *id)
{
	const char *cl = lookup_label(&id->labels, "k8s", "io.cilium.k8s.policy.cluster");
	return cl && !strcmp(cl, x->c->sem.cluster_name);
}

static bool is_reserved(const struct identity *id, const char *name)
{
	return lookup_label(&id->labels, "reserved", name) != NULL;
}

/* Subject: does this rule select the local endpoint? */
static bool subject_selects(const struct rctx *x, const struct selector *sel)
{
	const struct identity *me = x->q->ep->id;
	if (x->p->kind == KIND_CCNP)
		return all_hold(sel, &me->labels, NULL);
	/* Namespaced: only this namespace; the policy's namespace replaces a k8s: one. */
	const char *ns = pod_namespace(me);
	return ns && !strcmp(ns, x->p->namespace) &&
	       all_hold(sel, &me->labels, "k8s:io.kubernetes.pod.namespace");
}

static bool subject_is_init(const struct rule *r)
{
	for (size_t i = 0; r && i < r->endpoint_selector.n; i++)
		if (!strcmp(r->endpoint_selector.reqs[i].key, "reserved:init"))
			return true;
	return false;
}

/* A CNP/CCNP endpoint peer, with the scoping Cilium adds (cilium-semantics.md 2.4). */
static bool endpoint_peer(const struct rctx *x, const struct selector *s)
{
	const struct identity *peer = x->q->remote;
	if (!all_hold(s, &peer->labels, NULL))
		return false;
	if (names_reserved(s))
		return true;
	if (x->c->sem.default_local_cluster && !mentions(s, "io.cilium.k8s.policy.cluster", false) &&
	    !in_local_cluster(x, peer))
		return false;
	if (mentions(s, "io.kubernetes.pod.namespace", false))
		return true;
	if (x->p->kind == KIND_CCNP)
		return subject_is_init(x->rule) || pod_namespace(peer) != NULL;
	if (mentions(s, "io.cilium.k8s.namespace.labels.", true))
		return true;
	const char *ns = pod_namespace(peer);
	return ns && !strcmp(ns, x->p->namespace);
}

static bool entity_peer(const struct rctx *x, const char *e)
{
	const struct identity *id = x->q->remote;
	bool dual = x->c->dual_stack;
	if (!strcmp(e, "all"))
		return true;
	if (!strcmp(e, "none"))
		return false;
	if (!strcmp(e, "world"))
		return is_reserved(id, "world") || is_reserved(id, "world-ipv4") ||
		       is_reserved(id, "world-ipv6");
	if (!strcmp(e, "world-ipv4") || !strcmp(e, "world-ipv6"))
		return is_reserved(id, dual ? e : "world");
	if (!strcmp(e, "cluster")) {
		static const char *const members[] = {"host", "remote-node", "init", "ingress",
						      "health", "unmanaged", "kube-apiserver"};
		for (size_t i = 0; i < sizeof(members) / sizeof(*members); i++)
			if (is_reserved(id, members[i]))
				return true;
		return in_local_cluster(x, id);
	}
	return is_reserved(id, e);
}

/* A CIDR peer selects the CIDR identities inside it, minus the excepts; /0 is the world. */
static bool cidr_peer(const struct rctx *x, const char *cidr, const char *const *except,
		      size_t nexcept)
{
	const struct identity *id = x->q->remote;
	struct prefix p;
	if (!cidr || parse_prefix(cidr, &p, true) != 0)
		return false;
	if (!id->is_cidr) {
		if (p.len != 0)
			return false;
		if (!x->c->dual_stack)
			return id->id == ID_WORLD;
		return id->id == (p.family == 4 ? ID_WORLD_IPV4 : ID_WORLD_IPV6);
	}
	if (!prefix_contains(&p, &id->cidr))
		return false;
	for (size_t i = 0; i < nexcept; i++) {
		struct prefix e;
		if (parse_prefix(except[i], &e, true) == 0 && prefix_contains(&e, &id->cidr))
			return false;
	}
	return true;
}

static bool group_peer(const struct rctx *x, const struct cidr_rule *cr)
{
	if (cr->cidr)
		return cidr_peer(x, cr->cidr, cr->except.v, cr->except.n);
	for (size_t g = 0; g < x->corpus->cidr_groups.n; g++) {
		const struct cidr_group *grp = x->corpus->cidr_groups.v[g];
		if (!cidr_group_named(grp, cr))
			continue;
		for (size_t k = 0; k < grp->cidrs.n; k++)
			if (cidr_peer(x, grp->cidrs.v[k], cr->except.v, cr->except.n))
				return true;
	}
	return false;
}

static bool service_peer(const struct rctx *x, const struct service_ref *sr)
{
	const struct inventory *inv = x->c->inv;
	const struct identity *id = x->q->remote;
	for (size_t i = 0; i < inv->nservices; i++) {
		const struct k8s_service *svc = &inv->services[i];
		if (!service_named(svc, sr))
			continue;
		if (!svc->has_selector) {
			for (size_t b = 0; b < svc->nbackends; b++)
				if (cidr_peer(x, svc->backends[b], NULL, 0))
					return true;
			continue;
		}
		const char *ns = pod_namespace(id);
		bool ok = ns && !strcmp(ns, svc->namespace) && !id->is_cidr &&
			  (!x->c->sem.default_local_cluster || in_local_cluster(x, id));
		for (size_t k = 0; ok && k < svc->selector.n; k++) {
			const char *v = lookup_label(&id->labels, "k8s", svc->selector.v[k].key);
			ok = v && !strcmp(v, svc->selector.v[k].value);
		}
		if (ok)
			return true;
	}
	return false;
}

static bool names_any_peer(const struct rule_elem *e)
{
	for (int k = 0; k < PEER__COUNT; k++)
		if (e->peer_at[k] && !node_is_null(node_get(e->at, e->peer_at[k]->str)))
			return true;
	return false;
}

static bool elem_peer_matches(const struct rctx *x, const struct rule_elem *e)
{
	if (!names_any_peer(e))
		return e->to_ports.presence == P_PRESENT || e->icmps.presence == P_PRESENT;
	for (size_t i = 0; i < e->endpoints.n; i++)
		if (endpoint_peer(x, &e->endpoints.v[i]))
			return true;
	for (size_t i = 0; i < e->entities.n; i++)
		if (entity_peer(x, e->entities.v[i]))
			return true;
	for (size_t i = 0; i < e->cidr.n; i++)
		if (cidr_peer(x, e->cidr.v[i], NULL, 0))
			return true;
	for (size_t i = 0; i < e->cidr_set.n; i++)
		if (group_peer(x, &e->cidr_set.v[i]))
			return true;
	for (size_t i = 0; i < e->services.n; i++)
		if (service_peer(x, &e->services.v[i]))
			return true;
	return false;
}

/* ---------------------------------------------------------------- ports */

static uint8_t proto_of(const char *p)
{
	return !strcmp(p, "TCP") ? 6 : !strcmp(p, "UDP") ? 17 : !strcmp(p, "SCTP") ? 132 : 0;
}

/* Folds one pod's port of that name into *found; false when it disagrees with a port found
 * before. */
static bool fold_named_port(const struct pod *p, const char *name, uint8_t proto, long *found)
{
	for (size_t k = 0; k < p->nports; k++) {
		if (!p->ports[k].name || strcasecmp(p->ports[k].name, name) ||
		    proto_of(p->ports[k].protocol) != proto || p->ports[k].port <= 0)
			continue;
		if (*found >= 0 && *found != p->ports[k].port)
			return false;
		*found = p->ports[k].port;
	}
	return true;
}

/* The number a named port stands for at the destination, or -1: on ingress the local
 * endpoint's; on egress the one every endpoint that has the name agrees on. */
static long resolve_name(const struct rctx *x, const char *name, uint8_t proto)
{
	long found = -1;
	if (x->q->dir == DIR_INGRESS)
		return fold_named_port(x->q->ep->pod, name, proto, &found) ? found : -1;
	const struct cluster *c = x->c;
	for (size_t i = 0; i < c->neps; i++)
		if (!fold_named_port(c->eps[i].pod, name, proto, &found))
			return -1;
	return found;
}

static bool one_port_matches(const struct rctx *x, const char *port, int end_port,
			     const char *protocol)
{
	uint8_t want = x->q->proto;
	if (want != 6 && want != 17 && want != 132)
		return false;
	if (protocol && strcmp(protocol, "ANY") && proto_of(protocol) != want)
		return false;
	unsigned long n;
	if (!port)
		return false;
	if (cilium_port_number(port, &n)) {
		if (n == 0)
			return true;
		unsigned long hi = end_port > (long)n ? (unsigned long)end_port : n;
		return x->q->port >= n && x->q->port <= hi;
	}
	return resolve_name(x, port, want) == x->q->port;
}

static bool icmp_matches(const struct rctx *x, const struct icmp_field *f)
{
	uint8_t want = f->family && !strcmp(f->family, "IPv6") ? 58 : 1;
	int type = icmp_type_number(f->family, f->type ? f->type : "");
	if (x->q->proto != want || type < 0)
		return false;
	return type == 0 || x->q->port == type; /* type 0 is "any type" to Cilium */
}

/* Which port rule matched (for L7), or NULL; *matched says whether anything did. */
static const struct port_rule *elem_port_matches(const struct rctx *x, const struct rule_elem *e,
						 bool *matched)
{
	*matched = false;
	if (e->to_ports.presence != P_PRESENT && e->icmps.presence != P_PRESENT) {
		*matched = true; /* L3 only: every protocol and port */
		return NULL;
	}
	const struct port_rule *l7 = NULL;
	for (size_t i = 0; i < e->to_ports.n; i++) {
		const struct port_rule *pr = &e->to_ports.v[i];
		for (size_t k = 0; k < pr->ports.n; k++)
			if (one_port_matches(x, pr->ports.v[k].port, pr->ports.v[k].end_port,
					     pr->ports.v[k].protocol)) {
				*matched = true;
				if (pr->l7_kind != L7_NONE || pr->server_names.n || pr->has_listener)
					l7 = pr;
			}
	}
	for (size_t i = 0; i < e->icmps.n; i++)
		for (size_t k = 0; k < e->icmps.v[i].n; k++)
			*matched |= icmp_matches(x, &e->icmps.v[i].v[k]);
	return l7;
}

/* ---------------------------------------------------------------- NetworkPolicy */

static bool knp_selects(const struct rctx *x, const struct selector *s, const char *prefix,
			const struct label_set *ls)
{
	for (size_t i = 0; i < s->n; i++) {
		struct label_req r = s->reqs[i];
		char key[512];
		snprintf(key, sizeof key, "k8s:%s%s", prefix, r.key);
		r.key = key;
		if (!req_holds(&r, ls))
			return false;
	}
	return true;
}

/* A NetworkPolicy peer, as Cilium translates it (cilium-semantics.md 1.7): podSelector alone
 * stays in the policy's namespace; namespaceSelector keys become namespace-label keys, and only
 * an empty one is "any namespace" (pods only). Like Cilium, a namespaceSelector of negative
 * requirements alone also takes identities with no namespace at all. */
static bool knp_peer_matches(const struct rctx *x, const struct knp_peer *kp)
{
	const struct identity *id = x->q->remote;
	if (kp->ip_cidr)
		return cidr_peer(x, kp->ip_cidr, kp->ip_except.v, kp->ip_except.n);
	const char *ns = pod_namespace(id);
	if (x->c->sem.default_local_cluster && !in_local_cluster(x, id))
		return false;
	if (kp->namespace_selector.presence == P_PRESENT) {
		if (kp->namespace_selector.n == 0 && !ns)
			return false;
		if (!knp_selects(x, &kp->namespace_selector, "io.cilium.k8s.namespace.labels.",
				 &id->labels))
			return false;
	} else if (!ns || strcmp(ns, x->p->namespace)) {
		return false;
	}
	return kp->pod_selector.presence != P_PRESENT ||
	       knp_selects(x, &kp->pod_selector, "", &id->labels);
}

static bool knp_rule_matches(const struct rctx *x, const struct knp_rule *kr)
{
	bool peer = kr->peers.n == 0;
	for (size_t i = 0; i < kr->peers.n && !peer; i++)
		peer = knp_peer_matches(x, &kr->peers.v[i]);
	if (!peer)
		return false;
	if (kr->ports.n == 0)
		return true;
	for (size_t i = 0; i < kr->ports.n; i++) {
		const struct knp_port *kp = &kr->ports.v[i];
		if (one_port_matches(x, kp->port ? kp->port : "0", kp->end_port,
				     kp->protocol ? kp->protocol : "TCP"))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- the walk */

struct tally {
	bool enforced, default_deny;
	const struct policy *deny_p, *allow_p;
	const struct node *deny_at, *allow_at;
	bool l7;
	int auth;
};

static int auth_rank(const char *mode)
{
	return !mode ? 0 : !strcmp(mode, "required") ? 1 : !strcmp(mode, "test-always-fail") ? 2 : 0;
}

static void visit_elems(const struct rctx *x, const struct rule_elem *v, size_t n,
			struct tally *t)
{
	for (size_t i = 0; i < n; i++) {
		const struct rule_elem *e = &v[i];
		bool ports;
		const struct port_rule *l7 = elem_port_matches(x, e, &ports);
		if (!ports || !elem_peer_matches(x, e))
			continue;
		if (e->deny) {
			if (!t->deny_p)
				t->deny_p = x->p, t->deny_at = e->at;
			continue;
		}
		if (!t->allow_p)
			t->allow_p = x->p, t->allow_at = e->at;
		t->l7 |= l7 != NULL;
		if (auth_rank(e->auth_mode) > t->auth)
			t->auth = auth_rank(e->auth_mode);
	}
}

/* Does this rule of a CNP or CCNP select the local endpoint (direction aside)? */
static bool cilium_rule_selects(struct rctx *x, const struct rule *rule)
{
	x->rule = rule;
	return rule->node_selector.presence != P_PRESENT &&
	       subject_selects(x, &rule->endpoint_selector);
}

static void visit_cilium_rule(struct rctx *x, const struct rule *rule, struct tally *t)
{
	bool ingress = x->q->dir == DIR_INGRESS;
	x->rule = rule;
	size_t allow_n = ingress ? rule->ingress.n : rule->egress.n;
	size_t deny_n = ingress ? rule->ingress_deny.n : rule->egress_deny.n;
	if (!allow_n && !deny_n)
		return;
	t->enforced = true;
	enum tristate dd = ingress ? rule->default_deny_ingress : rule->default_deny_egress;
	if (dd != TRI_FALSE || !x->c->sem.non_default_deny_policies)
		t->default_deny = true;
	visit_elems(x, ingress ? rule->ingress.v : rule->egress.v, allow_n, t);
	visit_elems(x, ingress ? rule->ingress_deny.v : rule->egress_deny.v, deny_n, t);
}

static bool knp_has_type(const struct knp *k, const char *type)
{
	for (size_t i = 0; i < k->policy_types.n; i++)
		if (!strcmp(k->policy_types.v[i], type))
			return true;
	return false;
}

/* Does this NetworkPolicy select the local endpoint? */
static bool knp_selects_subject(const struct rctx *x)
{
	const struct knp *k = &x->p->knp;
	const struct identity *me = x->q->ep->id;
	const char *ns = pod_namespace(me);
	return ns && !strcmp(ns, x->p->namespace) &&
	       knp_selects(x, &k->pod_selector, "", &me->labels);
}

static void visit_knp(struct rctx *x, struct tally *t)
{
	const struct knp *k = &x->p->knp;
	bool ingress = x->q->dir == DIR_INGRESS;
	bool applies = ingress ? (k->ingress.n || knp_has_type(k, "Ingress") ||
				  !knp_has_type(k, "Egress"))
			       : (k->egress.n || knp_has_type(k, "Egress"));
	if (!applies)
		return;
	t->enforced = t->default_deny = true;
	const struct knp_rule *v = ingress ? k->ingress.v : k->egress.v;
	size_t n = ingress ? k->ingress.n : k->egress.n;
	for (size_t i = 0; i < n; i++)
		if (knp_rule_matches(x, &v[i]) && !t->allow_p)
			t->allow_p = x->p, t->allow_at = v[i].at;
}

/* ---------------------------------------------------------------- subjects */

/* Which rules select an endpoint depends on the endpoint alone, and every question about it
 * asks again: `polc verify` asks thousands. So that part of the walk is done once per
 * endpoint, in corpus order, and each question walks only what it found. */
void ref_subject_build(const struct cluster *c, const struct corpus *corpus,
		       const struct endpoint *ep, struct ref_subject *out)
{
	struct ref_query q = {.ep = ep};
	struct rctx x = {.c = c, .corpus = corpus, .q = &q};
	memset(out, 0, sizeof(*out));
	out->ep = ep;
	size_t cap = 0;
	for (size_t i = 0; i < corpus->policies.n; i++) {
		x.p = corpus->policies.v[i];
		size_t nrules = x.p->kind == KIND_KNP ? 1 : x.p->rules.n;
		for (size_t r = 0; r < nrules; r++) {
			const struct rule *rule = x.p->kind == KIND_KNP ? NULL : &x.p->rules.v[r];
			if (rule ? !cilium_rule_selects(&x, rule) : !knp_selects_subject(&x))
				continue;
			if (out->n == cap) {
				cap = cap ? cap * 2 : 8;
				out->v = xrealloc(out->v, cap * sizeof(*out->v));
			}
			out->v[out->n++] = (struct ref_pick){x.p, rule};
		}
	}
}

void ref_subject_free(struct ref_subject *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

struct ref_result ref_evaluate_subject(const struct cluster *c, const struct corpus *corpus,
				       const struct ref_subject *subj, const struct ref_query *q)
{
	struct rctx x = {.c = c, .corpus = corpus, .q = q};
	struct tally t = {0};
	for (size_t i = 0; i < subj->n; i++) {
		x.p = subj->v[i].p;
		if (subj->v[i].rule)
			visit_cilium_rule(&x, subj->v[i].rule, &t);
		else
			visit_knp(&x, &t);
	}
	if (c->sem.enable_policy == ENFORCE_NEVER)
		t.enforced = false;
	else if (!t.enforced && (c->sem.enable_policy == ENFORCE_ALWAYS ||
				 is_reserved(q->ep->id, "init")))
		t.enforced = t.default_deny = true;
	if (!t.enforced)
		return (struct ref_result){VERDICT_ALLOW, REASON_NOT_ENFORCED, NULL, NULL};
	if (t.deny_p)
		return (struct ref_result){VERDICT_DENY, REASON_POLICY_DENY, t.deny_p, t.deny_at};
	if (t.allow_p)
		return (struct ref_result){t.auth == 2 ? VERDICT_DENY : VERDICT_ALLOW,
					   t.auth ? REASON_AUTH : t.l7 ? REASON_L7 : REASON_ALLOWED,
					   t.allow_p, t.allow_at};
	bool localhost = q->dir == DIR_INGRESS && c->sem.allow_localhost && q->remote->id == ID_HOST;
	if (!t.default_deny || localhost)
		return (struct ref_result){VERDICT_ALLOW, REASON_ALLOWED, NULL, NULL};
	return (struct ref_result){VERDICT_DENY, REASON_DEFAULT_DENY, NULL, NULL};
}

struct ref_result ref_evaluate(const struct cluster *c, const struct corpus *corpus,
			       const struct ref_query *q)
{
	struct ref_subject subj;
	ref_subject_build(c, corpus, q->ep, &subj);
	struct ref_result r = ref_evaluate_subject(c, corpus, &subj, q);
	ref_subject_free(&subj);
	return r;
}
