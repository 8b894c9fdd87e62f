/* Image writer: a node's endpoints, their resolved policies and the cluster-wide ipcache, as
 * the byte-exact records the BPF maps hold (runtime-bpf/image.h).
 *
 * Policy entries go through three steps so that the datapath lookup (lookup.h) gives the
 * verdicts of the resolved policy:
 *   1. every port range becomes its minimal set of aligned port prefixes (80-444 is nine);
 *   2. an allow covered by a deny of the same or the wildcard identity is dropped (Cilium's
 *      user space does the same: the LPM lookup would otherwise find the narrower allow);
 *   3. an allow inherits L7 redirection and authentication from the allows of its identity
 *      that cover it, since the LPM lookup only ever returns the longest match.
 * Everything is sorted and deduplicated, so the same inputs give the same bytes.
 */
#include "polc.h"
#include "imagefile.h"
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- strings */

struct strtab {
	struct strbuf sb;
};

static uint32_t str_add(struct strtab *t, const char *s)
{
	if (!t->sb.len)
		sb_add(&t->sb, "", 1); /* offset 0 is the empty string */
	uint32_t off = (uint32_t)t->sb.len;
	sb_add(&t->sb, s ? s : "", strlen(s ? s : "") + 1);
	return off;
}

/* ---------------------------------------------------------------- policy entries */

struct wentry {
	uint16_t ep;
	uint8_t egress;
	uint32_t identity;
	uint8_t proto;
	uint16_t port;
	uint8_t plen;
	bool deny;
	bool l7;
	uint8_t auth;
	uint32_t cookie;
	const struct port_rule *l7_rule;
	bool dead;
};

struct wentries {
	struct wentry *v;
	size_t n, cap;
};

static void wpush(struct wentries *w, struct wentry e)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = e;
}

/* Splits [lo, hi] into aligned blocks; each is (base, prefix bits of the 16). */
static void split_range(struct wentries *w, struct wentry base, uint32_t lo, uint32_t hi)
{
	while (lo <= hi) {
		int bits = 0; /* block size 1 << bits */
		while (bits < 16 && (lo & ((2u << bits) - 1)) == 0 && lo + (2u << bits) - 1 <= hi)
			bits++;
		struct wentry e = base;
		e.port = (uint16_t)lo;
		e.plen = (uint8_t)(POLC_POLICY_STATIC_PREFIX + 8 + (16 - bits));
		wpush(w, e);
		lo += 1u << bits;
		if (lo == 0)
			break;
	}
}

static void add_mapstate(struct wentries *w, uint16_t ep, uint8_t egress,
			 const struct mapstate *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		const struct ms_entry *m = &ms->v[i];
		struct wentry e = {.ep = ep, .egress = egress, .identity = m->identity,
				   .proto = m->proto, .deny = m->deny, .l7 = m->l7, .auth = m->auth,
				   .cookie = m->cookie, .l7_rule = m->l7_rule};
		if (m->proto == 0) {
			e.plen = POLC_POLICY_STATIC_PREFIX;
			wpush(w, e);
		} else {
			split_range(w, e, m->lo, m->hi);
		}
	}
}

/* The key of e masked to a shorter prefix length. */
static struct wentry masked(const struct wentry *e, uint8_t plen, uint32_t identity)
{
	struct wentry m = *e;
	m.identity = identity;
	m.plen = plen;
	if (plen <= POLC_POLICY_STATIC_PREFIX) {
		m.proto = 0;
		m.port = 0;
	} else {
		int port_bits = plen - POLC_POLICY_STATIC_PREFIX - 8;
		m.port = port_bits ? (uint16_t)(e->port & (0xFFFFu << (16 - port_bits))) : 0;
	}
	return m;
}

static int cmp_key(const struct wentry *x, const struct wentry *y)
{
#define CMP(f)                                                                                    \
	if (x->f != y->f)                                                                         \
		return x->f < y->f ? -1 : 1;
	CMP(ep)
	CMP(egress)
	CMP(identity)
	CMP(proto)
	CMP(port)
	CMP(plen)
#undef CMP
	return 0;
}

