/* Translation: IR -> flat rules, applying the implicit scoping Cilium adds when it parses a
 * policy (cilium-semantics.md 2.4) and translating NetworkPolicy the way Cilium does (1.7).
 *
 * A flat rule is one rule element with absolute peer selectors and concrete port ranges. The
 * fast path (selcache.c, resolve.c) works only from these.
 */
#include "polc.h"
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

#define NS_KEY "k8s:io.kubernetes.pod.namespace"
#define CLUSTER_KEY "k8s:io.cilium.k8s.policy.cluster"

struct tctx {
	const struct cluster *c;
	const struct corpus *corpus;
	struct flat_policy *out;
	struct ptrvec rules, sections;
	struct arena *a;
	struct diag_sink *d;
	const struct policy *p;
	const struct rule *rule;
};

/* ---------------------------------------------------------------- selectors */

static bool key_is(const char *written, const char *bare)
{
	const char *colon = strchr(written, ':');
	const char *key = colon ? colon + 1 : written;
	return !strcmp(key, bare);
}

static bool sel_has_key(const struct selector *s, const char *bare)
{
	for (size_t i = 0; i < s->n; i++)
		if (key_is(s->reqs[i].key, bare))
			return true;
	return false;
}

static bool sel_has_prefix(const struct selector *s, const char *prefix)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *colon = strchr(s->reqs[i].key, ':');
		const char *key = colon ? colon + 1 : s->reqs[i].key;
		if (!strncmp(key, prefix, strlen(prefix)))
			return true;
	}
	return false;
}

static bool sel_is_reserved(const struct selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strncmp(s->reqs[i].key, "reserved:", 9) || !strncmp(s->reqs[i].key, "reserved.", 9) ||
		    s->reqs[i].key[0] == '$')
			return true;
	return false;
}

/* Copies a selector, leaving room for `extra` more requirements. */
static struct selector sel_copy(struct arena *a, const struct selector *s, size_t extra,
				const char *drop_key)
{
	struct selector out = {.presence = P_PRESENT, .at = s ? s->at : NULL};
	size_t n = s ? s->n : 0;
	out.reqs = arena_alloc(a, (n + extra + 1) * sizeof(*out.reqs));
	for (size_t i = 0; i < n; i++)
		if (!drop_key || strcmp(s->reqs[i].key, drop_key) != 0)
			out.reqs[out.n++] = s->reqs[i];
	return out;
}

static void sel_add(struct arena *a, struct selector *s, const char *key, enum selector_op op,
		    const char *value)
{
	struct label_req *r = &s->reqs[s->n++];
	r->key = key;
	r->op = op;
	r->nvalues = value ? 1 : 0;
	r->values = arena_alloc(a, sizeof(char *));
	r->values[0] = value;
}

/* CNP subjects are confined to the policy's namespace; a k8s: namespace key is overwritten. */
static struct selector subject_selector(struct tctx *t, const struct selector *s)
{
	if (t->p->kind == KIND_CCNP)
		return sel_copy(t->a, s, 0, NULL);
	struct selector out = sel_copy(t->a, s, 1, NS_KEY);
	sel_add(t->a, &out, NS_KEY, OP_IN, t->p->namespace);
	return out;
}

static bool subject_has_init(const struct rule *r)
{
	for (size_t i = 0; r && i < r->endpoint_selector.n; i++)
		if (!strcmp(r->endpoint_selector.reqs[i].key, "reserved:init"))
			return true;
	return false;
}

/* Peer selectors get the policy's namespace (CNP) or "any Cilium-managed pod" (CCNP), and
 * the local cluster, unless they name reserved labels or already say. */
static struct selector peer_selector(struct tctx *t, const struct selector *s)
{
	struct selector out = sel_copy(t->a, s, 2, NULL);
	if (sel_is_reserved(s))
		return out;
	if (!sel_has_key(s, "io.kubernetes.pod.namespace")) {
		if (t->p->kind == KIND_CCNP) {
			if (!subject_has_init(t->rule))
				sel_add(t->a, &out, NS_KEY, OP_EXISTS, NULL);
		} else if (!sel_has_prefix(s, "io.cilium.k8s.namespace.labels.")) {
			sel_add(t->a, &out, NS_KEY, OP_IN, t->p->namespace);
		}
	}
	if (t->c->sem.default_local_cluster && !sel_has_key(s, "io.cilium.k8s.policy.cluster"))
		sel_add(t->a, &out, CLUSTER_KEY, OP_IN, t->c->sem.cluster_name);
	return out;
}

