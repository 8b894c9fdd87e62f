/* Differential tests: polc decides every verdict twice, on purpose.
 *
 *   fast path:  translate.c -> selcache.c -> resolve.c (resolve_endpoint, mapstate_lookup)
 *   reference:  refeval.c (ref_evaluate), straight from the parsed IR
 *
 * This program generates seeded random clusters and policies as YAML text, reads them through
 * polc's own reader, schema engine, loader and inventory builder, and asks both sides about every
 * local endpoint x direction x remote identity x probe (protocol, port). It checks that
 *
 *   1. every generated input loads without an error diagnostic (an input the loader refused would
 *      silently test nothing);
 *   2. the fast path and the reference give the same verdict and the same reason for every probe;
 *   3. the same case with every list and mapping shuffled (documents, specs, rule elements, peers,
 *      ports, labels, inventory objects) gets the same identity numbers and the same answers.
 *
 * A mismatch prints the case seed, the YAML, the endpoint, direction, remote identity, probe and
 * both answers, then a minimised YAML that still shows it.
 *
 * Environment:
 *   POLC_DIFF_SEED      seed of the first case (default 1); case i uses seed+i
 *   POLC_DIFF_CASES     how many cases at most (default 2000)
 *   POLC_DIFF_TIME      time budget in seconds (default 20; 0 = none): no new case starts after
 *                       it, once POLC_DIFF_MIN_CASES have run
 *   POLC_DIFF_MIN_CASES run at least this many (default 1000, 250 with AddressSanitizer)
 *   POLC_DIFF_JOBS      threads (default 2); each case is independent
 *   POLC_DIFF_VERBOSE   1: print every case's YAML
 *   POLC_DIFF_MINIMIZE  0: do not minimise mismatches
 * Replay one case: POLC_DIFF_SEED=<seed printed> POLC_DIFF_CASES=1.
 * The last line of output is "N passed, N failed" (cases).
 */
#include "polc.h"
#include "resolve.h"
#include "trace.h"

#include <CUnit/Basic.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---------------------------------------------------------------- random numbers */

struct rng {
	uint64_t s;
};

static uint64_t next64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(struct rng *r, unsigned n)
{
	return n ? (unsigned)(next64(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned percent)
{
	return rnd(r, 100) < percent;
}

static int between(struct rng *r, int lo, int hi)
{
	return lo + (int)rnd(r, (unsigned)(hi - lo + 1));
}

#define COUNT(a) (sizeof(a) / sizeof(*(a)))
#define PICK(r, a) ((a)[rnd((r), (unsigned)COUNT(a))])

/* ---------------------------------------------------------------- a YAML tree to emit */

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };
enum ystyle { ST_AUTO, ST_PLAIN, ST_QUOTED };

struct y {
	enum ykind kind;
	enum ystyle style; /* scalars: AUTO quotes only when YAML needs it */
	bool flow;	   /* containers: written {..} / [..] */
	const char *s;
	const char **keys;
	struct y **vals;
	size_t n, cap;
};

struct gen {
	struct rng *r;
	struct arena *a;
};

static struct y *ynew(struct gen *g, enum ykind k)
{
	struct y *n = arena_alloc(g->a, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->kind = k;
	return n;
}

/* A string; sometimes quoted although it need not be, to vary the input. */
static struct y *ystr(struct gen *g, const char *s)
{
	struct y *n = ynew(g, Y_SCALAR);
	n->s = s;
	n->style = chance(g->r, 15) ? ST_QUOTED : ST_AUTO;
	return n;
}

static struct y *yplain(struct gen *g, const char *s)
{
	struct y *n = ynew(g, Y_SCALAR);
	n->s = s;
	n->style = ST_PLAIN;
	return n;
}

static struct y *yquoted(struct gen *g, const char *s)
{
	struct y *n = ynew(g, Y_SCALAR);
	n->s = s;
	n->style = ST_QUOTED;
	return n;
}

static struct y *ynum(struct gen *g, long v)
{
	return yplain(g, arena_printf(g->a, "%ld", v));
}

static struct y *ycontainer(struct gen *g, enum ykind k, unsigned flow_percent)
{
	struct y *n = ynew(g, k);
	n->flow = chance(g->r, flow_percent);
	return n;
}

static struct y *ymap(struct gen *g)
{
	return ycontainer(g, Y_MAP, 8);
}

static struct y *yseq(struct gen *g)
{
	return ycontainer(g, Y_SEQ, 8);
}

static void ygrow(struct arena *a, struct y *n)
{
	if (n->n < n->cap)
		return;
	size_t cap = n->cap ? n->cap * 2 : 4;
	const char **keys = arena_alloc(a, cap * sizeof(*keys));
	struct y **vals = arena_alloc(a, cap * sizeof(*vals));
	if (n->n) {
		memcpy(keys, n->keys, n->n * sizeof(*keys));
		memcpy(vals, n->vals, n->n * sizeof(*vals));
	}
	n->keys = keys;
	n->vals = vals;
	n->cap = cap;
}

static void yinsert(struct arena *a, struct y *n, size_t at, const char *key, struct y *v)
{
	ygrow(a, n);
	memmove(n->keys + at + 1, n->keys + at, (n->n - at) * sizeof(*n->keys));
	memmove(n->vals + at + 1, n->vals + at, (n->n - at) * sizeof(*n->vals));
	n->keys[at] = key;
	n->vals[at] = v;
	n->n++;
}

static void yremove(struct y *n, size_t at)
{
	memmove(n->keys + at, n->keys + at + 1, (n->n - at - 1) * sizeof(*n->keys));
	memmove(n->vals + at, n->vals + at + 1, (n->n - at - 1) * sizeof(*n->vals));
	n->n--;
}

static bool yhas(const struct y *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->keys[i], key))
			return true;
	return false;
}

static void yput(struct gen *g, struct y *m, const char *key, struct y *v)
{
	yinsert(g->a, m, m->n, key, v);
}

static void ypush(struct gen *g, struct y *s, struct y *v)
{
	yinsert(g->a, s, s->n, NULL, v);
}

/* ---------------------------------------------------------------- emitting YAML */

struct emitter {
	struct strbuf sb;
	struct rng *shuffle; /* NULL: keep the order; else shuffle every mapping and list */
};

static void order(struct emitter *e, size_t n, size_t *idx)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = n; e->shuffle && i > 1; i--) {
		size_t k = rnd(e->shuffle, (unsigned)i), t = idx[i - 1];
		idx[i - 1] = idx[k];
		idx[k] = t;
	}
}

