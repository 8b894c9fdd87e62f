/* learn-gen: writes a large, realistic-looking capture of the testbed's "shop" cluster for
 * benchmarking polc learn (samples/inventory/shop.yaml is its inventory).
 *
 *   learn-gen [--packets N] [--flows N] [--concurrent N] [--min-size B] [--max-size B]
 *             [--gap-us U] [--v6-percent P] [--seed S] -o FILE
 *
 * Flows are the shop's: HTTP between the services (each data packet one whole request or
 * response, with ids in the paths), redis, DNS with answers, statsd with acks, HTTP to the
 * world. --concurrent flows are open at once (packets interleave at random between them), so
 * the connection table sees realistic concurrency; as one ends the next starts, until --flows
 * have run. Frames are Ethernet, IPv4 or IPv6, sizes uniformly spread between --min-size and
 * --max-size (wire bytes). Timestamps advance --gap-us per packet. Deterministic for a seed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- randomness */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(next() % n) : 0;
}

/* ---------------------------------------------------------------- the shop */

struct pod {
	const char *v4, *v6;
};
enum { COREDNS, FRONTEND1, CATALOG1, PAYMENTS, REDIS, FRONTEND2, LOADGEN, CATALOG2, CART, STATSD };
static const struct pod PODS[] = {
	{"10.244.1.10", "fd00:10:244:1::10"}, {"10.244.1.11", "fd00:10:244:1::11"},
	{"10.244.1.12", "fd00:10:244:1::12"}, {"10.244.1.13", "fd00:10:244:1::13"},
	{"10.244.1.14", "fd00:10:244:1::14"}, {"10.244.2.11", "fd00:10:244:2::11"},
	{"10.244.2.12", "fd00:10:244:2::12"}, {"10.244.2.13", "fd00:10:244:2::13"},
	{"10.244.2.14", "fd00:10:244:2::14"}, {"10.244.2.15", "fd00:10:244:2::15"},
};
static const struct pod CDN = {"172.20.0.11", "fd00:172:20::11"};
static const struct pod API = {"172.20.0.10", "fd00:172:20::10"};

enum kind { K_HTTP, K_REDIS, K_DNS, K_STATSD, K_WORLD };
struct route {
	enum kind kind;
	int client, server; /* pod indexes; -1 server: the world */
	uint16_t port;
	const char *path;
	unsigned weight;
};
static const struct route ROUTES[] = {
	{K_HTTP, LOADGEN, FRONTEND1, 8080, "/products/", 10},
	{K_HTTP, LOADGEN, FRONTEND2, 8080, "/products/", 10},
	{K_HTTP, FRONTEND1, CATALOG1, 8080, "/api/products/", 8},
	{K_HTTP, FRONTEND2, CATALOG2, 8080, "/api/products/", 8},
	{K_HTTP, FRONTEND1, CART, 8080, "/api/cart/u", 5},
	{K_HTTP, FRONTEND2, PAYMENTS, 8080, "/api/payments", 2},
	{K_REDIS, CART, REDIS, 6379, NULL, 5},
	{K_DNS, FRONTEND1, COREDNS, 53, NULL, 8},
	{K_DNS, CATALOG2, COREDNS, 53, NULL, 6},
	{K_DNS, PAYMENTS, COREDNS, 53, NULL, 3},
	{K_STATSD, FRONTEND2, STATSD, 8125, NULL, 4},
	{K_STATSD, CART, STATSD, 8125, NULL, 2},
	{K_WORLD, CATALOG1, -1, 80, "/images/", 3},
	{K_WORLD, PAYMENTS, -2, 80, "/v1/charges", 1},
};
#define NROUTES (sizeof(ROUTES) / sizeof(*ROUTES))

/* ---------------------------------------------------------------- flows */

struct flow {
	const struct route *r;
	bool v6;
	uint8_t c[16], s[16];
	uint16_t cport;
	uint32_t cseq, sseq;
	uint32_t step, steps;
	uint32_t id;
	/* an HTTP response in progress: its remaining packets and their body sizes */
	uint32_t resp_left;
	uint16_t resp_sizes[8];
	bool awaiting; /* a request was sent; its response comes next */
};

static unsigned total_weight(void)
{
	unsigned w = 0;
	for (size_t i = 0; i < NROUTES; i++)
		w += ROUTES[i].weight;
	return w;
}

static void addr(const struct pod *p, bool v6, uint8_t out[16])
{
	memset(out, 0, 16);
	if (v6)
		inet_pton(AF_INET6, p->v6, out);
	else
		inet_pton(AF_INET, p->v4, out);
}

