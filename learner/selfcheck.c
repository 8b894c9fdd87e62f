/* The self-check: every observed flow replayed through polc's own policy engine (the same
 * fast path and reference evaluator `polc trace` uses) against the generated policies plus the
 * existing ones, with toFQDNs resolved the way Cilium's DNS proxy would have resolved them
 * (the addresses the observed DNS answers gave). L7: every observed HTTP request and DNS name
 * is matched against the L7 rules of the entries that admit the flow.
 *
 * Then the over-permission report: at the level Cilium enforces (local endpoint, remote
 * identity, protocol, port), what the policies admit that traffic never used; and a `polc test`
 * file with the observed flows as must-allow and a sample of rogue-kind flows (unobserved
 * peers, ports and world addresses) as must-deny, each verified before it is written.
 */
#include "learn.h"
#include "trace.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

static void failure(struct selfcheck *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failure(struct selfcheck *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		ptrvec_push(&r->failures, s);
}

static void overline(struct selfcheck *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void overline(struct selfcheck *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		ptrvec_push(&r->over, s);
}

/* ---------------------------------------------------------------- loading */

static int load(struct session *ss, struct synth *s, const char *existing)
{
	const struct learn_opts *o = s->L->o;
	ss->schemas = schema_builtin();
	ss->inv = inventory_load((const char *const *)o->inventory.v, o->inventory.n,
				 &ss->load.limits, &ss->diag);
	if (!ss->inv)
		return -1;
	if (existing) {
		const char *e[] = {existing};
		if (corpus_load(&ss->policies, &ss->load, ss->schemas, e, 1, &ss->diag) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->npol; i++) {
		struct strbuf buf = {0};
		if (emit_policy(s, &s->pol[i], EMIT_RESOLVED, &buf) < 0)
			return -1;
		FILE *f = fmemopen(buf.s, buf.len, "r");
		if (!f) {
			sb_free(&buf);
			return -1;
		}
		char *name = arena_printf(&ss->policies.arena, "(generated %s/%s)", s->pol[i].ns,
					  s->pol[i].name);
		struct source *src = NULL;
		struct ptrvec docs = {0};
		int rc = read_stream(&ss->policies.arena, name, f, &ss->load.limits, &ss->diag, &src,
				     &docs);
		fclose(f);
		sb_free(&buf);
		if (src)
			ptrvec_push(&ss->policies.sources, src);
		for (size_t k = 0; rc == 0 && k < docs.n; k++)
			corpus_add_document(&ss->policies, &ss->load, ss->schemas,
					    ((struct document *)docs.v[k])->root, &ss->diag);
		ptrvec_free(&docs);
		if (rc < 0)
			return -1;
	}
	for (size_t i = 0; ss->inv->objects && i < ss->inv->objects->cidr_groups.n; i++)
		ptrvec_push(&ss->policies.cidr_groups, ss->inv->objects->cidr_groups.v[i]);
	if (ss->diag.counts[SEV_ERROR])
		return -1;
	return session_build(ss);
}

/* ---------------------------------------------------------------- L7 */

struct l7set {
	const struct port_rule *v[32];
	size_t n;
	bool any; /* an L4-only allow covers it: every request passes */
};

static void l7_of_half(const struct session *ss, const struct half *h, uint8_t proto,
		       uint16_t port, struct l7set *out)
{
	memset(out, 0, sizeof(*out));
	if (!h->present || h->fast.reason != REASON_L7) {
		out->any = true;
		return;
	}
	struct mapstate ms;
	resolve_endpoint(ss->cluster, &ss->flat, h->local, h->dir, &ms);
	for (size_t i = 0; i < ms.n; i++) {
		const struct ms_entry *e = &ms.v[i];
		if (e->deny || (e->identity != ID_ANY && e->identity != h->remote->id))
			continue;
		if (e->proto && (e->proto != proto || port < e->lo || port > e->hi))
			continue;
		if (!e->l7 || !e->l7_rule)
			out->any = true;
		else if (out->n < 32)
			out->v[out->n++] = e->l7_rule;
	}
	mapstate_free(&ms);
}

/* Envoy's full match, with each regex compiled once (a capture may give thousands of paths). */
struct recache {
	UT_hash_handle hh;
	pcre2_code *code;
	char re[];
};
static struct recache *recache;
static pcre2_match_data *re_md;

static bool re_full(const char *re, const char *subject)
{
	struct recache *e;
	HASH_FIND_STR(recache, re, e);
	if (!e) {
		size_t n = strlen(re);
		e = xcalloc(1, sizeof(*e) + n + 1);
		memcpy(e->re, re, n + 1);
		int err;
		PCRE2_SIZE off;
		e->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
					PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &err, &off, NULL);
		HASH_ADD_STR(recache, re, e);
	}
	if (!e->code)
		return false;
	if (!re_md)
		re_md = pcre2_match_data_create(4, NULL);
	return pcre2_match(e->code, (PCRE2_SPTR)subject, strlen(subject), 0, 0, re_md, NULL) >= 0;
}

static void recache_free(void)
{
	struct recache *e, *tmp;
	HASH_ITER(hh, recache, e, tmp)
	{
		HASH_DEL(recache, e);
		pcre2_code_free(e->code);
		free(e);
	}
	if (re_md)
		pcre2_match_data_free(re_md);
	re_md = NULL;
}

static bool http_allowed(const struct l7set *s, const char *method, const char *path, bool query)
{
	if (s->any)
		return true;
	char q[4096];
	snprintf(q, sizeof q, "%s%s", path, query ? "?q=1" : "");
	static size_t hint; /* consecutive requests usually match the same rule */
	for (size_t i = 0; i < s->n; i++) {
		const struct port_rule *pr = s->v[i];
		if (pr->http.presence != P_PRESENT || !pr->http.n)
			return true; /* an L7 rule of another kind, or an empty list: not HTTP-filtered */
		for (size_t j = 0; j < pr->http.n; j++) {
			size_t k = (hint + j) % pr->http.n;
			const struct http_rule *h = &pr->http.v[k];
			if ((!h->method || re_full(h->method, method)) && (!h->path || re_full(h->path, q))) {
				hint = k;
				return true;
			}
		}
	}
	return false;
}

static bool dns_allowed(const struct l7set *s, const char *name)
{
	if (s->any)
		return true;
	for (size_t i = 0; i < s->n; i++) {
		const struct port_rule *pr = s->v[i];
		if (pr->dns.presence != P_PRESENT)
			return true;
		for (size_t k = 0; k < pr->dns.n; k++) {
			const struct fqdn *f = &pr->dns.v[k];
			if (f->match_name && !strcasecmp(f->match_name, name))
				return true;
			if (f->match_name) {
				size_t n = strlen(f->match_name);
				if (n && f->match_name[n - 1] == '.' && strlen(name) == n - 1 &&
				    !strncasecmp(f->match_name, name, n - 1))
					return true;
			}
			if (f->match_pattern && dns_pattern_matches(f->match_pattern, name))
				return true;
		}
	}
	return false;
}

static bool learned_request(const struct http_req *q)
{
	return q->flags & (REQ_STATUS_1XX | REQ_STATUS_2XX | REQ_STATUS_3XX | REQ_STATUS_5XX);
}

static void check_l7(struct session *ss, const struct oflow *of, const struct trace_result *tr,
		     struct selfcheck *r)
{
	const struct edge *e = of->edge;
	struct l7set eg, in;
	l7_of_half(ss, &tr->egress, of->proto, of->port, &eg);
	l7_of_half(ss, &tr->ingress, of->proto, of->port, &in);
	for (uint32_t i = 0; i < e->http.cap; i++) {
		const struct http_req *q = &e->http.v[i];
		if (!q->path || !learned_request(q))
			continue;
		r->requests++;
		char *path = path_concrete(q->path);
		bool query = q->flags & REQ_QUERY;
		bool ok = http_allowed(&eg, q->method, path, query) && http_allowed(&in, q->method, path, query);
		if (ok)
			r->requests_admitted++;
		else
			failure(r, "%s -> %s %u: request %s %s (seen %llu times) is not admitted by the HTTP "
				   "rules",
				of->src, of->dst, of->port, q->method, path, (unsigned long long)q->n);
		free(path);
	}
	for (uint32_t i = 0; i < e->dns.cap; i++) {
		const char *name = e->dns.v[i].s;
		if (!name)
			continue;
		r->dns_names++;
		if (dns_allowed(&eg, name) && dns_allowed(&in, name))
			r->dns_admitted++;
		else
			failure(r, "%s -> %s %u: DNS lookup of %s is not admitted by the DNS rules", of->src,
				of->dst, of->port, name);
	}
}

/* ---------------------------------------------------------------- over-permission */

struct tuple {
	UT_hash_handle hh;
	char key[160]; /* endpoint|dir|identity|proto|port */
};

static void tuple_add(struct tuple **set, const char *ep, int dir, uint32_t id, uint8_t proto,
		      uint16_t port)
{
	struct tuple *t = xcalloc(1, sizeof(*t)), *hit;
	snprintf(t->key, sizeof t->key, "%s|%d|%u|%u|%u", ep, dir, id, proto, port);
	HASH_FIND_STR(*set, t->key, hit);
	if (hit) {
		free(t);
		return;
	}
	HASH_ADD_STR(*set, key, t);
}

static bool tuple_has(struct tuple *set, const char *ep, int dir, uint32_t id, uint8_t proto,
		      uint16_t port)
{
	char key[160];
	struct tuple *hit;
	snprintf(key, sizeof key, "%s|%d|%u|%u|%u", ep, dir, id, proto, port);
	HASH_FIND_STR(set, key, hit);
	return hit != NULL;
}

static void tuples_free(struct tuple **set)
{
	struct tuple *t, *tmp;
	HASH_ITER(hh, *set, t, tmp)
	{
		HASH_DEL(*set, t);
		free(t);
	}
}

static bool generated_workload(const struct synth *s, const struct endpoint *ep)
{
	for (size_t i = 0; i < s->npol; i++)
		if ((ep->workload && !strcmp(ep->workload, s->pol[i].workload)) ||
		    !strcmp(ep->name, s->pol[i].workload))
			return true;
	return false;
}

static const char *identity_text(const struct identity *id, char *buf, size_t size)
{
	if (id->is_cidr) {
		format_prefix(&id->cidr, buf, size);
		return buf;
	}
	if (id->id < ID_FIRST_GLOBAL && id->labels.n) {
		snprintf(buf, size, "%s", id->labels.v[0].key);
		return buf;
	}
	const char *ns = label_get(&id->labels, "k8s", "io.kubernetes.pod.namespace");
	const char *app = label_get(&id->labels, "k8s", "app.kubernetes.io/name");
	if (!app)
		app = label_get(&id->labels, "k8s", "app");
	snprintf(buf, size, "identity %u (%s/%s)", id->id, ns ? ns : "?", app ? app : "?");
	return buf;
}

static void over_permission(struct session *ss, struct synth *s, struct tuple *observed,
			    struct selfcheck *r)
{
	const struct cluster *c = ss->cluster;
	size_t listed = 0;
	for (size_t i = 0; i < c->neps; i++) {
		const struct endpoint *ep = &c->eps[i];
		if (!ep->pod || ep->pod->from_template || !generated_workload(s, ep))
			continue;
		for (int dir = 0; dir < 2; dir++) {
			struct mapstate ms;
			resolve_endpoint(c, &ss->flat, ep, (enum direction)dir, &ms);
			if (!ms.enforced) {
				mapstate_free(&ms);
				continue;
			}
			for (size_t k = 0; k < ms.n; k++) {
				const struct ms_entry *e = &ms.v[k];
				if (e->deny || !e->cookie)
					continue; /* denies, and Cilium's own implicit allows */
				if (e->identity == ID_ANY || e->proto == 0 || (e->lo == 0 && e->hi == 65535)) {
					r->any_port_rules++;
					continue;
				}
				for (uint32_t port = e->lo; port <= e->hi; port++) {
					r->admitted_pairs++;
					if (tuple_has(observed, ep->name, dir, e->identity, e->proto,
						      (uint16_t)port)) {
						r->observed_pairs++;
						continue;
					}
					r->unobserved_pairs++;
					if (listed++ < 20) {
						char buf[128], pb[32];
						const struct identity *id = identity_by_id(c, e->identity);
						format_port(e->proto, (uint16_t)port, pb, sizeof pb);
						overline(r, "%s %s %s %s: admitted, never observed", ep->name,
							 dir == DIR_INGRESS ? "from" : "to",
							 id ? identity_text(id, buf, sizeof buf) : "?", pb);
					}
				}
			}
			mapstate_free(&ms);
		}
	}
	/* CIDR width, regex paths, peer pods */
	for (size_t i = 0; i < s->npol; i++) {
		const struct spolicy *p = &s->pol[i];
		for (int d = 0; d < 2; d++) {
			const struct selem *v = d ? p->egress : p->ingress;
			size_t n = d ? p->negress : p->ningress;
			for (size_t k = 0; k < n; k++) {
				for (size_t q = 0; q < v[k].npeers; q++) {
					const struct speer *pe = &v[k].peers[q];
					if (pe->kind == SP_CIDR) {
						struct prefix pf;
						if (parse_prefix(pe->text, &pf, false) == 0) {
							int host = (pf.family == 4 ? 32 : 128) - pf.len;
							r->cidr_addrs += host >= 63 ? (1ull << 63) : (1ull << host);
						}
					}
				}
				for (size_t q = 0; q < v[k].nports; q++)
					for (size_t h = 0; h < v[k].ports[q].nhttp; h++)
						if (v[k].ports[q].http[h].generalised) {
							r->regex_rules++;
							r->regex_paths += v[k].ports[q].http[h].distinct;
						}
			}
		}
	}
	/* addresses the CIDR rules were learned from */
	struct tuple *ips = NULL;
	for (size_t i = 0; i < s->nflows; i++) {
		const struct oflow *of = &s->flows[i];
		struct ip ip;
		for (int side = 0; side < 2; side++) {
			const char *t = side ? of->dst : of->src;
			if (ip_parse(t, &ip) == 0)
				tuple_add(&ips, t, 0, 0, 0, 0);
		}
	}
	r->cidr_observed = HASH_COUNT(ips);
	tuples_free(&ips);
}

/* ---------------------------------------------------------------- the test file */

static char *rel_path(const char *from_dir, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (!realpath(from_dir, a) || !realpath(to, b))
		return xstrdup(to);
	/* common prefix at a slash */
	size_t i = 0, last = 0;
	while (a[i] && a[i] == b[i]) {
		if (a[i] == '/')
			last = i;
		i++;
	}
	if (!a[i] && (b[i] == '/' || !b[i]))
		last = i;
	struct strbuf sb = {0};
	for (const char *p = a + last; *p; p++)
		if (*p == '/')
			sb_puts(&sb, "../");
	const char *rest = b + last + (b[last] == '/' ? 1 : 0);
	sb_puts(&sb, *rest ? rest : ".");
	return sb.s;
}

struct expect {
	const char *from, *to, *why;
	char port[32];
	bool allow;
};

static int cmp_expect(const void *a, const void *b)
{
	const struct expect *x = a, *y = b;
	int c = strcmp(x->from, y->from);
	if (!c)
		c = strcmp(x->to, y->to);
	return c ? c : strcmp(x->port, y->port);
}

static bool quote_needed(const char *s)
{
	return strpbrk(s, ":#{}[],&*?|<>=!%@`'\"") != NULL || !*s;
}

static void yaml_str(FILE *f, const char *s)
{
	if (!quote_needed(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static bool decided(const struct session *ss, const char *from, const char *to, const char *port,
		    enum verdict *v)
{
	struct trace_result tr;
	char err[256];
	if (trace_flow(ss, from, to, port, &tr, err, sizeof err) < 0)
		return false;
	*v = tr.verdict;
	return true;
}

static const struct pod *first_pod(const struct inventory *inv, const char *wl)
{
	for (size_t i = 0; i < inv->npods; i++) {
		const struct pod *p = &inv->pods[i];
		if (p->from_template || p->host_network || !p->nips)
			continue;
		if (p->workload && !strcmp(p->workload, wl))
			return p;
	}
	return NULL;
}

static int write_tests(struct session *ss, struct synth *s, const char *out_dir,
		       const char *existing, const char *path, struct selfcheck *r)
{
	struct arena *a = &s->arena;
	struct expect *ex = NULL;
	size_t nex = 0, cap = 0;
#define PUSH(...)                                                                          \
	do {                                                                               \
		if (nex == cap) {                                                          \
			cap = cap ? cap * 2 : 64;                                          \
			ex = xrealloc(ex, cap * sizeof(*ex));                              \
		}                                                                          \
		ex[nex++] = (struct expect)__VA_ARGS__;                                    \
	} while (0)
	size_t fqdn_skipped = 0;
	/* must-allow: every observed flow (deduplicated) */
	for (size_t i = 0; i < s->nflows; i++) {
		const struct oflow *of = &s->flows[i];
		char port[32];
		format_port(of->proto, of->port, port, sizeof port);
		if (of->fqdn && !s->L->o->l4_only) {
			fqdn_skipped++; /* toFQDNs selects nothing offline (docs/semantics.md) */
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < nex && !dup; k++)
			dup = !strcmp(ex[k].from, of->src) && !strcmp(ex[k].to, of->dst) &&
			      !strcmp(ex[k].port, port);
		if (dup)
			continue;
		struct expect e = {of->src, of->dst, "observed", "", true};
		memcpy(e.port, port, sizeof port);
		PUSH(e);
	}
	size_t nallow = nex;
	/* must-deny, rogue kinds: (1) a learned client to a learned server it never called, on a
	 * port that server serves; (2) an observed pair on a port never used between them; (3) a
	 * world address nobody resolved, on a port the client used to reach the world */
	static const uint16_t scan[] = {22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9090};
	const struct inventory *inv = ss->inv;
	size_t budget = 60;
	for (size_t i = 0; i < s->npol && budget; i++)
		for (size_t j = 0; j < s->npol && budget; j++) {
			if (i == j)
				continue;
			const struct spolicy *cl = &s->pol[i], *sv = &s->pol[j];
			const struct pod *cp = first_pod(inv, cl->workload), *sp = first_pod(inv, sv->workload);
			if (!cp || !sp)
				continue;
			/* ports the server serves (its ingress rules) */
			for (size_t k = 0; k < sv->ningress && budget; k++)
				for (size_t q = 0; q < sv->ingress[k].nports && budget; q++) {
					char port[32];
					format_port(sv->ingress[k].ports[q].proto, sv->ingress[k].ports[q].port,
						    port, sizeof port);
					const char *from = arena_printf(a, "%s/%s", cp->namespace, cp->name);
					const char *to = arena_printf(a, "%s/%s", sp->namespace, sp->name);
					bool seen = false;
					for (size_t f = 0; f < nallow && !seen; f++)
						seen = !strcmp(ex[f].port, port) &&
						       !strcmp(ex[f].from, from) && !strcmp(ex[f].to, to);
					for (size_t f = nallow; f < nex && !seen; f++)
						seen = !strcmp(ex[f].from, from) && !strcmp(ex[f].to, to) &&
						       !strcmp(ex[f].port, port);
					enum verdict v;
					if (seen || !decided(ss, from, to, port, &v) || v != VERDICT_DENY)
						continue;
					struct expect e = {from, to, "rogue: a peer it never talked to", "", false};
					memcpy(e.port, port, sizeof port);
					PUSH(e);
					budget--;
				}
		}
	budget = 40;
	for (size_t i = 0; i < nallow && budget; i++) {
		for (size_t k = 0; k < sizeof(scan) / sizeof(*scan) && budget; k++) {
			char port[32];
			snprintf(port, sizeof port, "%u/TCP", scan[k]);
			bool seen = false;
			for (size_t f = 0; f < nex && !seen; f++)
				seen = !strcmp(ex[f].from, ex[i].from) && !strcmp(ex[f].to, ex[i].to) &&
				       !strcmp(ex[f].port, port);
			enum verdict v;
			if (seen || !decided(ss, ex[i].from, ex[i].to, port, &v) || v != VERDICT_DENY)
				continue;
			struct expect e = {ex[i].from, ex[i].to, "rogue: a port never used between them", "",
					   false};
			memcpy(e.port, port, sizeof port);
			PUSH(e);
			budget--;
			break; /* one per observed pair */
		}
	}
	budget = 10;
	for (size_t i = 0; i < s->nflows && budget; i++) {
		const struct oflow *of = &s->flows[i];
		struct ip ip;
		struct addr_info ai;
		if (ip_parse(of->dst, &ip) < 0 || !of->src_ep)
			continue;
		attr_lookup(s->attr, &ip, &ai);
		if (ai.cls != PC_WORLD)
			continue;
		const char *rogue = ip_is_v4(&ip) ? "203.0.113.66" : "2001:db8::66";
		char port[32];
		format_port(of->proto, of->port, port, sizeof port);
		bool seen = false;
		for (size_t f = nallow; f < nex && !seen; f++)
			seen = !strcmp(ex[f].from, of->src) && !strcmp(ex[f].to, rogue) &&
			       !strcmp(ex[f].port, port);
		enum verdict v;
		if (seen || !decided(ss, of->src, rogue, port, &v) || v != VERDICT_DENY)
			continue;
		struct expect e = {of->src, rogue, "rogue: a world address no DNS answer gave", "", false};
		memcpy(e.port, port, sizeof port);
		PUSH(e);
		budget--;
	}
	r->tests_allow = nallow;
	r->tests_deny = nex - nallow;
	sort_items(ex, nallow, sizeof(*ex), cmp_expect);
	sort_items(ex + nallow, nex - nallow, sizeof(*ex), cmp_expect);
	/* write it */
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	/* written aside and renamed: a full disk must not leave half a test file */
	char *tmp = xmalloc(strlen(path) + 8);
	sprintf(tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "polc learn: cannot write %s: %s\n", path, strerror(errno));
		free(tmp);
		free(dir);
		free(ex);
		return -1;
	}
	fprintf(f, "# Generated by polc learn: the observed flows must stay allowed; the rogue ones\n"
		   "# (never observed) must be denied. Run it with: polc test %s\n",
		path);
	if (fqdn_skipped)
		fprintf(f, "# %zu flow%s to world names (toFQDNs) are not listed: offline, toFQDNs selects\n"
			   "# nothing until a DNS proxy has seen the answers (learn with --l4-only to test them).\n",
			fqdn_skipped, fqdn_skipped == 1 ? "" : "s");
	fputs("description: flows observed by polc learn (allow) and rogue flows it never saw (deny)\n",
	      f);
	fputs("inventory:\n", f);
	for (size_t i = 0; i < s->L->o->inventory.n; i++) {
		char *rp = rel_path(dir, s->L->o->inventory.v[i]);
		fputs("- ", f);
		yaml_str(f, rp);
		fputc('\n', f);
		free(rp);
	}
	fputs("policies:\n", f);
	char *rp = rel_path(dir, out_dir);
	fputs("- ", f);
	yaml_str(f, rp);
	fputc('\n', f);
	free(rp);
	if (existing) {
		rp = rel_path(dir, existing);
		fputs("- ", f);
		yaml_str(f, rp);
		fputc('\n', f);
		free(rp);
	}
	fputs("expect:\n", f);
	for (size_t i = 0; i < nex; i++) {
		fputs("- {from: ", f);
		yaml_str(f, ex[i].from);
		fputs(", to: ", f);
		yaml_str(f, ex[i].to);
		fprintf(f, ", port: %s, verdict: %s, description: ", ex[i].port,
			ex[i].allow ? "allow" : "deny");
		yaml_str(f, ex[i].why);
		fputs("}\n", f);
	}
	int rc = 0;
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0 || (rc == 0 && rename(tmp, path) != 0))
		rc = -1;
	if (rc < 0) {
		fprintf(stderr, "polc learn: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(dir);
	free(ex);
	return rc;
#undef PUSH
}

/* ---------------------------------------------------------------- the check */

int selfcheck_run(struct synth *s, const char *out_dir, const char *existing,
		  const char *test_file, struct selfcheck *r)
{
	memset(r, 0, sizeof(*r));
	r->test_rc = -1;
	struct session ss;
	session_init(&ss);
	if (load(&ss, s, existing) < 0) {
		diag_sort(&ss.diag);
		diag_render(&ss.diag, FORMAT_TEXT, stderr, 0);
		failure(r, "the generated policies could not be loaded for the self-check");
		session_free(&ss);
		return -1;
	}
	r->ran = true;
	struct tuple *observed = NULL;
	for (size_t i = 0; i < s->nflows; i++) {
		const struct oflow *of = &s->flows[i];
		char port[32], err[256];
		format_port(of->proto, of->port, port, sizeof port);
		struct trace_result tr;
		r->flows++;
		if (trace_flow(&ss, of->src, of->dst, port, &tr, err, sizeof err) < 0) {
			failure(r, "%s -> %s %s: cannot be replayed: %s", of->src, of->dst, port, err);
			continue;
		}
		if (tr.egress.present)
			tuple_add(&observed, tr.egress.local->name, DIR_EGRESS, tr.egress.remote->id,
				  of->proto, of->port);
		if (tr.ingress.present)
			tuple_add(&observed, tr.ingress.local->name, DIR_INGRESS, tr.ingress.remote->id,
				  of->proto, of->port);
		if (tr.verdict != VERDICT_ALLOW) {
			const struct half *h = tr.egress.present && tr.egress.fast.verdict == VERDICT_DENY
						       ? &tr.egress
						       : &tr.ingress;
			failure(r, "%s -> %s %s: denied at %s of %s (%s)%s%s", of->src, of->dst, port,
				h->dir == DIR_EGRESS ? "egress" : "ingress", h->local->name,
				reason_name(h->fast.reason), of->via_service ? " via service " : "",
				of->via_service ? of->via_service : "");
			continue;
		}
		r->admitted++;
		check_l7(&ss, of, &tr, r);
	}
	recache_free();
	over_permission(&ss, s, observed, r);
	tuples_free(&observed);
	if (test_file)
		r->test_rc = write_tests(&ss, s, out_dir, existing, test_file, r);
	session_free(&ss);
	return 0;
}

void selfcheck_free(struct selfcheck *r)
{
	for (size_t i = 0; i < r->failures.n; i++)
		free(r->failures.v[i]);
	ptrvec_free(&r->failures);
	for (size_t i = 0; i < r->over.n; i++)
		free(r->over.v[i]);
	ptrvec_free(&r->over);
}
