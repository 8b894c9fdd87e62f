/* Lints: legal policies that are probably not what their author meant, and `polc lint`.
 *
 * Coverage lints (a deny that kills an allow, an allow inside another) work on "atoms": one
 * peer times one port of a rule element. An atom covers another when its peer and its port
 * each contain the other's. The comparison is conservative: when in doubt, no finding.
 */
#include "polc.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- atoms */

enum atom_peer { AP_ANY, AP_ENTITY, AP_SELECTOR, AP_CIDR, AP_OTHER };

struct atom {
	const struct policy *p;
	const struct rule *rule;
	const struct rule_elem *elem;
	bool deny;
	enum direction dir;
	/* peer */
	enum atom_peer peer;
	const char *entity;
	const struct selector *sel;
	struct prefix cidr;
	bool cidr_has_except;
	/* port: all, or protocol + range, or a named port, or an ICMP type */
	bool all_ports;
	int proto; /* 0 ANY(TCP/UDP/SCTP), 6, 17, 132, 1, 58 */
	long lo, hi;
	const char *port_name;
	bool l7;
	const struct node *at;
};

struct atoms {
	struct atom *v;
	size_t n, cap;
};

static void push_atom(struct atoms *as, const struct atom *a)
{
	if (as->n == as->cap) {
		as->cap = as->cap ? as->cap * 2 : 64;
		as->v = xrealloc(as->v, as->cap * sizeof(*as->v));
	}
	as->v[as->n++] = *a;
}

static int proto_number(const char *p)
{
	if (!p || !strcmp(p, "ANY"))
		return 0;
	return !strcmp(p, "TCP") ? 6 : !strcmp(p, "UDP") ? 17 : !strcmp(p, "SCTP") ? 132 : -1;
}

/* Expands one peer across the element's ports. */
static void atoms_for_peer(struct atoms *as, struct atom base)
{
	const struct rule_elem *e = base.elem;
	if (e->to_ports.presence != P_PRESENT && e->icmps.presence != P_PRESENT) {
		base.all_ports = true;
		push_atom(as, &base);
		return;
	}
	for (size_t i = 0; i < e->to_ports.n; i++) {
		const struct port_rule *pr = &e->to_ports.v[i];
		base.l7 = pr->l7_kind != L7_NONE || pr->server_names.n || pr->has_listener;
		for (size_t k = 0; k < pr->ports.n; k++) {
			const struct port_protocol *pp = &pr->ports.v[k];
			struct atom a = base;
			unsigned long n;
			a.proto = proto_number(pp->protocol);
			if (a.proto < 0 || !pp->port)
				continue;
			a.at = pp->at;
			if (cilium_port_number(pp->port, &n)) {
				a.lo = (long)n;
				a.hi = pp->end_port > (long)n ? pp->end_port : (long)n;
				if (n == 0)
					a.hi = 65535;
			} else {
				a.port_name = pp->port;
			}
			push_atom(as, &a);
		}
	}
	for (size_t i = 0; i < e->icmps.n; i++)
		for (size_t k = 0; k < e->icmps.v[i].n; k++) {
			const struct icmp_field *f = &e->icmps.v[i].v[k];
			struct atom a = base;
			a.proto = f->family && !strcmp(f->family, "IPv6") ? 58 : 1;
			a.lo = a.hi = icmp_type_number(f->family, f->type ? f->type : "");
			a.at = f->at;
			if (a.lo >= 0)
				push_atom(as, &a);
		}
}

static void atoms_for_elem(struct atoms *as, const struct policy *p, const struct rule *r,
			   const struct rule_elem *e)
{
	struct atom base = {
	    .p = p, .rule = r, .elem = e, .deny = e->deny, .dir = e->dir, .at = e->at};
	bool any_peer = false;
	for (int k = 0; k < PEER__COUNT; k++)
		any_peer |= e->peer_at[k] != NULL;
	if (!any_peer) {
		/* `{}` allows nothing; with ports and no peer, it is L4-only for every peer. */
		if (e->to_ports.presence != P_PRESENT && e->icmps.presence != P_PRESENT)
			return;
		base.peer = AP_ANY;
		atoms_for_peer(as, base);
		return;
	}
	for (size_t i = 0; i < e->entities.n; i++) {
		struct atom a = base;
		a.peer = !strcmp(e->entities.v[i], "all") ? AP_ANY : AP_ENTITY;
		a.entity = e->entities.v[i];
		atoms_for_peer(as, a);
	}
	for (size_t i = 0; i < e->endpoints.n; i++) {
		struct atom a = base;
		a.peer = AP_SELECTOR;
		a.sel = &e->endpoints.v[i];
		atoms_for_peer(as, a);
	}
	for (size_t i = 0; i < e->cidr.n; i++) {
		struct atom a = base;
		a.peer = AP_CIDR;
		if (parse_prefix(e->cidr.v[i], &a.cidr, true) == 0)
			atoms_for_peer(as, a);
	}
	for (size_t i = 0; i < e->cidr_set.n; i++) {
		struct atom a = base;
		a.peer = AP_CIDR;
		a.cidr_has_except = e->cidr_set.v[i].except.n > 0;
		if (e->cidr_set.v[i].cidr &&
		    parse_prefix(e->cidr_set.v[i].cidr, &a.cidr, false) == 0)
			atoms_for_peer(as, a);
	}
}

