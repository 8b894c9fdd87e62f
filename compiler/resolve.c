/* Resolution: the policy of one endpoint in one direction, as Cilium's agent computes it
 * (cilium-semantics.md 3.1-3.3): enforcement and default deny, each selecting rule's peers as
 * identities times its ports, named ports resolved, allow-localhost, and deny precedence.
 * The result is a list of entries keyed by (identity, protocol, port range); mapstate_lookup()
 * answers a flow from them.
 */
#include "polc.h"
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

const char *reason_name(enum reason r)
{
	static const char *names[] = {"not-enforced", "allowed",     "l7-redirect",
				      "auth-required", "policy-deny", "default-deny"};
	return names[r];
}

static void push(struct mapstate *ms, struct ms_entry e)
{
	if (ms->n == ms->cap) {
		ms->cap = ms->cap ? ms->cap * 2 : 32;
		ms->v = xrealloc(ms->v, ms->cap * sizeof(*ms->v));
	}
	ms->v[ms->n++] = e;
}

void mapstate_free(struct mapstate *ms)
{
	free(ms->v);
	memset(ms, 0, sizeof(*ms));
}

/* ---------------------------------------------------------------- enforcement */

struct enforcement {
	bool enforced;
	bool default_deny;
};

static struct enforcement enforcement_of(const struct cluster *c, const struct flat_policy *fp,
					 const struct endpoint *ep, enum direction dir)
{
	struct enforcement e = {false, false};
	const uint32_t *rules, *sections;
	size_t nrules, nsections;
	flat_selected(c, fp, ep->id->id, &rules, &nrules, &sections, &nsections);
	for (size_t i = 0; i < nsections; i++) {
		const struct flat_section *s = &fp->sections[sections[i]];
		if (s->dir != dir)
			continue;
		e.enforced = true;
		if (s->default_deny != TRI_FALSE || !c->sem.non_default_deny_policies)
			e.default_deny = true;
	}
	if (c->sem.enable_policy == ENFORCE_NEVER)
		return (struct enforcement){false, false};
	bool init = label_get(&ep->id->labels, "reserved", "init") != NULL;
	if (!e.enforced && (c->sem.enable_policy == ENFORCE_ALWAYS || init))
		e = (struct enforcement){true, true};
	return e;
}

/* ---------------------------------------------------------------- named ports */

static bool proto_matches(const char *written, uint8_t proto)
{
	uint8_t p = !strcmp(written, "UDP") ? 17 : !strcmp(written, "SCTP") ? 132 : 6;
	return p == proto;
}

/* Ingress: the endpoint's own container port. Egress: the one number every known pod uses
 * for that name (indexed once per cluster); none, or two different numbers, means no entry.
 * Returns -1 for none. */
static long named_port(const struct cluster *c, const struct endpoint *ep, enum direction dir,
		       const char *name, uint8_t proto)
{
	if (dir == DIR_EGRESS)
		return cluster_named_port(c, name, proto);
	long found = -1;
	const struct pod *p = ep->pod;
	for (size_t k = 0; k < p->nports; k++) {
		const struct container_port *cp = &p->ports[k];
		if (!cp->name || strcasecmp(cp->name, name) || !proto_matches(cp->protocol, proto) ||
		    cp->port <= 0)
			continue;
		if (found >= 0 && found != cp->port)
			return -1;
		found = cp->port;
	}
	return found;
}

/* ---------------------------------------------------------------- entries */

static void add_rule(const struct cluster *c, const struct endpoint *ep, const struct flat_rule *r,
		     struct mapstate *ms)
{
	for (size_t p = 0; p < r->npeers; p++) {
		const struct idset *ids = r->peers[p].ids;
		for (size_t k = 0; k < r->nports; k++) {
			const struct flat_port *fp = &r->ports[k];
			long lo = fp->lo, hi = fp->hi;
			if (fp->name) {
				lo = hi = named_port(c, ep, r->dir, fp->name, fp->proto);
				if (lo < 0)
					continue;
			}
			struct ms_entry e = {.proto = fp->proto, .lo = (uint16_t)lo, .hi = (uint16_t)hi,
					     .deny = r->deny, .l7 = fp->l7 != NULL && !r->deny,
					     .auth = (uint8_t)r->auth, .cookie = r->cookie,
					     .l7_rule = r->deny ? NULL : fp->l7};
			if (ids->any) {
				e.identity = ID_ANY;
				push(ms, e);
			}
			for (size_t i = 0; i < ids->n; i++) {
				e.identity = ids->v[i];
				push(ms, e);
			}
		}
	}
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ms_entry *x = a, *y = b;
	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->lo != y->lo)
		return x->lo - y->lo;
	if (x->hi != y->hi)
		return x->hi - y->hi;
	if (x->deny != y->deny)
		return x->deny ? -1 : 1;
	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/* Same key: deny wins, L7 and auth accumulate, the first rule is the one named. */