static int cmp_wentry(const void *a, const void *b)
{
	const struct wentry *x = a, *y = b;
	int c = cmp_key(x, y);
	if (c)
		return c;
	if (x->deny != y->deny)
		return x->deny < y->deny ? -1 : 1;
	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

/* The sorted entries of one endpoint, direction and identity: the candidates for every masked
 * key of an entry, since masking keeps those three (or sets the identity to 0, another run). */
struct run {
	size_t lo, hi;
};

static int cmp_owner(const struct wentry *x, uint16_t ep, uint8_t egress, uint32_t identity)
{
	if (x->ep != ep)
		return x->ep < ep ? -1 : 1;
	if (x->egress != egress)
		return x->egress < egress ? -1 : 1;
	return x->identity < identity ? -1 : x->identity > identity;
}

static struct run run_of(const struct wentries *w, const struct wentry *e, uint32_t identity)
{
	struct run r = {0, w->n};
	while (r.lo < r.hi) {
		size_t mid = (r.lo + r.hi) / 2;
		if (cmp_owner(&w->v[mid], e->ep, e->egress, identity) < 0)
			r.lo = mid + 1;
		else
			r.hi = mid;
	}
	size_t hi = w->n, lo = r.lo;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cmp_owner(&w->v[mid], e->ep, e->egress, identity) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r.hi = lo;
	return r;
}

/* Finds an entry of the run with exactly this key (and deny flag, when want_deny >= 0). */
static struct wentry *find(struct wentries *w, struct run r, const struct wentry *k, int want_deny)
{
	size_t lo = r.lo, hi = r.hi;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cmp_key(&w->v[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r.hi && cmp_key(&w->v[lo], k) == 0; lo++)
		if (!w->v[lo].dead && (want_deny < 0 || w->v[lo].deny == want_deny))
			return &w->v[lo];
	return NULL;
}

static const uint8_t PREFIXES[] = {64, 72, 73, 74, 75, 76, 77, 78, 79, 80,
				   81, 82, 83, 84, 85, 86, 87, 88};

static bool covered_by_deny(struct wentries *w, const struct wentry *a)
{
	struct run own = run_of(w, a, a->identity), any = run_of(w, a, 0);
	for (size_t i = 0; i < sizeof PREFIXES && PREFIXES[i] <= a->plen; i++) {
		struct wentry k = masked(a, PREFIXES[i], a->identity);
		if (find(w, own, &k, 1))
			return true;
		k.identity = 0;
		if (find(w, any, &k, 1))
			return true;
	}
	return false;
}

static void inherit_from_covering(struct wentries *w, struct wentry *a)
{
	struct run own = run_of(w, a, a->identity);
	for (size_t i = 0; i < sizeof PREFIXES && PREFIXES[i] < a->plen; i++) {
		struct wentry k = masked(a, PREFIXES[i], a->identity);
		const struct wentry *b = find(w, own, &k, 0);
		if (!b)
			continue;
		if (b->l7 && !a->l7) {
			a->l7 = true;
			a->l7_rule = b->l7_rule;
		}
		if (b->auth > a->auth)
			a->auth = b->auth;
	}
}

/* Sort, merge equal keys (deny wins), drop allows under denies, inherit L7 and auth. */
static void normalize(struct wentries *w)
{
	sort_items(w->v, w->n, sizeof(*w->v), cmp_wentry);
	size_t out = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct wentry *last = out ? &w->v[out - 1] : NULL;
		if (last && cmp_key(last, &w->v[i]) == 0) {
			if (last->deny)
				continue;
			if (w->v[i].deny) {
				*last = w->v[i];
				continue;
			}
			if (w->v[i].l7 && !last->l7)
				last->l7_rule = w->v[i].l7_rule;
			last->l7 |= w->v[i].l7;
			if (w->v[i].auth > last->auth)
				last->auth = w->v[i].auth;
			continue;
		}
		w->v[out++] = w->v[i];
	}
	w->n = out;
	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].deny && covered_by_deny(w, &w->v[i]))
			w->v[i].dead = true;
	/* Shorter prefixes sort first within an identity, so inheritance flows down in one pass. */
	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].deny && !w->v[i].dead)
			inherit_from_covering(w, &w->v[i]);
	out = 0;
	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].dead)
			w->v[out++] = w->v[i];
	w->n = out;
}