static void start(struct flow *f, uint32_t id, uint32_t per_flow, unsigned v6pct)
{
	unsigned w = below(total_weight());
	const struct route *r = ROUTES;
	for (size_t i = 0; i < NROUTES; i++) {
		if (w < ROUTES[i].weight) {
			r = &ROUTES[i];
			break;
		}
		w -= ROUTES[i].weight;
	}
	memset(f, 0, sizeof(*f));
	f->r = r;
	f->id = id;
	f->v6 = below(100) < v6pct;
	addr(&PODS[r->client], f->v6, f->c);
	addr(r->server == -1 ? &CDN : r->server == -2 ? &API : &PODS[r->server], f->v6, f->s);
	f->cport = (uint16_t)(32768 + id % 28000);
	f->cseq = (uint32_t)next();
	f->sseq = (uint32_t)next();
	bool udp = r->kind == K_DNS || r->kind == K_STATSD;
	uint32_t min = udp ? 2 : 6;
	f->steps = per_flow < min ? min : per_flow;
	if (udp)
		f->steps &= ~1u; /* query and answer pairs */
}

/* ---------------------------------------------------------------- frames */

struct out {
	FILE *f;
	uint64_t ts_us;
	uint64_t packets, bytes;
	unsigned gap_us, min_size, max_size;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Writes one Ethernet frame with an IP header around l4. */
static void frame(struct out *o, const struct flow *f, bool from_client, uint8_t proto,
		  const uint8_t *l4, size_t l4len)
{
	uint8_t b[2048];
	memset(b, 0, 14);
	b[0] = 0x0a, b[1] = 0x58, b[6] = 0x0a, b[7] = 0x59;
	put16(b + 12, f->v6 ? 0x86dd : 0x0800);
	size_t n = 14;
	const uint8_t *src = from_client ? f->c : f->s, *dst = from_client ? f->s : f->c;
	if (f->v6) {
		memset(b + n, 0, 40);
		b[n] = 0x60;
		put16(b + n + 4, (uint16_t)l4len);
		b[n + 6] = proto;
		b[n + 7] = 64;
		memcpy(b + n + 8, src, 16);
		memcpy(b + n + 24, dst, 16);
		n += 40;
	} else {
		memset(b + n, 0, 20);
		b[n] = 0x45;
		put16(b + n + 2, (uint16_t)(20 + l4len));
		put16(b + n + 4, (uint16_t)o->packets);
		b[n + 6] = 0x40;
		b[n + 8] = 64;
		b[n + 9] = proto;
		memcpy(b + n + 12, src, 4);
		memcpy(b + n + 16, dst, 4);
		n += 20;
	}
	memcpy(b + n, l4, l4len);
	n += l4len;
	uint8_t rec[16];
	uint32_t sec = (uint32_t)(o->ts_us / 1000000), usec = (uint32_t)(o->ts_us % 1000000);
	memcpy(rec, &sec, 4);
	memcpy(rec + 4, &usec, 4);
	uint32_t len = (uint32_t)n;
	memcpy(rec + 8, &len, 4);
	memcpy(rec + 12, &len, 4);
	fwrite(rec, 1, 16, o->f);
	fwrite(b, 1, n, o->f);
	o->ts_us += o->gap_us;
	o->packets++;
	o->bytes += n;
}

/* payload room for a frame of `size` wire bytes */
static size_t room(const struct flow *f, unsigned size, size_t l4hdr)
{
	size_t hdr = 14 + (f->v6 ? 40 : 20) + l4hdr;
	return size > hdr ? size - hdr : 0;
}

static unsigned pick_size(const struct out *o)
{
	return o->min_size + below(o->max_size - o->min_size + 1);
}

static void tcp(struct out *o, struct flow *f, bool from_client, uint8_t flags, const char *payload,
		size_t plen)
{
	uint8_t l4[1600];
	uint32_t *seq = from_client ? &f->cseq : &f->sseq, *ack = from_client ? &f->sseq : &f->cseq;
	memset(l4, 0, 20);
	put16(l4, from_client ? f->cport : f->r->port);
	put16(l4 + 2, from_client ? f->r->port : f->cport);
	put32(l4 + 4, *seq);
	put32(l4 + 8, (flags & 0x10) ? *ack : 0);
	l4[12] = 5 << 4;
	l4[13] = flags;
	put16(l4 + 14, 64240);
	if (plen)
		memcpy(l4 + 20, payload, plen);
	frame(o, f, from_client, 6, l4, 20 + plen);
	*seq += (uint32_t)plen + ((flags & 0x03) ? 1 : 0); /* SYN and FIN take one */
}

static void udp(struct out *o, struct flow *f, bool from_client, const uint8_t *payload,
		size_t plen)
{
	uint8_t l4[1600];
	put16(l4, from_client ? f->cport : f->r->port);
	put16(l4 + 2, from_client ? f->r->port : f->cport);
	put16(l4 + 4, (uint16_t)(8 + plen));
	put16(l4 + 6, 0);
	memcpy(l4 + 8, payload, plen);
	frame(o, f, from_client, 17, l4, 8 + plen);
}

/* An HTTP request or response filling (about) a frame of the chosen size. */
static size_t http_message(char *buf, size_t cap, const struct flow *f, bool request, size_t want)
{
	int n;
	if (request) {
		char path[128];
		if (f->r->path[strlen(f->r->path) - 1] == '/' || f->r->path[strlen(f->r->path) - 1] == 'u')
			snprintf(path, sizeof path, "%s%u%s", f->r->path, below(100000),
				 f->r->kind == K_WORLD ? ".jpg" : "");
		else
			snprintf(path, sizeof path, "%s", f->r->path);
		n = snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: shop\r\nX-Pad: ",
			     f->r->kind == K_WORLD && f->r->server == -2 ? "POST" : "GET", path);
	} else {
		n = snprintf(buf, cap, "HTTP/1.1 200 OK\r\nContent-Length: %5u\r\n\r\n", 0u);
	}
	size_t len = (size_t)n;
	size_t target = want > len + 4 ? want : len + 4;
	if (target > cap)
		target = cap;
	if (request) {
		while (len + 4 < target)
			buf[len++] = 'x';
		memcpy(buf + len, "\r\n\r\n", 4);
		len += 4;
	} else {
		size_t body = target - len;
		n = snprintf(buf, cap, "HTTP/1.1 200 OK\r\nContent-Length: %5zu\r\n\r\n", body);
		len = (size_t)n;
		memset(buf + len, 'b', body);
		len += body;
	}
	return len;
}