/* Can this string be written as a plain block scalar and still read back as that string? */
static bool plain_safe(const char *s)
{
	static const char *const special[] = {"true", "false", "null", "yes", "no",
					      "on",   "off",   "y",    "n",   "~"};
	if (!*s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (const char *p = s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || strchr("._/-:", *p);
		if (!ok)
			return false;
	}
	if (s[strlen(s) - 1] == ':')
		return false;
	for (size_t i = 0; i < COUNT(special); i++)
		if (!strcasecmp(s, special[i]))
			return false;
	return true;
}

static void emit_quoted(struct strbuf *sb, const char *s)
{
	sb_puts(sb, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			sb_puts(sb, "\\");
		sb_add(sb, p, 1);
	}
	sb_puts(sb, "\"");
}

static void emit_scalar(struct emitter *e, const struct y *n, bool in_flow)
{
	if (n->style == ST_PLAIN)
		sb_puts(&e->sb, n->s);
	else if (n->style == ST_QUOTED || in_flow || !plain_safe(n->s))
		emit_quoted(&e->sb, n->s);
	else
		sb_puts(&e->sb, n->s);
}

static void emit_key(struct emitter *e, const char *k, bool in_flow)
{
	if (in_flow || !plain_safe(k))
		emit_quoted(&e->sb, k);
	else
		sb_puts(&e->sb, k);
}

static void pad(struct strbuf *sb, int n)
{
	for (int i = 0; i < n; i++)
		sb_add(sb, " ", 1);
}

static void emit_flow(struct emitter *e, const struct y *n)
{
	if (n->kind == Y_SCALAR) {
		emit_scalar(e, n, true);
		return;
	}
	size_t *idx = xmalloc((n->n + 1) * sizeof(*idx));
	order(e, n->n, idx);
	sb_puts(&e->sb, n->kind == Y_MAP ? "{" : "[");
	for (size_t i = 0; i < n->n; i++) {
		if (i)
			sb_puts(&e->sb, ", ");
		if (n->kind == Y_MAP) {
			emit_key(e, n->keys[idx[i]], true);
			sb_puts(&e->sb, ": ");
		}
		emit_flow(e, n->vals[idx[i]]);
	}
	sb_puts(&e->sb, n->kind == Y_MAP ? "}" : "]");
	free(idx);
}

static bool written_inline(const struct y *n)
{
	return n->kind == Y_SCALAR || n->flow || n->n == 0;
}

/* A value written on the line of its key or dash: a block scalar, or a flow collection. */
static void emit_inline(struct emitter *e, const struct y *n)
{
	if (n->kind == Y_SCALAR)
		emit_scalar(e, n, false);
	else
		emit_flow(e, n);
}

static void emit_seq(struct emitter *e, const struct y *n, int indent);

static void emit_map(struct emitter *e, const struct y *n, int indent, bool first_inline)
{
	size_t *idx = xmalloc((n->n + 1) * sizeof(*idx));
	order(e, n->n, idx);
	for (size_t i = 0; i < n->n; i++) {
		const struct y *v = n->vals[idx[i]];
		if (i || !first_inline)
			pad(&e->sb, indent);
		emit_key(e, n->keys[idx[i]], false);
		sb_puts(&e->sb, ":");
		if (written_inline(v)) {
			sb_puts(&e->sb, " ");
			emit_inline(e, v);
			sb_puts(&e->sb, "\n");
		} else if (v->kind == Y_MAP) {
			sb_puts(&e->sb, "\n");
			emit_map(e, v, indent + 2, false);
		} else {
			sb_puts(&e->sb, "\n");
			emit_seq(e, v, indent + 2);
		}
	}
	free(idx);
}

static void emit_seq(struct emitter *e, const struct y *n, int indent)
{
	size_t *idx = xmalloc((n->n + 1) * sizeof(*idx));
	order(e, n->n, idx);
	for (size_t i = 0; i < n->n; i++) {
		const struct y *v = n->vals[idx[i]];
		pad(&e->sb, indent);
		sb_puts(&e->sb, "-");
		if (written_inline(v)) {
			sb_puts(&e->sb, " ");
			emit_inline(e, v);
			sb_puts(&e->sb, "\n");
		} else if (v->kind == Y_MAP) {
			sb_puts(&e->sb, " ");
			emit_map(e, v, indent + 2, true);
		} else {
			sb_puts(&e->sb, "\n");
			emit_seq(e, v, indent + 2);
		}
	}
	free(idx);
}

/* A stream of documents, or (as kubectl writes it) one v1 List holding them. */
static char *emit_stream(const struct y *docs, bool as_list, struct rng *shuffle)
{
	struct emitter e = {.shuffle = shuffle};
	size_t *idx = xmalloc((docs->n + 1) * sizeof(*idx));
	order(&e, docs->n, idx);
	if (as_list)
		sb_puts(&e.sb, "apiVersion: v1\nkind: List\nitems:\n");
	for (size_t i = 0; i < docs->n; i++) {
		const struct y *d = docs->vals[idx[i]];
		if (as_list) {
			sb_puts(&e.sb, "- ");
			emit_map(&e, d, 2, true);
		} else {
			sb_puts(&e.sb, "---\n");
			emit_map(&e, d, 0, false);
		}
	}
	free(idx);
	if (!e.sb.s)
		sb_puts(&e.sb, "");
	return e.sb.s;
}

/* ---------------------------------------------------------------- probes */

struct probe {
	uint8_t proto; /* 6, 17, 132, 1, 58 */
	uint16_t port; /* or ICMP type */
};

/* Ports to probe per L4 protocol, ICMP types per family. */
enum { P_TCP = 1, P_UDP = 2, P_SCTP = 4, P_ALL = 7 };
static const uint8_t L4_PROTOS[] = {6, 17, 132};

struct probeset {
	uint8_t ports[3][65536 / 8]; /* TCP, UDP, SCTP */
	uint8_t icmp[2][256 / 8];    /* [0] ICMP, [1] ICMPv6 */
};

static void bit_set(uint8_t *bits, long i, long max)
{
	if (i >= 0 && i <= max)
		bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static bool bit_get(const uint8_t *bits, long i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void note_port(struct probeset *ps, unsigned protos, long port)
{
	for (int i = 0; i < 3; i++)
		if (protos & (1u << i))
			bit_set(ps->ports[i], port, 65535);
}

/* Every boundary of a range, lo-1, lo, hi and hi+1, for the protocols it names; and lo, hi for
 * one protocol it does not name. */
static void note_range(struct probeset *ps, unsigned protos, long lo, long hi)
{
	note_port(ps, protos, lo - 1);
	note_port(ps, protos, lo);
	note_port(ps, protos, hi);
	note_port(ps, protos, hi + 1);
	for (int i = 0; i < 3; i++)
		if (!(protos & (1u << i))) {
			note_port(ps, 1u << i, lo);
			note_port(ps, 1u << i, hi);
			break;
		}
}

static void note_icmp(struct probeset *ps, bool v6, long type)
{
	bit_set(ps->icmp[v6], type - 1, 255);
	bit_set(ps->icmp[v6], type, 255);
	bit_set(ps->icmp[v6], type + 1, 255);
}

static struct probe *probe_list(const struct probeset *ps, size_t *n)
{
	size_t cap = 64, k = 0;
	struct probe *v = xmalloc(cap * sizeof(*v));
	for (size_t i = 0; i < COUNT(L4_PROTOS); i++)
		for (long p = 0; p <= 65535; p++) {
			if (!bit_get(ps->ports[i], p))
				continue;
			if (k == cap)
				v = xrealloc(v, (cap *= 2) * sizeof(*v));
			v[k++] = (struct probe){L4_PROTOS[i], (uint16_t)p};
		}
	for (int f = 0; f < 2; f++)
		for (long t = 0; t < 256; t++) {
			if (!bit_get(ps->icmp[f], t))
				continue;
			if (k == cap)
				v = xrealloc(v, (cap *= 2) * sizeof(*v));
			v[k++] = (struct probe){f ? 58 : 1, (uint16_t)t};
		}
	*n = k;
	return v;
}

static void format_probe(const struct probe *p, char *buf, size_t size)
{
	format_port(p->proto, p->port, buf, size);
}

/* ---------------------------------------------------------------- the generator */

static const char *const NS_POOL[] = {"default", "prod",	"dev",
				      "shop",	 "kube-system", "monitoring"};
static const char *const NODE_NAMES[] = {"node-1", "node-2"};
static const char *const SERVICE_ACCOUNTS[] = {"sa-a", "sa-b", "default"};
static const char *const PORT_NAMES[] = {"http", "metrics", "dns", "grpc", "admin"};
static const int PORT_NUMBERS[] = {80, 8080, 9090, 53, 443, 5000, 8443, 3000};
static const int RULE_PORTS[] = {0, 1, 53, 80, 443, 1024, 3000, 5000, 8080, 8443, 9090, 65535};

struct label_vocab {
	const char *key;
	const char *values[3];
	size_t nvalues;
};
static const struct label_vocab POD_LABELS[] = {
    {"app", {"web", "api", "db"}, 3},
    {"tier", {"front", "back"}, 2},
    {"env", {"prod", "dev"}, 2},
    {"version", {"v1", "v2"}, 2},
    {"app.kubernetes.io/name", {"shop", "blog"}, 2},
    {"pod-template-hash", {"5d8f7c", "77aa1b"}, 2}, /* not identity-relevant */
};
static const struct label_vocab NS_LABELS[] = {
    {"env", {"prod", "dev"}, 2},
    {"team", {"blue", "red"}, 2},
};

static const char *const V4_CIDRS[] = {
    "10.0.0.0/8",     "10.0.0.0/16",	  "10.0.1.0/24",   "10.0.1.128/25",
    "192.168.0.0/16", "192.168.100.0/24", "172.16.0.0/12", "0.0.0.0/0",
    "1.2.3.4/32",     "8.8.8.0/24",	  "10.0.1.77/16", /* host bits set: Cilium masks them */
    "100.64.0.0/10"};
static const char *const V6_CIDRS[] = {"fd00::/8",     "fd00:10::/32",	  "fd00:10::/64",
				       "fd00:10::/96", "2001:db8::/32",	  "2001:db8:1::/48",
				       "::/0",	       "2001:db8::1/128", "fd00:10::5/64"};
static const char *const BARE_IPS[] = {"1.2.3.4", "8.8.8.8", "2001:db8::1", "10.0.1.5"};

struct casegen {
	struct rng r;
	struct gen g;
	struct arena arena;
	uint64_t seed;
	struct y *inv, *pol; /* sequences of documents */
	bool inv_as_list;
	struct semantics sem;
	const char *sem_text;
	const char *ns[4];
	size_t nns;
	int port_number[COUNT(PORT_NAMES)]; /* the usual number of each port name */
	struct probeset ps;
	int policy_serial;
	int nservices, ngroups; /* svc-0.., grp-0.. */
	bool host_rule;		/* generating a nodeSelector rule: no L7 */
	const char *group_cidrs[2][3];
};

static const char *pick_ns(struct casegen *c)
{
	if (chance(&c->r, 4))
		return "nosuch";
	return c->ns[rnd(&c->r, (unsigned)c->nns)];
}

/* ---- the inventory */

static struct y *object(struct casegen *c, const char *kind, const char *name, const char *ns,
			struct y **meta_out)
{
	struct gen *g = &c->g;
	struct y *o = ymap(g), *meta = ymap(g);
	o->flow = false;
	yput(g, o, "apiVersion", ystr(g, "v1"));
	yput(g, o, "kind", ystr(g, kind));
	yput(g, meta, "name", ystr(g, name));
	if (ns)
		yput(g, meta, "namespace", ystr(g, ns));
	yput(g, o, "metadata", meta);
	if (meta_out)
		*meta_out = meta;
	return o;
}

/* Services for toServices: with a pod selector (peers are its pods), or without one (peers are
 * the addresses of its EndpointSlices, outside the cluster). */
static void gen_services(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	static const char *const apps[] = {"web", "api", "db"};
	static const char *const external[] = {"192.168.50.10", "203.0.113.7", "2001:db8:5::10",
					       "8.8.8.8", "10.0.1.5"};
	c->nservices = chance(r, 40) ? 0 : between(r, 1, 2);
	for (int i = 0; i < c->nservices; i++) {
		const char *name = arena_printf(g->a, "svc-%d", i);
		const char *ns = c->ns[rnd(r, (unsigned)c->nns)];
		struct y *meta, *o = object(c, "Service", name, ns, &meta);
		struct y *labels = ymap(g);
		yput(g, labels, "tier", ystr(g, chance(r, 50) ? "front" : "back"));
		yput(g, meta, "labels", labels);
		struct y *spec = ymap(g), *ports = yseq(g), *port = ymap(g);
		bool selector = chance(r, 65);
		if (selector) {
			struct y *sel = ymap(g);
			yput(g, sel, "app", ystr(g, PICK(r, apps)));
			yput(g, spec, "selector", sel);
			yput(g, spec, "clusterIP",
			     ystr(g, arena_printf(g->a, "10.96.0.%d", 10 + i)));
		} else {
			yput(g, spec, "clusterIP", ystr(g, "None"));
		}
		yput(g, port, "name", ystr(g, "http"));
		yput(g, port, "port", ynum(g, 80));
		yput(g, port, "targetPort", ynum(g, 8080));
		ypush(g, ports, port);
		yput(g, spec, "ports", ports);
		yput(g, o, "spec", spec);
		ypush(g, c->inv, o);
		if (selector)
			continue;
		struct y *es =
		    object(c, "EndpointSlice", arena_printf(g->a, "%s-x1", name), ns, &meta);
		es->vals[0] = ystr(g, "discovery.k8s.io/v1"); /* apiVersion */
		labels = ymap(g);
		yput(g, labels, "kubernetes.io/service-name", ystr(g, name));
		yput(g, meta, "labels", labels);
		struct y *eps = yseq(g);
		for (int k = between(r, 1, 2); k > 0; k--) {
			struct y *ep = ymap(g), *addrs = yseq(g);
			ypush(g, addrs, ystr(g, PICK(r, external)));
			yput(g, ep, "addresses", addrs);
			ypush(g, eps, ep);
		}
		yput(g, es, "endpoints", eps);
		ypush(g, c->inv, es);
	}
}

static void gen_inventory(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	c->inv = yseq(g);
	c->inv_as_list = chance(r, 50);
	/* Namespaces: 2-4 of the pool; a few have no Namespace object at all. */
	const char *pool[COUNT(NS_POOL)];
	memcpy(pool, NS_POOL, sizeof pool);
	for (size_t i = COUNT(pool); i > 1; i--) {
		size_t k = rnd(r, (unsigned)i);
		const char *t = pool[i - 1];
		pool[i - 1] = pool[k];
		pool[k] = t;
	}
	c->nns = (size_t)between(r, 2, 4);
	for (size_t i = 0; i < c->nns; i++) {
		c->ns[i] = pool[i];
		if (chance(r, 8))
			continue;
		struct y *meta, *o = object(c, "Namespace", pool[i], NULL, &meta);
		struct y *labels = ymap(g);
		yput(g, labels, "kubernetes.io/metadata.name", ystr(g, pool[i]));
		for (size_t k = 0; k < COUNT(NS_LABELS); k++)
			if (chance(r, 60))
				yput(g, labels, NS_LABELS[k].key,
				     ystr(g, NS_LABELS[k]
						 .values[rnd(r, (unsigned)NS_LABELS[k].nvalues)]));
		yput(g, meta, "labels", labels);
		ypush(g, c->inv, o);
	}
	/* Nodes, with an IPv4 and an IPv6 address. */
	int nnodes = between(r, 1, 2);
	for (int i = 0; i < nnodes; i++) {
		struct y *meta, *o = object(c, "Node", NODE_NAMES[i], NULL, &meta);
		struct y *labels = ymap(g);
		yput(g, labels, "kubernetes.io/hostname", ystr(g, NODE_NAMES[i]));
		yput(g, labels, "zone", ystr(g, i ? "b" : "a"));
		yput(g, meta, "labels", labels);
		struct y *status = ymap(g), *addrs = yseq(g);
		for (int f = 0; f < 2; f++) {
			struct y *a = ymap(g);
			yput(g, a, "type", ystr(g, "InternalIP"));
			yput(g, a, "address",
			     ystr(g, f ? arena_printf(g->a, "fd00:100::%d", 11 + i)
				       : arena_printf(g->a, "192.168.100.%d", 11 + i)));
			ypush(g, addrs, a);
		}
		yput(g, status, "addresses", addrs);
		yput(g, o, "status", status);
		ypush(g, c->inv, o);
	}
	/* Named ports: a usual number per name, sometimes another one (conflicts). */
	for (size_t i = 0; i < COUNT(PORT_NAMES); i++) {
		c->port_number[i] = PICK(r, PORT_NUMBERS);
		note_port(&c->ps, P_TCP, c->port_number[i]);
	}
	bool dual = chance(r, 80);
	/* 4 to 20 pods, mostly few: the reference evaluator's cost grows with their square. */
	int npods = 4 + (int)(rnd(r, 17) * rnd(r, 17) / 16);
	for (int i = 0; i < npods; i++) {
		const char *ns = chance(r, 5) ? "default" : c->ns[rnd(r, (unsigned)c->nns)];
		struct y *meta, *o = object(c, "Pod", arena_printf(g->a, "pod-%d", i), ns, &meta);
		struct y *labels = ymap(g);
		for (size_t k = 0; k < COUNT(POD_LABELS); k++)
			if (chance(r, k == 0 ? 85 : 45))
				yput(g, labels, POD_LABELS[k].key,
				     ystr(g, POD_LABELS[k]
						 .values[rnd(r, (unsigned)POD_LABELS[k].nvalues)]));
		if (labels->n || chance(r, 50))
			yput(g, meta, "labels", labels);
		struct y *spec = ymap(g), *containers = yseq(g), *ctr = ymap(g);
		if (chance(r, 70))
			yput(g, spec, "serviceAccountName", ystr(g, PICK(r, SERVICE_ACCOUNTS)));
		yput(g, spec, "nodeName", ystr(g, NODE_NAMES[rnd(r, (unsigned)nnodes)]));
		yput(g, ctr, "name", ystr(g, "main"));
		yput(g, ctr, "image", ystr(g, "registry.example/app:1"));
		int nports = between(r, 0, 3);
		struct y *ports = yseq(g);
		bool used[COUNT(PORT_NAMES)] = {0};
		for (int k = 0; k < nports; k++) {
			size_t ni = rnd(r, (unsigned)COUNT(PORT_NAMES));
			struct y *p = ymap(g);
			int num = chance(r, 20) ? PICK(r, PORT_NUMBERS) : c->port_number[ni];
			if (!used[ni] && chance(r, 85)) {
				used[ni] = true;
				yput(g, p, "name", ystr(g, PORT_NAMES[ni]));
			}
			yput(g, p, "containerPort", ynum(g, num));
			unsigned pr = rnd(r, 100);
			note_port(&c->ps, P_TCP, num);
			if (pr < 15 || (ni == 2 && pr < 60)) {
				yput(g, p, "protocol", ystr(g, "UDP"));
				note_port(&c->ps, P_UDP, num);
			} else if (pr < 20) {
				yput(g, p, "protocol", ystr(g, "SCTP"));
				note_port(&c->ps, P_SCTP, num);
			} else if (pr < 50) {
				yput(g, p, "protocol", ystr(g, "TCP"));
			}
			ypush(g, ports, p);
		}
		if (nports)
			yput(g, ctr, "ports", ports);
		ypush(g, containers, ctr);
		yput(g, spec, "containers", containers);
		yput(g, o, "spec", spec);
		bool host_network = chance(r, 4);
		if (host_network) {
			/* Not an endpoint: Cilium sees the node's address. */
			yput(g, spec, "hostNetwork", yplain(g, "true"));
			struct y *status = ymap(g);
			yput(g, status, "podIP", ystr(g, "192.168.100.11"));
			yput(g, o, "status", status);
		} else if (!chance(r, 5)) {
			struct y *status = ymap(g), *ips = yseq(g);
			const char *v4 = arena_printf(g->a, "10.0.%d.%d", 1 + i / 200, 1 + i % 200);
			yput(g, status, "podIP", ystr(g, v4));
			struct y *a = ymap(g);
			yput(g, a, "ip", ystr(g, v4));
			ypush(g, ips, a);
			if (dual) {
				a = ymap(g);
				yput(g, a, "ip", ystr(g, arena_printf(g->a, "fd00:10::%x", 1 + i)));
				ypush(g, ips, a);
			}
			yput(g, status, "podIPs", ips);
			yput(g, o, "status", status);
		}
		ypush(g, c->inv, o);
	}
	gen_services(c);
}

/* ---- selectors */

enum selctx { SEL_SUBJECT, SEL_PEER, SEL_KNP_POD, SEL_KNP_NS };

struct req {
	const char *key;
	int op; /* 0 In, 1 NotIn, 2 Exists, 3 DoesNotExist */
	const char *values[2];
	size_t nvalues;
};

static void vocab_req(struct casegen *c, struct req *q, const struct label_vocab *v,
		      const char *prefix)
{
	struct rng *r = &c->r;
	q->key = *prefix ? arena_printf(c->g.a, "%s%s", prefix, v->key) : v->key;
	q->op = chance(r, 65) ? 0 : (int)rnd(r, 4);
	q->nvalues = q->op < 2 ? (size_t)between(r, 1, 2) : 0;
	for (size_t i = 0; i < q->nvalues; i++)
		q->values[i] = chance(r, 90) ? v->values[rnd(r, (unsigned)v->nvalues)] : "other";
	if (q->nvalues == 2 && !strcmp(q->values[0], q->values[1]))
		q->nvalues = 1;
}

static void one_value(struct req *q, int op, const char *value)
{
	q->op = op;
	q->values[0] = value;
	q->nvalues = op < 2 ? 1 : 0;
}

/* One requirement of a Cilium selector (subject or peer). */
static void cilium_req(struct casegen *c, struct req *q, enum selctx ctx)
{
	static const char *const prefixes[] = {"", "", "k8s:", "k8s:", "any:"};
	static const char *const reserved[] = {"reserved:host",	       "reserved:world",
					       "reserved:remote-node", "reserved:kube-apiserver",
					       "reserved:health",      "reserved:init"};
	struct rng *r = &c->r;
	unsigned kind = rnd(r, 100);
	memset(q, 0, sizeof(*q));
	if (kind < 55) {
		vocab_req(c, q, &POD_LABELS[rnd(r, 5)], PICK(r, prefixes));
	} else if (kind < 67) {
		q->key = chance(r, 70) ? "k8s:io.kubernetes.pod.namespace"
				       : "io.kubernetes.pod.namespace";
		one_value(q, chance(r, 75) ? 0 : (int)rnd(r, 4), pick_ns(c));
	} else if (kind < 78 && ctx == SEL_PEER) {
		const struct label_vocab *v = &NS_LABELS[rnd(r, (unsigned)COUNT(NS_LABELS))];
		q->key = arena_printf(c->g.a, "%sio.cilium.k8s.namespace.labels.%s",
				      chance(r, 50) ? "k8s:" : "", v->key);
		one_value(q, chance(r, 75) ? 0 : (int)rnd(r, 4),
			  v->values[rnd(r, (unsigned)v->nvalues)]);
	} else if (kind < 84) {
		q->key = "k8s:io.cilium.k8s.policy.serviceaccount";
		one_value(q, chance(r, 80) ? 0 : (int)rnd(r, 4), PICK(r, SERVICE_ACCOUNTS));
	} else if (kind < 89 && ctx == SEL_PEER) {
		q->key = chance(r, 50) ? "k8s:io.cilium.k8s.policy.cluster"
				       : "io.cilium.k8s.policy.cluster";
		one_value(q, chance(r, 80) ? 0 : (int)rnd(r, 4), chance(r, 70) ? "default" : "c1");
	} else if (ctx == SEL_PEER) {
		q->key = PICK(r, reserved);
		one_value(q, chance(r, 75) ? 0 : chance(r, 50) ? 2 : 3, "");
	} else {
		vocab_req(c, q, &POD_LABELS[0], "");
	}
}

static struct y *selector_yaml(struct casegen *c, const struct req *reqs, size_t n)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist"};
	struct y *sel = ymap(g), *ml = ymap(g), *me = yseq(g);
	for (size_t i = 0; i < n; i++) {
		const struct req *q = &reqs[i];
		if (q->op == 0 && q->nvalues == 1 && !yhas(ml, q->key) && chance(r, 65)) {
			yput(g, ml, q->key, ystr(g, q->values[0]));
			continue;
		}
		struct y *e = ymap(g);
		yput(g, e, "key", ystr(g, q->key));
		yput(g, e, "operator", ystr(g, ops[q->op]));
		if (q->nvalues) {
			struct y *vals = yseq(g);
			for (size_t k = 0; k < q->nvalues; k++)
				ypush(g, vals, ystr(g, q->values[k]));
			yput(g, e, "values", vals);
		}
		ypush(g, me, e);
	}
	if (ml->n || chance(r, 5))
		yput(g, sel, "matchLabels", ml);
	if (me->n || chance(r, 5))
		yput(g, sel, "matchExpressions", me);
	return sel;
}

static struct y *gen_selector(struct casegen *c, enum selctx ctx, bool ccnp)
{
	struct rng *r = &c->r;
	if (chance(r, ctx == SEL_PEER ? 12 : 20))
		return ymap(&c->g); /* {} */
	struct req reqs[4] = {0};
	size_t n = (size_t)between(r, 1, 3);
	for (size_t i = 0; i < n; i++) {
		if (ctx == SEL_KNP_POD)
			vocab_req(c, &reqs[i], &POD_LABELS[rnd(r, 5)], "");
		else if (ctx == SEL_KNP_NS) {
			if (chance(r, 30)) {
				memset(&reqs[i], 0, sizeof(reqs[i]));
				reqs[i].key = "kubernetes.io/metadata.name";
				one_value(&reqs[i], chance(r, 75) ? 0 : (int)rnd(r, 4), pick_ns(c));
			} else {
				vocab_req(c, &reqs[i],
					  &NS_LABELS[rnd(r, (unsigned)COUNT(NS_LABELS))], "");
			}
		} else
			cilium_req(c, &reqs[i], ctx);
	}
	/* Only negative requirements (NotIn, DoesNotExist): these also match identities that lack
	 * the key, which is where implicit namespace and cluster scoping decides. */
	if (chance(r, 15))
		for (size_t i = 0; i < n; i++) {
			if (!reqs[i].nvalues)
				reqs[i].values[0] = "other";
			reqs[i].op = chance(r, 50) ? 1 : 3;
			reqs[i].nvalues = reqs[i].op == 1 ? 1 : 0;
		}
	/* A clusterwide subject that names reserved:init changes how its peers are scoped. */
	if (ctx == SEL_SUBJECT && ccnp && chance(r, 8)) {
		memset(&reqs[n], 0, sizeof(reqs[n]));
		reqs[n].key = "reserved:init";
		reqs[n++].op = 3;
	}
	return selector_yaml(c, reqs, n);
}

/* ---- CIDRs */

/* A prefix inside outer_text: the same or longer (strict: longer, NULL if there is none). */
static const char *sub_prefix(struct casegen *c, const char *outer_text, bool strict)
{
	struct prefix p;
	if (parse_prefix(outer_text, &p, true) != 0)
		return outer_text;
	int max = p.family == 4 ? 32 : 128;
	if (strict && p.len == max)
		return NULL;
	int len = p.len + between(&c->r, strict ? 1 : 0, 8);
	if (len > max)
		len = max;
	for (int bit = p.len; bit < len; bit++)
		if (chance(&c->r, 50))
			p.addr[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	p.len = len;
	char buf[64];
	format_prefix(&p, buf, sizeof buf);
	return arena_strdup(c->g.a, buf);
}

static const char *gen_cidr(struct casegen *c, bool bare_ok)
{
	struct rng *r = &c->r;
	if (bare_ok && chance(r, 10))
		return PICK(r, BARE_IPS);
	const char *base = chance(r, 60) ? PICK(r, V4_CIDRS) : PICK(r, V6_CIDRS);
	return chance(r, 25) ? sub_prefix(c, base, false) : base;
}

/* except entries: inside the cidr, sometimes nested in each other. A NetworkPolicy wants each
 * to be strictly smaller than its cidr (strict). */
static struct y *gen_excepts(struct casegen *c, const char *cidr, bool strict)
{
	struct gen *g = &c->g;
	struct y *ex = yseq(g);
	int n = between(&c->r, 1, 3);
	const char *last = cidr;
	for (int i = 0; i < n; i++) {
		const char *e = sub_prefix(c, chance(&c->r, 40) ? last : cidr, strict);
		if (!e)
			e = sub_prefix(c, cidr, strict);
		if (!e)
			break;
		ypush(g, ex, ystr(g, e));
		last = e;
	}
	return ex;
}

/* ---- ports */

static const char *const ENTITIES[] = {"world",	  "cluster",	    "host",   "remote-node",
				       "all",	  "kube-apiserver", "health", "init",
				       "ingress", "unmanaged",	    "none"};

static struct y *gen_port(struct casegen *c, bool l7)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	struct y *pp = ymap(g);
	static const char *const protos[] = {"TCP", "TCP", "UDP", "SCTP", "ANY"};
	const char *proto = l7 ? "TCP" : chance(r, 25) ? NULL : PICK(r, protos);
	unsigned mask = !proto || !strcmp(proto, "ANY") ? P_ALL
			: !strcmp(proto, "TCP")		? P_TCP
			: !strcmp(proto, "UDP")		? P_UDP
							: P_SCTP;
	if (chance(r, 18)) {
		static const char *const names[] = {"http", "metrics", "dns",
						    "grpc", "HTTP",    "nosuch"};
		yput(g, pp, "port", ystr(g, PICK(r, names)));
		if (chance(r, 15))
			yput(g, pp, "endPort", ynum(g, between(r, 0, 9000)));
	} else {
		long port = chance(r, 20) ? between(r, l7 ? 1 : 0, 65535) : PICK(r, RULE_PORTS);
		if (l7 && port == 0)
			port = 8080;
		long end = -1;
		unsigned e = rnd(r, 100);
		if (e < 20)
			end = port + between(r, 0, 20);
		else if (e < 35)
			end = port + between(r, 0, 5000);
		else if (e < 40)
			end = 0;
		if (end > 65535)
			end = 65535;
		yput(g, pp, "port", yquoted(g, arena_printf(g->a, "%ld", port)));
		if (end >= 0)
			yput(g, pp, "endPort", ynum(g, end));
		note_range(&c->ps, mask, port, end > port ? end : port);
	}
	if (proto)
		yput(g, pp, "protocol", ystr(g, proto));
	return pp;
}

static struct y *gen_http(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	struct y *list = yseq(g);
	int n = between(r, 1, 2);
	for (int i = 0; i < n; i++) {
		struct y *h = ymap(g);
		if (chance(r, 60))
			yput(g, h, "method", ystr(g, chance(r, 50) ? "GET" : "POST|PUT"));
		if (chance(r, 60))
			yput(g, h, "path", ystr(g, chance(r, 50) ? "/api/.*" : "/healthz"));
		ypush(g, list, h);
	}
	return list;
}

static struct y *gen_to_ports(struct casegen *c, bool deny)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	struct y *tp = yseq(g);
	if (chance(r, 3))
		return tp; /* toPorts: [] */
	int n = between(r, 1, 2);
	for (int i = 0; i < n; i++) {
		struct y *pr = ymap(g);
		if (chance(r, 4)) {
			ypush(g, tp, pr); /* {}: no ports at all */
			continue;
		}
		bool l7 = !deny && !c->host_rule && chance(r, 15);
		struct y *ports = yseq(g);
		int np = between(r, 1, 3);
		for (int k = 0; k < np; k++)
			ypush(g, ports, gen_port(c, l7));
		yput(g, pr, "ports", ports);
		if (l7) {
			struct y *rules = ymap(g);
			yput(g, rules, "http", gen_http(c));
			yput(g, pr, "rules", rules);
		}
		ypush(g, tp, pr);
	}
	return tp;
}

static struct y *gen_icmps(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	static const int types4[] = {0, 3, 8, 11, 13};
	static const int types6[] = {1, 2, 128, 129, 135};
	static const struct {
		const char *name;
		int type;
	} names4[] = {{"EchoReply", 0}, {"Echo", 8}, {"EchoRequest", 8}, {"TimeExceeded", 11}},
	  names6[] = {{"EchoRequest", 128}, {"EchoReply", 129}, {"PacketTooBig", 2}};
	struct y *icmps = yseq(g);
	int n = between(r, 1, 2);
	for (int i = 0; i < n; i++) {
		struct y *rule = ymap(g), *fields = yseq(g);
		int nf = between(r, 1, 3);
		for (int k = 0; k < nf; k++) {
			struct y *f = ymap(g);
			bool v6 = chance(r, 35);
			if (v6)
				yput(g, f, "family", ystr(g, "IPv6"));
			else if (chance(r, 30))
				yput(g, f, "family", ystr(g, "IPv4"));
			int type;
			if (chance(r, 30)) {
				size_t ni = v6 ? rnd(r, COUNT(names6)) : rnd(r, COUNT(names4));
				type = v6 ? names6[ni].type : names4[ni].type;
				yput(g, f, "type", ystr(g, v6 ? names6[ni].name : names4[ni].name));
			} else {
				type = chance(r, 15) ? between(r, 0, 255)
				       : v6	     ? PICK(r, types6)
						     : PICK(r, types4);
				yput(g, f, "type", ynum(g, type));
			}
			note_icmp(&c->ps, v6, type);
			ypush(g, fields, f);
		}
		yput(g, rule, "fields", fields);
		ypush(g, icmps, rule);
	}
	return icmps;
}

/* ---- Cilium rules */

static struct y *gen_elem(struct casegen *c, enum direction dir, bool deny)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	bool in = dir == DIR_INGRESS;
	struct y *e = ymap(g);
	unsigned peer = rnd(r, 100);
	if (peer < 15) {
		/* no peer: L4-only for everyone, or `{}` which allows nothing */
	} else if (peer < 52) {
		struct y *list = yseq(g);
		unsigned shape = rnd(r, 100);
		if (shape < 10)
			ypush(g, list, ymap(g)); /* [{}] */
		else if (shape >= 15)
			for (int i = between(r, 1, 2); i > 0; i--)
				ypush(g, list, gen_selector(c, SEL_PEER, false));
		yput(g, e, in ? "fromEndpoints" : "toEndpoints", list);
	} else if (peer < 68) {
		struct y *list = yseq(g);
		bool used[COUNT(ENTITIES)] = {0};
		for (int i = between(r, 1, 2); i > 0; i--) {
			size_t k = chance(r, 85) ? rnd(r, 8) : rnd(r, (unsigned)COUNT(ENTITIES));
			if (!used[k])
				ypush(g, list, ystr(g, ENTITIES[k]));
			used[k] = true;
		}
		yput(g, e, in ? "fromEntities" : "toEntities", list);
	} else if (peer < 80) {
		struct y *list = yseq(g);
		for (int i = between(r, 1, 3); i > 0; i--)
			ypush(g, list, ystr(g, gen_cidr(c, true)));
		yput(g, e, in ? "fromCIDR" : "toCIDR", list);
	} else if (peer < 94 || in) {
		struct y *list = yseq(g);
		for (int i = between(r, 1, 2); i > 0; i--) {
			struct y *cr = ymap(g);
			unsigned k = rnd(r, 100);
			if (k < 75 || !c->ngroups) {
				const char *cidr = gen_cidr(c, false);
				yput(g, cr, "cidr", ystr(g, cidr));
				if (chance(r, 60))
					yput(g, cr, "except", gen_excepts(c, cidr, false));
			} else {
				int gi = (int)rnd(r, (unsigned)c->ngroups);
				if (k < 90) {
					yput(g, cr, "cidrGroupRef",
					     ystr(g, chance(r, 90)
							 ? arena_printf(g->a, "grp-%d", gi)
							 : "nosuch"));
				} else {
					struct req q = {.key = "zone",
							.values = {gi ? "b" : "a"},
							.nvalues = 1};
					yput(g, cr, "cidrGroupSelector", selector_yaml(c, &q, 1));
				}
				if (chance(r, 40))
					yput(g, cr, "except",
					     gen_excepts(c, c->group_cidrs[gi][0], false));
			}
			ypush(g, list, cr);
		}
		yput(g, e, in ? "fromCIDRSet" : "toCIDRSet", list);
	} else {
		struct y *list = yseq(g);
		for (int i = between(r, 1, 2); i > 0; i--) {
			struct y *sr = ymap(g), *ref = ymap(g);
			const char *ns = chance(r, 70) ? pick_ns(c) : NULL;
			if (chance(r, 60)) {
				yput(g, ref, "serviceName",
				     ystr(g, c->nservices && chance(r, 90)
						 ? arena_printf(g->a, "svc-%u",
								rnd(r, (unsigned)c->nservices))
						 : "nosuch"));
				if (ns)
					yput(g, ref, "namespace", ystr(g, ns));
				yput(g, sr, "k8sService", ref);
			} else {
				struct req q = {.key = "tier",
						.values = {chance(r, 50) ? "front" : "back"},
						.nvalues = 1};
				yput(g, ref, "selector", selector_yaml(c, &q, 1));
				if (ns)
					yput(g, ref, "namespace", ystr(g, ns));
				yput(g, sr, "k8sServiceSelector", ref);
			}
			ypush(g, list, sr);
		}
		yput(g, e, "toServices", list);
	}
	unsigned l4 = rnd(r, 100);
	if (l4 < 50)
		yput(g, e, "toPorts", gen_to_ports(c, deny));
	else if (l4 < 64)
		yput(g, e, "icmps", gen_icmps(c));
	if (!deny && chance(r, 10)) {
		static const char *const modes[] = {"required", "disabled", "test-always-fail"};
		struct y *auth = ymap(g);
		yput(g, auth, "mode", ystr(g, PICK(r, modes)));
		yput(g, e, "authentication", auth);
	}
	return e;
}