static void atoms_for_list(struct atoms *as, const struct policy *p, const struct rule *r,
			   const struct rule_elem *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!v[i].auth_mode)
			atoms_for_elem(as, p, r, &v[i]);
}

/* ---------------------------------------------------------------- coverage */

static bool selector_equal(const struct selector *a, const struct selector *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct label_req *x = &a->reqs[i], *y = &b->reqs[i];
		if (strcmp(x->key, y->key) || x->op != y->op || x->nvalues != y->nvalues)
			return false;
		for (size_t k = 0; k < x->nvalues; k++)
			if (strcmp(x->values[k], y->values[k]))
				return false;
	}
	return true;
}

static bool has_reserved_key(const struct selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strncmp(s->reqs[i].key, "reserved:", 9) || s->reqs[i].key[0] == '$')
			return true;
	return false;
}

static bool selector_mentions(const struct selector *s, const char *needle)
{
	for (size_t i = 0; i < s->n; i++)
		if (strstr(s->reqs[i].key, needle))
			return true;
	return false;
}

static bool peer_covers(const struct atom *a, const struct atom *b)
{
	switch (a->peer) {
	case AP_ANY:
		return true;
	case AP_ENTITY:
		if (b->peer == AP_ENTITY && !strcmp(a->entity, b->entity))
			return true;
		if (!strcmp(a->entity, "world") && b->peer == AP_CIDR)
			return true;
		return !strcmp(a->entity, "cluster") && b->peer == AP_SELECTOR &&
		       !has_reserved_key(b->sel);
	case AP_SELECTOR:
		if (b->peer != AP_SELECTOR || has_reserved_key(a->sel) || has_reserved_key(b->sel))
			return false;
		if (selector_equal(a->sel, b->sel))
			return true;
		/* {} is "every pod of this namespace" in a CNP: it covers only peers that stay in
		 * the namespace; in a CCNP it is every pod. */
		return a->sel->n == 0 &&
		       (a->p->kind == KIND_CCNP ||
			(!selector_mentions(b->sel, "io.kubernetes.pod.namespace") &&
			 !selector_mentions(b->sel, "io.cilium.k8s.namespace.labels.")));
	case AP_CIDR:
		return b->peer == AP_CIDR && !a->cidr_has_except &&
		       prefix_contains(&a->cidr, &b->cidr);
	default:
		return false;
	}
}

static bool port_covers(const struct atom *a, const struct atom *b)
{
	if (a->all_ports)
		return true;
	if (b->all_ports)
		return false;
	bool icmp_a = a->proto == 1 || a->proto == 58, icmp_b = b->proto == 1 || b->proto == 58;
	if (icmp_a || icmp_b)
		return a->proto == b->proto && a->lo == b->lo;
	if (a->proto != 0 && a->proto != b->proto)
		return false;
	if (a->port_name || b->port_name)
		return a->port_name && b->port_name && !strcmp(a->port_name, b->port_name);
	return a->lo <= b->lo && a->hi >= b->hi;
}

/* Subjects: same kind and namespace, and equal selectors, or a cover-all selector in A. */
static bool subject_covers(const struct atom *a, const struct atom *b)
{
	if (a->p->kind != b->p->kind || a->p->kind == KIND_KNP)
		return false;
	if (a->p->namespace && (!b->p->namespace || strcmp(a->p->namespace, b->p->namespace)))
		return false;
	const struct selector *sa = &a->rule->endpoint_selector, *sb = &b->rule->endpoint_selector;
	if (sa->presence != P_PRESENT || sb->presence != P_PRESENT)
		return false;
	return sa->n == 0 || selector_equal(sa, sb);
}

static bool covers(const struct atom *a, const struct atom *b)
{
	return a->dir == b->dir && subject_covers(a, b) && peer_covers(a, b) && port_covers(a, b);
}

static const struct node *elem_at(const struct atom *a)
{
	return a->elem->at;
}