/* ---------------------------------------------------------------- L7 tables */

struct l7tab {
	const struct port_rule **v;
	size_t n, cap;
};

static uint16_t l7_id(struct l7tab *t, const struct port_rule *pr)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == pr)
			return (uint16_t)(i + 1);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n++] = pr;
	return (uint16_t)t->n;
}

static void json_escape(struct strbuf *sb, const char *s)
{
	sb_puts(sb, "\"");
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_printf(sb, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			sb_printf(sb, "\\u%04x", *s);
		else
			sb_add(sb, s, 1);
	}
	sb_puts(sb, "\"");
}

static void http_json(struct strbuf *sb, const struct port_rule *pr)
{
	sb_puts(sb, "{\"http\":[");
	for (size_t i = 0; i < pr->http.n; i++) {
		const struct http_rule *h = &pr->http.v[i];
		sb_puts(sb, i ? ",{" : "{");
		const char *names[] = {"method", "path", "host"};
		const char *vals[] = {h->method, h->path, h->host};
		bool first = true;
		for (int k = 0; k < 3; k++)
			if (vals[k]) {
				sb_printf(sb, "%s\"%s\":", first ? "" : ",", names[k]);
				json_escape(sb, vals[k]);
				first = false;
			}
		sb_puts(sb, "}");
	}
	sb_puts(sb, "]}");
}

static void l7_text(struct strbuf *sb, const struct port_rule *pr, uint8_t *kind)
{
	sb->len = 0;
	switch (pr->l7_kind) {
	case L7_HTTP:
		*kind = POLC_L7_HTTP;
		http_json(sb, pr);
		return;
	case L7_DNS:
		*kind = POLC_L7_DNS;
		sb_puts(sb, "{\"dns\":[");
		for (size_t i = 0; i < pr->dns.n; i++) {
			sb_printf(sb, "%s{\"%s\":", i ? "," : "",
				  pr->dns.v[i].match_name ? "matchName" : "matchPattern");
			json_escape(sb, pr->dns.v[i].match_name ? pr->dns.v[i].match_name
								: pr->dns.v[i].match_pattern);
			sb_puts(sb, "}");
		}
		sb_puts(sb, "]}");
		return;
	case L7_KAFKA:
		*kind = POLC_L7_KAFKA;
		sb_printf(sb, "{\"kafka\":%zu}", pr->kafka.n);
		return;
	case L7_GENERIC:
		*kind = POLC_L7_GENERIC;
		sb_puts(sb, "{\"l7proto\":");
		json_escape(sb, pr->l7proto);
		sb_puts(sb, "}");
		return;
	default:
		*kind = POLC_L7_TLS;
		sb_puts(sb, "{\"serverNames\":[");
		for (size_t i = 0; i < pr->server_names.n; i++) {
			sb_puts(sb, i ? "," : "");
			json_escape(sb, pr->server_names.v[i]);
		}
		sb_puts(sb, "]}");
	}
}

/* ---------------------------------------------------------------- endpoints */

struct node_ep {
	const struct endpoint *ep;
	uint16_t id;
	uint8_t mode[2];
};

static int cmp_node_ep(const void *a, const void *b)
{
	return strcmp(((const struct node_ep *)a)->ep->name, ((const struct node_ep *)b)->ep->name);
}