static struct y *gen_rule(struct casegen *c, bool ccnp)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	static const char *const lists[] = {"ingress", "ingressDeny", "egress", "egressDeny"};
	struct y *rule = ymap(g);
	rule->flow = false;
	c->host_rule = ccnp && chance(r, 3); /* with the host firewall off: no effect */
	yput(g, rule, c->host_rule ? "nodeSelector" : "endpointSelector",
	     gen_selector(c, SEL_SUBJECT, ccnp));
	/* Each list absent, [] (does nothing) or with elements; at least one has elements. */
	enum { ABSENT, EMPTY, ELEMS } state[4];
	bool any = false;
	for (int l = 0; l < 4; l++) {
		unsigned k = rnd(r, 100);
		state[l] = k < 50 ? ABSENT : k < 55 ? EMPTY : ELEMS;
		any |= state[l] == ELEMS;
	}
	if (!any)
		state[rnd(r, 4)] = ELEMS;
	for (int l = 0; l < 4; l++) {
		if (state[l] == ABSENT)
			continue;
		struct y *list = yseq(g);
		list->flow = false;
		for (int i = state[l] == ELEMS ? between(r, 1, 3) : 0; i > 0; i--)
			ypush(g, list, gen_elem(c, l < 2 ? DIR_INGRESS : DIR_EGRESS, l & 1));
		yput(g, rule, lists[l], list);
	}
	if (chance(r, 35)) {
		struct y *dd = ymap(g);
		if (chance(r, 70))
			yput(g, dd, "ingress", yplain(g, chance(r, 50) ? "true" : "false"));
		if (chance(r, 70))
			yput(g, dd, "egress", yplain(g, chance(r, 50) ? "true" : "false"));
		yput(g, rule, "enableDefaultDeny", dd);
	}
	if (chance(r, 10))
		yput(g, rule, "description", ystr(g, "generated rule"));
	return rule;
}

