/* Connections: packets become connections, connections become edges.
 *
 * Direction, strongest evidence first: the SYN (or SCTP INIT, or ICMP echo request) names the
 * client; a SYN-ACK names the server; without a handshake (a capture that started
 * mid-stream), the content (an HTTP request, a DNS query, a TLS ClientHello), a port seen
 * answering a SYN elsewhere in the capture, a port the inventory says is listening, the
 * well-known/ephemeral port ranges, and last the sender of the first packet.
 *
 * Outcome: only flows that worked are learned. A SYN answered by a reset is refused, one
 * answered by ICMP unreachable failed, a SYN (or a UDP datagram, or an echo request) that got
 * nothing back is unanswered; all of these are reported as skipped, never turned into rules.
 *
 * The same connection captured on both ends (two veths, two nodes) is one connection: the
 * table key is the 5-tuple, and a packet identical to the previous one from that side is a
 * duplicate. Memory: at most max_conns connections (LRU per class: open TCP, datagram,
 * closing); a full table finishes the least recently active connection early and says so.
 */
#include "learn.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* ---------------------------------------------------------------- hashing */

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_ip(const struct ip *a)
{
	uint64_t x, y;
	memcpy(&x, a->b, 8);
	memcpy(&y, a->b + 8, 8);
	return mix64(x ^ mix64(y));
}

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return mix64(h);
}