/* ---------------------------------------------------------------- peers */

static struct flat_peer *new_peer(struct ptrvec *peers, struct arena *a, enum peer_type type,
				  const char *text)
{
	struct flat_peer *fp = arena_alloc(a, sizeof(*fp));
	fp->type = type;
	fp->text = text;
	ptrvec_push(peers, fp);
	return fp;
}

static void cidr_peer(struct tctx *t, struct ptrvec *peers, const char *cidr,
		      const char *const *except, size_t nexcept)
{
	struct prefix p;
	if (!cidr || parse_prefix(cidr, &p, true) != 0)
		return;
	struct flat_peer *fp = new_peer(peers, t->a, PT_CIDR, cidr);
	fp->cidr = p;
	fp->except = arena_alloc(t->a, (nexcept + 1) * sizeof(struct prefix));
	for (size_t i = 0; i < nexcept; i++)
		if (parse_prefix(except[i], &fp->except[fp->nexcept], true) == 0)
			fp->nexcept++;
}

/* A CIDR group named by cidrGroupRef, or selected by cidrGroupSelector. */
bool cidr_group_named(const struct cidr_group *grp, const struct cidr_rule *cr)
{
	if (cr->group_ref)
		return grp->name && !strcmp(grp->name, cr->group_ref);
	return cr->group_selector.presence == P_PRESENT &&
	       selector_matches_labels_node(&cr->group_selector, grp->labels);
}

/* A service named by k8sService, or selected by k8sServiceSelector (namespace empty: any). */
bool service_named(const struct k8s_service *svc, const struct service_ref *sr)
{
	if (sr->namespace && *sr->namespace && strcmp(svc->namespace, sr->namespace))
		return false;
	if (sr->by_selector)
		return selector_matches_labels_node(&sr->selector, svc->labels);
	return sr->name && !strcmp(svc->name, sr->name);
}

static void cidr_rule_peers(struct tctx *t, struct ptrvec *peers, const struct cidr_rule *cr)
{
	if (cr->cidr) {
		cidr_peer(t, peers, cr->cidr, cr->except.v, cr->except.n);
		return;
	}
	for (size_t g = 0; g < t->corpus->cidr_groups.n; g++) {
		const struct cidr_group *grp = t->corpus->cidr_groups.v[g];
		if (!cidr_group_named(grp, cr))
			continue;
		for (size_t k = 0; k < grp->cidrs.n; k++)
			cidr_peer(t, peers, grp->cidrs.v[k], cr->except.v, cr->except.n);
	}
}

/* toServices: services with a selector become endpoint selectors in their namespace; the
 * others become their backends' addresses (cilium-semantics.md 1.4). */
static void service_peers(struct tctx *t, struct ptrvec *peers, const struct service_ref *sr)
{
	const struct inventory *inv = t->c->inv;
	for (size_t i = 0; i < inv->nservices; i++) {
		const struct k8s_service *svc = &inv->services[i];
		if (!service_named(svc, sr))
			continue;
		if (!svc->has_selector) {
			for (size_t b = 0; b < svc->nbackends; b++)
				cidr_peer(t, peers, svc->backends[b], NULL, 0);
			continue;
		}
		struct flat_peer *fp = new_peer(peers, t->a, PT_SELECTOR, svc->name);
		fp->sel = sel_copy(t->a, NULL, svc->selector.n + 2, NULL);
		for (size_t k = 0; k < svc->selector.n; k++)
			sel_add(t->a, &fp->sel,
				arena_printf(t->a, "k8s:%s", svc->selector.v[k].key), OP_IN,
				svc->selector.v[k].value);
		sel_add(t->a, &fp->sel, NS_KEY, OP_IN, svc->namespace);
		if (t->c->sem.default_local_cluster)
			sel_add(t->a, &fp->sel, CLUSTER_KEY, OP_IN, t->c->sem.cluster_name);
	}
}

static bool elem_names_peers(const struct rule_elem *e)
{
	for (int k = 0; k < PEER__COUNT; k++)
		if (e->peer_at[k] && !node_is_null(node_get(e->at, e->peer_at[k]->str)))
			return true;
	return false;
}