static size_t dns_message(uint8_t *m, const struct flow *f, uint32_t exchange, bool answer)
{
	static const char *const names[] = {"\x07" "catalog" "\x08" "shop-api" "\x03" "svc" "\x07" "cluster" "\x05" "local",
					    "\x04" "cart" "\x08" "shop-api" "\x03" "svc" "\x07" "cluster" "\x05" "local",
					    "\x03" "api" "\x07" "partner" "\x07" "example"};
	const char *name = names[f->id % 3];
	size_t nl = strlen(name) + 1;
	put16(m, (uint16_t)(f->id * 31 + exchange)); /* each exchange its own id */
	m[2] = answer ? 0x81 : 0x01;
	m[3] = answer ? 0x80 : 0;
	put16(m + 4, 1);
	put16(m + 6, answer ? 1 : 0);
	put16(m + 8, 0);
	put16(m + 10, 0);
	memcpy(m + 12, name, nl);
	size_t n = 12 + nl;
	put16(m + n, 1);
	put16(m + n + 2, 1);
	n += 4;
	if (answer) {
		put16(m + n, 0xc00c);
		put16(m + n + 2, 1);
		put16(m + n + 4, 1);
		put32(m + n + 6, 30);
		put16(m + n + 10, 4);
		inet_pton(AF_INET, f->id % 3 == 2 ? API.v4 : PODS[CATALOG1 + (f->id % 2) * 5].v4,
			  m + n + 12);
		n += 16;
	}
	return n;
}

