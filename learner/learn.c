/* polc learn: the verb. Reads captures (pcap, pcapng, live interfaces) and flow records
 * (Hubble JSON, polc observe --json), learns, writes one CiliumNetworkPolicy per workload,
 * checks them, and reports.
 */
#include "learn.h"
#include "trace.h"
#include "imagefile.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

/* ---------------------------------------------------------------- options */

void learn_opts_defaults(struct learn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->progress = -1;
	o->min_support = 3;
	o->cidr4_prefix = 32;
	o->cidr6_prefix = 128;
	o->cidr_min_addrs = 4;
	o->max_conns = 262144;
	o->max_edges = 1000000;
	o->max_l7_memory = 64u << 20;
	o->tcp_idle_ns = 120ull * 1000000000ull;
	o->udp_idle_ns = 30ull * 1000000000ull;
	o->closed_linger_ns = 250ull * 1000000ull;
	o->dns_grace_ns = 5ull * 1000000000ull;
	o->snaplen = 262144;
}

void learner_init(struct learner *L, struct learn_opts *o)
{
	memset(L, 0, sizeof(*L));
	L->o = o;
	L->ct = conntab_new(o->max_conns);
	L->ft = fragtab_new();
}

void learner_free(struct learner *L)
{
	conntab_free(L, L->ct);
	fragtab_free(L->ft);
	for (uint32_t i = 0; i < L->nedges; i++) {
		struct edge *e = &L->edges[i];
		reqtab_free(&e->http);
		strtab_free(&e->dns);
		strtab_free(&e->sni);
		strtab_free(&e->fqdn);
	}
	free(L->edges);
	free(L->ebuckets);
	free(L->answers);
	free(L->abuckets);
	free(L->listeners);
	intern_free(L);
	arena_free(&L->arena);
}

/* ---------------------------------------------------------------- a small JSON reader */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
	enum jt t;
	double num;
	bool b;
	char *s;
	char **k;
	struct jv **v;
	size_t n;
};

struct jp {
	const char *p, *end;
	struct arena *a;
	int depth;
};

static void jws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static void utf8(struct strbuf *sb, unsigned cp)
{
	char b[4];
	if (cp < 0x80) {
		b[0] = (char)cp;
		sb_add(sb, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		sb_add(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		sb_add(sb, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		sb_add(sb, b, 4);
	}
}

static char *jstring(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return NULL;
	j->p++;
	struct strbuf sb = {0};
	sb_puts(&sb, "");
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if (c != '\\') {
			sb_add(&sb, &c, 1);
			continue;
		}
		if (j->p >= j->end)
			break;
		c = *j->p++;
		switch (c) {
		case 'n':
			sb_add(&sb, "\n", 1);
			break;
		case 't':
			sb_add(&sb, "\t", 1);
			break;
		case 'r':
			sb_add(&sb, "\r", 1);
			break;
		case 'b':
			sb_add(&sb, "\b", 1);
			break;
		case 'f':
			sb_add(&sb, "\f", 1);
			break;
		case 'u': {
			unsigned cp = 0;
			for (int i = 0; i < 4 && j->p < j->end; i++, j->p++) {
				char h = *j->p;
				cp = cp * 16 + (unsigned)(h >= '0' && h <= '9'   ? h - '0'
							  : h >= 'a' && h <= 'f' ? h - 'a' + 10
							  : h >= 'A' && h <= 'F' ? h - 'A' + 10
										 : 0);
			}
			utf8(&sb, cp);
			break;
		}
		default:
			sb_add(&sb, &c, 1);
		}
	}
	if (j->p >= j->end) {
		sb_free(&sb);
		return NULL;
	}
	j->p++;
	char *r = arena_strndup(j->a, sb.s, sb.len);
	sb_free(&sb);
	return r;
}

static struct jv *jvalue(struct jp *j)
{
	jws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return NULL;
	struct jv *v = arena_alloc(j->a, sizeof(*v));
	memset(v, 0, sizeof(*v));
	char c = *j->p;
	if (c == '{' || c == '[') {
		bool obj = c == '{';
		v->t = obj ? J_OBJ : J_ARR;
		j->p++;
		size_t cap = 0;
		jws(j);
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
			j->p++;
			j->depth--;
			return v;
		}
		for (;;) {
			char *key = NULL;
			if (obj) {
				jws(j);
				key = jstring(j);
				jws(j);
				if (!key || j->p >= j->end || *j->p != ':')
					return NULL;
				j->p++;
			}
			struct jv *x = jvalue(j);
			if (!x)
				return NULL;
			if (v->n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct jv **nv = arena_alloc(j->a, ncap * sizeof(*nv));
				char **nk = arena_alloc(j->a, ncap * sizeof(*nk));
				if (v->n) {
					memcpy(nv, v->v, v->n * sizeof(*nv));
					memcpy(nk, v->k, v->n * sizeof(*nk));
				}
				v->v = nv;
				v->k = nk;
				cap = ncap;
			}
			v->k[v->n] = key;
			v->v[v->n++] = x;
			jws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
				j->p++;
				break;
			}
			return NULL;
		}
	} else if (c == '"') {
		v->t = J_STR;
		v->s = jstring(j);
		if (!v->s)
			return NULL;
	} else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
		v->t = J_BOOL;
		v->b = *j->p == 't';
		j->p += v->b ? 4 : 5;
	} else if (!strncmp(j->p, "null", 4)) {
		j->p += 4;
	} else {
		char *e;
		v->t = J_NUM;
		v->num = strtod(j->p, &e);
		if (e == j->p)
			return NULL;
		j->p = e;
	}
	j->depth--;
	return v;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	for (size_t i = 0; o && o->t == J_OBJ && i < o->n; i++)
		if (!strcmp(o->k[i], key))
			return o->v[i];
	return NULL;
}

static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);
	return v && v->t == J_STR ? v->s : NULL;
}

static double jnum(const struct jv *o, const char *key, double dflt)
{
	const struct jv *v = jget(o, key);
	return v && v->t == J_NUM ? v->num : dflt;
}

/* A whole number in [0, max], or dflt: a record's 1e400, -1 or 70000 is no port, and casting
 * such a double to an integer type is undefined behaviour. */
static uint64_t juint(const struct jv *o, const char *key, double max, uint64_t dflt)
{
	const struct jv *v = jget(o, key);
	if (!v || v->t != J_NUM || !(v->num >= 0 && v->num <= max)) /* NaN fails too */
		return dflt;
	if (v->num != (double)(uint64_t)v->num)
		return dflt;
	return (uint64_t)v->num;
}