static char *xstrndup_(const char *s, size_t n)
{
	char *r = xmalloc(n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

/* ---------------------------------------------------------------- interning */

struct istr {
	UT_hash_handle hh;
	char s[];
};

#define INTERN_MAX_BYTES (64u << 20)

const char *intern(struct learner *L, const char *s, size_t n)
{
	/* a direct-mapped cache in front of the table: DNS names and methods repeat */
	unsigned slot = n ? ((unsigned)(uint8_t)s[0] * 31u + (unsigned)(uint8_t)s[n - 1] * 7u + (unsigned)n) & 255u
			  : 0;
	const char *c = L->icache[slot];
	if (c && !strncmp(c, s, n) && c[n] == 0)
		return c;
	struct istr *head = L->intern, *hit = NULL;
	HASH_FIND(hh, head, s, n, hit);
	if (hit) {
		L->icache[slot] = hit->s;
		return hit->s;
	}
	if (L->interned_bytes + n > INTERN_MAX_BYTES)
		return NULL;
	hit = arena_alloc(&L->arena, sizeof(*hit) + n + 1);
	memcpy(hit->s, s, n);
	hit->s[n] = 0;
	HASH_ADD(hh, head, s[0], n, hit);
	L->intern = head;
	L->interned++;
	L->interned_bytes += n + 1;
	L->icache[slot] = hit->s;
	return hit->s;
}

void intern_free(struct learner *L)
{
	struct istr *head = L->intern;
	HASH_CLEAR(hh, head);
	L->intern = NULL;
}

/* ---------------------------------------------------------------- string tables */

struct counted *strtab_find(const struct strtab *t, const char *s)
{
	if (!t->cap)
		return NULL;
	uint32_t i = (uint32_t)hash_str(s, strlen(s)) & (t->cap - 1);
	for (;; i = (i + 1) & (t->cap - 1)) {
		if (!t->v[i].s)
			return NULL;
		if (t->v[i].s == s || !strcmp(t->v[i].s, s))
			return &t->v[i];
	}
}

static void strtab_grow(struct strtab *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : 8;
	struct counted *nv = xcalloc(ncap, sizeof(*nv));
	for (uint32_t i = 0; i < t->cap; i++) {
		if (!t->v[i].s)
			continue;
		uint32_t j = (uint32_t)hash_str(t->v[i].s, strlen(t->v[i].s)) & (ncap - 1);
		while (nv[j].s)
			j = (j + 1) & (ncap - 1);
		nv[j] = t->v[i];
	}
	free(t->v);
	t->v = nv;
	t->cap = ncap;
	t->last = 0;
}

/* s must be interned (it is kept). */
struct counted *strtab_add(struct strtab *t, const char *s, uint64_t ts, uint32_t flags,
			   uint32_t limit)
{
	if (!s)
		return NULL;
	struct counted *c = t->last && t->v[t->last - 1].s == s ? &t->v[t->last - 1] : strtab_find(t, s);
	if (!c) {
		if (limit && t->n >= limit) {
			t->dropped++;
			return NULL;
		}
		if ((t->n + 1) * 4 > t->cap * 3)
			strtab_grow(t);
		uint32_t i = (uint32_t)hash_str(s, strlen(s)) & (t->cap - 1);
		while (t->v[i].s)
			i = (i + 1) & (t->cap - 1);
		c = &t->v[i];
		c->s = s;
		c->first = ts;
		t->n++;
	}
	c->n++;
	c->flags |= flags;
	if (!c->first || ts < c->first)
		c->first = ts;
	if (ts > c->last)
		c->last = ts;
	t->last = (uint32_t)(c - t->v) + 1;
	return c;
}

void strtab_free(struct strtab *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------- request tables */

/* Paths are owned by the table (not interned: a long capture of /items/<random id> must
 * not grow memory without bound); at REQ_LIMIT distinct paths an edge's table is compacted:
 * id-like segments with enough distinct values are folded into class placeholders, which
 * synth.c turns into regex segments. */
#define REQ_LIMIT 4096

static uint32_t req_hash(const char *method, const char *path)
{
	return (uint32_t)(hash_str(path, strlen(path)) ^ (uint64_t)(uintptr_t)method);
}

static struct http_req *req_slot_h(struct reqtab *t, const char *method, const char *path,
				   uint32_t h, bool *found)
{
	uint32_t i = h & (t->cap - 1);
	for (;; i = (i + 1) & (t->cap - 1)) {
		if (!t->v[i].path) {
			*found = false;
			return &t->v[i];
		}
		if (t->v[i].hash == h && t->v[i].method == method && !strcmp(t->v[i].path, path)) {
			*found = true;
			return &t->v[i];
		}
	}
}

static struct http_req *req_slot(struct reqtab *t, const char *method, const char *path,
				 bool *found)
{
	return req_slot_h(t, method, path, req_hash(method, path), found);
}

static void req_grow(struct reqtab *t)
{
	uint32_t ocap = t->cap;
	struct http_req *ov = t->v;
	t->cap = ocap ? ocap * 2 : 8;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	for (uint32_t i = 0; i < ocap; i++)
		if (ov[i].path) {
			bool found;
			*req_slot_h(t, ov[i].method, ov[i].path, ov[i].hash, &found) = ov[i];
		}
	free(ov);
}

static void req_put(struct reqtab *t, const struct http_req *r)
{
	if ((t->n + 1) * 2 > t->cap)
		req_grow(t);
	bool found;
	uint32_t h = req_hash(r->method, r->path);
	struct http_req *slot = req_slot_h(t, r->method, r->path, h, &found);
	if (found) {
		slot->n += r->n;
		slot->flags |= r->flags;
		if (r->first < slot->first)
			slot->first = r->first;
		if (r->last > slot->last)
			slot->last = r->last;
		free((char *)r->path);
		return;
	}
	*slot = *r;
	slot->hash = h;
	t->n++;
}

/* Replaces id-like segments (digits, UUIDs, long hex) of every path with a placeholder when
 * at least min_support distinct paths share the resulting shape. */
static void reqtab_compact(struct reqtab *t, unsigned min_support)
{
	struct http_req *old = t->v;
	uint32_t ocap = t->cap;
	/* count distinct paths per shape */
	struct shape {
		UT_hash_handle hh;
		uint64_t distinct;
		char key[];
	} *shapes = NULL, *sh, *tmp;
	char **shaped = xcalloc(ocap, sizeof(char *));
	for (uint32_t i = 0; i < ocap; i++) {
		if (!old[i].path)
			continue;
		shaped[i] = path_shape(old[i].path);
		size_t kl = strlen(shaped[i]) + strlen(old[i].method) + 2;
		char *key = xmalloc(kl);
		snprintf(key, kl, "%s %s", old[i].method, shaped[i]);
		HASH_FIND_STR(shapes, key, sh);
		if (!sh) {
			sh = xcalloc(1, sizeof(*sh) + kl);
			memcpy(sh->key, key, kl);
			HASH_ADD_STR(shapes, key, sh);
		}
		sh->distinct++;
		free(key);
	}
	t->v = NULL;
	t->cap = 0;
	t->n = 0;
	req_grow(t);
	for (uint32_t i = 0; i < ocap; i++) {
		if (!old[i].path)
			continue;
		size_t kl = strlen(shaped[i]) + strlen(old[i].method) + 2;
		char *key = xmalloc(kl);
		snprintf(key, kl, "%s %s", old[i].method, shaped[i]);
		HASH_FIND_STR(shapes, key, sh);
		free(key);
		struct http_req r = old[i];
		if (sh && sh->distinct >= min_support && strcmp(shaped[i], r.path)) {
			free((char *)r.path);
			r.path = shaped[i];
			shaped[i] = NULL;
		}
		free(shaped[i]);
		req_put(t, &r);
	}
	HASH_ITER(hh, shapes, sh, tmp)
	{
		HASH_DEL(shapes, sh);
		free(sh);
	}
	free(shaped);
	free(old);
}

/* A method a policy can name as it is: Cilium reads it as a regex, so only letters, digits,
 * '-' and '_' (every registered method is spelt so), at most 32 of them. */
static bool method_writable(const char *m)
{
	size_t n = 0;
	for (; m[n]; n++)
		if (!isalnum((unsigned char)m[n]) && m[n] != '-' && m[n] != '_')
			return false;
	return n && n <= 32;
}

void reqtab_add(struct learner *L, struct reqtab *t, const char *method, const char *path,
		uint64_t ts, uint32_t flags)
{
	if (!method || !path)
		return;
	if (!method_writable(method) || !utf8_printable(path)) {
		/* network bytes no policy text can hold: the port gets no HTTP rule */
		t->unwritable++;
		return;
	}
	if (!t->cap)
		req_grow(t);
	bool found = false;
	struct http_req *r = NULL;
	char shbuf[2048];
	const char *sh = NULL;
	if (t->compacted && path_shape_into(path, shbuf, sizeof shbuf)) {
		/* once compacted, a path whose shape is already a placeholder counts there */
		sh = shbuf;
		if (strcmp(sh, path))
			r = req_slot(t, method, sh, &found);
	}
	uint32_t h = req_hash(method, path);
	if (!found)
		r = req_slot_h(t, method, path, h, &found);
	if (!found && t->n >= REQ_LIMIT) {
		/* full: compact once more, unless that no longer helps */
		if (!sh)
			sh = path_shape_into(path, shbuf, sizeof shbuf) ? shbuf : path;
		if (!t->saturated) {
			reqtab_compact(t, L->o->min_support);
			t->compacted = true;
			t->saturated = t->n >= REQ_LIMIT * 3 / 4;
			r = req_slot(t, method, sh, &found);
			if (!found)
				r = req_slot_h(t, method, path, h, &found);
		}
		if (!found && t->n >= REQ_LIMIT) {
			t->dropped++;
			return;
		}
	}
	if (!found) {
		if ((t->n + 1) * 2 > t->cap) {
			req_grow(t);
			r = req_slot_h(t, method, path, h, &found);
		}
		r->method = method;
		r->path = xstrdup(path);
		r->hash = h;
		r->first = ts;
		t->n++;
	}
	r->n++;
	r->flags |= flags;
	if (ts < r->first)
		r->first = ts;
	if (ts > r->last)
		r->last = ts;
}

void reqtab_free(struct reqtab *t)
{
	for (uint32_t i = 0; i < t->cap; i++)
		free((char *)t->v[i].path);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------- edges */

static uint64_t edge_hash(const struct edge_key *k)
{
	return mix64(hash_ip(&k->client) ^ (hash_ip(&k->server) * 31) ^
		     ((uint64_t)k->port << 8 | k->proto));
}

static void edges_rehash(struct learner *L, uint32_t nb)
{
	free(L->ebuckets);
	L->ebuckets = xcalloc(nb, sizeof(uint32_t));
	L->ebuckets_n = nb;
	for (uint32_t i = 0; i < L->nedges; i++) {
		uint32_t b = (uint32_t)edge_hash(&L->edges[i].k) & (nb - 1);
		L->edges[i].hnext = L->ebuckets[b];
		L->ebuckets[b] = i + 1;
	}
}

struct edge *edge_get(struct learner *L, const struct edge_key *k, bool create)
{
	if (L->ebuckets_n) {
		uint32_t b = (uint32_t)edge_hash(k) & (L->ebuckets_n - 1);
		for (uint32_t i = L->ebuckets[b]; i; i = L->edges[i - 1].hnext)
			if (!memcmp(&L->edges[i - 1].k, k, sizeof(*k)))
				return &L->edges[i - 1];
	}
	if (!create)
		return NULL;
	if (L->nedges >= L->o->max_edges) {
		L->st.edges_dropped++;
		if (!L->edges_full_warned) {
			fprintf(stderr,
				"polc learn: the edge table is full (%zu distinct client/server/port "
				"combinations, --max-edges); further new ones are counted, not learned\n",
				L->o->max_edges);
			L->edges_full_warned = true;
		}
		return NULL;
	}
	if (L->nedges == L->edges_cap) {
		L->edges_cap = L->edges_cap ? L->edges_cap * 2 : 256;
		L->edges = xrealloc(L->edges, L->edges_cap * sizeof(*L->edges));
	}
	if ((L->nedges + 1) * 2 > L->ebuckets_n)
		edges_rehash(L, L->ebuckets_n ? L->ebuckets_n * 2 : 512);
	struct edge *e = &L->edges[L->nedges];
	memset(e, 0, sizeof(*e));
	e->k = *k;
	uint32_t b = (uint32_t)edge_hash(k) & (L->ebuckets_n - 1);
	e->hnext = L->ebuckets[b];
	L->ebuckets[b] = ++L->nedges;
	return e;
}

/* ---------------------------------------------------------------- DNS answers */

#define ANSWERS_CAP 65536u

void dns_remember(struct learner *L, const struct ip *addr, const struct ip *client,
		  const char *name, uint64_t ts, uint32_t ttl)
{
	if (!name)
		return;
	if (!L->answers) {
		L->answers_cap = ANSWERS_CAP;
		L->answers = xcalloc(L->answers_cap, sizeof(*L->answers));
		L->abuckets_n = ANSWERS_CAP;
		L->abuckets = xcalloc(L->abuckets_n, sizeof(uint32_t));
	}
	/* the same answer again: refresh it */
	uint32_t b = (uint32_t)hash_ip(addr) & (L->abuckets_n - 1);
	for (uint32_t i = L->abuckets[b]; i; i = L->answers[i - 1].hnext) {
		struct dns_answer *a = &L->answers[i - 1];
		if (a->name == name && !memcmp(&a->addr, addr, 16) && !memcmp(&a->client, client, 16)) {
			a->ts = ts;
			a->ttl_ns = (uint64_t)ttl * 1000000000ull;
			return;
		}
	}
	uint32_t slot = L->answers_next;
	L->answers_next = (L->answers_next + 1) % L->answers_cap;
	struct dns_answer *a = &L->answers[slot];
	if (a->name) { /* overwrite the oldest: unlink it from its chain */
		uint32_t ob = (uint32_t)hash_ip(&a->addr) & (L->abuckets_n - 1);
		uint32_t *pp = &L->abuckets[ob];
		while (*pp && *pp != slot + 1)
			pp = &L->answers[*pp - 1].hnext;
		if (*pp)
			*pp = a->hnext;
	} else {
		L->nanswers++;
	}
	a->addr = *addr;
	a->client = *client;
	a->name = name;
	a->ts = ts;
	a->ttl_ns = (uint64_t)ttl * 1000000000ull;
	a->hnext = L->abuckets[b];
	L->abuckets[b] = slot + 1;
}

const char *dns_name_for(const struct learner *L, const struct ip *addr, const struct ip *client,
			 uint64_t ts)
{
	if (!L->answers)
		return NULL;
	const struct dns_answer *best = NULL;
	int best_rank = 0;
	uint32_t b = (uint32_t)hash_ip(addr) & (L->abuckets_n - 1);
	for (uint32_t i = L->abuckets[b]; i; i = L->answers[i - 1].hnext) {
		const struct dns_answer *a = &L->answers[i - 1];
		if (memcmp(&a->addr, addr, 16) || a->ts > ts + L->o->dns_grace_ns)
			continue;
		bool fresh = ts <= a->ts + a->ttl_ns + L->o->dns_grace_ns;
		bool same = !memcmp(&a->client, client, 16);
		/* rank: same client within TTL > any client within TTL > stale */
		int rank = fresh && same ? 3 : fresh ? 2 : 1;
		if (rank > best_rank || (rank == best_rank && best && a->ts > best->ts)) {
			best = a;
			best_rank = rank;
		}
	}
	/* a stale answer is no evidence of cause */
	return best && best_rank >= 2 ? best->name : NULL;
}

size_t dns_addrs_for(const struct learner *L, const char *name, struct ip *out, size_t max)
{
	size_t n = 0;
	for (uint32_t i = 0; L->answers && i < L->answers_cap; i++) {
		const struct dns_answer *a = &L->answers[i];
		if (!a->name || strcmp(a->name, name))
			continue;
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = !memcmp(&out[k], &a->addr, 16);
		if (!dup && n < max)
			out[n++] = a->addr;
	}
	return n;
}

/* ---------------------------------------------------------------- listeners */

struct listener {
	struct ip ip;
	uint16_t port;
	uint8_t proto;
	bool used;
};
#define LISTENERS_CAP 65536u

static uint32_t listener_hash(const struct ip *a, uint8_t proto, uint16_t port)
{
	return (uint32_t)mix64(hash_ip(a) ^ ((uint64_t)port << 8 | proto));
}

static void listener_add(struct learner *L, const struct ip *a, uint8_t proto, uint16_t port)
{
	if (!L->listeners)
		L->listeners = xcalloc(LISTENERS_CAP, sizeof(struct listener));
	struct listener *t = L->listeners;
	uint32_t i = listener_hash(a, proto, port) & (LISTENERS_CAP - 1);
	for (uint32_t probes = 0; probes < 64; probes++, i = (i + 1) & (LISTENERS_CAP - 1)) {
		if (!t[i].used) {
			t[i] = (struct listener){*a, port, proto, true};
			return;
		}
		if (t[i].port == port && t[i].proto == proto && !memcmp(&t[i].ip, a, 16))
			return;
	}
}

bool listener_known(const struct learner *L, const struct ip *a, uint8_t proto, uint16_t port)
{
	const struct listener *t = L->listeners;
	if (!t)
		return false;
	uint32_t i = listener_hash(a, proto, port) & (LISTENERS_CAP - 1);
	for (uint32_t probes = 0; probes < 64; probes++, i = (i + 1) & (LISTENERS_CAP - 1)) {
		if (!t[i].used)
			return false;
		if (t[i].port == port && t[i].proto == proto && !memcmp(&t[i].ip, a, 16))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- L7 memory budget */

bool l7_charge(struct learner *L, size_t n)
{
	if (L->l7_memory + n > L->o->max_l7_memory) {
		L->st.l7_budget_hits++;
		return false;
	}
	L->l7_memory += n;
	return true;
}

void l7_release(struct learner *L, size_t n)
{
	L->l7_memory -= n < L->l7_memory ? n : L->l7_memory;
}

/* ---------------------------------------------------------------- connections */

enum {
	F_SYN0 = 1u << 0, /* side 0 sent a SYN; side 1: << 1 */
	F_SYNACK0 = 1u << 2,
	F_RST0 = 1u << 4,
	F_FIN0 = 1u << 6,
	F_SEQ0 = 1u << 8, /* next_seq[side] is valid */
	F_ICMPFAIL = 1u << 10,
	F_DATA0 = 1u << 11, /* side sent payload */
	F_ECHOREQ0 = 1u << 13,
	F_ECHOREP0 = 1u << 15,
	F_L7DONE = 1u << 17,
	F_FIRST1 = 1u << 18, /* side 1 sent the first packet */
};
#define SIDE(f, s) ((f) << (s))

enum { LIST_TCP, LIST_DGRAM, LIST_CLOSED, NLISTS };

struct conn {
	struct ip a, b;
	uint16_t pa, pb;
	uint8_t proto;
	int8_t client; /* -1 unknown, 0: a, 1: b */
	uint8_t list;
	uint8_t l7p;
	uint32_t flags;
	uint32_t evidence;
	uint32_t l7flags;
	uint32_t hnext, prev, next; /* 1-based indexes; 0 = none */
	int32_t edge;
	uint64_t first, last;
	uint32_t pkts[2];
	uint64_t bytes[2];
	uint32_t next_seq[2];
	uint32_t dup_seq[2], dup_ack[2], dup_len[2];
	uint8_t dup_flags[2];
	uint64_t dup_ts[2];
	void *l7;
	uint8_t *early; /* what the server said before the client said anything (h2 SETTINGS) */
	uint32_t nearly;
	uint32_t unanswered; /* requests still pending when the parser was let go */
	bool used;
};

struct conntab {
	struct conn *v;
	size_t cap, hi, nused;
	uint32_t free_head;
	uint32_t *buckets;
	size_t nbuckets;
	uint32_t head[NLISTS], tail[NLISTS];
	uint64_t next_expire;
};

struct conntab *conntab_new(size_t cap)
{
	struct conntab *ct = xcalloc(1, sizeof(*ct));
	ct->cap = cap;
	ct->v = xcalloc(cap, sizeof(struct conn));
	/* buckets grow with the open connections (a small table stays in cache) */
	ct->nbuckets = 1024;
	ct->buckets = xcalloc(ct->nbuckets, sizeof(uint32_t));
	return ct;
}

#define EARLY_MAX 4096

static void l7_free_state(struct learner *L, struct conn *c)
{
	if (c->early) {
		l7_release(L, EARLY_MAX);
		free(c->early);
		c->early = NULL;
		c->nearly = 0;
	}
	if (!c->l7)
		return;
	switch (c->l7p) {
	case L7P_HTTP:
		http_free(L, c->l7);
		break;
	case L7P_H2:
		h2_free(L, c->l7);
		break;
	case L7P_TLS:
		tls_free(L, c->l7);
		break;
	case L7P_DNS:
		dnstcp_free(L, c->l7);
		break;
	}
	c->l7 = NULL;
}

void conntab_free(struct learner *L, struct conntab *ct)
{
	if (!ct)
		return;
	for (size_t i = 0; i < ct->hi; i++)
		if (ct->v[i].used)
			l7_free_state(L, &ct->v[i]);
	free(ct->v);
	free(ct->buckets);
	free(ct);
}

size_t flows_open(const struct learner *L)
{
	return L->ct->nused;
}

static void canon(const struct ip *s, uint16_t sp, const struct ip *d, uint16_t dp, struct ip *a,
		  uint16_t *pa, struct ip *b, uint16_t *pb)
{
	int c = ip_cmp(s, d);
	if (c < 0 || (c == 0 && sp <= dp)) {
		*a = *s, *pa = sp, *b = *d, *pb = dp;
	} else {
		*a = *d, *pa = dp, *b = *s, *pb = sp;
	}
}

static uint32_t conn_hash(const struct ip *a, uint16_t pa, const struct ip *b, uint16_t pb,
			  uint8_t proto)
{
	uint64_t w[4];
	memcpy(w, a->b, 16);
	memcpy(w + 2, b->b, 16);
	uint64_t h = (w[0] ^ w[1] * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	h ^= (w[2] ^ w[3] * 0xc2b2ae3d27d4eb4full) * 0x165667b19e3779f9ull;
	h ^= ((uint64_t)pa << 24 | (uint64_t)pb << 8 | proto) * 0x27d4eb2f165667c5ull;
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static void list_unlink(struct conntab *ct, struct conn *c)
{
	uint32_t self = (uint32_t)(c - ct->v) + 1;
	if (c->prev)
		ct->v[c->prev - 1].next = c->next;
	else if (ct->head[c->list] == self)
		ct->head[c->list] = c->next;
	if (c->next)
		ct->v[c->next - 1].prev = c->prev;
	else if (ct->tail[c->list] == self)
		ct->tail[c->list] = c->prev;
	c->prev = c->next = 0;
}

static void list_append(struct conntab *ct, struct conn *c, uint8_t list)
{
	uint32_t self = (uint32_t)(c - ct->v) + 1;
	c->list = list;
	c->next = 0;
	c->prev = ct->tail[list];
	if (ct->tail[list])
		ct->v[ct->tail[list] - 1].next = self;
	else
		ct->head[list] = self;
	ct->tail[list] = self;
}

static void conn_rehash(struct conntab *ct, size_t nb)
{
	free(ct->buckets);
	ct->buckets = xcalloc(nb, sizeof(uint32_t));
	ct->nbuckets = nb;
	for (size_t i = 0; i < ct->hi; i++) {
		struct conn *c = &ct->v[i];
		if (!c->used)
			continue;
		uint32_t b = conn_hash(&c->a, c->pa, &c->b, c->pb, c->proto) & (uint32_t)(nb - 1);
		c->hnext = ct->buckets[b];
		ct->buckets[b] = (uint32_t)i + 1;
	}
}

static struct conn *conn_find(struct conntab *ct, const struct ip *a, uint16_t pa,
			      const struct ip *b, uint16_t pb, uint8_t proto, uint32_t *bucket)
{
	*bucket = conn_hash(a, pa, b, pb, proto) & (uint32_t)(ct->nbuckets - 1);
	for (uint32_t i = ct->buckets[*bucket]; i; i = ct->v[i - 1].hnext) {
		struct conn *c = &ct->v[i - 1];
		if (c->pa == pa && c->pb == pb && c->proto == proto && ip_eq(&c->a, a) &&
		    ip_eq(&c->b, b))
			return c;
	}
	return NULL;
}

static void conn_finish(struct learner *L, struct conn *c);

static void conn_remove(struct learner *L, struct conn *c)
{
	struct conntab *ct = L->ct;
	uint32_t self = (uint32_t)(c - ct->v) + 1;
	uint32_t b = conn_hash(&c->a, c->pa, &c->b, c->pb, c->proto) & (uint32_t)(ct->nbuckets - 1);
	uint32_t *pp = &ct->buckets[b];
	while (*pp && *pp != self)
		pp = &ct->v[*pp - 1].hnext;
	if (*pp)
		*pp = c->hnext;
	list_unlink(ct, c);
	l7_free_state(L, c);
	memset(c, 0, sizeof(*c));
	c->hnext = ct->free_head;
	ct->free_head = self;
	ct->nused--;
}

static uint64_t idle_limit(const struct learner *L, uint8_t list)
{
	return list == LIST_CLOSED ? L->o->closed_linger_ns
	       : list == LIST_TCP  ? L->o->tcp_idle_ns
				   : L->o->udp_idle_ns;
}

static void expire(struct learner *L, uint64_t now)
{
	struct conntab *ct = L->ct;
	/* a look at the lists' heads every millisecond of capture time is enough */
	if (now < ct->next_expire)
		return;
	ct->next_expire = now + 1000000;
	for (int l = 0; l < NLISTS; l++) {
		uint64_t lim = idle_limit(L, (uint8_t)l);
		for (int budget = 0; budget < 4096 && ct->head[l]; budget++) {
			struct conn *c = &ct->v[ct->head[l] - 1];
			if (c->last + lim >= now)
				break;
			L->st.conns_timed_out++;
			conn_finish(L, c);
			conn_remove(L, c);
		}
	}
}

static struct conn *conn_new(struct learner *L, const struct ip *a, uint16_t pa,
			     const struct ip *b, uint16_t pb, uint8_t proto, uint32_t bucket)
{
	struct conntab *ct = L->ct;
	if (ct->nused == ct->cap) {
		/* full: finish the least recently active connection, closing ones first */
		struct conn *victim = NULL;
		for (int l = LIST_CLOSED; l >= 0 && !victim; l--)
			if (ct->head[l])
				victim = &ct->v[ct->head[l] - 1];
		if (!L->conns_full_warned) {
			fprintf(stderr,
				"polc learn: the connection table is full (%zu open connections, "
				"--max-conns); the least recently active ones are finished early\n",
				ct->cap);
			L->conns_full_warned = true;
		}
		L->st.conns_evicted++;
		conn_finish(L, victim);
		conn_remove(L, victim);
		bucket = conn_hash(a, pa, b, pb, proto) & (uint32_t)(ct->nbuckets - 1);
	}
	uint32_t idx;
	if (ct->free_head) {
		idx = ct->free_head;
		ct->free_head = ct->v[idx - 1].hnext;
	} else {
		idx = (uint32_t)++ct->hi;
	}
	if (ct->nused + 1 > ct->nbuckets) {
		conn_rehash(ct, ct->nbuckets * 2);
		bucket = conn_hash(a, pa, b, pb, proto) & (uint32_t)(ct->nbuckets - 1);
	}
	struct conn *c = &ct->v[idx - 1];
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->a = *a;
	c->b = *b;
	c->pa = pa;
	c->pb = pb;
	c->proto = proto;
	c->client = -1;
	c->edge = -1;
	c->hnext = ct->buckets[bucket];
	ct->buckets[bucket] = idx;
	list_append(ct, c, proto == 6 || proto == 132 ? LIST_TCP : LIST_DGRAM);
	ct->nused++;
	if (ct->nused > L->st.peak_conns)
		L->st.peak_conns = ct->nused;
	L->st.conns++;
	return c;
}

/* ---------------------------------------------------------------- direction */

static bool is_ephemeral(uint16_t p)
{
	return p >= 32768;
}

static void decide_client(struct learner *L, struct conn *c)
{
	if (c->client >= 0)
		return;
	bool la = listener_known(L, &c->a, c->proto, c->pa),
	     lb = listener_known(L, &c->b, c->proto, c->pb);
	if (la != lb) {
		c->client = la ? 1 : 0;
		c->evidence |= EV_LISTENER;
		return;
	}
	if (L->attr) {
		bool ia = attr_listens(L->attr, &c->a, c->proto, c->pa),
		     ib = attr_listens(L->attr, &c->b, c->proto, c->pb);
		if (ia != ib) {
			c->client = ia ? 1 : 0;
			c->evidence |= EV_INVENTORY;
			return;
		}
	}
	if ((c->pa < 1024) != (c->pb < 1024)) {
		c->client = c->pa < 1024 ? 1 : 0;
		c->evidence |= EV_PORT;
		return;
	}
	if (is_ephemeral(c->pa) != is_ephemeral(c->pb)) {
		c->client = is_ephemeral(c->pa) ? 0 : 1;
		c->evidence |= EV_PORT;
		return;
	}
	c->client = (c->flags & F_FIRST1) ? 1 : 0;
	c->evidence |= EV_FIRST;
}

static void set_client(struct conn *c, int side, uint32_t ev)
{
	if (c->client < 0)
		c->client = (int8_t)side;
	if (c->client == side)
		c->evidence |= ev;
}

static struct edge *conn_edge(struct learner *L, struct conn *c)
{
	if (c->edge >= 0)
		return &L->edges[c->edge];
	if (c->client < 0)
		return NULL;
	struct edge_key k;
	memset(&k, 0, sizeof(k));
	k.client = c->client == 0 ? c->a : c->b;
	k.server = c->client == 0 ? c->b : c->a;
	k.proto = c->proto;
	if (c->proto == 1 || c->proto == 58)
		k.port = c->proto == 1 ? 8 : 128;
	else
		k.port = c->client == 0 ? c->pb : c->pa;
	struct edge *e = edge_get(L, &k, true);
	if (e)
		c->edge = (int32_t)(e - L->edges);
	return e;
}

/* ---------------------------------------------------------------- finishing */

static void conn_finish(struct learner *L, struct conn *c)
{
	decide_client(L, c);
	int cl = c->client, sv = 1 - cl;
	uint32_t f = c->flags;
	bool syn = f & SIDE(F_SYN0, cl), synack = f & SIDE(F_SYNACK0, sv);
	bool from_server = c->pkts[sv] > 0, from_client = c->pkts[cl] > 0;
	enum { OK, REFUSED, UNANSWERED, FAILED } outcome;
	bool midstream = false;
	switch (c->proto) {
	case 6:
	case 132:
		if (synack || (syn && (f & SIDE(F_DATA0, sv))))
			outcome = OK; /* a server that sent data did accept */
		else if (syn && (f & SIDE(F_RST0, sv)))
			outcome = REFUSED;
		else if (syn && (f & F_ICMPFAIL))
			outcome = FAILED;
		else if (syn)
			outcome = UNANSWERED;
		else if (from_server && from_client && !(f & SIDE(F_RST0, sv) && !(f & SIDE(F_DATA0, sv))))
			outcome = OK, midstream = true;
		else
			outcome = UNANSWERED, midstream = true;
		break;
	case 1:
	case 58:
		if (!(f & SIDE(F_ECHOREQ0, cl)))
			return; /* only replies seen: the request went unseen; nothing to learn */
		/* a host pinging itself: request and reply come from the same side */
		outcome = (f & SIDE(F_ECHOREP0, sv)) ||
				  (!memcmp(&c->a, &c->b, 16) && c->pa == c->pb && (f & SIDE(F_ECHOREP0, cl)))
			  ? OK
			  : UNANSWERED;
		break;
	default: /* UDP */
		if (from_server)
			outcome = OK;
		else if (f & F_ICMPFAIL)
			outcome = FAILED;
		else
			outcome = L->o->one_way_udp ? OK : UNANSWERED;
		break;
	}
	struct edge *e = conn_edge(L, c);
	if (!e)
		return;
	switch (outcome) {
	case OK:
		e->ok++;
		break;
	case REFUSED:
		e->refused++;
		break;
	case UNANSWERED:
		e->unanswered++;
		break;
	case FAILED:
		e->failed++;
		break;
	}
	e->midstream += midstream;
	e->pkts += c->pkts[0] + c->pkts[1];
	e->bytes += c->bytes[0] + c->bytes[1];
	if (!e->first || c->first < e->first)
		e->first = c->first;
	if (c->last > e->last)
		e->last = c->last;
	e->evidence |= c->evidence;
	e->l7 |= c->l7flags;
	if (outcome == OK && synack)
		listener_add(L, &e->k.server, c->proto, e->k.port);
	{
		uint64_t pending = c->unanswered;
		if (c->l7)
			pending += c->l7p == L7P_HTTP ? http_pending(c->l7)
				   : c->l7p == L7P_H2 ? h2_pending(c->l7)
						      : 0;
		e->http_unanswered += pending;
		L->st.http_unanswered += pending;
	}
	/* world destinations: the DNS answer that led here */
	if (outcome == OK && L->attr) {
		struct addr_info ai;
		attr_lookup(L->attr, &e->k.server, &ai);
		if (ai.cls == PC_WORLD) {
			const char *name = dns_name_for(L, &e->k.server, &e->k.client, c->first);
			if (name) {
				strtab_add(&e->fqdn, name, c->first, 0, 64);
				e->fqdn_conns++;
			} else {
				e->nofqdn_conns++;
			}
		}
	}
}

void flows_flush(struct learner *L)
{
	struct conntab *ct = L->ct;
	for (size_t i = 0; i < ct->hi; i++) {
		struct conn *c = &ct->v[i];
		if (c->used) {
			conn_finish(L, c);
			conn_remove(L, c);
		}
	}
}

/* ---------------------------------------------------------------- payload */

static void l7_flags(struct conn *c, uint32_t fl)
{
	c->l7flags |= fl;
}

/* The first payload of a connection picks its parser. */
static void pick_parser(struct learner *L, struct conn *c, int side, const uint8_t *p, size_t n)
{
	uint16_t my = side == 0 ? c->pa : c->pb, other = side == 0 ? c->pb : c->pa;
	int want_client = -1;
	if (http_looks_like_request(p, n)) {
		c->l7p = L7P_HTTP;
		want_client = side;
	} else if (h2_is_preface(p, n)) {
		c->l7p = L7P_H2;
		want_client = side;
	} else if (tls_looks_like_hello(p, n)) {
		c->l7p = L7P_TLS;
		want_client = side;
	} else if (other == 53 || my == 53) {
		c->l7p = L7P_DNS;
		want_client = other == 53 ? side : 1 - side;
	} else if (http_looks_like_response(p, n)) {
		c->l7p = L7P_HTTP;
		want_client = 1 - side;
	} else {
		c->l7p = L7P_OPAQUE;
		l7_flags(c, L7F_OPAQUE);
		return;
	}
	if (c->client >= 0 && c->client != want_client) {
		/* the handshake says otherwise: trust it, and do not parse */
		c->l7p = L7P_OPAQUE;
		l7_flags(c, L7F_OPAQUE);
		return;
	}
	set_client(c, want_client, EV_CONTENT);
	switch (c->l7p) {
	case L7P_HTTP:
		c->l7 = http_new();
		break;
	case L7P_H2:
		c->l7 = h2_new(false);
		break;
	case L7P_TLS:
		c->l7 = tls_new();
		break;
	case L7P_DNS:
		c->l7 = dnstcp_new();
		break;
	}
	(void)L;
}

static void feed(struct learner *L, struct conn *c, int side, const uint8_t *p, size_t n,
		 uint64_t ts);

static void stream_bytes(struct learner *L, struct conn *c, int side, const uint8_t *p, size_t n,
			 uint64_t ts)
{
	if (c->l7p == L7P_NONE && c->client >= 0 && side != c->client) {
		/* the server speaks first (an HTTP/2 server's SETTINGS, a database greeting): keep
		 * it until the client's first bytes say what the protocol is */
		if (!c->early && l7_charge(L, EARLY_MAX))
			c->early = xmalloc(EARLY_MAX);
		if (!c->early || c->nearly + n > EARLY_MAX) {
			c->l7p = L7P_OPAQUE;
			l7_flags(c, L7F_OPAQUE);
			return;
		}
		memcpy(c->early + c->nearly, p, n);
		c->nearly += (uint32_t)n;
		return;
	}
	if (c->l7p == L7P_NONE) {
		pick_parser(L, c, side, p, n);
		if (c->early) {
			uint8_t *e = c->early;
			uint32_t ne = c->nearly;
			c->early = NULL;
			c->nearly = 0;
			if (c->l7p != L7P_OPAQUE)
				feed(L, c, 1 - side, e, ne, ts);
			l7_release(L, EARLY_MAX);
			free(e);
		}
	}
	feed(L, c, side, p, n, ts);
}

static void feed(struct learner *L, struct conn *c, int side, const uint8_t *p, size_t n,
		 uint64_t ts)
{
	if (c->l7p == L7P_OPAQUE || (c->flags & F_L7DONE) || !c->l7)
		return;
	struct edge *e = conn_edge(L, c);
	struct l7_sink s = {L, e, ts, side == c->client};
	int dir = side == c->client ? 0 : 1;
	uint32_t fl = 0;
	switch (c->l7p) {
	case L7P_HTTP:
		fl = http_feed(c->l7, &s, dir, p, n);
		if (http_switched_to_h2(c->l7)) {
			http_free(L, c->l7);
			c->l7 = h2_new(true);
			c->l7p = L7P_H2;
		}
		break;
	case L7P_H2:
		fl = h2_feed(c->l7, &s, dir, p, n);
		break;
	case L7P_TLS:
		fl = tls_feed(c->l7, &s, dir, p, n);
		if (fl & (L7F_TLS | L7F_INCOMPLETE)) {
			tls_free(L, c->l7);
			c->l7 = NULL;
			c->flags |= F_L7DONE;
		}
		break;
	case L7P_DNS: {
		const struct ip *client = c->client == 0 ? &c->a : &c->b;
		fl = dnstcp_feed(c->l7, &s, client, dir, p, n);
		break;
	}
	}
	l7_flags(c, fl);
	if (fl & L7F_UPGRADE) {
		l7_free_state(L, c);
		c->flags |= F_L7DONE;
	}
}

static void stream_gap(struct conn *c, int side)
{
	if (!c->l7 || (c->flags & F_L7DONE))
		return;
	int dir = side == c->client ? 0 : 1;
	c->l7flags |= L7F_INCOMPLETE;
	if (c->l7p == L7P_HTTP)
		http_gap(c->l7, dir);
	else if (c->l7p == L7P_H2)
		h2_gap(c->l7, dir);
	else if (c->l7p == L7P_DNS || c->l7p == L7P_TLS)
		c->flags |= F_L7DONE;
}

/* TCP: deliver payload in sequence order; retransmitted bytes are skipped, a hole is a gap. */
static void tcp_payload(struct learner *L, struct conn *c, int side, const struct pkt *p)
{
	uint32_t seq = p->seq + ((p->tcp_flags & TH_SYN) ? 1 : 0);
	if (!(c->flags & SIDE(F_SEQ0, side))) {
		c->flags |= SIDE(F_SEQ0, side);
		c->next_seq[side] = seq;
	}
	if (!p->wire_paylen)
		return;
	c->flags |= SIDE(F_DATA0, side);
	if (c->l7p == L7P_OPAQUE || (c->flags & F_L7DONE)) {
		c->next_seq[side] = seq + p->wire_paylen;
		return;
	}
	int32_t diff = (int32_t)(c->next_seq[side] - seq);
	uint32_t skip = 0;
	if (diff > 0) {
		if ((uint32_t)diff >= p->wire_paylen) {
			L->st.duplicates++;
			return; /* all of it seen before */
		}
		skip = (uint32_t)diff;
	} else if (diff < 0) {
		stream_gap(c, side);
	}
	if (skip < p->paylen)
		stream_bytes(L, c, side, p->payload + skip, p->paylen - skip, p->ts);
	if (p->paylen < p->wire_paylen && skip < p->wire_paylen)
		stream_gap(c, side); /* the capture cut the segment short */
	c->next_seq[side] = seq + p->wire_paylen;
}

static void udp_payload(struct learner *L, struct conn *c, int side, const struct pkt *p)
{
	if (!p->paylen)
		return;
	c->flags |= SIDE(F_DATA0, side);
	bool dns_port = p->sport == 53 || p->dport == 53 || p->sport == 5353 || p->dport == 5353;
	if (!dns_port) {
		if (c->l7p == L7P_NONE) {
			c->l7p = L7P_OPAQUE;
			l7_flags(c, L7F_OPAQUE);
		}
		return;
	}
	struct dns_msg m;
	if (dns_parse(p->payload, p->paylen, &m) < 0) {
		l7_flags(c, L7F_OPAQUE);
		return;
	}
	c->l7p = L7P_DNS;
	set_client(c, m.response ? 1 - side : side, EV_CONTENT);
	struct edge *e = conn_edge(L, c);
	struct l7_sink s = {L, e, p->ts, side == c->client};
	const struct ip *client = c->client == 0 ? &c->a : &c->b;
	l7_flags(c, dns_handle(&s, client, &m));
}

/* ---------------------------------------------------------------- packets */

static bool duplicate(struct conn *c, int side, const struct pkt *p)
{
	uint32_t len = p->wire_paylen;
	uint8_t fl = p->proto == 1 || p->proto == 58 ? p->icmp_type : p->tcp_flags;
	uint32_t seq = p->seq;
	if (p->proto != 6 && p->proto != 132) {
		/* datagrams have no sequence number: their first bytes stand in for one */
		uint64_t h = seq, w = 0;
		uint32_t n = p->paylen < 32 ? p->paylen : 32, i = 0;
		for (; i + 8 <= n; i += 8) {
			memcpy(&w, p->payload + i, 8);
			h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		}
		for (; i < n; i++)
			h = (h ^ p->payload[i]) * 0x100000001b3ull;
		seq = (uint32_t)(h >> 32) ^ (uint32_t)h;
	}
	bool same = c->dup_seq[side] == seq && c->dup_ack[side] == p->ack &&
		    c->dup_len[side] == len && c->dup_flags[side] == fl && c->pkts[side] > 0;
	if (same && c->proto != 6)
		same = p->ts - c->dup_ts[side] < 10000000ull; /* datagrams: within 10 ms */
	c->dup_seq[side] = seq;
	c->dup_ack[side] = p->ack;
	c->dup_len[side] = len;
	c->dup_flags[side] = fl;
	c->dup_ts[side] = p->ts;
	return same;
}

static void icmp_error(struct learner *L, const struct pkt *p)
{
	struct ip a, b;
	uint16_t pa, pb;
	canon(&p->in_src, p->in_sport, &p->in_dst, p->in_dport, &a, &pa, &b, &pb);
	uint32_t bucket;
	struct conn *c = conn_find(L->ct, &a, pa, &b, pb, p->in_proto, &bucket);
	if (c) {
		c->flags |= F_ICMPFAIL;
		if (c->client < 0) /* the quoted datagram was sent by the client */
			set_client(c, memcmp(&p->in_src, &c->a, 16) == 0 && p->in_sport == c->pa ? 0 : 1,
				   EV_FIRST);
	}
}

void flows_packet(struct learner *L, const struct pkt *p)
{
	if (p->icmp_error) {
		icmp_error(L, p);
		return;
	}
	expire(L, p->ts);
	struct ip a, b;
	uint16_t pa, pb;
	canon(&p->src, p->sport, &p->dst, p->dport, &a, &pa, &b, &pb);
	uint32_t bucket;
	struct conn *c = conn_find(L->ct, &a, pa, &b, pb, p->proto, &bucket);
	int side = ip_eq(&p->src, &a) && p->sport == pa ? 0 : 1;
	if (pa == pb && ip_eq(&a, &b))
		side = 0; /* talking to itself on one port: one side */
	bool fresh = !c;
	if (!c && p->proto == 6 && !(p->tcp_flags & TH_SYN) && !p->wire_paylen) {
		/* a bare ACK, FIN or RST of a connection already finished (or never seen): it says
		 * nothing a policy needs, and must not start a one-sided "connection" */
		L->st.control++;
		return;
	}
	if (!c)
		c = conn_new(L, &a, pa, &b, pb, p->proto, bucket);
	if (fresh) {
		c->first = p->ts;
		if (side == 1)
			c->flags |= F_FIRST1;
	} else if (duplicate(c, side, p)) {
		L->st.duplicates++;
		return;
	}
	if (fresh)
		duplicate(c, side, p);
	c->pkts[side]++;
	c->bytes[side] += p->wire_paylen;
	if (p->ts > c->last)
		c->last = p->ts;
	struct conntab *ct = L->ct;
	uint8_t list = c->list;
	switch (p->proto) {
	case 6:
	case 132: {
		uint8_t fl = p->tcp_flags;
		if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
			c->flags |= SIDE(F_SYN0, side);
			set_client(c, side, EV_SYN);
		} else if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
			c->flags |= SIDE(F_SYNACK0, side);
			set_client(c, 1 - side, EV_SYNACK);
		}
		if (fl & TH_RST)
			c->flags |= SIDE(F_RST0, side);
		if (fl & TH_FIN)
			c->flags |= SIDE(F_FIN0, side);
		if (p->proto == 6)
			tcp_payload(L, c, side, p);
		else if (p->paylen)
			c->flags |= SIDE(F_DATA0, side);
		if ((fl & TH_RST) || ((c->flags & F_FIN0) && (c->flags & SIDE(F_FIN0, 1)))) {
			list = LIST_CLOSED;
			/* nothing more to parse: let the parser go now, not after the linger */
			if (c->l7 && !c->early) {
				c->unanswered += (uint32_t)(c->l7p == L7P_HTTP ? http_pending(c->l7)
							    : c->l7p == L7P_H2 ? h2_pending(c->l7)
									       : 0);
				l7_free_state(L, c);
				c->flags |= F_L7DONE;
			}
		}
		break;
	}
	case 17:
		udp_payload(L, c, side, p);
		/* answered: the outcome is settled, so a short linger is enough (for the copy
		 * captured at the other end); later datagrams make a new connection of the edge */
		if (c->client >= 0 && side != c->client)
			list = LIST_CLOSED;
		break;
	default: { /* ICMP echo */
		bool v6 = p->proto == 58;
		if (p->icmp_type == (v6 ? 128 : 8)) {
			c->flags |= SIDE(F_ECHOREQ0, side);
			set_client(c, side, EV_ECHO);
		} else {
			c->flags |= SIDE(F_ECHOREP0, side);
			list = LIST_CLOSED;
		}
		break;
	}
	}
	/* most recently active goes last */
	list_unlink(ct, c);
	list_append(ct, c, list);
}

/* ---------------------------------------------------------------- records */

void flows_record(struct learner *L, const struct flow_record *r)
{
	if (!r->port || !r->proto) {
		L->st.records_skipped++; /* port 0 is no port: nothing a policy could name */
		return;
	}
	struct edge_key k;
	memset(&k, 0, sizeof(k));
	k.client = r->client;
	k.server = r->server;
	k.port = r->port;
	k.proto = r->proto;
	struct edge *e = edge_get(L, &k, true);
	if (!e)
		return;
	L->st.records++;
	if (!L->st.ts_first || r->ts < L->st.ts_first)
		L->st.ts_first = r->ts;
	if (r->ts > L->st.ts_last)
		L->st.ts_last = r->ts;
	if (r->ok)
		e->ok++;
	else
		e->dropped++;
	e->pkts++;
	e->evidence |= EV_RECORD;
	if (!e->first || r->ts < e->first)
		e->first = r->ts;
	if (r->ts > e->last)
		e->last = r->ts;
	if (r->http_method && r->http_path) {
		e->l7 |= L7F_HTTP;
		uint32_t fl = 0;
		if (r->http_status >= 100 && r->http_status < 600)
			fl |= 1u << (r->http_status / 100);
		const char *q = strchr(r->http_path, '?');
		char *path = xstrndup_(r->http_path, q ? (size_t)(q - r->http_path) : strlen(r->http_path));
		if (q)
			fl |= REQ_QUERY;
		const char *m = intern(L, r->http_method, strlen(r->http_method));
		reqtab_add(L, &e->http, m, path, r->ts, fl);
		free(path);
		L->st.http_requests++;
	}
	if (r->dns_query && !dns_name_writable(r->dns_query)) {
		e->l7 |= L7F_DNS | L7F_ODDNAME;
	} else if (r->dns_query) {
		e->l7 |= L7F_DNS;
		const char *name = intern(L, r->dns_query, strlen(r->dns_query));
		uint32_t fl = r->dns_rcode == 0 ? DNS_NOERROR : r->dns_rcode == 3 ? DNS_NXDOMAIN
										   : DNS_OTHER_RCODE;
		if (r->ndns_ips)
			fl |= DNS_HAS_ADDR;
		strtab_add(&e->dns, name, r->ts, fl, 4096);
		for (size_t i = 0; i < r->ndns_ips; i++)
			dns_remember(L, &r->dns_ips[i], &r->client, name, r->ts, r->dns_ttl);
	}
	if (r->fqdn && r->ok && dns_name_writable(r->fqdn)) {
		const char *name = intern(L, r->fqdn, strlen(r->fqdn));
		strtab_add(&e->fqdn, name, r->ts, 0, 64);
		e->fqdn_conns++;
		/* the record says the address had that name (Cilium's DNS cache knew it) */
		dns_remember(L, &r->server, &r->client, name, r->ts, 3600);
	}
}