static void merge_duplicates(struct mapstate *ms)
{
	sort_items(ms->v, ms->n, sizeof(*ms->v), cmp_entry);
	size_t out = 0;
	for (size_t i = 0; i < ms->n; i++) {
		struct ms_entry *e = &ms->v[i];
		struct ms_entry *last = out ? &ms->v[out - 1] : NULL;
		if (last && last->identity == e->identity && last->proto == e->proto &&
		    last->lo == e->lo && last->hi == e->hi) {
			if (last->deny)
				continue;
			if (e->l7 && !last->l7)
				last->l7_rule = e->l7_rule;
			last->l7 |= e->l7;
			if (e->auth > last->auth)
				last->auth = e->auth;
			continue;
		}
		ms->v[out++] = *e;
	}
	ms->n = out;
}

void resolve_endpoint(const struct cluster *c, const struct flat_policy *fp,
		      const struct endpoint *ep, enum direction dir, struct mapstate *out)
{
	memset(out, 0, sizeof(*out));
	struct enforcement en = enforcement_of(c, fp, ep, dir);
	out->enforced = en.enforced;
	if (!en.enforced) {
		push(out, (struct ms_entry){.identity = ID_ANY, .hi = 65535});
		return;
	}
	const uint32_t *rules, *sections;
	size_t nrules, nsections;
	flat_selected(c, fp, ep->id->id, &rules, &nrules, &sections, &nsections);
	for (size_t i = 0; i < nrules; i++) {
		const struct flat_rule *r = &fp->rules[rules[i]];
		if (r->dir == dir)
			add_rule(c, ep, r, out);
	}
	/* enableDefaultDeny: false on every selecting rule: a wildcard allow at the bottom. */
	if (!en.default_deny)
		push(out, (struct ms_entry){.identity = ID_ANY, .hi = 65535});
	/* allow-localhost: the node may always reach its pods, unless a deny says otherwise. */
	if (dir == DIR_INGRESS && c->sem.allow_localhost)
		push(out, (struct ms_entry){.identity = ID_HOST, .hi = 65535});
	merge_duplicates(out);
}

/* ---------------------------------------------------------------- lookup */

static bool entry_matches(const struct ms_entry *e, uint32_t remote, uint8_t proto, uint16_t port)
{
	if (e->identity != ID_ANY && e->identity != remote)
		return false;
	if (e->proto == 0)
		return true;
	return e->proto == proto && port >= e->lo && port <= e->hi;
}

/* [first, end) of the entries for one identity. */
static void identity_range(const struct mapstate *ms, uint32_t id, size_t out[2])
{
	size_t lo = 0, hi = ms->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ms->v[mid].identity < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < ms->n && ms->v[end].identity == id)
		end++;
	out[0] = lo;
	out[1] = end;
}

struct lookup_tally {
	bool allowed, l7;
	uint8_t auth;
	uint32_t cookie; /* the first rule that allows it; 0 for polc's synthetic entries */
};

/* Scans one identity's entries; returns the cookie+1 of a matching deny, or 0. */
static uint64_t scan(const struct mapstate *ms, const size_t range[2], uint32_t remote,
		     uint8_t proto, uint16_t port, struct lookup_tally *t)
{
	for (size_t i = range[0]; i < range[1]; i++) {
		const struct ms_entry *e = &ms->v[i];
		if (!entry_matches(e, remote, proto, port))
			continue;
		if (e->deny)
			return (uint64_t)e->cookie + 1;
		t->allowed = true;
		if (e->cookie && (!t->cookie || e->cookie < t->cookie))
			t->cookie = e->cookie;
		t->l7 |= e->l7;
		if (e->auth > t->auth)
			t->auth = e->auth;
	}
	return 0;
}

struct flow_result mapstate_lookup(const struct mapstate *ms, uint32_t remote, uint8_t proto,
				   uint16_t port)
{
	if (!ms->enforced)
		return (struct flow_result){VERDICT_ALLOW, REASON_NOT_ENFORCED, 0};
	/* Entries are sorted by identity: only the wildcard's and the remote's can match. */
	struct lookup_tally t = {0};
	size_t wild[2], mine[2];
	identity_range(ms, ID_ANY, wild);
	identity_range(ms, remote, mine);
	uint64_t deny = scan(ms, wild, remote, proto, port, &t);
	if (!deny && remote != ID_ANY)
		deny = scan(ms, mine, remote, proto, port, &t);
	if (deny)
		return (struct flow_result){VERDICT_DENY, REASON_POLICY_DENY, (uint32_t)(deny - 1)};
	if (!t.allowed)
		return (struct flow_result){VERDICT_DENY, REASON_DEFAULT_DENY, 0};
	/* test-always-fail: the handshake never succeeds, so the flow never passes. */
	enum verdict v = t.auth == AUTH_ALWAYS_FAIL ? VERDICT_DENY : VERDICT_ALLOW;
	return (struct flow_result){v, t.auth ? REASON_AUTH : t.l7 ? REASON_L7 : REASON_ALLOWED,
				    t.cookie};
}