static bool jbool(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);
	return v && v->t == J_BOOL && v->b;
}

/* ---------------------------------------------------------------- flow records */

bool file_is_json_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	int c;
	while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
		;
	fclose(f);
	return c == '{';
}

/* RFC 3339 with up to nanoseconds, UTC ("Z") or an offset. */
static uint64_t parse_time(const char *s)
{
	if (!s)
		return 0;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	uint64_t ns = 0;
	if (*p == '.') {
		uint64_t scale = 100000000;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			ns += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
	}
	time_t t = timegm(&tm);
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%d:%d", &hh, &mm) >= 1)
			t -= (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
	}
	return (uint64_t)t * 1000000000ull + ns;
}

static const char *url_path(struct arena *a, const char *url)
{
	const char *p = url;
	const char *scheme = strstr(url, "://");
	if (scheme) {
		p = strchr(scheme + 3, '/');
		if (!p)
			return "/";
	}
	return arena_strdup(a, p);
}

static void trim_dot(char *s)
{
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '.')
		s[n - 1] = 0;
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* One Hubble flow (GetFlowsResponse, or a bare Flow). */
static bool hubble_flow(struct learner *L, const struct jv *root, struct arena *a)
{
	const struct jv *f = jget(root, "flow");
	if (!f)
		f = root;
	const struct jv *ip = jget(f, "IP");
	const char *src = jstr(ip, "source"), *dst = jstr(ip, "destination");
	if (!src || !dst)
		return false;
	struct flow_record r;
	memset(&r, 0, sizeof(r));
	if (ip_parse(src, &r.client) < 0 || ip_parse(dst, &r.server) < 0)
		return false;
	const char *verdict = jstr(f, "verdict");
	r.ok = !verdict || !strcmp(verdict, "FORWARDED") || !strcmp(verdict, "AUDIT") ||
	       !strcmp(verdict, "REDIRECTED") || !strcmp(verdict, "TRACED");
	r.ts = parse_time(jstr(f, "time"));
	if (!r.ts)
		r.ts = parse_time(jstr(root, "time"));
	const struct jv *l4 = jget(f, "l4"), *x;
	uint16_t sport = 0, dport = 0;
	if ((x = jget(l4, "TCP"))) {
		r.proto = 6;
		sport = (uint16_t)juint(x, "source_port", 65535, 0);
		dport = (uint16_t)juint(x, "destination_port", 65535, 0);
		const struct jv *fl = jget(x, "flags");
		if (jbool(fl, "SYN") && jbool(fl, "ACK")) /* the answer to a SYN: its sender serves */
			return true;
		if (jbool(fl, "RST") && !r.ok)
			return true;
	} else if ((x = jget(l4, "UDP"))) {
		r.proto = 17;
		sport = (uint16_t)juint(x, "source_port", 65535, 0);
		dport = (uint16_t)juint(x, "destination_port", 65535, 0);
	} else if ((x = jget(l4, "SCTP"))) {
		r.proto = 132;
		sport = (uint16_t)juint(x, "source_port", 65535, 0);
		dport = (uint16_t)juint(x, "destination_port", 65535, 0);
	} else if ((x = jget(l4, "ICMPv4"))) {
		r.proto = 1;
		if (jnum(x, "type", 8) != 8)
			return true;
		dport = 8;
	} else if ((x = jget(l4, "ICMPv6"))) {
		r.proto = 58;
		if (jnum(x, "type", 128) != 128)
			return true;
		dport = 128;
	} else {
		return false;
	}
	const struct jv *l7 = jget(f, "l7");
	const char *l7type = jstr(l7, "type");
	bool response = l7type && !strcmp(l7type, "RESPONSE");
	bool reply = jbool(f, "is_reply");
	if (response || (reply && !l7)) {
		if (!l7)
			return true; /* the reply direction of a flow already counted */
		/* an L7 response travels server to client */
		struct ip t = r.client;
		r.client = r.server;
		r.server = t;
		uint16_t tp = sport;
		sport = dport;
		dport = tp;
	}
	(void)sport;
	r.port = dport;
	const struct jv *http = jget(l7, "http");
	if (http && response) {
		r.http_method = jstr(http, "method");
		const char *url = jstr(http, "url");
		r.http_path = url ? url_path(a, url) : NULL;
		r.http_status = (int)juint(http, "code", 999, 0);
	} else if (http) {
		return true; /* a request: its response record says whether it worked */
	}
	const struct jv *dns = jget(l7, "dns");
	if (dns && response) {
		const char *q = jstr(dns, "query");
		if (q) {
			char *name = arena_strdup(a, q);
			trim_dot(name);
			r.dns_query = name;
		}
		r.dns_rcode = (int)juint(dns, "rcode", 65535, 0);
		r.dns_ttl = (uint32_t)juint(dns, "ttl", 4294967295.0, 0);
		const struct jv *ips = jget(dns, "ips");
		for (size_t i = 0; ips && ips->t == J_ARR && i < ips->n && r.ndns_ips < 16; i++)
			if (ips->v[i]->t == J_STR && ip_parse(ips->v[i]->s, &r.dns_ips[r.ndns_ips]) == 0)
				r.ndns_ips++;
	} else if (dns) {
		return true;
	}
	const struct jv *names = jget(f, "destination_names");
	if (names && names->t == J_ARR && names->n && names->v[0]->t == J_STR) {
		char *n = arena_strdup(a, names->v[0]->s);
		trim_dot(n);
		r.fqdn = n;
	}
	flows_record(L, &r);
	return true;
}

/* One `polc observe --json` event. */
static bool observe_event(struct learner *L, const struct jv *o)
{
	const char *src = jstr(o, "source_ip"), *dst = jstr(o, "destination_ip");
	const char *verdict = jstr(o, "verdict");
	if (!src || !dst || !verdict)
		return false;
	struct flow_record r;
	memset(&r, 0, sizeof(r));
	if (ip_parse(src, &r.client) < 0 || ip_parse(dst, &r.server) < 0)
		return false;
	r.ok = !strcmp(verdict, "FORWARDED") || !strcmp(verdict, "AUDIT");
	r.proto = (uint8_t)juint(o, "protocol", 255, 0);
	r.port = (uint16_t)juint(o, "destination_port", 65535, 0);
	if (r.proto == 1)
		r.port = 8;
	else if (r.proto == 58)
		r.port = 128;
	r.ts = juint(o, "time_ns", 1.8e19, 0);
	if (!r.proto)
		return false;
	flows_record(L, &r);
	return true;
}