static struct y *gen_cilium_policy(struct casegen *c, bool ccnp)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	int serial = ++c->policy_serial;
	const char *ns = NULL;
	if (!ccnp && chance(r, 92))
		ns = pick_ns(c); /* else no namespace: "default" */
	struct y *meta,
	    *o = object(c, ccnp ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy",
			arena_printf(g->a, "%s-%d", ccnp ? "ccnp" : "cnp", serial), ns, &meta);
	o->vals[0] = ystr(g, "cilium.io/v2"); /* apiVersion */
	unsigned shape = rnd(r, 100);
	if (shape < 80)
		yput(g, o, "spec", gen_rule(c, ccnp));
	if (shape >= 70) {
		struct y *specs = yseq(g);
		specs->flow = false;
		for (int i = between(r, 1, 2); i > 0; i--)
			ypush(g, specs, gen_rule(c, ccnp));
		yput(g, o, "specs", specs);
	}
	return o;
}

/* ---- Kubernetes NetworkPolicy */

static struct y *gen_knp_peer(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	struct y *p = ymap(g);
	unsigned k = rnd(r, 100);
	if (k < 75) {
		if (k < 35 || k >= 60)
			yput(g, p, "podSelector", gen_selector(c, SEL_KNP_POD, false));
		if (k >= 35)
			yput(g, p, "namespaceSelector", gen_selector(c, SEL_KNP_NS, false));
		return p;
	}
	struct y *ipb = ymap(g);
	const char *cidr = gen_cidr(c, false);
	yput(g, ipb, "cidr", ystr(g, cidr));
	struct y *except = chance(r, 50) ? gen_excepts(c, cidr, true) : NULL;
	if (except && except->n)
		yput(g, ipb, "except", except);
	yput(g, p, "ipBlock", ipb);
	return p;
}