static bool in_list(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static struct node_ep *node_endpoints(const struct cluster *c, const struct compile_options *o,
				      size_t *n)
{
	struct node_ep *v = xcalloc(c->neps + 1, sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < c->neps; i++) {
		const struct endpoint *ep = &c->eps[i];
		if (!ep->node || strcmp(ep->node, o->node) || ep->pod->host_network || !ep->pod->nips)
			continue;
		v[(*n)++].ep = ep;
	}
	sort_items(v, *n, sizeof(*v), cmp_node_ep);
	for (size_t i = 0; i < *n; i++)
		v[i].id = (uint16_t)(i + 1);
	return v;
}

/* ---------------------------------------------------------------- building */

struct builder {
	const struct session *s;
	const struct compile_options *o;
	struct strtab strings;
	struct wentries entries;
	struct l7tab l7;
	struct node_ep *eps;
	size_t neps;
	struct diag_sink *d;
};

static int over_capacity(struct builder *b, const struct node_ep *ne, size_t count)
{
	/* Name the policies that contribute most entries, so the fix is obvious. */
	struct mapstate ms[2];
	size_t *per_rule = xcalloc(b->s->flat.nrules + 1, sizeof(size_t));
	for (int dir = 0; dir < 2; dir++) {
		resolve_endpoint(b->s->cluster, &b->s->flat, ne->ep, (enum direction)dir, &ms[dir]);
		for (size_t i = 0; i < ms[dir].n; i++)
			per_rule[ms[dir].v[i].cookie]++;
		mapstate_free(&ms[dir]);
	}
	struct strbuf hint = {0};
	sb_puts(&hint, "largest contributors:");
	for (int k = 0; k < 3; k++) {
		size_t best = 0;
		for (size_t i = 1; i <= b->s->flat.nrules; i++)
			if (per_rule[i] > per_rule[best])
				best = i;
		if (!best || !per_rule[best])
			break;
		const struct flat_rule *r = &b->s->flat.rules[best - 1];
		sb_printf(&hint, "%s %s %s%s%s (%zu entries)", k ? "," : "",
			  policy_kind_name(r->policy->kind),
			  r->policy->namespace ? r->policy->namespace : "",
			  r->policy->namespace ? "/" : "", r->policy->name, per_rule[best]);
		per_rule[best] = 0;
	}
	diag_pos(b->d, R_CAPACITY, NULL, ne->ep->name, 0, 0, hint.s,
		 "endpoint %s needs %zu policy entries, more than the capacity of %u; nothing was "
		 "written (raise --max-entries or narrow the policies)",
		 ne->ep->name, count, b->o->max_per_endpoint);
	sb_free(&hint);
	free(per_rule);
	return -1;
}

static int build_policy(struct builder *b, struct compile_stats *st)
{
	for (size_t i = 0; i < b->neps; i++) {
		struct node_ep *ne = &b->eps[i];
		size_t before = b->entries.n;
		bool audit = in_list(b->o->audit, b->o->naudit, ne->ep->name);
		for (int dir = 0; dir < 2; dir++) {
			struct mapstate ms;
			resolve_endpoint(b->s->cluster, &b->s->flat, ne->ep, (enum direction)dir, &ms);
			ne->mode[dir] = !ms.enforced ? POLC_MODE_OFF
					: audit	     ? POLC_MODE_AUDIT
						     : POLC_MODE_ENFORCE;
			if (ms.enforced)
				add_mapstate(&b->entries, ne->id, (uint8_t)dir, &ms);
			mapstate_free(&ms);
		}
		/* Normalize this endpoint's entries now, to count exactly what it needs. */
		struct wentries mine = {b->entries.v ? b->entries.v + before : NULL,
					b->entries.n - before, 0};
		normalize(&mine);
		b->entries.n = before + mine.n;
		if (mine.n > b->o->max_per_endpoint)
			return over_capacity(b, ne, mine.n);
		if (mine.n > st->max_entries) {
			st->max_entries = mine.n;
			st->max_endpoint = ne->ep->name;
		}
	}
	return 0;
}

/* The order the reader and the LPM simulation search in: key bytes, then prefix length. */
static int cmp_record(const void *a, const void *b)
{
	const struct polc_policy_entry *x = a, *y = b;
	int c = memcmp((const char *)&x->key + 4, (const char *)&y->key + 4, 12);
	return c ? c : (int)x->key.prefixlen - (int)y->key.prefixlen;
}

static void put_policy(struct builder *b, struct strbuf *out)
{
	struct polc_policy_entry *recs = xcalloc(b->entries.n + 1, sizeof(*recs));
	for (size_t i = 0; i < b->entries.n; i++) {
		const struct wentry *e = &b->entries.v[i];
		struct polc_policy_entry r;
		memset(&r, 0, sizeof r);
		r.key.prefixlen = e->plen;
		r.key.endpoint = htons(e->ep);
		r.key.egress = e->egress;
		r.key.identity = htonl(e->identity);
		r.key.proto = e->proto;
		r.key.dport = htons(e->port);
		r.value.flags = (uint8_t)((e->deny ? POLC_POLICY_F_DENY : 0) |
					  ((e->plen - POLC_POLICY_STATIC_PREFIX) << POLC_POLICY_LPM_SHIFT));
		r.value.auth_type = e->deny ? 0 : e->auth;
		r.value.cookie = e->cookie;
		if (e->deny)
			r.value.precedence = POLC_PRECEDENCE_DENY;
		else if (e->l7) {
			r.value.precedence = POLC_PRECEDENCE_REDIRECT;
			r.value.proxy_port = htons(l7_id(&b->l7, e->l7_rule));
		} else
			r.value.precedence = POLC_PRECEDENCE_ALLOW;
		recs[i] = r;
	}
	sort_items(recs, b->entries.n, sizeof(*recs), cmp_record);
	sb_add(out, (const char *)recs, b->entries.n * sizeof(*recs));
	free(recs);
}

static void ip_key(const char *ip, struct polc_ip_key *k)
{
	struct prefix p;
	memset(k, 0, sizeof(*k));
	if (parse_prefix(ip, &p, true) != 0)
		return;
	k->family = p.family == 4 ? POLC_FAMILY_IPV4 : POLC_FAMILY_IPV6;
	memcpy(k->addr, p.addr, 16);
}

static int cmp_ip_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct polc_ip_key));
}