static void report_cover(const struct atom *dead, const struct atom *by, enum rule_id r,
			 struct diag_sink *d)
{
	char hint[256];
	const struct node *at = elem_at(by);
	snprintf(hint, sizeof hint, "%s %s at %s:%d covers it%s",
		 by->deny ? "the deny rule" : "the allow rule", by->p->name,
		 at->src ? at->src->path : "?", at->line,
		 r == L_DENY_SHADOWS_ALLOW
		     ? "; deny always wins in Cilium, whatever the specificity"
		     : "; remove one of them");
	d->object_disabled = dead->p->disabled_lints;
	if (r == L_DENY_SHADOWS_ALLOW)
		diag_at(d, r, dead->at, hint, "this allow can never take effect: a deny covers it");
	else
		diag_at(d, r, dead->at, hint, "this allow is redundant: another allow covers it");
	d->object_disabled = NULL;
}

/* Atoms are grouped by (kind, namespace, direction, subject); an atom can only be covered
 * from its own group or from the group whose subject selects every pod ({}). */
static char *subject_key(const struct atom *a, bool wildcard)
{
	struct strbuf sb = {0};
	sb_printf(&sb, "%d|%s|%d|", a->p->kind, a->p->namespace ? a->p->namespace : "", a->dir);
	const struct selector *s = &a->rule->endpoint_selector;
	for (size_t i = 0; !wildcard && i < s->n; i++) {
		sb_printf(&sb, "%s/%d", s->reqs[i].key, s->reqs[i].op);
		for (size_t k = 0; k < s->reqs[i].nvalues; k++)
			sb_printf(&sb, "=%s", s->reqs[i].values[k]);
		sb_puts(&sb, ";");
	}
	if (!sb.s)
		sb_puts(&sb, "");
	return sb.s;
}