static struct y *gen_knp_port(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	struct y *p = ymap(g);
	static const char *const protos[] = {"TCP", "UDP", "SCTP"};
	unsigned mask = P_TCP;
	if (chance(r, 70)) {
		size_t k = rnd(r, 3);
		mask = 1u << k;
		yput(g, p, "protocol", ystr(g, protos[k]));
	}
	unsigned k = rnd(r, 100);
	if (k < 10)
		return p; /* every port of the protocol */
	if (k < 28) {
		static const char *const names[] = {"http", "metrics", "dns", "grpc", "nosuch"};
		yput(g, p, "port", ystr(g, PICK(r, names)));
		return p;
	}
	long port = chance(r, 25) ? between(r, 1, 65535) : PICK(r, RULE_PORTS);
	if (port == 0)
		port = 1;
	yput(g, p, "port", ynum(g, port));
	long end = port;
	if (chance(r, 35)) {
		end = port + between(r, 0, chance(r, 50) ? 20 : 3000);
		if (end > 65535)
			end = 65535;
		yput(g, p, "endPort", ynum(g, end));
	}
	note_range(&c->ps, mask, port, end);
	return p;
}

static struct y *gen_knp_rules(struct casegen *c, bool ingress)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	struct y *list = yseq(g);
	for (int i = between(r, 1, 2); i > 0; i--) {
		struct y *rule = ymap(g);
		unsigned k = rnd(r, 100);
		if (k >= 25) {
			struct y *peers = yseq(g);
			for (int n = k < 30 ? 0 : between(r, 1, 2); n > 0; n--)
				ypush(g, peers, gen_knp_peer(c));
			yput(g, rule, ingress ? "from" : "to", peers);
		}
		k = rnd(r, 100);
		if (k >= 40) {
			struct y *ports = yseq(g);
			for (int n = k < 45 ? 0 : between(r, 1, 2); n > 0; n--)
				ypush(g, ports, gen_knp_port(c));
			yput(g, rule, "ports", ports);
		}
		ypush(g, list, rule);
	}
	return list;
}

static struct y *gen_knp(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	int serial = ++c->policy_serial;
	struct y *meta, *o = object(c, "NetworkPolicy", arena_printf(g->a, "knp-%d", serial),
				    chance(r, 92) ? pick_ns(c) : NULL, &meta);
	o->vals[0] = ystr(g, "networking.k8s.io/v1"); /* apiVersion */
	struct y *spec = ymap(g);
	spec->flow = false;
	yput(g, spec, "podSelector", gen_selector(c, SEL_KNP_POD, false));
	unsigned t = rnd(r, 100);
	if (t >= 40) {
		struct y *types = yseq(g);
		if (t < 60 || t >= 80)
			ypush(g, types, ystr(g, "Ingress"));
		if (t >= 60)
			ypush(g, types, ystr(g, "Egress"));
		yput(g, spec, "policyTypes", types);
	}
	for (int dir = 0; dir < 2; dir++) {
		unsigned k = rnd(r, 100);
		if (k < 35)
			continue;
		yput(g, spec, dir ? "egress" : "ingress",
		     k < 40 ? yseq(g) : gen_knp_rules(c, !dir));
	}
	yput(g, o, "spec", spec);
	return o;
}

/* ---- CIDR groups, for cidrGroupRef and cidrGroupSelector */

static void gen_cidr_groups(struct casegen *c)
{
	struct gen *g = &c->g;
	struct rng *r = &c->r;
	c->ngroups = chance(r, 60) ? 0 : between(r, 1, 2);
	for (int i = 0; i < c->ngroups; i++) {
		struct y *meta,
		    *o = object(c, "CiliumCIDRGroup", arena_printf(g->a, "grp-%d", i), NULL, &meta);
		o->vals[0] = ystr(g, chance(r, 50) ? "cilium.io/v2" : "cilium.io/v2alpha1");
		struct y *labels = ymap(g), *spec = ymap(g), *cidrs = yseq(g);
		yput(g, labels, "zone", ystr(g, i ? "b" : "a"));
		yput(g, meta, "labels", labels);
		for (int k = 0; k < 3; k++) {
			c->group_cidrs[i][k] = gen_cidr(c, false);
			if (k == 0 || chance(r, 50))
				ypush(g, cidrs, ystr(g, c->group_cidrs[i][k]));
		}
		yput(g, spec, "externalCIDRs", cidrs);
		yput(g, o, "spec", spec);
		ypush(g, c->pol, o);
	}
}

/* ---- agent options */

static void gen_semantics(struct casegen *c)
{
	struct rng *r = &c->r;
	semantics_defaults(&c->sem);
	struct strbuf sb = {0};
	if (chance(r, 70)) {
		c->sem_text = "defaults";
		return;
	}
	for (int i = between(r, 1, 2); i > 0; i--) {
		switch (rnd(r, 6)) {
		case 0:
			c->sem.allow_localhost = false;
			sb_puts(&sb, " allow-localhost=false");
			break;
		case 1:
			c->sem.default_local_cluster = false;
			sb_puts(&sb, " policy-default-local-cluster=false");
			break;
		case 2:
			c->sem.enable_policy = ENFORCE_ALWAYS;
			sb_puts(&sb, " enable-policy=always");
			break;
		case 3:
			c->sem.non_default_deny_policies = false;
			sb_puts(&sb, " enable-non-default-deny-policies=false");
			break;
		case 4:
			c->sem.cluster_name = "c1";
			sb_puts(&sb, " cluster-name=c1");
			break;
		default:
			if (chance(r, 20)) {
				c->sem.enable_policy = ENFORCE_NEVER;
				sb_puts(&sb, " enable-policy=never");
			}
			break;
		}
	}
	c->sem_text = arena_strdup(&c->arena, sb.s ? sb.s + 1 : "defaults");
	sb_free(&sb);
}