static int cmp_lpm_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct polc_lpm_ip_key));
}

static void put_endpoints(struct builder *b, struct strbuf *out, size_t *count)
{
	size_t n = 0;
	for (size_t i = 0; i < b->neps; i++)
		n += b->eps[i].ep->pod->nips;
	struct polc_endpoint_rec *v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	for (size_t i = 0; i < b->neps; i++) {
		const struct node_ep *ne = &b->eps[i];
		uint32_t name = str_add(&b->strings, ne->ep->name);
		for (size_t k = 0; k < ne->ep->pod->nips; k++) {
			struct polc_endpoint_rec *r = &v[n++];
			ip_key(ne->ep->pod->ips[k], &r->key);
			r->value.endpoint_id = ne->id;
			r->value.ingress_mode = ne->mode[DIR_INGRESS];
			r->value.egress_mode = ne->mode[DIR_EGRESS];
			r->value.identity = ne->ep->id->id;
			r->value.name_off = name;
		}
	}
	sort_items(v, n, sizeof(*v), cmp_ip_key);
	sb_add(out, (const char *)v, n * sizeof(*v));
	*count = n;
	free(v);
}

/* Exact addresses: pods, nodes (host here, remote-node elsewhere), full-length prefixes. */
static void put_ipcache(struct builder *b, struct strbuf *exact_out, size_t *nexact,
			struct strbuf *prefix_out, size_t *nprefix)
{
	const struct cluster *c = b->s->cluster;
	const struct inventory *inv = c->inv;
	struct polc_ipcache_exact *ex = NULL;
	size_t n = 0, cap = 0;
#define ADD_EXACT(ipstr, ident)                                                                   \
	do {                                                                                      \
		if (n == cap) {                                                                   \
			cap = cap ? cap * 2 : 64;                                                 \
			ex = xrealloc(ex, cap * sizeof(*ex));                                     \
		}                                                                                 \
		memset(&ex[n], 0, sizeof(ex[n]));                                                 \
		ip_key(ipstr, &ex[n].key);                                                        \
		ex[n++].value.identity = (ident);                                                 \
	} while (0)
	for (size_t i = 0; i < inv->nnodes; i++)
		for (size_t k = 0; k < inv->nodes[i].nips; k++)
			ADD_EXACT(inv->nodes[i].ips[k], node_identity(inv, &inv->nodes[i], k, b->o->node));
	for (size_t i = 0; i < c->neps; i++)
		for (size_t k = 0; !c->eps[i].pod->host_network && k < c->eps[i].pod->nips; k++)
			ADD_EXACT(c->eps[i].pod->ips[k], c->eps[i].id->id);
	struct polc_ipcache_prefix *px = xcalloc(c->nids + 1, sizeof(*px));
	size_t np = 0;
	for (size_t i = 0; i < c->nids; i++) {
		const struct identity *id = c->ids[i];
		if (!id->is_cidr)
			continue;
		int full = id->cidr.family == 4 ? 32 : 128;
		char text[64];
		format_prefix(&id->cidr, text, sizeof text);
		if (id->cidr.len == full) {
			text[strcspn(text, "/")] = 0;
			ADD_EXACT(text, id->id);
			continue;
		}
		struct polc_ipcache_prefix *r = &px[np++];
		r->key.prefixlen = POLC_IP_STATIC_PREFIX + (uint32_t)id->cidr.len;
		r->key.family = id->cidr.family == 4 ? POLC_FAMILY_IPV4 : POLC_FAMILY_IPV6;
		memcpy(r->key.addr, id->cidr.addr, 16);
		r->value.identity = id->id;
	}
#undef ADD_EXACT
	/* The first record of an address wins: nodes, then pods, then CIDR identities. */
	for (size_t i = 0; i < n; i++)
		ex[i].pad = (uint32_t)i;
	sort_items(ex, n, sizeof(*ex), cmp_ip_key);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out && !memcmp(&ex[out - 1].key, &ex[i].key, sizeof ex[i].key)) {
			if (ex[i].pad < ex[out - 1].pad)
				ex[out - 1] = ex[i];
			continue;
		}
		ex[out++] = ex[i];
	}
	for (size_t i = 0; i < out; i++)
		ex[i].pad = 0;
	sort_items(px, np, sizeof(*px), cmp_lpm_key);
	sb_add(exact_out, (const char *)ex, out * sizeof(*ex));
	sb_add(prefix_out, (const char *)px, np * sizeof(*px));
	*nexact = out;
	*nprefix = np;
	free(ex);
	free(px);
}