/* Subject keys are compared by a 64-bit hash first (FNV-1a), the text only on a tie. */
struct keyed {
	uint64_t hash;
	char *key;
	size_t index;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int cmp_hash_key(uint64_t ha, const char *a, uint64_t hb, const char *b)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	return strcmp(a, b);
}

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = cmp_hash_key(x->hash, x->key, y->hash, y->key);
	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static size_t lower_bound(const struct keyed *v, size_t n, uint64_t hash, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cmp_hash_key(v[mid].hash, v[mid].key, hash, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first atom of another element that covers b, preferring a deny; NULL if none. */
static const struct atom *cover_in(const struct atoms *as, const struct keyed *idx, size_t n,
				   const char *key, size_t bi)
{
	const struct atom *b = &as->v[bi], *found = NULL;
	uint64_t h = fnv1a(key);
	for (size_t j = lower_bound(idx, n, h, key);
	     j < n && idx[j].hash == h && !strcmp(idx[j].key, key); j++) {
		size_t ai = idx[j].index;
		const struct atom *a = &as->v[ai];
		if (a->elem == b->elem || !covers(a, b))
			continue;
		if (a->deny)
			return a;
		/* Two identical allows cover each other: only the later one is redundant. */
		if (!found && !a->l7 && (ai < bi || !covers(b, a)))
			found = a;
	}
	return found;
}

static const struct atom *cover_of(const struct atoms *as, const struct keyed *idx,
				   char *const *own, char *const *all, size_t bi)
{
	const struct atom *a = cover_in(as, idx, as->n, own[bi], bi);
	const struct atom *w =
	    strcmp(own[bi], all[bi]) ? cover_in(as, idx, as->n, all[bi], bi) : NULL;
	return a && a->deny ? a : w && w->deny ? w : a ? a : w;
}

/* An allow element is dead or redundant only when every one of its atoms is covered. Atoms
 * of one element are consecutive. */
static void coverage_lints(const struct atoms *as, struct diag_sink *d)
{
	/* Atoms of one rule share a subject: build its two keys once per rule. */
	struct keyed *idx = xmalloc((as->n + 1) * sizeof(*idx));
	char **own = xcalloc(as->n + 1, sizeof(char *)), **all = xcalloc(as->n + 1, sizeof(char *));
	for (size_t i = 0; i < as->n; i++) {
		bool same =
		    i && as->v[i].rule == as->v[i - 1].rule && as->v[i].dir == as->v[i - 1].dir;
		own[i] = same ? own[i - 1] : subject_key(&as->v[i], false);
		all[i] = same ? all[i - 1] : subject_key(&as->v[i], true);
		idx[i] = (struct keyed){same ? idx[i - 1].hash : fnv1a(own[i]), own[i], i};
	}
	sort_items(idx, as->n, sizeof(*idx), cmp_keyed);
	for (size_t i = 0; i < as->n;) {
		size_t end = i;
		while (end < as->n && as->v[end].elem == as->v[i].elem)
			end++;
		const struct atom *first = NULL;
		bool all_denied = true, all_covered = !as->v[i].deny;
		for (size_t k = i; k < end && all_covered; k++) {
			const struct atom *c = cover_of(as, idx, own, all, k);
			all_covered = c != NULL;
			all_denied &= c && c->deny;
			if (!first)
				first = c;
		}
		if (all_covered && first)
			report_cover(&as->v[i], first,
				     all_denied ? L_DENY_SHADOWS_ALLOW : L_REDUNDANT_ALLOW, d);
		i = end;
	}
	for (size_t i = 0; i < as->n; i++)
		if (!i || own[i] != own[i - 1]) {
			free(own[i]);
			free(all[i]);
		}
	free(own);
	free(all);
	free(idx);
}

/* ---------------------------------------------------------------- per-element lints */

static const struct node *item_at_list(const struct node *list, size_t i)
{
	return list && list->kind == NODE_SEQ && i < list->n ? list->vals[i] : list;
}

struct lctx {
	const struct corpus *c;
	const struct lint_options *o;
	struct diag_sink *d;
	const struct policy *p;
	const struct rule *rule;
};

static bool selector_has_key(const struct selector *s, const char *needle)
{
	for (size_t i = 0; i < s->n; i++)
		if (strstr(s->reqs[i].key, needle))
			return true;
	return false;
}

static void lint_peer_lists(struct lctx *x, const struct rule_elem *e)
{
	for (int k = 0; k < PEER__COUNT; k++) {
		const struct node *at = e->peer_at[k];
		const struct node *v = at ? node_get(e->at, at->str) : NULL;
		if (v && v->kind == NODE_SEQ && v->n == 0)
			diag_at(x->d, L_EMPTY_PEER_LIST, at,
				k == PEER_ENDPOINTS
				    ? "write [{}] for every pod of the namespace, or "
				      "remove the field for every peer"
				    : "remove the field, or list peers",
				"%s: [] selects nothing, so this rule allows nothing", at->str);
	}
	for (size_t i = 0; i < e->endpoints.n; i++) {
		const struct selector *s = &e->endpoints.v[i];
		if (s->n == 0)
			diag_at(x->d, L_WILDCARD_PEER_SCOPE, s->at,
				x->p->kind == KIND_CNP
				    ? "use fromEntities/toEntities: [cluster] or [all] for more"
				    : "use entities such as host or world for non-pod peers",
				x->p->kind == KIND_CNP
				    ? "{} here selects only the pods of namespace \"%s\""
				    : "{} here selects pods of every namespace, but no host, node "
				      "or world%s",
				x->p->kind == KIND_CNP ? x->p->namespace : "");
		if (x->p->kind == KIND_CNP &&
		    selector_has_key(s, "io.cilium.k8s.namespace.labels.") &&
		    !selector_has_key(s, "io.kubernetes.pod.namespace"))
			diag_at(x->d, L_CROSS_NAMESPACE, s->at,
				"add io.kubernetes.pod.namespace to stay in one namespace, or use "
				"a CCNP "
				"to say it is cluster-wide",
				"selecting by namespace labels reaches pods in every namespace "
				"with those "
				"labels (Cilium 1.16 and later), not only \"%s\"",
				x->p->namespace);
	}
	if (e->groups.presence == P_PRESENT)
		diag_at(x->d, L_UNRESOLVABLE, e->peer_at[PEER_GROUPS],
			"the operator turns groups into CIDRs at run time; polc treats them as "
			"selecting nothing",
			"%s cannot be resolved offline", e->peer_at[PEER_GROUPS]->str);
}

static bool is_ingress_workload(const struct lctx *x)
{
	const struct selector *s = &x->rule->endpoint_selector;
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->reqs[i].nvalues; k++)
			if (strstr(s->reqs[i].values[k], "ingress") ||
			    strstr(s->reqs[i].values[k], "gateway"))
				return true;
	return false;
}

static void lint_exposure(struct lctx *x, const struct rule_elem *e)
{
	if (e->deny)
		return;
	const char *who = e->dir == DIR_EGRESS ? "reach" : "be reached from";
	bool ingress_ok = e->dir == DIR_INGRESS && is_ingress_workload(x);
	for (size_t i = 0; i < e->entities.n; i++) {
		const char *ent = e->entities.v[i];
		bool broad = !strcmp(ent, "all") || !strcmp(ent, "world");
		if (broad && !(ingress_ok && !strcmp(ent, "world")))
			diag_at(x->d, L_BROAD_EXPOSURE, item_at_list(e->entities.at, i),
				"name the peers (toFQDNs, CIDRs or selectors), or annotate the "
				"policy with lint.polc.io/disable: broad-exposure",
				"this lets the workload %s %s", who,
				!strcmp(ent, "all") ? "everything" : "the whole internet");
	}
	struct prefix p;
	for (size_t i = 0; i < e->cidr.n; i++)
		if (parse_prefix(e->cidr.v[i], &p, true) == 0 && p.len == 0 && !ingress_ok)
			diag_at(x->d, L_BROAD_EXPOSURE, item_at_list(e->cidr.at, i),
				"name the networks the workload needs",
				"%s lets the workload %s every address", e->cidr.v[i], who);
	for (size_t i = 0; i < e->cidr_set.n; i++) {
		const struct cidr_rule *cr = &e->cidr_set.v[i];
		if (cr->cidr && parse_prefix(cr->cidr, &p, false) == 0 && p.len == 0 && !ingress_ok)
			diag_at(x->d, L_BROAD_EXPOSURE, cr->at,
				"name the networks the workload needs",
				"%s lets the workload %s every address%s", cr->cidr, who,
				cr->except.n ? " outside its excepts" : "");
	}
}

static const char *const HTTP_METHODS[] = {"GET",     "HEAD",	 "POST",  "PUT",   "DELETE",
					   "CONNECT", "OPTIONS", "TRACE", "PATCH", NULL};

static void lint_http(struct lctx *x, const struct http_rule *h)
{
	char err[128];
	size_t off;
	if (h->path && http_regex_check(h->path, err, sizeof err, &off) == 0 &&
	    !http_regex_can_start_with(h->path, "/"))
		diag_at(x->d, L_HTTP_NEVER_MATCHES, h->path_at,
			"Envoy matches the whole :path, which always starts with /; for example "
			"write /api/.* instead of api/.*",
			"path regex \"%s\" can never match a request path", h->path);
	if (h->method && http_regex_check(h->method, err, sizeof err, &off) == 0) {
		bool any = false;
		for (const char *const *m = HTTP_METHODS; *m && !any; m++)
			any = http_regex_matches(h->method, *m);
		if (!any && !http_regex_can_start_with(h->method, "A") &&
		    !http_regex_can_start_with(h->method, "M"))
			diag_at(x->d, L_HTTP_NEVER_MATCHES, h->method_at,
				"methods are upper case and matched whole: GET, POST|PUT",
				"method regex \"%s\" matches no HTTP method", h->method);
	}
}

static void lint_ports(struct lctx *x, const struct rule_elem *e)
{
	for (size_t i = 0; i < e->to_ports.n; i++) {
		const struct port_rule *pr = &e->to_ports.v[i];
		for (size_t k = 0; k < pr->ports.n; k++) {
			const struct port_protocol *pp = &pr->ports.v[k];
			unsigned long n;
			if (pp->port && cilium_port_number(pp->port, &n) && n > 0 &&
			    pp->end_port > 0 && (unsigned long)pp->end_port < n)
				diag_at(x->d, L_ENDPORT_BELOW_PORT, node_get(pp->at, "endPort"),
					"swap them, or drop endPort for a single port",
					"endPort %d is below port %lu: Cilium ignores it and "
					"allows port %lu "
					"alone",
					pp->end_port, n, n);
			if (pp->port && !strcmp(pp->port, "0") && pp->end_port > 0)
				diag_at(x->d, L_PORT_RANGE_ZERO, pp->port_at,
					"start the range at 1, or write port: \"0\" alone to mean "
					"all ports",
					"a range starting at port 0 is stored by Cilium as \"every "
					"port\", "
					"not 0-%d",
					pp->end_port);
		}
		for (size_t k = 0; k < pr->http.n; k++)
			lint_http(x, &pr->http.v[k]);
	}
	for (size_t i = 0; i < e->icmps.n; i++)
		for (size_t k = 0; k < e->icmps.v[i].n; k++) {
			const struct icmp_field *f = &e->icmps.v[i].v[k];
			bool v4 = !f->family || !strcmp(f->family, "IPv4");
			if (v4 && f->type && icmp_type_number(f->family, f->type) == 0)
				diag_at(x->d, L_ICMP_TYPE_ZERO, node_get(f->at, "type"),
					"replies of allowed echo requests pass anyway (connection "
					"tracking); allow EchoRequest (8) instead",
					"ICMP type 0 (EchoReply) is stored as type \"any\": it "
					"allows every "
					"ICMP type");
		}
}

/* toFQDNs only ever matches IPs that Cilium's DNS proxy saw, so a DNS rule must exist. */
static bool rule_has_dns(const struct rule *o)
{
	for (size_t e = 0; e < o->egress.n; e++)
		for (size_t t = 0; t < o->egress.v[e].to_ports.n; t++)
			if (o->egress.v[e].to_ports.v[t].l7_kind == L7_DNS)
				return true;
	return false;
}

/* Does the rule's subject select this pod? (CNP subjects stay in their namespace.) */
static bool subject_selects_pod(const struct policy *p, const struct rule *r, const struct pod *pod)
{
	if (r->endpoint_selector.presence != P_PRESENT || pod->host_network)
		return false;
	if (p->kind == KIND_CNP && strcmp(pod->namespace, p->namespace))
		return false;
	return selector_matches(&r->endpoint_selector, &pod->identity);
}

/* With an inventory: every pod the FQDN rule applies to is also under some DNS rule. */
static bool dns_covers_pods(const struct lctx *x, const struct rule *r)
{
	const struct inventory *inv = x->o->inv;
	for (size_t i = 0; i < inv->npods; i++) {
		const struct pod *pod = &inv->pods[i];
		if (!subject_selects_pod(x->p, r, pod))
			continue;
		bool covered = false;
		for (size_t k = 0; k < x->c->policies.n && !covered; k++) {
			const struct policy *p = x->c->policies.v[k];
			for (size_t m = 0; p->kind != KIND_KNP && m < p->rules.n && !covered; m++)
				covered = rule_has_dns(&p->rules.v[m]) &&
					  subject_selects_pod(p, &p->rules.v[m], pod);
		}
		if (!covered)
			return false;
	}
	return true;
}

/* Without one: a DNS rule in the same scope whose subject is the same selector or {}. */
static bool has_dns_rule_for(const struct lctx *x, const struct rule *r)
{
	if (x->o->inv)
		return dns_covers_pods(x, r);
	for (size_t i = 0; i < x->c->policies.n; i++) {
		const struct policy *p = x->c->policies.v[i];
		if (p->kind == KIND_KNP ||
		    (p->namespace && x->p->namespace && strcmp(p->namespace, x->p->namespace)))
			continue;
		for (size_t k = 0; k < p->rules.n; k++) {
			const struct rule *o = &p->rules.v[k];
			const struct selector *a = &o->endpoint_selector,
					      *b = &r->endpoint_selector;
			if (a->presence == P_PRESENT && (!a->n || selector_equal(a, b)) &&
			    rule_has_dns(o))
				return true;
		}
	}
	return false;
}

static void lint_fqdn(struct lctx *x, const struct rule_elem *e)
{
	if (e->fqdns.presence == P_PRESENT && e->fqdns.n > 0 && !has_dns_rule_for(x, x->rule))
		diag_at(
		    x->d, L_FQDN_WITHOUT_DNS, e->peer_at[PEER_FQDNS],
		    "add an egress rule to kube-dns on port 53 with rules: {dns: [{matchPattern: "
		    "\"*\"}]}",
		    "toFQDNs matches only addresses that Cilium's DNS proxy saw, and no rule for "
		    "these endpoints sends DNS through it: this traffic would be dropped");
}

static void lint_elem(struct lctx *x, const struct rule_elem *e)
{
	lint_peer_lists(x, e);
	lint_exposure(x, e);
	lint_ports(x, e);
	lint_fqdn(x, e);
}

static void lint_sections(struct lctx *x, const struct rule *r)
{
	static const char *const names[] = {"ingress", "ingressDeny", "egress", "egressDeny"};
	for (int i = 0; i < 4; i++) {
		const struct node *v = node_get(r->at, names[i]);
		if (v && v->kind == NODE_SEQ && v->n == 0)
			diag_at(x->d, L_EMPTY_SECTION, v,
				i % 2 == 0
				    ? "write [{}] to enforce default deny with no exceptions, or "
				      "remove the field"
				    : "remove the field",
				"%s: [] does nothing: Cilium ignores an empty list", names[i]);
	}
}

/* ---------------------------------------------------------------- inventory lints */

static bool pod_in_scope(const struct pod *pod, const struct policy *p, bool subject)
{
	if (p->kind == KIND_CCNP)
		return true;
	return !subject || !strcmp(pod->namespace, p->namespace);
}

static void lint_matches_nothing(struct lctx *x, const struct selector *s, bool subject,
				 const char *what)
{
	const struct inventory *inv = x->o->inv;
	if (!inv || s->presence != P_PRESENT || has_reserved_key(s))
		return;
	bool scoped = subject || (x->p->kind == KIND_CNP &&
				  !selector_has_key(s, "io.kubernetes.pod.namespace") &&
				  !selector_has_key(s, "io.cilium.k8s.namespace.labels."));
	for (size_t i = 0; i < inv->npods; i++) {
		const struct pod *pod = &inv->pods[i];
		if (pod->host_network || (scoped && !pod_in_scope(pod, x->p, true)))
			continue;
		if (selector_matches(s, &pod->identity))
			return;
	}
	const char *filtered = NULL;
	for (size_t i = 0; i < s->n && !filtered; i++) {
		const char *colon = strchr(s->reqs[i].key, ':');
		const char *key = colon ? colon + 1 : s->reqs[i].key;
		if ((s->reqs[i].op == OP_IN || s->reqs[i].op == OP_EXISTS) &&
		    !label_is_identity_relevant(key))
			filtered = key;
	}
	char hint[256];
	if (filtered)
		snprintf(
		    hint, sizeof hint,
		    "Cilium leaves %s out of security identities, so no selector can match it; "
		    "select by a stable label such as app.kubernetes.io/name",
		    filtered);
	else
		snprintf(hint, sizeof hint,
			 "check the labels against kubectl get pods --show-labels");
	diag_at(x->d, L_SELECTOR_MATCHES_NOTHING, s->at, hint,
		"%s matches no pod in the inventory%s%s%s", what, scoped ? " (namespace \"" : "",
		scoped ? (x->p->namespace ? x->p->namespace : "") : "", scoped ? "\")" : "");
}

static void lint_rule_selectors(struct lctx *x, const struct rule *r)
{
	if (r->endpoint_selector.presence == P_PRESENT)
		lint_matches_nothing(x, &r->endpoint_selector, true, "endpointSelector");
	const struct rule_elem *lists[] = {r->ingress.v, r->ingress_deny.v, r->egress.v,
					   r->egress_deny.v};
	size_t counts[] = {r->ingress.n, r->ingress_deny.n, r->egress.n, r->egress_deny.n};
	for (int l = 0; l < 4; l++)
		for (size_t i = 0; i < counts[l]; i++)
			for (size_t k = 0; k < lists[l][i].endpoints.n; k++)
				lint_matches_nothing(x, &lists[l][i].endpoints.v[k], false,
						     lists[l][i].dir == DIR_INGRESS
							 ? "fromEndpoints"
							 : "toEndpoints");
}

/* ---------------------------------------------------------------- driver */

static void lint_policy(struct lctx *x, struct atoms *as)
{
	const struct policy *p = x->p;
	if (p->kind == KIND_KNP) {
		lint_matches_nothing(x, &p->knp.pod_selector, true, "podSelector");
		return;
	}
	for (size_t r = 0; r < p->rules.n; r++) {
		const struct rule *rule = &p->rules.v[r];
		x->rule = rule;
		lint_sections(x, rule);
		lint_rule_selectors(x, rule);
		const struct rule_elem *lists[] = {rule->ingress.v, rule->ingress_deny.v,
						   rule->egress.v, rule->egress_deny.v};
		size_t counts[] = {rule->ingress.n, rule->ingress_deny.n, rule->egress.n,
				   rule->egress_deny.n};
		for (int l = 0; l < 4; l++) {
			for (size_t i = 0; i < counts[l]; i++)
				lint_elem(x, &lists[l][i]);
			atoms_for_list(as, p, rule, lists[l], counts[l]);
		}
	}
}

void lint_corpus(const struct corpus *c, const struct lint_options *o, struct diag_sink *d)
{
	struct atoms as = {0};
	for (size_t i = 0; i < c->policies.n; i++) {
		struct lctx x = {.c = c, .o = o, .d = d, .p = c->policies.v[i]};
		d->object_disabled = x.p->disabled_lints;
		lint_policy(&x, &as);
		d->object_disabled = NULL;
	}
	coverage_lints(&as, d);
	free(as.v);
}

/* ---------------------------------------------------------------- polc lint */

struct lint_args {
	struct load_options load;
	enum diag_format format;
	int color;
	const char *output;
	struct ptrvec inventory;
	bool disabled[RULE__COUNT];
};

static int parse_size(const char *opt, const char *arg, size_t *out)
{
	unsigned long v;
	if (!parse_uint(arg, (unsigned long)1 << 40, &v) || v == 0) {
		fprintf(stderr, "polc lint: %s wants a positive number of bytes, got '%s'\n", opt,
			arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int disable_ids(struct lint_args *a, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int r = rule_by_id(tok);
		if (r < 0) {
			fprintf(stderr,
				"polc lint: unknown lint id '%s' (see polc lint --list-rules)\n",
				tok);
			rc = -1;
		} else if (rule_table[r].severity == SEV_ERROR) {
			fprintf(stderr,
				"polc lint: '%s' is an error, and errors cannot be silenced\n",
				tok);
			rc = -1;
		} else {
			a->disabled[r] = true;
		}
	}
	free(copy);
	return rc;
}

static void list_rules(void)
{
	static const char *sev[] = {"note", "warning", "error"};
	for (int r = 0; r < RULE__COUNT; r++)
		printf("%-28s %-8s %s\n", rule_table[r].id, sev[rule_table[r].severity],
		       rule_table[r].summary);
}

enum {
	OPT_COLOR = 256,
	OPT_MAX_DOC,
	OPT_MAX_INPUT,
	OPT_MAX_DEPTH,
	OPT_YAML_READER,
	OPT_LIST_RULES
};

/* Returns the index of the first path argument, or -1 (usage error), or 0 (done, exit 0). */
static int parse_lint_args(int argc, char **argv, struct lint_args *a)
{
	static const struct option opts[] = {
	    {"inventory", required_argument, NULL, 'i'},
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"disable", required_argument, NULL, 'd'},
	    {"color", required_argument, NULL, OPT_COLOR},
	    {"max-document-size", required_argument, NULL, OPT_MAX_DOC},
	    {"max-input-size", required_argument, NULL, OPT_MAX_INPUT},
	    {"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
	    {"yaml-reader", required_argument, NULL, OPT_YAML_READER},
	    {"list-rules", no_argument, NULL, OPT_LIST_RULES},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:f:o:d:h", opts, NULL)) != -1) {
		unsigned long v;
		switch (c) {
		case 'i':
			ptrvec_push(&a->inventory, optarg);
			break;
		case 'f':
			if (!strcmp(optarg, "text"))
				a->format = FORMAT_TEXT;
			else if (!strcmp(optarg, "json"))
				a->format = FORMAT_JSON;
			else if (!strcmp(optarg, "sarif"))
				a->format = FORMAT_SARIF;
			else {
				fprintf(stderr,
					"polc lint: --format is text, json or sarif, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'd':
			if (disable_ids(a, optarg) < 0)
				return -1;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") && strcmp(optarg, "always") &&
			    strcmp(optarg, "never")) {
				fprintf(stderr,
					"polc lint: --color is auto, always or never, not '%s'\n",
					optarg);
				return -1;
			}
			a->color = !strcmp(optarg, "always")  ? 1
				   : !strcmp(optarg, "never") ? 0
							      : -1;
			break;
		case OPT_MAX_DOC:
			if (parse_size("--max-document-size", optarg,
				       &a->load.limits.max_document_bytes))
				return -1;
			break;
		case OPT_MAX_INPUT:
			if (parse_size("--max-input-size", optarg, &a->load.limits.max_input_bytes))
				return -1;
			break;
		case OPT_MAX_DEPTH:
			if (!parse_uint(optarg, 255, &v) || v < 2) {
				fprintf(stderr,
					"polc lint: --max-depth is a number from 2 to 255\n");
				return -1;
			}
			a->load.limits.max_depth = (int)v;
			break;
		case OPT_YAML_READER:
			if (strcmp(optarg, "auto") && strcmp(optarg, "libyaml")) {
				fprintf(stderr,
					"polc lint: --yaml-reader is auto or libyaml, not '%s'\n",
					optarg);
				return -1;
			}
			a->load.limits.libyaml_only = !strcmp(optarg, "libyaml");
			break;
		case OPT_LIST_RULES:
			list_rules();
			return 0;
		case 'h':
			puts(LINT_USAGE);
			return 0;
		default:
			fprintf(stderr, "%s\n", LINT_USAGE);
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "polc lint: no input given\n%s\n", LINT_USAGE);
		return -1;
	}
	return optind;
}

int do_lint(int argc, char **argv)
{
	struct lint_args a = {.format = FORMAT_TEXT, .color = -1};
	reader_default_limits(&a.load.limits);
	int first = parse_lint_args(argc, argv, &a);
	if (first <= 0) {
		ptrvec_free(&a.inventory);
		return first == 0 ? EXIT_CLEAN : EXIT_USAGE;
	}
	struct diag_sink d;
	diag_init(&d);
	memcpy(d.disabled, a.disabled, sizeof d.disabled);
	struct inventory *inv = NULL;
	bool input_error = false;
	if (a.inventory.n) {
		inv = inventory_load((const char *const *)a.inventory.v, a.inventory.n,
				     &a.load.limits, &d);
		input_error |= inv == NULL;
	}
	struct schema_set *s = schema_builtin();
	struct corpus c;
	corpus_init(&c);
	input_error |= corpus_load(&c, &a.load, s, (const char *const *)argv + first,
				   (size_t)(argc - first), &d) < 0;
	struct lint_options lo = {.inv = inv};
	lint_corpus(&c, &lo, &d);
	diag_sort(&d);
	FILE *out = a.output ? fopen(a.output, "w") : stdout;
	if (!out) {
		perror(a.output);
		input_error = true;
	} else {
		diag_render(&d, a.format, out, a.color);
		if (a.format == FORMAT_TEXT && d.n == 0)
			fprintf(out, "%zu polic%s checked: clean\n", c.policies.n,
				c.policies.n == 1 ? "y" : "ies");
		if (out != stdout)
			fclose(out);
	}
	int rc = input_error					? EXIT_USAGE
		 : d.counts[SEV_ERROR] || d.counts[SEV_WARNING] ? EXIT_FINDINGS
								: EXIT_CLEAN;
	corpus_free(&c);
	schema_free(s);
	inventory_free(inv);
	diag_free(&d);
	ptrvec_free(&a.inventory);
	return rc;
}