static void gen_case(struct casegen *c, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	c->seed = seed;
	c->r.s = seed;
	next64(&c->r);
	c->g = (struct gen){&c->r, &c->arena};
	gen_semantics(c);
	gen_inventory(c);
	c->pol = yseq(&c->g);
	gen_cidr_groups(c);
	int npol = between(&c->r, 1, 4);
	for (int i = 0; i < npol; i++) {
		unsigned k = rnd(&c->r, 100);
		ypush(&c->g, c->pol,
		      k < 50   ? gen_cilium_policy(c, false)
		      : k < 75 ? gen_cilium_policy(c, true)
			       : gen_knp(c));
	}
	/* A few ports nobody named, and the ICMP types everyone uses. */
	for (int i = 0; i < 3; i++)
		note_port(&c->ps, P_ALL, between(&c->r, 1, 65534));
	note_port(&c->ps, P_ALL, 0);
	note_port(&c->ps, P_ALL, 65535);
	note_icmp(&c->ps, false, 0);
	note_icmp(&c->ps, false, 8);
	note_icmp(&c->ps, true, 0);
	note_icmp(&c->ps, true, 128);
}

/* ---------------------------------------------------------------- what a case contains */

/* Features counted over the run, so the output shows what the generator reached. Keys that are
 * a feature by their mere presence come first, then the derived ones. */
static const char *const FEATURE_KEYS[] = {"ingressDeny",
					   "egressDeny",
					   "specs",
					   "enableDefaultDeny",
					   "fromEndpoints",
					   "toEndpoints",
					   "fromEntities",
					   "toEntities",
					   "fromCIDR",
					   "toCIDR",
					   "fromCIDRSet",
					   "toCIDRSet",
					   "except",
					   "cidrGroupRef",
					   "cidrGroupSelector",
					   "toServices",
					   "toPorts",
					   "endPort",
					   "icmps",
					   "rules",
					   "authentication",
					   "nodeSelector",
					   "policyTypes",
					   "namespaceSelector",
					   "ipBlock",
					   "hostNetwork",
					   "NotIn",
					   "Exists",
					   "DoesNotExist"};
enum {
	F_KEYS = COUNT(FEATURE_KEYS),
	F_CNP = F_KEYS,
	F_CCNP,
	F_KNP,
	F_CIDR_GROUP_OBJ,
	F_SELECTORLESS_SVC,
	F_RESERVED_SEL,
	F_NS_SEL,
	F_NS_LABEL_SEL,
	F_NAMED_PORT,
	F_ICMP_ANY,
	F_EMPTY_PEERS,
	F_WILDCARD_PEER,
	F_EMPTY_ELEM,
	F_EMPTY_SECTION,
	F_COUNT
};
static const char *const FEATURE_NAMES[F_COUNT - F_KEYS] = {"CNP",
							    "CCNP",
							    "KNP",
							    "CiliumCIDRGroup",
							    "selector-less Service",
							    "reserved: peer selector",
							    "namespace key",
							    "namespace-labels key",
							    "named port",
							    "ICMP type 0",
							    "peers: []",
							    "peers: [{}]",
							    "element {}",
							    "section: []"};

static bool is_number(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return *s != 0;
}

static void features_of(const struct y *n, const char *key, uint64_t *f)
{
	static const char *const peers[] = {"fromEndpoints", "toEndpoints"};
	static const char *const sections[] = {"ingress", "ingressDeny", "egress", "egressDeny"};
	if (n->kind == Y_SCALAR) {
		if (!key)
			return;
		if (!strcmp(key, "operator"))
			for (size_t i = 0; i < F_KEYS; i++)
				if (!strcmp(n->s, FEATURE_KEYS[i]))
					*f |= 1ull << i;
		if (!strcmp(key, "kind"))
			*f |= !strcmp(n->s, "CiliumNetworkPolicy")		? 1ull << F_CNP
			      : !strcmp(n->s, "CiliumClusterwideNetworkPolicy") ? 1ull << F_CCNP
			      : !strcmp(n->s, "NetworkPolicy")			? 1ull << F_KNP
			      : !strcmp(n->s, "CiliumCIDRGroup") ? 1ull << F_CIDR_GROUP_OBJ
			      : !strcmp(n->s, "EndpointSlice")	 ? 1ull << F_SELECTORLESS_SVC
								 : 0;
		if (!strcmp(key, "key") && !strncmp(n->s, "reserved:", 9))
			*f |= 1ull << F_RESERVED_SEL;
		if (!strcmp(key, "port") && !is_number(n->s))
			*f |= 1ull << F_NAMED_PORT;
		if (!strcmp(key, "type") && (!strcmp(n->s, "0") || !strcmp(n->s, "EchoReply")))
			*f |= 1ull << F_ICMP_ANY;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->kind == Y_MAP ? n->keys[i] : key;
		const struct y *v = n->vals[i];
		if (n->kind == Y_MAP) {
			for (size_t j = 0; j < F_KEYS; j++)
				if (!strcmp(k, FEATURE_KEYS[j]))
					*f |= 1ull << j;
			if (!strncmp(k, "reserved:", 9))
				*f |= 1ull << F_RESERVED_SEL;
			if (strstr(k, "io.kubernetes.pod.namespace"))
				*f |= 1ull << F_NS_SEL;
			if (strstr(k, "io.cilium.k8s.namespace.labels."))
				*f |= 1ull << F_NS_LABEL_SEL;
			for (size_t j = 0; j < COUNT(peers) && v->kind == Y_SEQ; j++)
				if (!strcmp(k, peers[j]))
					*f |= v->n == 0 ? 1ull << F_EMPTY_PEERS
					      : v->n == 1 && v->vals[0]->n == 0
						  ? 1ull << F_WILDCARD_PEER
						  : 0;
			for (size_t j = 0; j < COUNT(sections) && v->kind == Y_SEQ; j++) {
				if (strcmp(k, sections[j]))
					continue;
				if (v->n == 0)
					*f |= 1ull << F_EMPTY_SECTION;
				for (size_t e = 0; e < v->n; e++)
					if (v->vals[e]->kind == Y_MAP && v->vals[e]->n == 0)
						*f |= 1ull << F_EMPTY_ELEM;
			}
		}
		if (n->kind == Y_MAP && !strcmp(k, "key") && v->kind == Y_SCALAR &&
		    (strstr(v->s, "io.kubernetes.pod.namespace") ||
		     strstr(v->s, "io.cilium.k8s.namespace.labels.")))
			*f |= strstr(v->s, "labels.") ? 1ull << F_NS_LABEL_SEL : 1ull << F_NS_SEL;
		features_of(v, k, f);
	}
}

/* ---------------------------------------------------------------- loading a case */

static struct schema_set *schemas;

static void read_text(struct corpus *c, const struct load_options *o, const char *path,
		      const char *text, struct diag_sink *d)
{
	FILE *in = fmemopen((void *)text, strlen(text) ? strlen(text) : 1, "r");
	if (!in) {
		perror("fmemopen");
		exit(99);
	}
	struct source *src = NULL;
	struct ptrvec docs = {0};
	int rc = read_stream(&c->arena, path, in, &o->limits, d, &src, &docs);
	fclose(in);
	if (src)
		ptrvec_push(&c->sources, src);
	for (size_t i = 0; rc == 0 && i < docs.n; i++)
		corpus_add_document(c, o, schemas, ((struct document *)docs.v[i])->root, d);
	ptrvec_free(&docs);
}

/* Loads inventory and policies through the front-end and builds identities and flat rules.
 * Returns 0, or -1 if the loader reported an error (the diagnostics stay in s->diag). */
static int load_case(struct session *s, const char *inv, const char *pol,
		     const struct semantics *sem)
{
	session_init(s);
	s->sem = *sem;
	struct corpus *objects = xcalloc(1, sizeof(*objects));
	corpus_init(objects);
	struct load_options io = {.inventory = true};
	reader_default_limits(&io.limits);
	read_text(objects, &io, "inventory.yaml", inv, &s->diag);
	s->inv = inventory_build(objects);
	read_text(&s->policies, &s->load, "policies.yaml", pol, &s->diag);
	/* What `polc lint -i` adds; its lints are warnings, an error would be a generator bug. */
	struct lint_options lo = {.inv = s->inv};
	lint_corpus(&s->policies, &lo, &s->diag);
	if (s->diag.counts[SEV_ERROR])
		return -1;
	return session_build(s);
}

static void unload_case(struct session *s)
{
	s->schemas = NULL; /* shared */
	session_free(s);
}

static void print_diags(FILE *out, const struct diag_sink *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(out, "  %s:%d:%d: %s [%s]\n", d->v[i].path ? d->v[i].path : "?",
			d->v[i].line, d->v[i].col, d->v[i].message, rule_table[d->v[i].rule].id);
}

/* ---------------------------------------------------------------- comparing */

struct answer {
	struct flow_result fast;
	struct ref_result ref;
};

static uint8_t enc_fast(const struct flow_result *f)
{
	return (uint8_t)(f->verdict | f->reason << 1);
}

static uint8_t enc_ref(const struct ref_result *r)
{
	return (uint8_t)(r->verdict | r->reason << 1);
}

static const char *verdict_text(enum verdict v)
{
	return v == VERDICT_ALLOW ? "ALLOW" : "DENY";
}

/* The remote endpoint standing for an identity (named ports are looked up on endpoints). */
static const struct endpoint *endpoint_with_identity(const struct cluster *c, uint32_t id)
{
	for (size_t i = 0; i < c->neps; i++)
		if (c->eps[i].id->id == id)
			return &c->eps[i];
	return NULL;
}

static const struct identity *identity_with_key(const struct cluster *c, const char *key)
{
	for (size_t i = 0; i < c->nids; i++)
		if (!strcmp(c->ids[i]->key, key))
			return c->ids[i];
	return NULL;
}

static struct ref_result ask_ref(const struct session *s, const struct endpoint *ep,
				 enum direction dir, const struct identity *remote,
				 const struct endpoint *remote_ep, const struct probe *p)
{
	struct ref_query q = {ep, dir, remote, remote_ep, p->proto, p->port};
	return ref_evaluate(s->cluster, &s->policies, &q);
}

static struct answer ask(const struct session *s, const struct mapstate *ms,
			 const struct endpoint *ep, enum direction dir,
			 const struct identity *remote, const struct endpoint *remote_ep,
			 const struct probe *p)
{
	struct answer a;
	a.fast = mapstate_lookup(ms, remote->id, p->proto, p->port);
	a.ref = ask_ref(s, ep, dir, remote, remote_ep, p);
	return a;
}

static void print_answer(FILE *out, const struct session *s, const struct answer *a)
{
	fprintf(out, "    fast path: %s (%s)", verdict_text(a->fast.verdict),
		reason_name(a->fast.reason));
	if (a->fast.cookie && a->fast.cookie <= s->flat.nrules) {
		const struct flat_rule *r = &s->flat.rules[a->fast.cookie - 1];
		fprintf(out, " by %s %s line %d", policy_kind_name(r->policy->kind),
			r->policy->name, r->at ? r->at->line : 0);
	}
	fprintf(out, "\n    reference: %s (%s)", verdict_text(a->ref.verdict),
		reason_name(a->ref.reason));
	if (a->ref.policy)
		fprintf(out, " by %s %s line %d", policy_kind_name(a->ref.policy->kind),
			a->ref.policy->name, a->ref.at ? a->ref.at->line : 0);
	fputc('\n', out);
}