static void put_identities(struct builder *b, struct strbuf *out)
{
	const struct cluster *c = b->s->cluster;
	for (size_t i = 0; i < c->nids; i++) {
		struct polc_identity_rec r = {0};
		r.id = c->ids[i]->id;
		r.labels_off = str_add(&b->strings, c->ids[i]->key);
		r.labels_len = (uint32_t)strlen(c->ids[i]->key);
		sb_add(out, (const char *)&r, sizeof r);
	}
}

static uint8_t origin_kind(enum policy_kind k)
{
	return k == KIND_CNP ? POLC_ORIGIN_CNP : k == KIND_CCNP ? POLC_ORIGIN_CCNP : POLC_ORIGIN_KNP;
}

/* Every cookie the entries use; cookie 0 stands for polc's synthetic entries. */
static void put_origins(struct builder *b, struct strbuf *out, size_t *count)
{
	const struct flat_policy *fp = &b->s->flat;
	bool *used = xcalloc(fp->nrules + 1, sizeof(bool));
	for (size_t i = 0; i < b->entries.n; i++)
		if (b->entries.v[i].cookie <= fp->nrules)
			used[b->entries.v[i].cookie] = true;
	*count = 0;
	for (size_t c = 0; c <= fp->nrules; c++) {
		if (!used[c])
			continue;
		struct polc_origin o = {.cookie = (uint32_t)c, .kind = POLC_ORIGIN_SYNTHETIC};
		if (c) {
			const struct flat_rule *r = &fp->rules[c - 1];
			o.kind = origin_kind(r->policy->kind);
			o.egress = r->dir == DIR_EGRESS;
			o.deny = r->deny;
			o.namespace_off = str_add(&b->strings, r->policy->namespace);
			o.name_off = str_add(&b->strings, r->policy->name);
			o.file_off = str_add(&b->strings, r->at && r->at->src ? r->at->src->path : "");
			o.line = r->at ? (uint32_t)r->at->line : 0;
			o.column = r->at ? (uint32_t)r->at->col : 0;
		} else {
			o.name_off = str_add(&b->strings, "allow-localhost or enableDefaultDeny: false");
		}
		sb_add(out, (const char *)&o, sizeof o);
		(*count)++;
	}
	free(used);
}