static void elem_peers(struct tctx *t, const struct rule_elem *e, struct ptrvec *peers)
{
	if (!elem_names_peers(e)) {
		/* No L3 peer: with ports it is an L4-only rule for every peer; without ports
		 * (`ingress: [{}]`) it allows nothing. */
		if (e->to_ports.presence == P_PRESENT || e->icmps.presence == P_PRESENT)
			new_peer(peers, t->a, PT_ALL, "any");
		return;
	}
	for (size_t i = 0; i < e->endpoints.n; i++) {
		struct flat_peer *fp = new_peer(peers, t->a, PT_SELECTOR, "endpoints");
		fp->sel = peer_selector(t, &e->endpoints.v[i]);
	}
	for (size_t i = 0; i < e->entities.n; i++) {
		struct flat_peer *fp = new_peer(peers, t->a, PT_ENTITY, e->entities.v[i]);
		fp->entity = e->entities.v[i];
		if (!strcmp(fp->entity, "all"))
			fp->type = PT_ALL;
	}
	for (size_t i = 0; i < e->cidr.n; i++)
		cidr_peer(t, peers, e->cidr.v[i], NULL, 0);
	for (size_t i = 0; i < e->cidr_set.n; i++)
		cidr_rule_peers(t, peers, &e->cidr_set.v[i]);
	for (size_t i = 0; i < e->services.n; i++)
		service_peers(t, peers, &e->services.v[i]);
	/* toFQDNs, groups and nodes select nothing offline (lints say so). */
}

/* ---------------------------------------------------------------- ports */

static void push_port(struct ptrvec *ports, struct arena *a, uint8_t proto, long lo, long hi,
		      const char *name, const struct port_rule *l7)
{
	struct flat_port *fp = arena_alloc(a, sizeof(*fp));
	fp->proto = proto;
	fp->lo = (uint16_t)lo;
	fp->hi = (uint16_t)hi;
	fp->name = name;
	fp->l7 = l7;
	ptrvec_push(ports, fp);
}

static bool port_rule_redirects(const struct port_rule *pr)
{
	return pr->l7_kind != L7_NONE || pr->server_names.n > 0 || pr->has_listener;
}