/* One disagreement, kept by names so it can be found again in another load. */
struct mismatch {
	bool permutation;
	char what[160];
	const char *ep;
	enum direction dir;
	char remote_key[512];
	uint32_t remote_id;
	struct probe probe;
	uint8_t fast, ref; /* the two answers (verdict | reason << 1) */
};

struct stats {
	unsigned long cases, passed, failed;
	unsigned long probes, lookups;
	unsigned long reasons[8]; /* by enum reason (six today) */
	unsigned long load_errors, mismatching_cases, permutation_cases, identity_cases;
	unsigned long features[F_COUNT];
	double seconds;
};

static struct stats st;	    /* totals, under st_lock */
static unsigned long shown; /* failing cases printed so far, under print_lock */
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static bool verbose, minimize = true;

static void merge_stats(struct stats *to, const struct stats *from)
{
	to->cases += from->cases;
	to->passed += from->passed;
	to->failed += from->failed;
	to->probes += from->probes;
	to->lookups += from->lookups;
	for (int i = 0; i < 8; i++)
		to->reasons[i] += from->reasons[i];
	to->load_errors += from->load_errors;
	to->mismatching_cases += from->mismatching_cases;
	to->permutation_cases += from->permutation_cases;
	to->identity_cases += from->identity_cases;
	for (int i = 0; i < F_COUNT; i++)
		to->features[i] += from->features[i];
}

struct run {
	struct session s;
	struct probe *probes;
	size_t nprobes;
	uint8_t *fast, *ref; /* [((ep * 2 + dir) * nids + id) * nprobes + probe] */
};

static size_t slot(const struct run *r, size_t ep, int dir, size_t id, size_t p)
{
	return ((ep * 2 + (size_t)dir) * r->s.cluster->nids + id) * r->nprobes + p;
}

#define MAX_MISMATCHES 4

struct case_result {
	struct mismatch mm[MAX_MISMATCHES];
	size_t nmm;
	unsigned long total_mm;
};

static void record(struct case_result *cr, const struct mismatch *m)
{
	if (cr->nmm < MAX_MISMATCHES)
		cr->mm[cr->nmm++] = *m;
	cr->total_mm++;
}

static void describe(struct mismatch *m, const struct endpoint *ep, enum direction dir,
		     const struct identity *remote, const struct probe *p)
{
	m->ep = ep->name;
	m->dir = dir;
	m->remote_id = remote->id;
	snprintf(m->remote_key, sizeof m->remote_key, "%s", remote->key);
	m->probe = *p;
}

/* Every endpoint x direction x identity x probe, both ways. */
static void evaluate(struct run *r, struct case_result *cr, struct stats *cs)
{
	const struct cluster *c = r->s.cluster;
	size_t total = c->neps * 2 * c->nids * r->nprobes;
	r->fast = xmalloc(total + 1);
	r->ref = xmalloc(total + 1);
	for (size_t e = 0; e < c->neps; e++)
		for (int dir = 0; dir < 2; dir++) {
			struct mapstate ms;
			resolve_endpoint(c, &r->s.flat, &c->eps[e], (enum direction)dir, &ms);
			for (size_t i = 0; i < c->nids; i++) {
				const struct endpoint *rep =
				    endpoint_with_identity(c, c->ids[i]->id);
				for (size_t p = 0; p < r->nprobes; p++) {
					struct answer a =
					    ask(&r->s, &ms, &c->eps[e], (enum direction)dir,
						c->ids[i], rep, &r->probes[p]);
					size_t k = slot(r, e, dir, i, p);
					r->fast[k] = enc_fast(&a.fast);
					r->ref[k] = enc_ref(&a.ref);
					cs->reasons[a.fast.reason & 7]++;
					if (r->fast[k] != r->ref[k]) {
						struct mismatch m = {0};
						snprintf(m.what, sizeof m.what,
							 "fast path and reference disagree");
						describe(&m, &c->eps[e], (enum direction)dir,
							 c->ids[i], &r->probes[p]);
						m.fast = r->fast[k];
						m.ref = r->ref[k];
						record(cr, &m);
					}
				}
			}
			mapstate_free(&ms);
		}
	cs->lookups += total;
}

/* The shuffled run: same identities, and the same answers as the original run: every probe on
 * the fast path, one probe in REF_SAMPLE on the (much slower) reference. */
#define REF_SAMPLE 8

static void compare_permuted(const struct run *base, struct run *perm, struct case_result *cr,
			     struct stats *cs, uint64_t seed)
{
	const struct cluster *b = base->s.cluster, *p = perm->s.cluster;
	bool ids_ok = b->nids == p->nids && b->neps == p->neps;
	for (size_t i = 0; ids_ok && i < b->nids; i++)
		ids_ok = b->ids[i]->id == p->ids[i]->id && !strcmp(b->ids[i]->key, p->ids[i]->key);
	for (size_t e = 0; ids_ok && e < b->neps; e++) {
		const struct endpoint *pe = endpoint_by_name(p, b->eps[e].name);
		ids_ok = pe && pe->id->id == b->eps[e].id->id;
	}
	if (!ids_ok) {
		struct mismatch m = {.permutation = true};
		snprintf(m.what, sizeof m.what,
			 "identity numbers differ after shuffling (%zu vs %zu identities)", b->nids,
			 p->nids);
		for (size_t i = 0; i < b->nids && i < p->nids; i++)
			if (b->ids[i]->id != p->ids[i]->id ||
			    strcmp(b->ids[i]->key, p->ids[i]->key)) {
				snprintf(m.remote_key, sizeof m.remote_key, "%u %s vs %u %s",
					 b->ids[i]->id, b->ids[i]->key, p->ids[i]->id,
					 p->ids[i]->key);
				break;
			}
		m.ep = "";
		record(cr, &m);
		cs->identity_cases++;
		return;
	}
	for (size_t e = 0; e < b->neps; e++) {
		const struct endpoint *pe = endpoint_by_name(p, b->eps[e].name);
		for (int dir = 0; dir < 2; dir++) {
			struct mapstate ms;
			resolve_endpoint(p, &perm->s.flat, pe, (enum direction)dir, &ms);
			for (size_t i = 0; i < p->nids; i++) {
				const struct endpoint *rep =
				    endpoint_with_identity(p, p->ids[i]->id);
				for (size_t k = 0; k < base->nprobes; k++) {
					size_t at = slot(base, e, dir, i, k);
					struct answer a;
					a.fast = mapstate_lookup(&ms, p->ids[i]->id,
								 base->probes[k].proto,
								 base->probes[k].port);
					if (at % REF_SAMPLE == seed % REF_SAMPLE)
						a.ref = ask_ref(&perm->s, pe, (enum direction)dir,
								p->ids[i], rep, &base->probes[k]);
					else
						a.ref = (struct ref_result){
						    base->ref[at] & 1,
						    (enum reason)(base->ref[at] >> 1), NULL, NULL};
					if (enc_fast(&a.fast) == base->fast[at] &&
					    enc_ref(&a.ref) == base->ref[at])
						continue;
					struct mismatch m = {.permutation = true};
					snprintf(
					    m.what, sizeof m.what,
					    "answer changed after shuffling: fast %s/%s -> %s/%s, "
					    "reference %s/%s -> %s/%s",
					    verdict_text(base->fast[at] & 1),
					    reason_name((enum reason)(base->fast[at] >> 1)),
					    verdict_text(a.fast.verdict),
					    reason_name(a.fast.reason),
					    verdict_text(base->ref[at] & 1),
					    reason_name((enum reason)(base->ref[at] >> 1)),
					    verdict_text(a.ref.verdict), reason_name(a.ref.reason));
					describe(&m, &b->eps[e], (enum direction)dir, b->ids[i],
						 &base->probes[k]);
					record(cr, &m);
				}
			}
			mapstate_free(&ms);
		}
	}
	cs->lookups += b->neps * 2 * b->nids * base->nprobes;
}

static void run_free(struct run *r)
{
	free(r->fast);
	free(r->ref);
	r->fast = r->ref = NULL;
	unload_case(&r->s);
}

/* ---------------------------------------------------------------- minimising */

struct reducer {
	struct casegen *c;
	const struct mismatch *m;
	unsigned long checks;
	double deadline;
};

static double now(void);

/* Does the (plain, unshuffled) case still load cleanly and still give the same two answers? With
 * `keep`, the loaded case is left in *s (unload_case it) and the answers in *out. */
static bool still_fails(struct reducer *rd, bool keep, struct session *kept, struct answer *out)
{
	rd->checks++;
	char *inv = emit_stream(rd->c->inv, rd->c->inv_as_list, NULL);
	char *pol = emit_stream(rd->c->pol, false, NULL);
	struct session s;
	bool fails = false;
	if (load_case(&s, inv, pol, &rd->c->sem) == 0) {
		const struct endpoint *ep = endpoint_by_name(s.cluster, rd->m->ep);
		const struct identity *remote = identity_with_key(s.cluster, rd->m->remote_key);
		if (ep && remote) {
			struct mapstate ms;
			resolve_endpoint(s.cluster, &s.flat, ep, rd->m->dir, &ms);
			struct answer a =
			    ask(&s, &ms, ep, rd->m->dir, remote,
				endpoint_with_identity(s.cluster, remote->id), &rd->m->probe);
			mapstate_free(&ms);
			fails = enc_fast(&a.fast) == rd->m->fast && enc_ref(&a.ref) == rd->m->ref;
			if (out)
				*out = a;
		}
	}
	if (keep)
		*kept = s;
	else
		unload_case(&s);
	free(inv);
	free(pol);
	return fails;
}

/* Hierarchical delta debugging: drop whatever the disagreement does not need. */
static bool reduce_node(struct reducer *rd, struct y *n)
{
	bool progress = false;
	/* Keys whose removal makes an input that Kubernetes would refuse, though polc may not. */
	static const char *const keep[] = {"apiVersion", "kind", "key", "operator", "values"};
	for (size_t i = n->n; i-- > 0 && now() < rd->deadline;) {
		const char *key = n->keys[i];
		struct y *v = n->vals[i];
		bool kept = false;
		for (size_t k = 0; key && k < COUNT(keep); k++)
			kept |= !strcmp(key, keep[k]);
		if (kept)
			continue;
		yremove(n, i);
		if (still_fails(rd, false, NULL, NULL)) {
			progress = true;
			continue;
		}
		yinsert(&rd->c->arena, n, i, key, v);
		if (v->kind != Y_SCALAR)
			progress |= reduce_node(rd, v);
	}
	return progress;
}

static void minimise(struct casegen *c, const struct mismatch *m)
{
	struct reducer rd = {c, m, 0, now() + 5};
	if (!still_fails(&rd, false, NULL, NULL)) {
		fprintf(stderr, "  (could not reproduce the disagreement alone; not minimised)\n");
		return;
	}
	while (reduce_node(&rd, c->pol) | reduce_node(&rd, c->inv))
		;
	char *inv = emit_stream(c->inv, c->inv_as_list, NULL);
	char *pol = emit_stream(c->pol, false, NULL);
	char port[32];
	format_probe(&m->probe, port, sizeof port);
	fprintf(stderr,
		"  minimised (%lu checks): %s %s, remote identity {%s}, %s, options: %s\n"
		"  --- inventory.yaml\n%s  --- policies.yaml\n%s",
		rd.checks, m->dir == DIR_INGRESS ? "ingress to" : "egress from", m->ep,
		m->remote_key, port, c->sem_text, inv, pol);
	struct session s;
	struct answer a;
	if (still_fails(&rd, true, &s, &a))
		print_answer(stderr, &s, &a);
	unload_case(&s);
	free(inv);
	free(pol);
}