static void put_l7(struct builder *b, struct strbuf *out)
{
	struct strbuf text = {0};
	for (size_t i = 0; i < b->l7.n; i++) {
		struct polc_l7_rec r = {.id = (uint32_t)(i + 1)};
		l7_text(&text, b->l7.v[i], &r.kind);
		r.text_off = str_add(&b->strings, text.s ? text.s : "");
		r.text_len = (uint32_t)text.len;
		sb_add(out, (const char *)&r, sizeof r);
	}
	sb_free(&text);
}

/* ---------------------------------------------------------------- assembly */

struct section_buf {
	uint32_t type, entry_size;
	struct strbuf data;
	size_t count;
};

static void assemble(struct section_buf *secs, size_t nsecs, struct polc_image_header *h,
		     struct strbuf *out)
{
	size_t off = sizeof(*h) + nsecs * sizeof(struct polc_section);
	struct polc_section *table = xcalloc(nsecs, sizeof(*table));
	for (size_t i = 0; i < nsecs; i++) {
		off = (off + 7) & ~(size_t)7;
		table[i] = (struct polc_section){secs[i].type, secs[i].entry_size, off, secs[i].count};
		off += secs[i].data.len;
	}
	off = (off + 7) & ~(size_t)7;
	h->nsections = (uint32_t)nsecs;
	h->total_size = off + POLC_DIGEST_SIZE;
	out->len = 0;
	sb_add(out, (const char *)h, sizeof(*h));
	sb_add(out, (const char *)table, nsecs * sizeof(*table));
	static const char zeros[8];
	for (size_t i = 0; i < nsecs; i++) {
		sb_add(out, zeros, table[i].offset - out->len);
		sb_add(out, secs[i].data.s ? secs[i].data.s : "", secs[i].data.len);
	}
	sb_add(out, zeros, off - out->len);
	struct sha256 sh;
	uint8_t digest[32];
	sha256_init(&sh);
	sha256_update(&sh, out->s, out->len);
	sha256_final(&sh, digest);
	sb_add(out, (const char *)digest, sizeof digest);
	free(table);
}