int records_read(struct learner *L, const char *path, char *err, size_t errsize)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0, bad = 0, blank = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		struct arena a = {0};
		struct jp j = {line, line + n, &a, 0};
		jws(&j);
		if (j.p == j.end) {
			arena_free(&a);
			blank++;
			continue;
		}
		struct jv *v = jvalue(&j);
		bool ok = false;
		if (v && v->t == J_OBJ)
			ok = jget(v, "source_ip") ? observe_event(L, v) : hubble_flow(L, v, &a);
		if (!ok) {
			L->st.records_skipped++;
			if (bad++ < 3)
				fprintf(stderr, "polc learn: %s:%ld: not a flow record; skipped\n", path,
					lineno);
		}
		arena_free(&a);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (bad && bad == lineno - blank) {
		snprintf(err, errsize, "%s: no line is a flow record (hubble observe -o json, or polc "
				       "observe --json)",
			 path);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- progress */

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct progress {
	bool on;
	uint64_t last_ns;
	struct learner *L;
	bool live;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	if (!p->on)
		return;
	uint64_t t = now_ns();
	if (t - p->last_ns < 100000000ull && done != total)
		return;
	p->last_ns = t;
	char bar[31];
	int fill = total ? (int)(30.0 * (double)done / (double)total) : 0;
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : (total ? '.' : ' ');
	bar[30] = 0;
	if (total)
		fprintf(stderr, "\r[%s] %3d%%  %llu packets  %u edges  %zu open ", bar,
			(int)(100.0 * (double)done / (double)total), (unsigned long long)p->L->st.packets,
			p->L->nedges, flows_open(p->L));
	else
		fprintf(stderr, "\rcapturing: %llu packets  %u edges  %zu open (Ctrl-C to finish) ",
			(unsigned long long)p->L->st.packets, p->L->nedges, flows_open(p->L));
	fflush(stderr);
}

/* ---------------------------------------------------------------- the report */

static int cmp_line(const void *a, const void *b);

struct polstats {
	size_t in_rules, out_rules, peers, ports, http, dns;
};

static void pol_stats(const struct spolicy *p, struct polstats *s)
{
	memset(s, 0, sizeof(*s));
	s->in_rules = p->ningress;
	s->out_rules = p->negress;
	for (int d = 0; d < 2; d++) {
		const struct selem *v = d ? p->egress : p->ingress;
		size_t n = d ? p->negress : p->ningress;
		for (size_t i = 0; i < n; i++) {
			s->peers += v[i].npeers;
			s->ports += v[i].nports + v[i].nicmp;
			for (size_t k = 0; k < v[i].nports; k++) {
				s->http += v[i].ports[k].nhttp;
				s->dns += v[i].ports[k].ndns;
			}
		}
	}
}

static void party_text(const struct attr *a, const struct ip *ip, char *buf, size_t size)
{
	struct addr_info ai;
	attr_lookup(a, ip, &ai);
	char addr[64];
	ip_format(ip, addr, sizeof addr);
	switch (ai.cls) {
	case PC_POD:
		snprintf(buf, size, "%s/%s", ai.pod->namespace, ai.pod->name);
		break;
	case PC_NODE:
		snprintf(buf, size, "node %s (%s)", ai.node->name, addr);
		break;
	case PC_SERVICE:
		snprintf(buf, size, "service %s/%s (%s)", ai.svc->namespace, ai.svc->name, addr);
		break;
	default:
		snprintf(buf, size, "%s", addr);
	}
}

/* How long the capture went without a new learned flow: a short tail means the policy has
 * probably not seen everything yet. */
static void convergence(const struct synth *s, uint64_t *last_new, uint64_t *window)
{
	*last_new = 0;
	*window = s->L->st.ts_last > s->L->st.ts_first ? s->L->st.ts_last - s->L->st.ts_first : 0;
	for (size_t i = 0; i < s->nflows; i++)
		if (s->flows[i].edge->first > *last_new)
			*last_new = s->flows[i].edge->first;
}

static void report_text(FILE *out, const struct learner *L, const struct synth *s,
			const struct selfcheck *r, const char *out_dir, const char *test_file,
			double secs, const double phase[3])
{
	const struct learn_stats *st = &L->st;
	char a[40], b[40];
	format_time(st->ts_first, a, sizeof a);
	format_time(st->ts_last, b, sizeof b);
	fprintf(out, "polc learn: %llu packets, %llu flow records; %s .. %s\n",
		(unsigned long long)st->packets, (unsigned long long)st->records, a, b);
	fprintf(out, "  decoded %llu IP packets (%llu tunnelled, %llu fragments -> %llu datagrams); "
		     "skipped %llu non-IP, %llu control, %llu truncated, %llu malformed, %llu duplicates\n",
		(unsigned long long)st->ip_packets, (unsigned long long)st->tunnels,
		(unsigned long long)st->fragments, (unsigned long long)st->reassembled,
		(unsigned long long)st->non_ip, (unsigned long long)st->control,
		(unsigned long long)st->truncated, (unsigned long long)st->malformed,
		(unsigned long long)st->duplicates);
	fprintf(out, "  %llu connections (at most %zu open), %u edges; L7: %llu HTTP requests "
		     "(%llu unanswered), %llu DNS answers, %llu TLS hellos, %llu HTTP/2 requests\n",
		(unsigned long long)st->conns, st->peak_conns, L->nedges,
		(unsigned long long)st->http_requests, (unsigned long long)st->http_unanswered,
		(unsigned long long)st->dns_answers, (unsigned long long)st->tls_hellos,
		(unsigned long long)st->h2_requests);
	if (st->conns_evicted || st->edges_dropped || st->l7_budget_hits)
		fprintf(out, "  limits: %llu connections finished early (--max-conns), %llu edges not "
			     "learned (--max-edges), %llu parser buffers refused (--max-l7-memory)\n",
			(unsigned long long)st->conns_evicted, (unsigned long long)st->edges_dropped,
			(unsigned long long)st->l7_budget_hits);
	fprintf(out, "\n%-32s %7s %6s %5s %5s %4s %4s %8s\n", "POLICY", "INGRESS", "EGRESS", "PEERS",
		"PORTS", "HTTP", "DNS", "CONNS");
	for (size_t i = 0; i < s->npol; i++) {
		struct polstats ps;
		pol_stats(&s->pol[i], &ps);
		char name[256];
		snprintf(name, sizeof name, "%s/%s", s->pol[i].ns, s->pol[i].name);
		fprintf(out, "%-32s %7zu %6zu %5zu %5zu %4zu %4zu %8llu\n", name, ps.in_rules,
			ps.out_rules, ps.peers, ps.ports, ps.http, ps.dns,
			(unsigned long long)s->pol[i].prov.conns);
	}
	size_t learned = 0;
	for (size_t i = 0; i < s->nflows; i++)
		learned += s->flows[i].learned;
	fprintf(out, "\nlearned %zu flows into %zu policies (%llu paths generalised); skipped %zu\n",
		learned, s->npol, (unsigned long long)s->generalised_paths, s->nskipped);
	uint64_t last_new, window;
	convergence(s, &last_new, &window);
	if (window && last_new) {
		double quiet = (double)(st->ts_last - last_new) / 1e9, w = (double)window / 1e9;
		fprintf(out, "convergence: no new flow in the last %.1fs of %.1fs (%.0f%%)%s\n", quiet, w,
			100.0 * quiet / w,
			quiet < w / 2 ? ": flows were still appearing; a longer capture may find more" : "");
	}
	if (r && r->ran) {
		fprintf(out, "self-check: %zu of %zu observed flows admitted; %zu of %zu HTTP requests; "
			     "%zu of %zu DNS names\n",
			r->admitted, r->flows, r->requests_admitted, r->requests, r->dns_admitted,
			r->dns_names);
		for (size_t i = 0; i < r->failures.n; i++)
			fprintf(out, "  BUG: %s\n", (const char *)r->failures.v[i]);
		double ratio = r->admitted_pairs ? 100.0 * (double)r->unobserved_pairs /
							   (double)r->admitted_pairs
						 : 0;
		fprintf(out, "over-permission: %llu of %llu admitted (endpoint, peer identity, port) "
			     "pairs never observed (%.1f%%); %llu rules without a port limit; CIDR rules "
			     "admit %llu addresses; %llu regex paths stand for %llu observed paths\n",
			(unsigned long long)r->unobserved_pairs, (unsigned long long)r->admitted_pairs,
			ratio, (unsigned long long)r->any_port_rules, (unsigned long long)r->cidr_addrs,
			(unsigned long long)r->regex_rules, (unsigned long long)r->regex_paths);
		for (size_t i = 0; i < r->over.n; i++)
			fprintf(out, "  %s\n", (const char *)r->over.v[i]);
	} else if (r) {
		fprintf(out, "self-check: not run\n");
	}
	if (s->nskipped) {
		/* one line per kind of flow: the IPv4 and IPv6 copies of a flow, and repeats, fold */
		struct ptrvec lines = {0};
		for (size_t i = 0; i < s->nskipped; i++) {
			const struct edge *e = s->skipped[i].edge;
			char c[160], v[160], port[32], *line = NULL;
			party_text(s->attr, &e->k.client, c, sizeof c);
			party_text(s->attr, &e->k.server, v, sizeof v);
			format_port(e->k.proto, e->k.port, port, sizeof port);
			const char *why = s->skipped[i].reason;
			if (asprintf(&line, "%s -> %s %s: %s", c, v, port, why) >= 0)
				ptrvec_push(&lines, line);
		}
		sort_items(lines.v, lines.n, sizeof(void *), cmp_line);
		size_t kinds = 0;
		for (size_t i = 0; i < lines.n; i++)
			kinds += !i || strcmp(lines.v[i], lines.v[i - 1]);
		fprintf(out, "not learned (%zu flows, %zu kinds):\n", s->nskipped, kinds);
		size_t shown = 0;
		for (size_t i = 0; i < lines.n;) {
			size_t j = i + 1;
			while (j < lines.n && !strcmp(lines.v[j], lines.v[i]))
				j++;
			if (shown++ < 40)
				fprintf(out, "  %s%s\n", (char *)lines.v[i],
					j - i > 1 ? (j - i == 2 ? " (twice)" : " (several times)") : "");
			i = j;
		}
		if (shown > 40)
			fprintf(out, "  ... and %zu more kinds (--json lists every flow)\n", shown - 40);
		for (size_t i = 0; i < lines.n; i++)
			free(lines.v[i]);
		ptrvec_free(&lines);
	}
	for (size_t i = 0; i < s->notes.n; i++)
		fprintf(out, "note: %s\n", (const char *)s->notes.v[i]);
	fprintf(out, "wrote %zu policies to %s%s%s (%.2fs: reading %.2fs, synthesis %.2fs, "
		     "self-check %.2fs)\n",
		s->npol, out_dir, test_file ? ", tests to " : "", test_file ? test_file : "", secs,
		phase[0], phase[1], phase[2]);
}

static void report_json(FILE *out, const struct learner *L, const struct synth *s,
			const struct selfcheck *r, const char *out_dir, const char *test_file,
			double secs, const double phase[3])
{
	const struct learn_stats *st = &L->st;
	struct json j;
	json_begin(&j, out, true);
	json_obj_open(&j, NULL);
	json_str(&j, "output", out_dir);
	json_str(&j, "test_file", test_file);
	json_obj_open(&j, "input");
	json_int(&j, "packets", (long long)st->packets);
	json_int(&j, "bytes", (long long)st->bytes);
	json_int(&j, "records", (long long)st->records);
	json_int(&j, "records_skipped", (long long)st->records_skipped);
	json_int(&j, "ip_packets", (long long)st->ip_packets);
	json_int(&j, "non_ip", (long long)st->non_ip);
	json_int(&j, "control", (long long)st->control);
	json_int(&j, "truncated", (long long)st->truncated);
	json_int(&j, "malformed", (long long)st->malformed);
	json_int(&j, "unsupported_link", (long long)st->bad_link);
	json_int(&j, "tunnelled", (long long)st->tunnels);
	json_int(&j, "fragments", (long long)st->fragments);
	json_int(&j, "reassembled", (long long)st->reassembled);
	json_int(&j, "duplicates", (long long)st->duplicates);
	char a[40];
	format_time(st->ts_first, a, sizeof a);
	json_str(&j, "first", a);
	format_time(st->ts_last, a, sizeof a);
	json_str(&j, "last", a);
	json_obj_close(&j);
	json_obj_open(&j, "flows");
	json_int(&j, "connections", (long long)st->conns);
	json_int(&j, "peak_open", (long long)st->peak_conns);
	json_int(&j, "edges", L->nedges);
	json_int(&j, "evicted_early", (long long)st->conns_evicted);
	json_int(&j, "edges_dropped", (long long)st->edges_dropped);
	json_int(&j, "http_requests", (long long)st->http_requests);
	json_int(&j, "http_unanswered", (long long)st->http_unanswered);
	json_int(&j, "dns_answers", (long long)st->dns_answers);
	json_int(&j, "tls_hellos", (long long)st->tls_hellos);
	json_int(&j, "h2_requests", (long long)st->h2_requests);
	json_int(&j, "learned", (long long)s->nflows);
	json_int(&j, "generalised_paths", (long long)s->generalised_paths);
	uint64_t last_new, window;
	convergence(s, &last_new, &window);
	json_int(&j, "window_ms", (long long)(window / 1000000));
	json_int(&j, "quiet_tail_ms",
		 (long long)(last_new && st->ts_last > last_new ? (st->ts_last - last_new) / 1000000 : 0));
	json_obj_close(&j);
	json_arr_open(&j, "policies");
	for (size_t i = 0; i < s->npol; i++) {
		const struct spolicy *p = &s->pol[i];
		struct polstats ps;
		pol_stats(p, &ps);
		json_obj_open(&j, NULL);
		json_str(&j, "namespace", p->ns);
		json_str(&j, "name", p->name);
		json_str(&j, "workload", p->workload);
		json_str(&j, "selector", p->selector_note);
		json_int(&j, "ingress_rules", (long long)ps.in_rules);
		json_int(&j, "egress_rules", (long long)ps.out_rules);
		json_int(&j, "peers", (long long)ps.peers);
		json_int(&j, "ports", (long long)ps.ports);
		json_int(&j, "http_rules", (long long)ps.http);
		json_int(&j, "dns_names", (long long)ps.dns);
		json_int(&j, "connections", (long long)p->prov.conns);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_arr_open(&j, "skipped");
	for (size_t i = 0; i < s->nskipped; i++) {
		const struct edge *e = s->skipped[i].edge;
		char c[160], v[160], port[32];
		party_text(s->attr, &e->k.client, c, sizeof c);
		party_text(s->attr, &e->k.server, v, sizeof v);
		format_port(e->k.proto, e->k.port, port, sizeof port);
		json_obj_open(&j, NULL);
		json_str(&j, "from", c);
		json_str(&j, "to", v);
		json_str(&j, "port", port);
		json_str(&j, "reason", s->skipped[i].reason);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	if (r && r->ran) {
		json_obj_open(&j, "selfcheck");
		json_int(&j, "flows", (long long)r->flows);
		json_int(&j, "admitted", (long long)r->admitted);
		json_int(&j, "requests", (long long)r->requests);
		json_int(&j, "requests_admitted", (long long)r->requests_admitted);
		json_int(&j, "dns_names", (long long)r->dns_names);
		json_int(&j, "dns_admitted", (long long)r->dns_admitted);
		json_arr_open(&j, "failures");
		for (size_t i = 0; i < r->failures.n; i++)
			json_str(&j, NULL, r->failures.v[i]);
		json_arr_close(&j);
		json_int(&j, "tests_allow", (long long)r->tests_allow);
		json_int(&j, "tests_deny", (long long)r->tests_deny);
		json_obj_close(&j);
		json_obj_open(&j, "over_permission");
		json_int(&j, "admitted_pairs", (long long)r->admitted_pairs);
		json_int(&j, "observed_pairs", (long long)r->observed_pairs);
		json_int(&j, "unobserved_pairs", (long long)r->unobserved_pairs);
		char ratio[32];
		snprintf(ratio, sizeof ratio, "%.4f",
			 r->admitted_pairs ? (double)r->unobserved_pairs / (double)r->admitted_pairs : 0.0);
		json_str(&j, "ratio", ratio);
		json_int(&j, "rules_without_port_limit", (long long)r->any_port_rules);
		json_int(&j, "cidr_addresses", (long long)r->cidr_addrs);
		json_int(&j, "regex_rules", (long long)r->regex_rules);
		json_int(&j, "regex_paths", (long long)r->regex_paths);
		json_arr_open(&j, "examples");
		for (size_t i = 0; i < r->over.n; i++)
			json_str(&j, NULL, r->over.v[i]);
		json_arr_close(&j);
		json_obj_close(&j);
	}
	json_arr_open(&j, "notes");
	for (size_t i = 0; i < s->notes.n; i++)
		json_str(&j, NULL, s->notes.v[i]);
	json_arr_close(&j);
	char secbuf[32];
	snprintf(secbuf, sizeof secbuf, "%.3f", secs);
	json_str(&j, "seconds", secbuf);
	json_obj_open(&j, "phase_seconds");
	static const char *const names[3] = {"reading", "synthesis", "selfcheck"};
	for (int i = 0; i < 3; i++) {
		snprintf(secbuf, sizeof secbuf, "%.3f", phase[i]);
		json_str(&j, names[i], secbuf);
	}
	json_obj_close(&j);
	json_obj_close(&j);
	json_end(&j);
	fputc('\n', out);
}

/* ---------------------------------------------------------------- --dump-edges */

static const char *flag_words(uint32_t l7, char *buf, size_t size)
{
	static const char *const names[] = {"http", "h2", "grpc", "tls", "dns", "opaque",
					    "incomplete", "upgrade", "oddname"};
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (l7 & (1u << i))
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? "," : "", names[i]);
	if (!buf[0])
		snprintf(buf, size, "-");
	return buf;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything the capture taught, one edge per line, sorted: what the golden tests compare. */
static void dump_edges(FILE *out, const struct learner *L)
{
	struct ptrvec lines = {0};
	for (uint32_t i = 0; i < L->nedges; i++) {
		const struct edge *e = &L->edges[i];
		char c[64], v[64], fl[128], port[32];
		ip_format(&e->k.client, c, sizeof c);
		ip_format(&e->k.server, v, sizeof v);
		format_port(e->k.proto, e->k.port, port, sizeof port);
		struct strbuf sb = {0};
		sb_printf(&sb, "%s -> %s %s ok=%llu refused=%llu dropped=%llu unanswered=%llu failed=%llu midstream=%llu l7=%s",
			  c, v, port, (unsigned long long)e->ok, (unsigned long long)e->refused,
			  (unsigned long long)e->dropped,
			  (unsigned long long)e->unanswered, (unsigned long long)e->failed,
			  (unsigned long long)e->midstream, flag_words(e->l7, fl, sizeof fl));
		struct ptrvec items = {0};
		for (uint32_t k = 0; k < e->http.cap; k++) {
			const struct http_req *q = &e->http.v[k];
			if (!q->path)
				continue;
			char *t = NULL;
			if (asprintf(&t, "  http %s %s n=%llu status=%s%s%s%s%s%s%s%s", q->method, q->path,
				     (unsigned long long)q->n, (q->flags & REQ_STATUS_1XX) ? "1" : "",
				     (q->flags & REQ_STATUS_2XX) ? "2" : "", (q->flags & REQ_STATUS_3XX) ? "3" : "",
				     (q->flags & REQ_STATUS_4XX) ? "4" : "", (q->flags & REQ_STATUS_5XX) ? "5" : "",
				     (q->flags & REQ_QUERY) ? " query" : "", (q->flags & REQ_H2) ? " h2" : "",
				     (q->flags & REQ_GRPC) ? " grpc" : "") >= 0)
				ptrvec_push(&items, t);
		}
		const struct strtab *tabs[3] = {&e->dns, &e->sni, &e->fqdn};
		static const char *const tname[3] = {"dns", "sni", "fqdn"};
		for (int t = 0; t < 3; t++)
			for (uint32_t k = 0; k < tabs[t]->cap; k++) {
				const struct counted *x = &tabs[t]->v[k];
				if (!x->s)
					continue;
				char *line = NULL;
				if (t == 0) {
					if (asprintf(&line, "  dns %s n=%llu%s%s%s", x->s, (unsigned long long)x->n,
						     (x->flags & DNS_NOERROR) ? " noerror" : "",
						     (x->flags & DNS_NXDOMAIN) ? " nxdomain" : "",
						     (x->flags & DNS_HAS_ADDR) ? " addr" : "") < 0)
						line = NULL;
				} else if (asprintf(&line, "  %s %s n=%llu", tname[t], x->s,
						    (unsigned long long)x->n) < 0) {
					line = NULL;
				}
				if (line)
					ptrvec_push(&items, line);
			}
		sort_items(items.v, items.n, sizeof(void *), cmp_line);
		for (size_t k = 0; k < items.n; k++) {
			sb_printf(&sb, "\n%s", (char *)items.v[k]);
			free(items.v[k]);
		}
		ptrvec_free(&items);
		ptrvec_push(&lines, sb.s);
	}
	sort_items(lines.v, lines.n, sizeof(void *), cmp_line);
	for (size_t i = 0; i < lines.n; i++) {
		fprintf(out, "%s\n", (char *)lines.v[i]);
		free(lines.v[i]);
	}
	ptrvec_free(&lines);
}

/* ---------------------------------------------------------------- merge: polc diff */

/* OLD = the existing directory, NEW = a directory of links to both; polc diff prints what
 * the learned policies add. */
static void print_merge_diff(const struct learn_opts *o, const char *existing,
			     const struct ptrvec *written)
{
	const char *tmp = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof tmpl, "%s/polc-learn-merge.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *dir = mkdtemp(tmpl);
	if (!dir)
		return;
	struct ptrvec links = {0};
	char abs[PATH_MAX];
	if (!realpath(existing, abs))
		return;
	char *l = xmalloc(strlen(dir) + 16);
	sprintf(l, "%s/existing", dir);
	if (symlink(abs, l) == 0)
		ptrvec_push(&links, l);
	else
		free(l);
	for (size_t i = 0; i < written->n; i++) {
		if (!realpath(written->v[i], abs))
			continue;
		const char *base = strrchr(written->v[i], '/');
		base = base ? base + 1 : written->v[i];
		char *p = xmalloc(strlen(dir) + strlen(base) + 16);
		sprintf(p, "%s/learned-%s", dir, base);
		if (symlink(abs, p) == 0)
			ptrvec_push(&links, p);
		else
			free(p);
	}
	struct ptrvec args = {0};
	ptrvec_push(&args, "diff");
	for (size_t i = 0; i < o->inventory.n; i++) {
		ptrvec_push(&args, "-i");
		ptrvec_push(&args, o->inventory.v[i]);
	}
	ptrvec_push(&args, (void *)existing);
	ptrvec_push(&args, dir);
	ptrvec_push(&args, NULL);
	fflush(stdout);
	printf("\nwhat the learned policies add to %s (polc diff):\n", existing);
	fflush(stdout);
	int saved = optind;
	do_diff((int)args.n - 1, (char **)args.v);
	optind = saved;
	for (size_t i = 0; i < links.n; i++) {
		unlink(links.v[i]);
		free(links.v[i]);
	}
	rmdir(dir);
	ptrvec_free(&links);
	ptrvec_free(&args);
}

/* ---------------------------------------------------------------- polc learn */

enum {
	OPT_FOR = 300, OPT_IFACE, OPT_DURATION, OPT_COUNT, OPT_FILTER, OPT_WRITE_PCAP, OPT_EXISTING,
	OPT_L4, OPT_GRAPH, OPT_TESTFILE, OPT_NOCHECK, OPT_MINSUP, OPT_CIDR4, OPT_CIDR6, OPT_CIDRMIN,
	OPT_ONEWAY, OPT_MAXCONNS, OPT_MAXEDGES, OPT_MAXL7, OPT_TCPTO, OPT_UDPTO, OPT_PROGRESS,
	OPT_NOPROGRESS, OPT_INVENTORY, OPT_DUMP, OPT_LIBPCAP
};

static bool is_interface(const char *name)
{
	return !strcmp(name, "any") || if_nametoindex(name) != 0;
}

static bool parse_num(const char *s, unsigned long max, unsigned long *out)
{
	return parse_uint(s, max, out);
}

static bool parse_secs(const char *s, double *out)
{
	char *e;
	double v = strtod(s, &e);
	if (e == s || *e || v < 0 || !isfinite(v))
		return false;
	*out = v;
	return true;
}

int do_learn(int argc, char **argv)
{
	static const struct option opts[] = {
		{"inventory", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"for", required_argument, NULL, OPT_FOR},
		{"interface", required_argument, NULL, OPT_IFACE},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"count", required_argument, NULL, OPT_COUNT},
		{"filter", required_argument, NULL, OPT_FILTER},
		{"write-pcap", required_argument, NULL, OPT_WRITE_PCAP},
		{"existing", required_argument, NULL, OPT_EXISTING},
		{"l4-only", no_argument, NULL, OPT_L4},
		{"graph", required_argument, NULL, OPT_GRAPH},
		{"test-file", required_argument, NULL, OPT_TESTFILE},
		{"no-check", no_argument, NULL, OPT_NOCHECK},
		{"min-support", required_argument, NULL, OPT_MINSUP},
		{"cidr-prefix", required_argument, NULL, OPT_CIDR4},
		{"cidr6-prefix", required_argument, NULL, OPT_CIDR6},
		{"cidr-min", required_argument, NULL, OPT_CIDRMIN},
		{"one-way-udp", no_argument, NULL, OPT_ONEWAY},
		{"max-conns", required_argument, NULL, OPT_MAXCONNS},
		{"max-edges", required_argument, NULL, OPT_MAXEDGES},
		{"max-l7-memory", required_argument, NULL, OPT_MAXL7},
		{"tcp-timeout", required_argument, NULL, OPT_TCPTO},
		{"udp-timeout", required_argument, NULL, OPT_UDPTO},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"no-progress", no_argument, NULL, OPT_NOPROGRESS},
		{"dump-edges", required_argument, NULL, OPT_DUMP},
		{"libpcap-reader", no_argument, NULL, OPT_LIBPCAP},
		{NULL, 0, NULL, 0}};
	struct learn_opts o;
	learn_opts_defaults(&o);
	bool json = false, check = true;
	int c, rc = EXIT_USAGE;
	unsigned long n;
	double secs;
	char err[512];
	uint64_t t0 = now_ns();
	struct learner L;
	bool learner_ready = false;
	struct inventory *inv = NULL;
	struct attr *attr = NULL;
	struct capture *cap = NULL;
	struct synth s;
	memset(&s, 0, sizeof(s));
	struct selfcheck r;
	memset(&r, 0, sizeof(r));
	struct session existing;
	bool existing_ready = false;
	struct diag_sink d;
	diag_init(&d);
	struct ptrvec written = {0};
	char *test_file = NULL;
	const char *dump_path = NULL;
	double phase[3] = {0, 0, 0}; /* reading and flows, synthesis, self-check (seconds) */
	bool libpcap_reader = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:o:jqh", opts, NULL)) != -1) {
		switch (c) {
		case 'i': {
			struct stat st;
			if (!strcmp(optarg, "-") || stat(optarg, &st) == 0)
				ptrvec_push(&o.inventory, optarg);
			else if (is_interface(optarg))
				ptrvec_push(&o.ifaces, optarg);
			else {
				fprintf(stderr, "polc learn: -i %s: neither an inventory file nor a network "
						"interface\n",
					optarg);
				goto out;
			}
			break;
		}
		case OPT_INVENTORY:
			ptrvec_push(&o.inventory, optarg);
			break;
		case OPT_IFACE:
			ptrvec_push(&o.ifaces, optarg);
			break;
		case 'o':
			o.out_dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case OPT_FOR:
			ptrvec_push(&o.want, optarg);
			break;
		case OPT_DURATION:
			if (!parse_secs(optarg, &o.duration))
				goto bad_value;
			break;
		case OPT_COUNT:
			if (!parse_num(optarg, ULONG_MAX, &n))
				goto bad_value;
			o.count = n;
			break;
		case OPT_FILTER:
			o.filter = optarg;
			break;
		case OPT_WRITE_PCAP:
			o.write_pcap = optarg;
			break;
		case OPT_EXISTING:
			o.existing = optarg;
			break;
		case OPT_L4:
			o.l4_only = true;
			break;
		case OPT_GRAPH:
			o.graph = optarg;
			break;
		case OPT_TESTFILE:
			o.test_file = optarg;
			break;
		case OPT_NOCHECK:
			check = false;
			break;
		case OPT_MINSUP:
			if (!parse_num(optarg, 1000000, &n) || n < 2)
				goto bad_value;
			o.min_support = (unsigned)n;
			break;
		case OPT_CIDR4:
			if (!parse_num(optarg, 32, &n) || n < 8)
				goto bad_value;
			o.cidr4_prefix = (unsigned)n;
			break;
		case OPT_CIDR6:
			if (!parse_num(optarg, 128, &n) || n < 16)
				goto bad_value;
			o.cidr6_prefix = (unsigned)n;
			break;
		case OPT_CIDRMIN:
			if (!parse_num(optarg, 1u << 20, &n) || n < 2)
				goto bad_value;
			o.cidr_min_addrs = (unsigned)n;
			break;
		case OPT_ONEWAY:
			o.one_way_udp = true;
			break;
		case OPT_MAXCONNS:
			if (!parse_num(optarg, 1u << 26, &n) || n < 16)
				goto bad_value;
			o.max_conns = n;
			break;
		case OPT_MAXEDGES:
			if (!parse_num(optarg, 1u << 28, &n) || n < 16)
				goto bad_value;
			o.max_edges = n;
			break;
		case OPT_MAXL7:
			if (!parse_num(optarg, 1ul << 40, &n))
				goto bad_value;
			o.max_l7_memory = n;
			break;
		case OPT_TCPTO:
			if (!parse_secs(optarg, &secs))
				goto bad_value;
			o.tcp_idle_ns = (uint64_t)(secs * 1e9);
			break;
		case OPT_UDPTO:
			if (!parse_secs(optarg, &secs))
				goto bad_value;
			o.udp_idle_ns = (uint64_t)(secs * 1e9);
			break;
		case OPT_PROGRESS:
			o.progress = 1;
			break;
		case OPT_NOPROGRESS:
			o.progress = 0;
			break;
		case OPT_DUMP:
			dump_path = optarg;
			break;
		case OPT_LIBPCAP:
			libpcap_reader = true;
			break;
		case 'h':
			puts(LEARN_USAGE);
			rc = EXIT_CLEAN;
			goto out;
		default:
			fprintf(stderr, "%s\n", LEARN_USAGE);
			goto out;
		}
		continue;
	bad_value:
		fprintf(stderr, "polc learn: bad value '%s' for %s\n", optarg, argv[optind - 1]);
		goto out;
	}
	for (int i = optind; i < argc; i++)
		ptrvec_push(&o.captures, argv[i]);
	if (!o.inventory.n || !o.out_dir || (!o.captures.n && !o.ifaces.n)) {
		fprintf(stderr, "polc learn: needs -i INVENTORY, -o DIR and captures (files or -i "
				"IFACE)\n%s\n",
			LEARN_USAGE);
		goto out;
	}
	struct reader_limits lim;
	reader_default_limits(&lim);
	inv = inventory_load((const char *const *)o.inventory.v, o.inventory.n, &lim, &d);
	if (!inv || d.counts[SEV_ERROR]) {
		diag_sort(&d);
		diag_render(&d, FORMAT_TEXT, stderr, -1);
		goto out;
	}
	attr = attr_build(inv);
	learner_init(&L, &o);
	learner_ready = true;
	L.attr = attr;
	stop_flag = 0;
	L.stop = &stop_flag;
	cap = capture_new(&L);
	if (libpcap_reader)
		capture_use_libpcap(cap);
	for (size_t i = 0; i < o.captures.n; i++) {
		const char *path = o.captures.v[i];
		if (capture_file_is_pcap(path)) {
			if (capture_add_file(cap, path, err, sizeof err) < 0) {
				fprintf(stderr, "polc learn: %s\n", err);
				goto out;
			}
		} else if (file_is_json_lines(path)) {
			if (records_read(&L, path, err, sizeof err) < 0) {
				fprintf(stderr, "polc learn: %s\n", err);
				goto out;
			}
		} else {
			FILE *f = fopen(path, "r");
			fprintf(stderr, "polc learn: %s: %s\n", path,
				f ? "neither a packet capture (pcap, pcapng) nor JSON flow records"
				  : strerror(errno));
			if (f)
				fclose(f);
			goto out;
		}
	}
	for (size_t i = 0; i < o.ifaces.n; i++)
		if (capture_add_live(cap, o.ifaces.v[i], err, sizeof err) < 0) {
			fprintf(stderr, "polc learn: %s\n", err);
			goto out;
		}
	if (capture_set_filter(cap, o.filter, err, sizeof err) < 0) {
		fprintf(stderr, "polc learn: %s\n", err);
		goto out;
	}
	if (o.write_pcap)
		capture_write_to(cap, o.write_pcap, err, sizeof err);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct progress pr = {o.progress == 1 || (o.progress < 0 && !o.quiet && isatty(2)), 0, &L,
			      o.ifaces.n > 0};
	if (o.ifaces.n && !o.quiet)
		fprintf(stderr, "polc learn: capturing on %zu interface%s%s\n", o.ifaces.n,
			o.ifaces.n == 1 ? "" : "s",
			o.duration > 0 || o.count ? "" : " until Ctrl-C");
	uint64_t t_read = now_ns();
	capture_run(cap, capture_nsources(cap) ? show_progress : NULL, &pr);
	if (pr.on)
		fputs("\n", stderr);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	capture_free(cap);
	cap = NULL;
	flows_flush(&L);
	phase[0] = (double)(now_ns() - t_read) / 1e9;
	if (dump_path) {
		FILE *df = strcmp(dump_path, "-") ? fopen(dump_path, "w") : stdout;
		if (!df) {
			fprintf(stderr, "polc learn: cannot write %s: %s\n", dump_path, strerror(errno));
			goto out;
		}
		dump_edges(df, &L);
		if (df != stdout)
			fclose(df);
	}
	if (o.existing) {
		session_init(&existing);
		existing_ready = true;
		const char *e[] = {o.existing};
		if (session_load(&existing, (const char *const *)o.inventory.v, o.inventory.n, e, 1) < 0) {
			diag_sort(&existing.diag);
			diag_render(&existing.diag, FORMAT_TEXT, stderr, -1);
			goto out;
		}
		s.existing = &existing;
	}
	uint64_t t_synth = now_ns();
	synth_run(&s, &L, attr);
	if (emit_all(&s, o.out_dir, &written) < 0)
		goto out;
	phase[1] = (double)(now_ns() - t_synth) / 1e9;
	uint64_t t_check = now_ns();
	if (check) {
		if (o.test_file) {
			test_file = xstrdup(o.test_file);
		} else {
			size_t len = strlen(o.out_dir);
			while (len > 1 && o.out_dir[len - 1] == '/')
				len--;
			test_file = xmalloc(len + 16);
			snprintf(test_file, len + 16, "%.*s.test.yaml", (int)len, o.out_dir);
		}
		selfcheck_run(&s, o.out_dir, o.existing, test_file, &r);
	}
	phase[2] = (double)(now_ns() - t_check) / 1e9;
	if (o.graph) {
		FILE *g = fopen(o.graph, "w");
		if (!g) {
			fprintf(stderr, "polc learn: cannot write %s: %s\n", o.graph, strerror(errno));
		} else {
			emit_graph(&s, g);
			fclose(g);
			size_t len = strlen(o.graph);
			if (len > 4 && !strcmp(o.graph + len - 4, ".dot")) {
				/* graphviz, when installed: FILE.svg beside FILE.dot */
				char *svg = xmalloc(len + 1);
				snprintf(svg, len + 1, "%.*s.svg", (int)(len - 4), o.graph);
				pid_t pid = fork();
				if (pid == 0) {
					int null = open("/dev/null", O_WRONLY);
					if (null >= 0)
						dup2(null, 2);
					execlp("dot", "dot", "-Tsvg", o.graph, "-o", svg, (char *)NULL);
					_exit(127);
				}
				int status;
				if (pid > 0)
					waitpid(pid, &status, 0);
				free(svg);
			}
		}
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	if (json)
		report_json(stdout, &L, &s, check ? &r : NULL, o.out_dir, test_file, elapsed, phase);
	else if (!o.quiet)
		report_text(stdout, &L, &s, check ? &r : NULL, o.out_dir, test_file, elapsed, phase);
	if (o.existing && !json)
		print_merge_diff(&o, o.existing, &written);
	rc = check && (!r.ran || r.failures.n) ? EXIT_FINDINGS : EXIT_CLEAN;
	if (check && r.ran && r.failures.n && (json || o.quiet))
		fprintf(stderr, "polc learn: the self-check found %zu problem%s (see the report)\n",
			r.failures.n, r.failures.n == 1 ? "" : "s");
out:
	capture_free(cap);
	selfcheck_free(&r);
	if (learner_ready) {
		synth_free(&s);
		learner_free(&L);
	}
	if (existing_ready)
		session_free(&existing);
	attr_free(attr);
	inventory_free(inv);
	for (size_t i = 0; i < written.n; i++)
		free(written.v[i]);
	ptrvec_free(&written);
	free(test_file);
	diag_free(&d);
	ptrvec_free(&o.inventory);
	ptrvec_free(&o.want);
	ptrvec_free(&o.captures);
	ptrvec_free(&o.ifaces);
	return rc;
}