/* Emits the flow's next packet; false when the flow is over. */
static bool step(struct out *o, struct flow *f)
{
	uint32_t s = f->step++;
	char buf[1600];
	uint8_t m[1600];
	switch (f->r->kind) {
	case K_DNS: {
		size_t n = dns_message(m, f, s / 2, s % 2);
		udp(o, f, s % 2 == 0, m, n);
		return f->step < f->steps;
	}
	case K_STATSD: {
		size_t want = room(f, pick_size(o), 8);
		int n = snprintf((char *)m, sizeof m, s % 2 ? "ack %u.%u" : "shop.requests:%u.%u|c|#pad:", f->id, s);
		size_t len = (size_t)n;
		while (s % 2 == 0 && len < want && len < 1400)
			m[len++] = 'p';
		udp(o, f, s % 2 == 0, m, len);
		return f->step < f->steps;
	}
	default:
		break;
	}
	/* TCP: handshake, data back and forth, close */
	uint32_t data = f->steps - 5; /* packets between the handshake and the close */
	if (s == 0) {
		tcp(o, f, true, 0x02, NULL, 0);
	} else if (s == 1) {
		tcp(o, f, false, 0x12, NULL, 0);
	} else if (s < 2 + data) {
		size_t len;
		bool from_client;
		if (f->r->kind == K_REDIS) {
			from_client = (s - 2) % 2 == 0;
			size_t want = room(f, pick_size(o), 20);
			len = (size_t)snprintf(buf, sizeof buf, from_client ? "*3\r\n$7\r\nHINCRBY\r\n" : "+OK\r\n");
			while (len < want && len < 1400)
				buf[len++] = 'r';
		} else if (f->resp_left) {
			/* the rest of a response body */
			from_client = false;
			len = f->resp_sizes[--f->resp_left];
			memset(buf, 'b', len);
		} else if (!f->awaiting) {
			/* a request: small */
			from_client = true;
			f->awaiting = true;
			len = http_message(buf, 1400, f, true, room(f, o->min_size + below(200), 20));
		} else {
			f->awaiting = false;
			/* a response: headers and the first part of the body; up to 7 more packets */
			from_client = false;
			uint32_t left = 2 + data - s - 1, k = below(8);
			if (k > left)
				k = left;
			size_t body = 0;
			for (uint32_t q = 0; q < k; q++) {
				f->resp_sizes[q] = (uint16_t)room(f, pick_size(o), 20);
				body += f->resp_sizes[q];
			}
			f->resp_left = k;
			size_t first = room(f, pick_size(o), 20);
			len = http_message(buf, 1400, f, false, first);
			if (body) { /* rewrite the length: this packet's body and the ones to come */
				size_t here = len - (size_t)(strstr(buf, "\r\n\r\n") + 4 - buf);
				int hl = snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
						  here + body);
				memset(buf + hl, 'b', here);
				len = (size_t)hl + here;
			}
		}
		tcp(o, f, from_client, 0x18, buf, len);
	} else if (s == 2 + data) {
		tcp(o, f, true, 0x11, NULL, 0);
	} else if (s == 3 + data) {
		tcp(o, f, false, 0x11, NULL, 0);
	} else {
		tcp(o, f, true, 0x10, NULL, 0);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- main */

static unsigned long num(const char *s, const char *what)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || e == s || *e) {
		fprintf(stderr, "learn-gen: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long packets = 5000000, flows = 100000, concurrent = 2000, seed = 1;
	struct out o = {.gap_us = 10, .min_size = 64, .max_size = 1500};
	unsigned v6pct = 50;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-o") && v)
			path = v, i++;
		else if (!strcmp(a, "--packets") && v)
			packets = num(v, a), i++;
		else if (!strcmp(a, "--flows") && v)
			flows = num(v, a), i++;
		else if (!strcmp(a, "--concurrent") && v)
			concurrent = num(v, a), i++;
		else if (!strcmp(a, "--min-size") && v)
			o.min_size = (unsigned)num(v, a), i++;
		else if (!strcmp(a, "--max-size") && v)
			o.max_size = (unsigned)num(v, a), i++;
		else if (!strcmp(a, "--gap-us") && v)
			o.gap_us = (unsigned)num(v, a), i++;
		else if (!strcmp(a, "--v6-percent") && v)
			v6pct = (unsigned)num(v, a), i++;
		else if (!strcmp(a, "--seed") && v)
			seed = num(v, a), i++;
		else {
			fprintf(stderr, "usage: learn-gen [--packets N] [--flows N] [--concurrent N] "
					"[--min-size B] [--max-size B] [--gap-us U] [--v6-percent P] [--seed S] "
					"-o FILE\n");
			return 2;
		}
	}
	if (!path || !flows || !packets || o.min_size > o.max_size || o.max_size > 1514 ||
	    o.min_size < 60) {
		fprintf(stderr, "learn-gen: needs -o FILE, flows and packets > 0, 60 <= min-size <= "
				"max-size <= 1514\n");
		return 2;
	}
	rng ^= seed * 0x2545f4914f6cdd1dull;
	o.f = fopen(path, "wb");
	if (!o.f) {
		perror(path);
		return 1;
	}
	setvbuf(o.f, NULL, _IOFBF, 1 << 20);
	/* pcap header: microseconds, Ethernet */
	uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	fwrite(hdr, 4, 6, o.f);
	o.ts_us = 1714557600ull * 1000000ull;
	uint32_t per_flow = (uint32_t)(packets / flows);
	if (concurrent > flows)
		concurrent = flows;
	struct flow *active = calloc(concurrent, sizeof(*active));
	uint32_t started = 0;
	for (size_t i = 0; i < concurrent; i++)
		start(&active[i], started++, per_flow, v6pct);
	size_t live = concurrent;
	while (live) {
		size_t i = below((uint32_t)live);
		if (!step(&o, &active[i])) {
			if (started < flows)
				start(&active[i], started++, per_flow, v6pct);
			else
				active[i] = active[--live];
		}
	}
	free(active);
	if (fclose(o.f) != 0) {
		perror(path);
		return 1;
	}
	fprintf(stderr, "learn-gen: %s: %llu packets, %u flows, %.1f MB, %.1f s of traffic\n", path,
		(unsigned long long)o.packets, started, (double)o.bytes / 1e6,
		(double)o.packets * o.gap_us / 1e6);
	return 0;
}