/* One ports[] entry: protocol ANY means TCP, UDP and SCTP; port 0 means every port. */
static void port_entry(struct tctx *t, struct ptrvec *ports, const struct port_protocol *pp,
		       const struct port_rule *pr)
{
	static const uint8_t any[] = {6, 17, 132};
	uint8_t one[1];
	const uint8_t *protos = any;
	size_t nprotos = 3;
	if (pp->protocol && strcmp(pp->protocol, "ANY")) {
		one[0] = !strcmp(pp->protocol, "TCP") ? 6 : !strcmp(pp->protocol, "UDP") ? 17
			 : !strcmp(pp->protocol, "SCTP")				  ? 132
											  : 0;
		if (!one[0])
			return; /* VRRP/IGMP need extended protocols: not modelled */
		protos = one;
		nprotos = 1;
	}
	unsigned long n;
	const char *name = NULL;
	long lo = 0, hi = 65535;
	if (!pp->port)
		return;
	if (cilium_port_number(pp->port, &n)) {
		lo = (long)n;
		hi = pp->end_port > lo ? pp->end_port : lo;
		if (n == 0)
			lo = 0, hi = 65535;
	} else {
		name = arena_strdup(t->a, pp->port);
		for (char *p = (char *)name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	const struct port_rule *l7 = port_rule_redirects(pr) ? pr : NULL;
	for (size_t i = 0; i < nprotos; i++)
		push_port(ports, t->a, protos[i], lo, hi, name, l7);
}

static void elem_ports(struct tctx *t, const struct rule_elem *e, struct ptrvec *ports,
		       bool *all_ports)
{
	*all_ports = e->to_ports.presence != P_PRESENT && e->icmps.presence != P_PRESENT;
	if (*all_ports) {
		push_port(ports, t->a, 0, 0, 65535, NULL, NULL);
		return;
	}
	for (size_t i = 0; i < e->to_ports.n; i++)
		for (size_t k = 0; k < e->to_ports.v[i].ports.n; k++)
			port_entry(t, ports, &e->to_ports.v[i].ports.v[k], &e->to_ports.v[i]);
	for (size_t i = 0; i < e->icmps.n; i++)
		for (size_t k = 0; k < e->icmps.v[i].n; k++) {
			const struct icmp_field *f = &e->icmps.v[i].v[k];
			int type = icmp_type_number(f->family, f->type ? f->type : "");
			uint8_t proto = f->family && !strcmp(f->family, "IPv6") ? 58 : 1;
			if (type < 0)
				continue;
			/* Type 0 takes the "port 0 = any" path in Cilium: every ICMP type. */
			push_port(ports, t->a, proto, type, type == 0 ? 65535 : type, NULL, NULL);
		}
}

/* ---------------------------------------------------------------- rules */

static enum auth_type auth_of(const char *mode)
{
	if (!mode)
		return AUTH_NONE;
	return !strcmp(mode, "required") ? AUTH_SPIRE
	       : !strcmp(mode, "test-always-fail") ? AUTH_ALWAYS_FAIL
						   : AUTH_NONE;
}

static struct flat_rule *new_rule(struct tctx *t, const struct node *at, enum direction dir,
				  bool deny, struct selector subject, bool host)
{
	struct flat_rule *r = arena_alloc(t->a, sizeof(*r));
	r->policy = t->p;
	r->at = at;
	r->dir = dir;
	r->deny = deny;
	r->subject = subject;
	r->subject_is_host = host;
	ptrvec_push(&t->rules, r);
	return r;
}

static void finish_rule(struct tctx *t, struct flat_rule *r, struct ptrvec *peers,
			struct ptrvec *ports)
{
	r->npeers = peers->n;
	r->peers = arena_alloc(t->a, (peers->n + 1) * sizeof(*r->peers));
	for (size_t i = 0; i < peers->n; i++)
		r->peers[i] = *(struct flat_peer *)peers->v[i];
	r->nports = ports->n;
	r->ports = arena_alloc(t->a, (ports->n + 1) * sizeof(*r->ports));
	for (size_t i = 0; i < ports->n; i++)
		r->ports[i] = *(struct flat_port *)ports->v[i];
	ptrvec_free(peers);
	ptrvec_free(ports);
}

static void translate_elem(struct tctx *t, const struct rule_elem *e, struct selector subject,
			   bool host)
{
	struct flat_rule *r = new_rule(t, e->at, e->dir, e->deny, subject, host);
	r->auth = auth_of(e->auth_mode);
	struct ptrvec peers = {0}, ports = {0};
	bool all_ports;
	elem_peers(t, e, &peers);
	elem_ports(t, e, &ports, &all_ports);
	finish_rule(t, r, &peers, &ports);
}

static void add_section(struct tctx *t, struct selector subject, bool host, enum direction dir,
			enum tristate dd)
{
	struct flat_section *s = arena_alloc(t->a, sizeof(*s));
	*s = (struct flat_section){t->p, subject, host, dir, dd};
	ptrvec_push(&t->sections, s);
}

static void translate_rule(struct tctx *t, const struct rule *rule)
{
	t->rule = rule;
	bool host = rule->node_selector.presence == P_PRESENT;
	if (host && !t->c->sem.host_firewall)
		return; /* host policies need the host firewall */
	struct selector subject = host ? sel_copy(t->a, &rule->node_selector, 0, NULL)
				       : subject_selector(t, &rule->endpoint_selector);
	const struct rule_elem *lists[] = {rule->ingress.v, rule->ingress_deny.v, rule->egress.v,
					   rule->egress_deny.v};
	size_t counts[] = {rule->ingress.n, rule->ingress_deny.n, rule->egress.n,
			   rule->egress_deny.n};
	for (int l = 0; l < 4; l++)
		for (size_t i = 0; i < counts[l]; i++)
			translate_elem(t, &lists[l][i], subject, host);
	if (rule->ingress.n || rule->ingress_deny.n)
		add_section(t, subject, host, DIR_INGRESS, rule->default_deny_ingress);
	if (rule->egress.n || rule->egress_deny.n)
		add_section(t, subject, host, DIR_EGRESS, rule->default_deny_egress);
}

/* ---------------------------------------------------------------- NetworkPolicy */

static struct selector knp_labels(struct tctx *t, const struct selector *s, const char *prefix,
				  size_t extra)
{
	struct selector out = sel_copy(t->a, NULL, (s ? s->n : 0) + extra, NULL);
	for (size_t i = 0; s && i < s->n; i++) {
		out.reqs[out.n] = s->reqs[i];
		out.reqs[out.n++].key = arena_printf(t->a, "k8s:%s%s", prefix, s->reqs[i].key);
	}
	return out;
}

static void knp_peer(struct tctx *t, const struct knp_peer *kp, struct ptrvec *peers)
{
	if (kp->ip_cidr) {
		cidr_peer(t, peers, kp->ip_cidr, kp->ip_except.v, kp->ip_except.n);
		return;
	}
	bool has_ns = kp->namespace_selector.presence == P_PRESENT;
	struct flat_peer *fp = new_peer(peers, t->a, PT_SELECTOR, "peer");
	fp->sel = knp_labels(t, kp->pod_selector.presence == P_PRESENT ? &kp->pod_selector : NULL,
			     "", (has_ns ? kp->namespace_selector.n : 0) + 3);
	if (has_ns) {
		struct selector ns = knp_labels(t, &kp->namespace_selector,
						"io.cilium.k8s.namespace.labels.", 0);
		for (size_t i = 0; i < ns.n; i++)
			fp->sel.reqs[fp->sel.n++] = ns.reqs[i];
		if (kp->namespace_selector.n == 0)
			sel_add(t->a, &fp->sel, NS_KEY, OP_EXISTS, NULL);
	} else {
		sel_add(t->a, &fp->sel, NS_KEY, OP_IN, t->p->namespace);
	}
	if (t->c->sem.default_local_cluster)
		sel_add(t->a, &fp->sel, CLUSTER_KEY, OP_IN, t->c->sem.cluster_name);
}

static void knp_ports(struct tctx *t, const struct knp_rule *kr, struct ptrvec *ports)
{
	if (kr->ports.n == 0) {
		push_port(ports, t->a, 0, 0, 65535, NULL, NULL);
		return;
	}
	for (size_t i = 0; i < kr->ports.n; i++) {
		const struct knp_port *kp = &kr->ports.v[i];
		struct port_protocol pp = {.port = kp->port ? kp->port : "0",
					   .end_port = kp->end_port,
					   .protocol = kp->protocol ? kp->protocol : "TCP"};
		struct port_rule none = {0};
		port_entry(t, ports, &pp, &none);
	}
}

static void translate_knp_rules(struct tctx *t, const struct knp_rule *v, size_t n,
				enum direction dir, struct selector subject)
{
	for (size_t i = 0; i < n; i++) {
		struct flat_rule *r = new_rule(t, v[i].at, dir, false, subject, false);
		struct ptrvec peers = {0}, ports = {0};
		if (v[i].peers.n == 0)
			new_peer(&peers, t->a, PT_ALL, "any");
		for (size_t k = 0; k < v[i].peers.n; k++)
			knp_peer(t, &v[i].peers.v[k], &peers);
		knp_ports(t, &v[i], &ports);
		finish_rule(t, r, &peers, &ports);
	}
}

static bool has_type(const struct knp *k, const char *type)
{
	for (size_t i = 0; i < k->policy_types.n; i++)
		if (!strcmp(k->policy_types.v[i], type))
			return true;
	return false;
}

static void translate_knp(struct tctx *t)
{
	const struct knp *k = &t->p->knp;
	struct selector subject = knp_labels(t, &k->pod_selector, "", 1);
	sel_add(t->a, &subject, NS_KEY, OP_IN, t->p->namespace);
	translate_knp_rules(t, k->ingress.v, k->ingress.n, DIR_INGRESS, subject);
	translate_knp_rules(t, k->egress.v, k->egress.n, DIR_EGRESS, subject);
	bool ingress = k->ingress.n || has_type(k, "Ingress") || !has_type(k, "Egress");
	bool egress = k->egress.n || has_type(k, "Egress");
	if (ingress)
		add_section(t, subject, false, DIR_INGRESS, TRI_TRUE);
	if (egress)
		add_section(t, subject, false, DIR_EGRESS, TRI_TRUE);
}

/* ---------------------------------------------------------------- canonical order */

/* Rules are numbered (their cookies) in an order that does not depend on the order of the
 * input files, documents or rules: by policy, then by what the rule says. */
static char *rule_key(const struct flat_rule *r)
{
	struct strbuf sb = {0};
	char buf[64];
	sb_printf(&sb, "%d|%s|%s|%d|%d|%d|", r->policy->kind,
		  r->policy->namespace ? r->policy->namespace : "", r->policy->name, r->dir,
		  r->deny, r->auth);
	for (size_t i = 0; i < r->subject.n; i++)
		sb_printf(&sb, "%s/%d/%s;", r->subject.reqs[i].key, r->subject.reqs[i].op,
			  r->subject.reqs[i].nvalues ? r->subject.reqs[i].values[0] : "");
	for (size_t p = 0; p < r->npeers; p++) {
		const struct flat_peer *fp = &r->peers[p];
		sb_printf(&sb, "|%d:%s", fp->type, fp->entity ? fp->entity : "");
		for (size_t i = 0; i < fp->sel.n; i++) {
			sb_printf(&sb, "%s/%d", fp->sel.reqs[i].key, fp->sel.reqs[i].op);
			for (size_t k = 0; k < fp->sel.reqs[i].nvalues; k++)
				sb_printf(&sb, "=%s", fp->sel.reqs[i].values[k]);
		}
		if (fp->type == PT_CIDR) {
			format_prefix(&fp->cidr, buf, sizeof buf);
			sb_puts(&sb, buf);
		}
	}
	for (size_t i = 0; i < r->nports; i++)
		sb_printf(&sb, "|%u:%u-%u:%s:%d", r->ports[i].proto, r->ports[i].lo, r->ports[i].hi,
			  r->ports[i].name ? r->ports[i].name : "", r->ports[i].l7 != NULL);
	return sb.s;
}

struct keyed_rule {
	char *key;
	size_t index;
};

static int cmp_keyed_rule(const void *a, const void *b)
{
	const struct keyed_rule *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static void canonical_order(struct ptrvec *rules)
{
	struct keyed_rule *k = xmalloc((rules->n + 1) * sizeof(*k));
	for (size_t i = 0; i < rules->n; i++)
		k[i] = (struct keyed_rule){rule_key(rules->v[i]), i};
	sort_items(k, rules->n, sizeof(*k), cmp_keyed_rule);
	void **sorted = xmalloc((rules->n + 1) * sizeof(void *));
	for (size_t i = 0; i < rules->n; i++) {
		sorted[i] = rules->v[k[i].index];
		free(k[i].key);
	}
	if (rules->n)
		memcpy(rules->v, sorted, rules->n * sizeof(void *));
	free(sorted);
	free(k);
}

/* ---------------------------------------------------------------- entry points */

int translate(const struct cluster *c, const struct corpus *policies, struct flat_policy *out,
	      struct diag_sink *d)
{
	memset(out, 0, sizeof(*out));
	struct tctx t = {.c = c, .corpus = policies, .out = out, .a = &out->arena, .d = d};
	for (size_t i = 0; i < policies->policies.n; i++) {
		t.p = policies->policies.v[i];
		if (t.p->kind == KIND_KNP)
			translate_knp(&t);
		else
			for (size_t r = 0; r < t.p->rules.n; r++)
				translate_rule(&t, &t.p->rules.v[r]);
	}
	canonical_order(&t.rules);
	out->nrules = t.rules.n;
	out->rules = arena_alloc(t.a, (t.rules.n + 1) * sizeof(*out->rules));
	for (size_t i = 0; i < t.rules.n; i++) {
		out->rules[i] = *(struct flat_rule *)t.rules.v[i];
		out->rules[i].cookie = (uint32_t)i + 1;
	}
	out->nsections = t.sections.n;
	out->sections = arena_alloc(t.a, (t.sections.n + 1) * sizeof(*out->sections));
	for (size_t i = 0; i < t.sections.n; i++)
		out->sections[i] = *(struct flat_section *)t.sections.v[i];
	ptrvec_free(&t.rules);
	ptrvec_free(&t.sections);
	flat_index(c, out);
	return 0;
}

void flat_policy_free(struct flat_policy *fp)
{
	flat_index_free(fp);
	arena_free(&fp->arena);
	memset(fp, 0, sizeof(*fp));
}

bool flat_subject_selects(const struct flat_rule *r, const struct endpoint *ep)
{
	return !r->subject_is_host && selector_matches(&r->subject, &ep->id->labels);
}