/* ---------------------------------------------------------------- one case */

static void report(const struct casegen *c, const char *inv, const char *pol, const struct run *r,
		   const struct case_result *cr, unsigned long nth)
{
	fprintf(stderr,
		"\nFAIL case seed=%" PRIu64 " (replay: POLC_DIFF_SEED=%" PRIu64
		" POLC_DIFF_CASES=1): %lu disagreement(s); agent options: %s\n",
		c->seed, c->seed, cr->total_mm, c->sem_text);
	for (size_t i = 0; i < cr->nmm; i++) {
		const struct mismatch *m = &cr->mm[i];
		char port[32];
		format_probe(&m->probe, port, sizeof port);
		fprintf(stderr, "  [%zu] %s\n", i + 1, m->what);
		if (!*m->ep) {
			fprintf(stderr, "    first difference: %s\n", m->remote_key);
			continue;
		}
		fprintf(stderr, "    %s %s, remote identity %u {%s}, %s\n",
			m->dir == DIR_INGRESS ? "ingress to" : "egress from", m->ep, m->remote_id,
			m->remote_key, port);
		if (m->permutation)
			continue;
		const struct endpoint *ep = endpoint_by_name(r->s.cluster, m->ep);
		const struct identity *remote = identity_by_id(r->s.cluster, m->remote_id);
		struct mapstate ms;
		resolve_endpoint(r->s.cluster, &r->s.flat, ep, m->dir, &ms);
		struct answer a = ask(&r->s, &ms, ep, m->dir, remote,
				      endpoint_with_identity(r->s.cluster, remote->id), &m->probe);
		mapstate_free(&ms);
		print_answer(stderr, &r->s, &a);
	}
	if (nth < 5)
		fprintf(stderr, "  --- inventory.yaml\n%s  --- policies.yaml\n%s", inv, pol);
	else
		fprintf(stderr, "  (YAML not repeated; replay the seed to see it)\n");
}

static bool run_case(uint64_t seed, struct stats *cs)
{
	struct casegen *c = xcalloc(1, sizeof(*c));
	gen_case(c, seed);
	char *inv = emit_stream(c->inv, c->inv_as_list, NULL);
	char *pol = emit_stream(c->pol, false, NULL);
	if (verbose) {
		pthread_mutex_lock(&print_lock);
		printf("case seed=%" PRIu64
		       " options: %s\n--- inventory.yaml\n%s--- policies.yaml\n%s",
		       seed, c->sem_text, inv, pol);
		pthread_mutex_unlock(&print_lock);
	}
	uint64_t f = 0;
	features_of(c->inv, NULL, &f);
	features_of(c->pol, NULL, &f);
	for (int i = 0; i < F_COUNT; i++)
		cs->features[i] += (f >> i) & 1;
	struct run base = {0}, perm = {0};
	struct case_result cr = {0};
	bool ok = true, perm_loaded = false;
	base.probes = probe_list(&c->ps, &base.nprobes);
	if (load_case(&base.s, inv, pol, &c->sem) < 0) {
		pthread_mutex_lock(&print_lock);
		fprintf(stderr,
			"\nFAIL case seed=%" PRIu64 ": the loader refused a generated input\n",
			seed);
		print_diags(stderr, &base.s.diag);
		fprintf(stderr, "  --- inventory.yaml\n%s  --- policies.yaml\n%s", inv, pol);
		pthread_mutex_unlock(&print_lock);
		cs->load_errors++;
		ok = false;
		goto out;
	}
	cs->probes += base.nprobes;
	evaluate(&base, &cr, cs);
	if (cr.total_mm)
		cs->mismatching_cases++;
	/* The same case, every list and mapping shuffled. */
	struct rng shuffle = {seed ^ 0x5bd1e995u};
	char *inv2 = emit_stream(c->inv, c->inv_as_list, &shuffle);
	char *pol2 = emit_stream(c->pol, false, &shuffle);
	perm_loaded = true;
	if (load_case(&perm.s, inv2, pol2, &c->sem) < 0) {
		pthread_mutex_lock(&print_lock);
		fprintf(stderr, "\nFAIL case seed=%" PRIu64 ": the shuffled input did not load\n",
			seed);
		print_diags(stderr, &perm.s.diag);
		fprintf(stderr, "  --- inventory.yaml\n%s  --- policies.yaml\n%s", inv2, pol2);
		pthread_mutex_unlock(&print_lock);
		cs->load_errors++;
		ok = false;
	} else {
		unsigned long before = cr.total_mm;
		compare_permuted(&base, &perm, &cr, cs, seed);
		if (cr.total_mm > before)
			cs->permutation_cases++;
	}
	if (verbose) {
		pthread_mutex_lock(&print_lock);
		printf("--- shuffled inventory.yaml\n%s--- shuffled policies.yaml\n%s", inv2, pol2);
		pthread_mutex_unlock(&print_lock);
	}
	free(inv2);
	free(pol2);
	if (cr.total_mm) {
		ok = false;
		pthread_mutex_lock(&print_lock);
		unsigned long nth = shown++;
		report(c, inv, pol, &base, &cr, nth);
		for (size_t i = 0; minimize && nth < 5 && i < cr.nmm; i++)
			if (!cr.mm[i].permutation) {
				minimise(c, &cr.mm[i]);
				break;
			}
		pthread_mutex_unlock(&print_lock);
	}
out:
	run_free(&base);
	if (perm_loaded)
		run_free(&perm);
	free(base.probes);
	free(inv);
	free(pol);
	arena_free(&c->arena);
	free(c);
	return ok;
}

/* ---------------------------------------------------------------- driver */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	unsigned long long n = strtoull(v, &end, 0);
	if (*end) {
		fprintf(stderr, "%s=%s is not a number\n", name, v);
		exit(99);
	}
	return n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t first_seed, ncases, min_cases, njobs;
static double budget, t_start;
static atomic_uint_fast64_t next_index;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t i = atomic_fetch_add(&next_index, 1);
		/* The budget only counts once the minimum has run. */
		if (i >= ncases || (budget > 0 && i >= min_cases && now() - t_start > budget))
			break;
		struct stats cs = {0};
		bool ok = run_case(first_seed + i, &cs);
		cs.cases = 1;
		cs.passed = ok;
		cs.failed = !ok;
		pthread_mutex_lock(&st_lock);
		merge_stats(&st, &cs);
		pthread_mutex_unlock(&st_lock);
	}
	return NULL;
}

static void test_generated_cases(void)
{
	t_start = now();
	pthread_t tid[16];
	size_t n = njobs < 1 ? 1 : njobs > 16 ? 16 : (size_t)njobs, started = 0;
	for (size_t i = 1; i < n; i++)
		if (pthread_create(&tid[started], NULL, worker, NULL) == 0)
			started++;
	worker(NULL);
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	st.seconds = now() - t_start;
	printf("\ndifferential: %lu cases from seed %" PRIu64 " in %.1f s on %zu thread(s): "
	       "%.0f cases/s, %.0f probes/case, %lu lookups (%.0f/s)\n",
	       st.cases, first_seed, st.seconds, n, st.cases / st.seconds,
	       st.cases ? (double)st.probes / st.cases : 0.0, st.lookups, st.lookups / st.seconds);
	printf("differential: fast-path reasons seen:");
	for (int r = 0; r < 6; r++)
		printf(" %s %lu", reason_name((enum reason)r), st.reasons[r]);
	printf("\ndifferential: cases with:");
	for (int i = 0; i < F_COUNT; i++)
		printf("%s %s %lu", i ? "," : "",
		       i < F_KEYS ? FEATURE_KEYS[i] : FEATURE_NAMES[i - F_KEYS], st.features[i]);
	printf("\n");
	CU_ASSERT_EQUAL(st.load_errors, 0);
}

static void test_fast_path_matches_reference(void)
{
	if (st.mismatching_cases)
		fprintf(stderr,
			"differential: %lu case(s) where the fast path and the reference "
			"disagree\n",
			st.mismatching_cases);
	CU_ASSERT_EQUAL(st.mismatching_cases, 0);
}

static void test_permutation_invariance(void)
{
	if (st.permutation_cases)
		fprintf(stderr,
			"differential: %lu case(s) whose answers or identities change when "
			"inputs are shuffled\n",
			st.permutation_cases);
	CU_ASSERT_EQUAL(st.permutation_cases, 0);
}

static void test_coverage(void)
{
	uint64_t want = min_cases < ncases ? min_cases : ncases;
	if (st.cases < want)
		fprintf(stderr, "differential: only %lu cases ran, want %" PRIu64 "\n", st.cases,
			want);
	else if (budget > 0 && st.seconds > budget * 1.5)
		fprintf(stderr,
			"differential: note: the minimum of %" PRIu64 " cases took %.0f s, "
			"well over the %.0f s budget (a loaded machine?)\n",
			want, st.seconds, budget);
	CU_ASSERT(st.cases >= want);
	/* A generator that never reaches some outcome tests less than it seems. */
	for (int r = 0; r < 6 && st.cases >= 200; r++) {
		if (!st.reasons[r])
			fprintf(stderr, "differential: no probe ever got reason %s\n",
				reason_name((enum reason)r));
		CU_ASSERT(st.reasons[r] > 0);
	}
}

int main(void)
{
	first_seed = env_u64("POLC_DIFF_SEED", 1);
	ncases = env_u64("POLC_DIFF_CASES", 2000);
	budget = (double)env_u64("POLC_DIFF_TIME", 20);
	min_cases = env_u64("POLC_DIFF_MIN_CASES", SANITIZED ? 250 : 1000);
	verbose = env_u64("POLC_DIFF_VERBOSE", 0) != 0;
	minimize = env_u64("POLC_DIFF_MINIMIZE", 1) != 0;
	njobs = env_u64("POLC_DIFF_JOBS", 2);
	schemas = schema_builtin();

	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
	    {"generated cases load without errors", test_generated_cases},
	    {"fast path agrees with the reference evaluator", test_fast_path_matches_reference},
	    {"verdicts and identities survive shuffling", test_permutation_invariance},
	    {"enough cases, every outcome reached", test_coverage},
	};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("differential", NULL, NULL);
	for (size_t i = 0; s && i < COUNT(tests); i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			s = NULL;
	if (!s) {
		CU_cleanup_registry();
		return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_ErrorCode rc = CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	schema_free(schemas);
	printf("%lu passed, %lu failed\n", st.passed, st.failed);
	return rc != CUE_SUCCESS || failures ? 1 : 0;
}