int image_build(const struct session *s, const struct compile_options *o, struct strbuf *out,
		struct compile_stats *st, struct diag_sink *d)
{
	struct builder b = {.s = s, .o = o, .d = d};
	memset(st, 0, sizeof(*st));
	b.eps = node_endpoints(s->cluster, o, &b.neps);
	int rc = build_policy(&b, st);
	if (rc == 0) {
		struct section_buf secs[POLC_SEC__MAX - 1] = {
			{POLC_SEC_STRINGS, 1, {0}, 0},
			{POLC_SEC_IDENTITIES, sizeof(struct polc_identity_rec), {0}, s->cluster->nids},
			{POLC_SEC_IPCACHE_EXACT, sizeof(struct polc_ipcache_exact), {0}, 0},
			{POLC_SEC_IPCACHE_PREFIX, sizeof(struct polc_ipcache_prefix), {0}, 0},
			{POLC_SEC_ENDPOINTS, sizeof(struct polc_endpoint_rec), {0}, 0},
			{POLC_SEC_POLICY, sizeof(struct polc_policy_entry), {0}, b.entries.n},
			{POLC_SEC_L7, sizeof(struct polc_l7_rec), {0}, 0},
			{POLC_SEC_ORIGINS, sizeof(struct polc_origin), {0}, 0},
		};
		str_add(&b.strings, "");
		put_identities(&b, &secs[1].data);
		put_ipcache(&b, &secs[2].data, &secs[2].count, &secs[3].data, &secs[3].count);
		put_endpoints(&b, &secs[4].data, &secs[4].count);
		put_policy(&b, &secs[5].data);
		put_l7(&b, &secs[6].data);
		secs[6].count = b.l7.n;
		put_origins(&b, &secs[7].data, &secs[7].count);
		secs[0].data = b.strings.sb;
		secs[0].count = b.strings.sb.len;
		struct polc_image_header h = {
			.magic = POLC_IMAGE_MAGIC,
			.format_version = POLC_IMAGE_FORMAT,
			.abi_version = POLC_IMAGE_ABI,
			.endian_mark = POLC_ENDIAN_MARK,
			.header_size = sizeof(h),
			.generation = o->generation,
			.flags = s->cluster->dual_stack ? POLC_IMAGE_F_DUAL_STACK : 0,
		};
		snprintf(h.node_name, sizeof h.node_name, "%s", o->node);
		snprintf(h.compiler_version, sizeof h.compiler_version, "polc %s", PACKAGE_VERSION);
		memcpy(h.policies_sha256, o->policies_digest, 32);
		memcpy(h.inventory_sha256, o->inventory_digest, 32);
		h.capacity = (struct polc_capacity){
			.identities = (uint32_t)secs[1].count,
			.ipcache_exact = (uint32_t)secs[2].count,
			.ipcache_prefix = (uint32_t)secs[3].count,
			.endpoints = (uint32_t)secs[4].count,
			.policy_entries = (uint32_t)secs[5].count,
			.policy_max_per_endpoint = (uint32_t)st->max_entries,
			.l7_rules = (uint32_t)secs[6].count,
			.origins = (uint32_t)secs[7].count,
		};
		assemble(secs, POLC_SEC__MAX - 1, &h, out);
		for (size_t i = 1; i < POLC_SEC__MAX - 1; i++)
			sb_free(&secs[i].data);
		st->endpoints = b.neps;
		st->identities = s->cluster->nids;
		st->entries = b.entries.n;
		st->bytes = out->len;
	}
	sb_free(&b.strings.sb);
	free(b.entries.v);
	free(b.l7.v);
	free(b.eps);
	return rc;
}

/* ---------------------------------------------------------------- files */

int write_file_atomic(const char *path, const void *data, size_t n, char *err, size_t errsize)
{
	size_t len = strlen(path) + 16;
	char *tmp = xmalloc(len);
	snprintf(tmp, len, "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -errno : 0;
	const char *p = data;
	for (size_t done = 0; rc == 0 && done < n;) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0) {
		/* The rename itself must survive a crash: fsync the directory. */
		char *copy = xstrdup(path);
		int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(copy);
	}
	if (rc < 0) {
		unlink(tmp);
		snprintf(err, errsize, "cannot write %s: %s", path, strerror(-rc));
	}
	free(tmp);
	return rc;
}

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

void digest_inputs(const struct corpus *c, uint8_t out[32])
{
	uint8_t(*each)[32] = xcalloc(c->sources.n + 1, 32);
	for (size_t i = 0; i < c->sources.n; i++) {
		const struct source *src = c->sources.v[i];
		struct sha256 s;
		sha256_init(&s);
		sha256_update(&s, src->text ? src->text : "", src->len);
		sha256_final(&s, each[i]);
	}
	sort_items(each, c->sources.n, 32, cmp_digest);
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, each, c->sources.n * 32);
	sha256_final(&s, out);
	free(each);
}
