/* Unit tests of the learner (learner/): link layers and tunnels, IP and transport decoding
 * (fragments, truncation, garbage), connection direction and outcome, the L7 parsers (HTTP/1
 * pipelining, HTTP/2 + HPACK, DNS, TLS), path generalisation, selectors and the table limits.
 * Packets are built here byte by byte; nothing is read from the network.
 */
#include "learn.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#ifndef POLC_SRCDIR
#define POLC_SRCDIR "."
#endif

/* ---------------------------------------------------------------- packet building */

struct frame {
	uint8_t b[4096];
	size_t n;
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

/* IPv4 header + L4 bytes into f (no link layer). */
static void ipv4(struct frame *f, const char *src, const char *dst, uint8_t proto,
		 const uint8_t *l4, size_t l4len, uint16_t id, uint16_t frag)
{
	uint8_t *p = f->b + f->n;
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + l4len));
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	memcpy(p + 20, l4, l4len);
	f->n += 20 + l4len;
}

static size_t tcp(uint8_t *p, uint16_t sp, uint16_t dp, uint8_t flags, uint32_t seq,
		  uint32_t ack, const char *payload)
{
	size_t pl = payload ? strlen(payload) : 0;
	memset(p, 0, 20);
	put16(p, sp);
	put16(p + 2, dp);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	put16(p + 14, 65535);
	if (pl)
		memcpy(p + 20, payload, pl);
	return 20 + pl;
}

static size_t udp(uint8_t *p, uint16_t sp, uint16_t dp, const uint8_t *payload, size_t pl)
{
	put16(p, sp);
	put16(p + 2, dp);
	put16(p + 4, (uint16_t)(8 + pl));
	put16(p + 6, 0);
	if (pl)
		memcpy(p + 8, payload, pl);
	return 8 + pl;
}

/* ---------------------------------------------------------------- a learner per test */

static struct learn_opts opts;
static struct learner L;
static uint64_t now;

static void fresh(void)
{
	learn_opts_defaults(&opts);
	learner_init(&L, &opts);
	now = 1700000000ull * 1000000000ull;
}

static void done(void)
{
	learner_free(&L);
}

static void send_ip(struct frame *f)
{
	now += 1000000;
	decode_l3(&L, 0x0800, f->b, (uint32_t)f->n, (uint32_t)f->n, now, 0, 0);
}

static void send_tcp(const char *src, const char *dst, uint16_t sp, uint16_t dp, uint8_t flags,
		     uint32_t seq, uint32_t ack, const char *payload)
{
	uint8_t l4[2048];
	struct frame f = {.n = 0};
	size_t n = tcp(l4, sp, dp, flags, seq, ack, payload);
	ipv4(&f, src, dst, 6, l4, n, 1, 0x4000);
	send_ip(&f);
}

static struct edge *find_edge(const char *client, const char *server, uint16_t port, uint8_t proto)
{
	struct edge_key k;
	memset(&k, 0, sizeof(k));
	ip_parse(client, &k.client);
	ip_parse(server, &k.server);
	k.port = port;
	k.proto = proto;
	return edge_get(&L, &k, false);
}

static const struct http_req *find_req(const struct edge *e, const char *method, const char *path)
{
	for (uint32_t i = 0; e && i < e->http.cap; i++)
		if (e->http.v[i].path && !strcmp(e->http.v[i].method, method) &&
		    !strcmp(e->http.v[i].path, path))
			return &e->http.v[i];
	return NULL;
}

#define C "10.244.1.11"
#define S "10.244.1.12"

/* ---------------------------------------------------------------- direction and outcome */

static void test_handshake_direction(void)
{
	fresh();
	/* the server's SYN-ACK is seen first (capture started late): still the right way round */
	send_tcp(S, C, 8080, 40000, TH_SYN | TH_ACK, 500, 101, NULL);
	send_tcp(C, S, 40000, 8080, TH_ACK, 101, 501, NULL);
	send_tcp(C, S, 40000, 8080, TH_ACK | TH_FIN, 101, 501, NULL);
	send_tcp(S, C, 8080, 40000, TH_ACK | TH_FIN, 501, 102, NULL);
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 8080, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 1);
	CU_ASSERT(e->evidence & EV_SYNACK);
	CU_ASSERT_PTR_NULL(find_edge(S, C, 40000, 6));
	done();
}

static void test_refused_not_learned(void)
{
	fresh();
	send_tcp(C, S, 40001, 22, TH_SYN, 100, 0, NULL);
	send_tcp(S, C, 22, 40001, TH_RST | TH_ACK, 0, 101, NULL);
	/* a SYN nobody answers */
	send_tcp(C, S, 40002, 9090, TH_SYN, 100, 0, NULL);
	send_tcp(C, S, 40002, 9090, TH_SYN, 100, 0, NULL);
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 22, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 0);
	CU_ASSERT_EQUAL(e->refused, 1);
	e = find_edge(C, S, 9090, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 0);
	CU_ASSERT_EQUAL(e->unanswered, 1);
	done();
}

static void test_icmp_unreachable(void)
{
	fresh();
	uint8_t l4[128], icmp[128];
	struct frame f = {.n = 0};
	uint8_t q[] = "x";
	size_t n = udp(l4, 45000, 8125, q, 1);
	ipv4(&f, C, S, 17, l4, n, 7, 0);
	send_ip(&f);
	/* port unreachable, quoting the datagram */
	memset(icmp, 0, 8);
	icmp[0] = 3;
	icmp[1] = 3;
	memcpy(icmp + 8, f.b, 28);
	struct frame g = {.n = 0};
	ipv4(&g, S, C, 1, icmp, 36, 8, 0);
	send_ip(&g);
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 8125, 17);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 0);
	CU_ASSERT_EQUAL(e->failed, 1);
	done();
}

static void test_udp_outcomes(void)
{
	fresh();
	uint8_t l4[64];
	uint8_t d[] = "ping";
	struct frame f = {.n = 0};
	ipv4(&f, C, S, 17, l4, udp(l4, 45001, 8125, d, 4), 1, 0);
	send_ip(&f);
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 8125, 17);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->unanswered, 1); /* no reply: not learned */
	done();
	fresh();
	opts.one_way_udp = true;
	f.n = 0;
	ipv4(&f, C, S, 17, l4, udp(l4, 45001, 8125, d, 4), 1, 0);
	send_ip(&f);
	flows_flush(&L);
	e = find_edge(C, S, 8125, 17);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 1); /* --one-way-udp */
	done();
}

static void test_both_ends_dedupe(void)
{
	fresh();
	/* every packet captured twice (two veths) */
	for (int copy = 0; copy < 2; copy++)
		send_tcp(C, S, 40010, 6379, TH_SYN, 10, 0, NULL);
	for (int copy = 0; copy < 2; copy++)
		send_tcp(S, C, 6379, 40010, TH_SYN | TH_ACK, 90, 11, NULL);
	for (int copy = 0; copy < 2; copy++)
		send_tcp(C, S, 40010, 6379, TH_ACK | TH_PSH, 11, 91, "PING\r\n");
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 6379, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 1);
	CU_ASSERT_EQUAL(L.st.conns, 1);
	CU_ASSERT_EQUAL(L.st.duplicates, 3);
	CU_ASSERT(e->l7 & L7F_OPAQUE);
	done();
}

static void test_no_syn_direction(void)
{
	fresh();
	/* mid-stream: the response comes first, then more of the conversation */
	send_tcp(S, C, 80, 51000, TH_ACK | TH_PSH, 7000, 300,
		 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	send_tcp(C, S, 51000, 80, TH_ACK | TH_PSH, 300, 7038,
		 "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
	send_tcp(S, C, 80, 51000, TH_ACK | TH_PSH, 7038, 331,
		 "HTTP/1.1 204 No Content\r\n\r\n");
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 80, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 1);
	CU_ASSERT_EQUAL(e->midstream, 1);
	const struct http_req *r = find_req(e, "GET", "/next");
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT(r && (r->flags & REQ_STATUS_2XX));
	CU_ASSERT_PTR_NULL(find_edge(S, C, 51000, 6));
	done();
}

static void test_icmp_echo(void)
{
	fresh();
	uint8_t m[16] = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'a', 'b', 'c', 'd'};
	struct frame f = {.n = 0};
	ipv4(&f, C, S, 1, m, 12, 1, 0);
	send_ip(&f);
	m[0] = 0;
	f.n = 0;
	ipv4(&f, S, C, 1, m, 12, 2, 0);
	send_ip(&f);
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 8, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 1);
	done();
}

/* ---------------------------------------------------------------- HTTP/1 */

static void test_http_pipelining(void)
{
	fresh();
	send_tcp(C, S, 40100, 8080, TH_SYN, 1000, 0, NULL);
	send_tcp(S, C, 8080, 40100, TH_SYN | TH_ACK, 5000, 1001, NULL);
	const char *reqs = "GET /products/1?color=red HTTP/1.1\r\nHost: a\r\n\r\n"
			   "POST /cart/items HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
			   "HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
			   "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n";
	send_tcp(C, S, 40100, 8080, TH_ACK | TH_PSH, 1001, 5001, reqs);
	/* answers split across segments, in the middle of a chunk */
	const char *r1 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
	const char *r2 = "cde\r\n0\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc"
			 "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" /* HEAD: no body */
			 "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	send_tcp(S, C, 8080, 40100, TH_ACK | TH_PSH, 5001, 1001 + (uint32_t)strlen(reqs), r1);
	send_tcp(S, C, 8080, 40100, TH_ACK | TH_PSH, 5001 + (uint32_t)strlen(r1),
		 1001 + (uint32_t)strlen(reqs), r2);
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 8080, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	const struct http_req *a = find_req(e, "GET", "/products/1"), *b = find_req(e, "POST", "/cart/items"),
			      *h = find_req(e, "HEAD", "/healthz"), *m = find_req(e, "GET", "/missing");
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(b);
	CU_ASSERT_PTR_NOT_NULL(h);
	CU_ASSERT_PTR_NOT_NULL(m);
	CU_ASSERT(a && (a->flags & REQ_QUERY) && (a->flags & REQ_STATUS_2XX));
	CU_ASSERT(b && (b->flags & REQ_STATUS_2XX));
	CU_ASSERT(m && (m->flags & REQ_STATUS_4XX) && !(m->flags & REQ_STATUS_2XX));
	CU_ASSERT_EQUAL(e->http.n, 4);
	CU_ASSERT_EQUAL(e->http_unanswered, 0);
	CU_ASSERT_FALSE(e->l7 & L7F_OPAQUE);
	done();
}

static void test_http_unanswered_and_retransmit(void)
{
	fresh();
	send_tcp(C, S, 40200, 8080, TH_SYN, 1, 0, NULL);
	send_tcp(S, C, 8080, 40200, TH_SYN | TH_ACK, 9, 2, NULL);
	send_tcp(C, S, 40200, 8080, TH_ACK | TH_PSH, 2, 10, "GET /a HTTP/1.1\r\n\r\n");
	send_tcp(C, S, 40200, 8080, TH_ACK | TH_PSH, 2, 10, "GET /a HTTP/1.1\r\n\r\n"); /* again */
	send_tcp(S, C, 8080, 40200, TH_ACK | TH_PSH, 10, 21, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	send_tcp(C, S, 40200, 8080, TH_ACK | TH_PSH, 21, 48, "GET /never-answered HTTP/1.1\r\n\r\n");
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 8080, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	const struct http_req *a = find_req(e, "GET", "/a");
	CU_ASSERT(a && a->n == 1);
	CU_ASSERT_PTR_NULL(find_req(e, "GET", "/never-answered"));
	CU_ASSERT_EQUAL(e->http_unanswered, 1);
	done();
}

static void test_http_sniffing(void)
{
	const char *yes[] = {"GET / HTTP/1.1\r\n", "post /x HTTP/1.0\r\n", "OPTIONS * HTTP/1.1\r\n",
			     "CONNECT a:443 HTTP/1.1", NULL};
	const char *no[] = {"*1\r\n$4\r\nPING\r\n", "GETX / HTTP/1.1", "\x16\x03\x01", "", NULL};
	for (const char **s = yes; *s; s++)
		CU_ASSERT_TRUE(http_looks_like_request((const uint8_t *)*s, strlen(*s)));
	for (const char **s = no; *s; s++)
		CU_ASSERT_FALSE(http_looks_like_request((const uint8_t *)*s, strlen(*s)));
	CU_ASSERT_TRUE(http_looks_like_response((const uint8_t *)"HTTP/1.1 200 OK", 15));
	CU_ASSERT_FALSE(http_looks_like_response((const uint8_t *)"HTTP/2 200", 10));
}

/* ---------------------------------------------------------------- HTTP/2, HPACK */

static int unhex(const char *h, uint8_t *out)
{
	int n = 0;
	for (; h[0] && h[1]; h += 2) {
		while (*h == ' ')
			h++;
		if (!h[0] || !h[1])
			break;
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void test_huffman(void)
{
	/* RFC 7541 C.4.1, C.4.2, C.6.1 */
	struct {
		const char *hex, *text;
	} v[] = {{"f1e3c2e5f23a6ba0ab90f4ff", "www.example.com"},
		 {"a8eb10649cbf", "no-cache"},
		 {"6402", "302"},
		 {"aec3771a4b", "private"},
		 {"9d29ad171863c78f0b97c8e9ae82ae43d3", "https://www.example.com"}};
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		uint8_t in[64];
		char out[64];
		int n = unhex(v[i].hex, in);
		int k = hpack_huffman_decode(in, (size_t)n, out, sizeof out);
		CU_ASSERT_EQUAL(k, (int)strlen(v[i].text));
		CU_ASSERT_STRING_EQUAL(k >= 0 ? out : "", v[i].text);
	}
	/* padding that is not a prefix of EOS, and EOS inside a string */
	uint8_t bad1[] = {0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0x00};
	char out[64];
	CU_ASSERT_EQUAL(hpack_huffman_decode(bad1, sizeof bad1, out, sizeof out), -1);
	uint8_t eos[] = {0xff, 0xff, 0xff, 0xff};
	CU_ASSERT_EQUAL(hpack_huffman_decode(eos, sizeof eos, out, sizeof out), -1);
}

struct hdrs {
	char v[16][2][64];
	int n;
};

static void collect(void *ctx, const char *name, size_t nl, const char *value, size_t vl)
{
	struct hdrs *h = ctx;
	if (h->n >= 16)
		return;
	snprintf(h->v[h->n][0], 64, "%.*s", (int)nl, name);
	snprintf(h->v[h->n][1], 64, "%.*s", (int)vl, value);
	h->n++;
}

static void test_hpack(void)
{
	struct hpack *t = hpack_new();
	uint8_t b[128];
	struct hdrs h = {.n = 0};
	/* RFC 7541 C.3.1 .. C.3.3: three requests on one connection, one dynamic table */
	int n = unhex("828684410f7777772e6578616d706c652e636f6d", b);
	CU_ASSERT_EQUAL(hpack_decode(t, b, (size_t)n, collect, &h), 0);
	CU_ASSERT_EQUAL(h.n, 4);
	CU_ASSERT_STRING_EQUAL(h.v[0][0], ":method");
	CU_ASSERT_STRING_EQUAL(h.v[0][1], "GET");
	CU_ASSERT_STRING_EQUAL(h.v[2][1], "/");
	CU_ASSERT_STRING_EQUAL(h.v[3][1], "www.example.com");
	h.n = 0;
	n = unhex("828684be58086e6f2d6361636865", b);
	CU_ASSERT_EQUAL(hpack_decode(t, b, (size_t)n, collect, &h), 0);
	CU_ASSERT_EQUAL(h.n, 5);
	CU_ASSERT_STRING_EQUAL(h.v[3][1], "www.example.com"); /* from the dynamic table */
	CU_ASSERT_STRING_EQUAL(h.v[4][0], "cache-control");
	h.n = 0;
	n = unhex("828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565", b);
	CU_ASSERT_EQUAL(hpack_decode(t, b, (size_t)n, collect, &h), 0);
	CU_ASSERT_EQUAL(h.n, 5);
	CU_ASSERT_STRING_EQUAL(h.v[2][1], "/index.html");
	CU_ASSERT_STRING_EQUAL(h.v[3][1], "www.example.com");
	CU_ASSERT_STRING_EQUAL(h.v[4][0], "custom-key");
	CU_ASSERT_STRING_EQUAL(h.v[4][1], "custom-value");
	/* an index past the tables is an error, not a crash */
	uint8_t bad[] = {0xff, 0x7f};
	CU_ASSERT_EQUAL(hpack_decode(t, bad, sizeof bad, collect, &h), -1);
	hpack_free(t);
}

/* An h2c connection: preface, SETTINGS, a gRPC call, the answer. */
static void test_h2_grpc(void)
{
	fresh();
	send_tcp(C, S, 40300, 50051, TH_SYN, 1, 0, NULL);
	send_tcp(S, C, 50051, 40300, TH_SYN | TH_ACK, 1, 2, NULL);
	/* the server speaks first: its SETTINGS */
	static const uint8_t settings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
	uint8_t buf[512];
	size_t n = 0;
	memcpy(buf, settings, 9);
	n = 9;
	struct frame f = {.n = 0};
	uint8_t l4[1024];
	size_t tl = tcp(l4, 50051, 40300, TH_ACK | TH_PSH, 2, 2, NULL);
	memcpy(l4 + tl, buf, n);
	ipv4(&f, S, C, 6, l4, tl + n, 3, 0x4000);
	send_ip(&f);
	/* the client: preface, SETTINGS, HEADERS (POST, /pkg.Svc/Call, application/grpc) */
	const char *pre = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	n = strlen(pre);
	memcpy(buf, pre, n);
	memcpy(buf + n, settings, 9);
	n += 9;
	uint8_t block[128];
	size_t bl = 0;
	block[bl++] = 0x83; /* :method POST */
	block[bl++] = 0x86; /* :scheme http */
	block[bl++] = 0x04; /* :path, literal without indexing, name index 4 */
	const char *path = "/pkg.Svc/Call";
	block[bl++] = (uint8_t)strlen(path);
	memcpy(block + bl, path, strlen(path));
	bl += strlen(path);
	block[bl++] = 0x40 | 31; /* content-type, incremental indexing, name index 31 */
	const char *ct = "application/grpc";
	block[bl++] = (uint8_t)strlen(ct);
	memcpy(block + bl, ct, strlen(ct));
	bl += strlen(ct);
	uint8_t hdr[9] = {0, 0, (uint8_t)bl, 1, 0x04, 0, 0, 0, 1};
	memcpy(buf + n, hdr, 9);
	n += 9;
	memcpy(buf + n, block, bl);
	n += bl;
	f.n = 0;
	tl = tcp(l4, 40300, 50051, TH_ACK | TH_PSH, 2, 11, NULL);
	memcpy(l4 + tl, buf, n);
	ipv4(&f, C, S, 6, l4, tl + n, 4, 0x4000);
	send_ip(&f);
	/* the answer: HEADERS :status 200 on stream 1 */
	uint8_t ans[16] = {0, 0, 1, 1, 0x04, 0, 0, 0, 1, 0x88};
	f.n = 0;
	tl = tcp(l4, 50051, 40300, TH_ACK | TH_PSH, 11, 2 + (uint32_t)n, NULL);
	memcpy(l4 + tl, ans, 10);
	ipv4(&f, S, C, 6, l4, tl + 10, 5, 0x4000);
	send_ip(&f);
	flows_flush(&L);
	struct edge *e = find_edge(C, S, 50051, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	const struct http_req *r = find_req(e, "POST", "/pkg.Svc/Call");
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT(r && (r->flags & REQ_GRPC) && (r->flags & REQ_H2) && (r->flags & REQ_STATUS_2XX));
	CU_ASSERT(e->l7 & L7F_GRPC);
	done();
}

/* ---------------------------------------------------------------- DNS */

/* A response: question api.partner.example A, answers: CNAME (compressed) then A. */
static size_t dns_response(uint8_t *m, uint16_t id, uint8_t rcode)
{
	size_t n = 0;
	put16(m, id);
	m[2] = 0x81;
	m[3] = (uint8_t)(0x80 | rcode);
	put16(m + 4, 1);
	put16(m + 6, rcode ? 0 : 2);
	put16(m + 8, 0);
	put16(m + 10, 0);
	n = 12;
	const char *labels[] = {"\x03" "api", "\x07" "partner", "\x07" "example"};
	for (int i = 0; i < 3; i++) {
		memcpy(m + n, labels[i], (size_t)labels[i][0] + 1);
		n += (size_t)labels[i][0] + 1;
	}
	m[n++] = 0;
	put16(m + n, 1);
	put16(m + n + 2, 1);
	n += 4;
	if (rcode)
		return n;
	/* CNAME: name = pointer to the question, rdata = "edge" + pointer to "partner.example" */
	put16(m + n, 0xc00c);
	put16(m + n + 2, 5);
	put16(m + n + 4, 1);
	put32(m + n + 6, 300);
	put16(m + n + 10, 7);
	memcpy(m + n + 12, "\x04" "edge", 5);
	put16(m + n + 17, 0xc010);
	size_t cname_at = n + 12;
	n += 19;
	put16(m + n, (uint16_t)(0xc000 | cname_at));
	put16(m + n + 2, 1);
	put16(m + n + 4, 1);
	put32(m + n + 6, 60);
	put16(m + n + 10, 4);
	m[n + 12] = 172;
	m[n + 13] = 20;
	m[n + 14] = 0;
	m[n + 15] = 10;
	n += 16;
	return n;
}

static void test_dns_parse(void)
{
	uint8_t m[512];
	size_t n = dns_response(m, 0x1234, 0);
	struct dns_msg d;
	CU_ASSERT_EQUAL_FATAL(dns_parse(m, n, &d), 0);
	CU_ASSERT_TRUE(d.response);
	CU_ASSERT_STRING_EQUAL(d.qname, "api.partner.example");
	CU_ASSERT_EQUAL(d.nan, 1); /* the A record, through the CNAME */
	char buf[64];
	ip_format(&d.an[0].addr, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "172.20.0.10");
	CU_ASSERT_EQUAL(d.an[0].ttl, 60);
	/* cut anywhere: never a crash, never more than was there */
	for (size_t k = 0; k < n; k++)
		(void)dns_parse(m, k, &d);
	/* a pointer loop */
	uint8_t loop[32] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12};
	CU_ASSERT_EQUAL(dns_parse(loop, 16, &d), -1);
}

static void test_dns_causality(void)
{
	fresh();
	uint8_t q[128], l4[256];
	/* the query, the answer, then the connection to the answered address */
	size_t qn = dns_response(q, 7, 0);
	q[2] = 0x01; /* a query: QR off */
	q[3] = 0;
	put16(q + 6, 0);
	struct frame f = {.n = 0};
	ipv4(&f, C, "10.244.1.10", 17, l4, udp(l4, 33333, 53, q, 37), 1, 0);
	send_ip(&f);
	qn = dns_response(q, 7, 0);
	f.n = 0;
	ipv4(&f, "10.244.1.10", C, 17, l4, udp(l4, 53, 33333, q, qn), 2, 0);
	send_ip(&f);
	/* without an inventory nothing is "world", so ask the cache directly */
	struct ip a, c;
	ip_parse("172.20.0.10", &a);
	ip_parse(C, &c);
	const char *name = dns_name_for(&L, &a, &c, now + 1000000);
	CU_ASSERT_PTR_NOT_NULL(name);
	CU_ASSERT_STRING_EQUAL(name ? name : "", "api.partner.example");
	/* long after the TTL: no longer evidence */
	CU_ASSERT_PTR_NULL(dns_name_for(&L, &a, &c, now + 3600ull * 1000000000ull));
	/* before the answer: no cause */
	CU_ASSERT_PTR_NULL(dns_name_for(&L, &a, &c, now - 60ull * 1000000000ull));
	flows_flush(&L);
	struct edge *e = find_edge(C, "10.244.1.10", 53, 17);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->ok, 1);
	struct counted *nm = strtab_find(&e->dns, "api.partner.example");
	CU_ASSERT(nm && (nm->flags & DNS_NOERROR) && (nm->flags & DNS_HAS_ADDR));
	done();
}

static void test_dns_writable(void)
{
	CU_ASSERT_TRUE(dns_name_writable("api.partner.example"));
	CU_ASSERT_TRUE(dns_name_writable("_srv._tcp.x-y.example"));
	CU_ASSERT_FALSE(dns_name_writable("a|b.example"));
	CU_ASSERT_FALSE(dns_name_writable("a..b"));
	CU_ASSERT_FALSE(dns_name_writable(".a"));
	CU_ASSERT_FALSE(dns_name_writable(""));
}

static void test_dns_pattern(void)
{
	CU_ASSERT_TRUE(dns_pattern_matches("*", "anything.at.all"));
	CU_ASSERT_TRUE(dns_pattern_matches("*.example.com", "api.example.com"));
	CU_ASSERT_TRUE(dns_pattern_matches("*.example.com.", "API.Example.com"));
	CU_ASSERT_FALSE(dns_pattern_matches("*.example.com", "a.b.example.com"));
	CU_ASSERT_FALSE(dns_pattern_matches("*.example.com", "example.com"));
	CU_ASSERT_TRUE(dns_pattern_matches("api-*.example.com", "api-v2.example.com"));
	CU_ASSERT_FALSE(dns_pattern_matches("api.example.com", "api.example.org"));
}

/* ---------------------------------------------------------------- TLS */

static void test_tls_sni(void)
{
	uint8_t r[256];
	size_t n = 0;
	const char *host = "api.partner.example";
	size_t hl = strlen(host);
	uint8_t ext[64];
	size_t en = 0;
	put16(ext, 0);				  /* server_name */
	put16(ext + 2, (uint16_t)(hl + 5));	  /* ext length */
	put16(ext + 4, (uint16_t)(hl + 3));	  /* list length */
	ext[6] = 0;				  /* host_name */
	put16(ext + 7, (uint16_t)hl);
	memcpy(ext + 9, host, hl);
	en = 9 + hl;
	uint8_t body[256];
	size_t bn = 0;
	put16(body, 0x0303);
	bn = 2 + 32;
	memset(body + 2, 0x11, 32);
	body[bn++] = 0; /* session id */
	put16(body + bn, 2);
	put16(body + bn + 2, 0x1301);
	bn += 4;
	body[bn++] = 1;
	body[bn++] = 0;
	put16(body + bn, (uint16_t)en);
	bn += 2;
	memcpy(body + bn, ext, en);
	bn += en;
	r[0] = 22;
	r[1] = 3;
	r[2] = 1;
	put16(r + 3, (uint16_t)(bn + 4));
	r[5] = 1;
	r[6] = 0;
	put16(r + 7, (uint16_t)bn);
	memcpy(r + 9, body, bn);
	n = 9 + bn;
	char sni[256];
	CU_ASSERT_TRUE(tls_looks_like_hello(r, n));
	CU_ASSERT_EQUAL(tls_client_hello_sni(r, n, sni, sizeof sni), 1);
	CU_ASSERT_STRING_EQUAL(sni, host);
	/* incomplete: wait for more; never past the end */
	for (size_t k = 0; k < n; k++)
		CU_ASSERT(tls_client_hello_sni(r, k, sni, sizeof sni) <= 0);
}

/* ---------------------------------------------------------------- link layers and tunnels */

static void test_link_layers(void)
{
	struct learn_stats st;
	memset(&st, 0, sizeof(st));
	uint8_t p[64];
	uint32_t off;
	/* Ethernet with 802.1ad + 802.1Q (QinQ) */
	memset(p, 0, sizeof p);
	put16(p + 12, 0x88a8);
	put16(p + 16, 0x8100);
	put16(p + 20, 0x0800);
	CU_ASSERT_EQUAL(link_decode(1, p, 40, &off, &st), 0x0800);
	CU_ASSERT_EQUAL(off, 22);
	/* Linux cooked v1: protocol at 14 */
	memset(p, 0, sizeof p);
	put16(p + 14, 0x86dd);
	CU_ASSERT_EQUAL(link_decode(113, p, 40, &off, &st), 0x86dd);
	CU_ASSERT_EQUAL(off, 16);
	/* Linux cooked v2: protocol first, 20 bytes */
	memset(p, 0, sizeof p);
	put16(p, 0x0800);
	CU_ASSERT_EQUAL(link_decode(276, p, 40, &off, &st), 0x0800);
	CU_ASSERT_EQUAL(off, 20);
	/* raw IP: the version nibble decides */
	p[0] = 0x60;
	CU_ASSERT_EQUAL(link_decode(12, p, 40, &off, &st), 0x86dd);
	/* too short for its header: nothing */
	CU_ASSERT_EQUAL(link_decode(276, p, 10, &off, &st), 0);
	CU_ASSERT_EQUAL(link_decode(1, p, 13, &off, &st), 0);
	/* BSD loopback, either byte order */
	uint8_t lo[8] = {2, 0, 0, 0, 0x45};
	CU_ASSERT_EQUAL(link_decode(0, lo, 8, &off, &st), 0x0800);
	uint8_t lo6[8] = {0, 0, 0, 30, 0x60};
	CU_ASSERT_EQUAL(link_decode(0, lo6, 8, &off, &st), 0x86dd);
}

/* An inner TCP SYN/SYN-ACK in VXLAN (UDP 8472) and in Geneve: learned as the inner flow. */
static void tunnelled(uint16_t port, bool geneve)
{
	for (int dir = 0; dir < 2; dir++) {
		uint8_t inner[256], l4[256], outer[512];
		struct frame in = {.n = 14};
		memset(in.b, 0, 14);
		put16(in.b + 12, 0x0800);
		size_t tn = dir == 0 ? tcp(l4, 40500, 443, TH_SYN, 1, 0, NULL)
				     : tcp(l4, 443, 40500, TH_SYN | TH_ACK, 7, 2, NULL);
		ipv4(&in, dir == 0 ? "10.0.1.5" : "10.0.2.7", dir == 0 ? "10.0.2.7" : "10.0.1.5", 6, l4,
		     tn, 1, 0);
		memcpy(inner, in.b, in.n);
		size_t hn = 8;
		memset(outer, 0, 8);
		if (geneve) {
			put16(outer + 2, 0x6558);
		} else {
			outer[0] = 0x08;
		}
		memcpy(outer + hn, inner, in.n);
		struct frame f = {.n = 0};
		uint8_t u[600];
		size_t un = udp(u, 51234, port, outer, hn + in.n);
		ipv4(&f, "172.18.0.11", "172.18.0.12", 17, u, un, 9, 0);
		send_ip(&f);
	}
}

static void test_tunnels(void)
{
	uint16_t ports[] = {4789, 8472, 6081};
	for (int i = 0; i < 3; i++) {
		fresh();
		tunnelled(ports[i], ports[i] == 6081);
		flows_flush(&L);
		struct edge *e = find_edge("10.0.1.5", "10.0.2.7", 443, 6);
		CU_ASSERT_PTR_NOT_NULL(e);
		CU_ASSERT(e && e->ok == 1);
		CU_ASSERT_PTR_NULL(find_edge("172.18.0.11", "172.18.0.12", ports[i], 17));
		CU_ASSERT_EQUAL(L.st.tunnels, 2);
		done();
	}
}

/* ---------------------------------------------------------------- fragments and garbage */

static void test_fragments(void)
{
	fresh();
	/* a DNS answer in two IPv4 fragments, second one first */
	uint8_t m[512], l4[600];
	size_t mn = dns_response(m, 9, 0);
	size_t un = udp(l4, 53, 33000, m, mn);
	struct frame f2 = {.n = 0}, f1 = {.n = 0};
	ipv4(&f2, "10.244.1.10", C, 17, l4 + 16, un - 16, 77, 2); /* offset 16 bytes */
	ipv4(&f1, "10.244.1.10", C, 17, l4, 16, 77, 0x2000);     /* more fragments */
	send_ip(&f2);
	send_ip(&f1);
	CU_ASSERT_EQUAL(L.st.fragments, 2);
	CU_ASSERT_EQUAL(L.st.reassembled, 1);
	CU_ASSERT_EQUAL(L.st.dns_answers, 1);
	done();
}

static void test_garbage_never_crashes(void)
{
	fresh();
	srand(42);
	uint8_t p[256];
	for (int i = 0; i < 20000; i++) {
		uint32_t n = (uint32_t)(rand() % 256);
		for (uint32_t k = 0; k < n; k++)
			p[k] = (uint8_t)rand();
		if (n && i % 2)
			p[0] = (uint8_t)((i % 4 ? 0x40 : 0x60) | (p[0] & 0x0f));
		now += 1000;
		decode_l3(&L, i % 3 ? 0x0800 : 0x86dd, p, n, n + (uint32_t)(rand() % 3000), now, 0, 0);
		uint32_t off;
		link_decode(i % 2 ? 1 : 276, p, n, &off, &L.st);
	}
	/* a valid HTTP exchange cut at every length */
	const char *req = "GET /x HTTP/1.1\r\nHost: y\r\nContent-Length: 3\r\n\r\nabc";
	uint8_t l4[512];
	size_t tn = tcp(l4, 40600, 80, TH_ACK | TH_PSH, 5, 5, req);
	for (size_t cut = 0; cut < tn + 20; cut++) {
		struct frame f = {.n = 0};
		ipv4(&f, C, S, 6, l4, tn, 1, 0);
		size_t len = 20 + (cut < tn ? cut : tn);
		now += 1000;
		decode_l3(&L, 0x0800, f.b, (uint32_t)len, (uint32_t)f.n, now, 0, 0);
	}
	flows_flush(&L);
	/* garbage makes no flow between the well-known test addresses */
	CU_ASSERT_PTR_NULL(find_edge(S, C, 40600, 6));
	done();
}

/* ---------------------------------------------------------------- limits */

static void test_conn_limit(void)
{
	fresh();
	opts.max_conns = 16;
	conntab_free(&L, L.ct);
	L.ct = conntab_new(opts.max_conns);
	char src[32];
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w"); /* the one-line warning */
	for (int i = 0; i < 1000; i++) {
		snprintf(src, sizeof src, "10.1.%d.%d", i / 200, i % 200 + 1);
		send_tcp(src, S, (uint16_t)(30000 + i), 8080, TH_SYN, 1, 0, NULL);
		send_tcp(S, src, 8080, (uint16_t)(30000 + i), TH_SYN | TH_ACK, 1, 2, NULL);
	}
	fclose(stderr);
	stderr = saved;
	CU_ASSERT(L.st.peak_conns <= 16);
	CU_ASSERT(L.st.conns_evicted > 0);
	flows_flush(&L);
	struct edge *e = find_edge("10.1.4.200", S, 8080, 6);
	CU_ASSERT(e && e->ok == 1); /* finished early, still learned */
	done();
}

static void test_reqtab_compaction(void)
{
	fresh();
	struct edge_key k;
	memset(&k, 0, sizeof(k));
	ip_parse(C, &k.client);
	ip_parse(S, &k.server);
	k.port = 80;
	k.proto = 6;
	struct edge *e = edge_get(&L, &k, true);
	const char *get = intern(&L, "GET", 3);
	char path[64];
	for (int i = 0; i < 10000; i++) {
		snprintf(path, sizeof path, "/items/%d", i);
		reqtab_add(&L, &e->http, get, path, now, REQ_STATUS_2XX);
	}
	reqtab_add(&L, &e->http, get, "/healthz", now, REQ_STATUS_2XX);
	CU_ASSERT(e->http.n < 4200);
	CU_ASSERT_EQUAL(e->http.dropped, 0);
	const struct http_req *r = find_req(e, "GET", "/items/" SEG_INT);
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(find_req(e, "GET", "/healthz"));
	done();
}

/* ---------------------------------------------------------------- synthesis */

static void test_path_shape(void)
{
	char *s = path_shape("/a/123/123e4567-e89b-12d3-a456-426614174000/deadbeef42/x.y");
	CU_ASSERT_STRING_EQUAL(s, "/a/" SEG_INT "/" SEG_UUID "/" SEG_HEX "/x.y");
	free(s);
	struct arena a = {0};
	CU_ASSERT_STRING_EQUAL(regex_escape(&a, "/v1/a.b+c(d)"), "/v1/a\\.b\\+c\\(d\\)");
	arena_free(&a);
	CU_ASSERT_TRUE(label_is_volatile("pod-template-hash"));
	CU_ASSERT_TRUE(label_is_volatile("statefulset.kubernetes.io/pod-name"));
	CU_ASSERT_TRUE(label_is_volatile("controller-revision-hash"));
	CU_ASSERT_FALSE(label_is_volatile("app.kubernetes.io/name"));
	CU_ASSERT_FALSE(label_is_volatile("app"));
}

static const struct shttp *rule_for(const struct shttp *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].path, path))
			return &v[i];
	return NULL;
}

static void test_generalisation(void)
{
	struct arena a = {0};
	struct shttp *r;
	/* five ids: one regex; it matches each of them and nothing that is not an id */
	const char *five[] = {"/products/1", "/products/22", "/products/333", "/products/4",
			      "/products/5", "/about"};
	size_t n = synth_paths(&a, five, NULL, 6, 3, &r, "GET");
	CU_ASSERT_EQUAL(n, 2);
	const struct shttp *g = rule_for(r, n, "/products/[0-9]+");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_TRUE(g->generalised);
	CU_ASSERT_EQUAL(g->distinct, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_TRUE(http_regex_matches(g->path, five[i]));
	CU_ASSERT_FALSE(http_regex_matches(g->path, "/products/abc"));
	CU_ASSERT_FALSE(http_regex_matches(g->path, "/products/1/delete"));
	CU_ASSERT_PTR_NOT_NULL(rule_for(r, n, "/about"));
	/* two ids are not enough evidence: both stay literal */
	const char *two[] = {"/products/403", "/products/698"};
	n = synth_paths(&a, two, NULL, 2, 3, &r, "GET");
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_PTR_NOT_NULL(rule_for(r, n, "/products/403"));
	/* ids in the middle, with a tail; UUIDs; numbered files */
	const char *mid[] = {"/users/1/orders", "/users/2/orders", "/users/3/orders"};
	n = synth_paths(&a, mid, NULL, 3, 3, &r, "GET");
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_PTR_NOT_NULL(rule_for(r, n, "/users/[0-9]+/orders"));
	const char *uu[] = {"/o/123e4567-e89b-12d3-a456-426614174000",
			    "/o/223e4567-e89b-12d3-a456-426614174000",
			    "/o/323e4567-e89b-12d3-a456-426614174000"};
	n = synth_paths(&a, uu, NULL, 3, 3, &r, "DELETE");
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(n && http_regex_matches(r[0].path, uu[1]));
	CU_ASSERT_FALSE(n && http_regex_matches(r[0].path, "/o/x"));
	const char *img[] = {"/images/1.jpg", "/images/2.jpg", "/images/3.jpg", "/images/4.png"};
	n = synth_paths(&a, img, NULL, 4, 3, &r, "HEAD");
	CU_ASSERT_PTR_NOT_NULL(rule_for(r, n, "/images/[0-9]+\\.jpg"));
	CU_ASSERT_PTR_NOT_NULL(rule_for(r, n, "/images/4\\.png"));
	/* a query string: allowed after the path, never stored */
	const char *q[] = {"/search(\\?.*)?"};
	n = synth_paths(&a, q, NULL, 1, 3, &r, "GET");
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(n && http_regex_matches(r[0].path, "/search?q=shoes"));
	CU_ASSERT_TRUE(n && http_regex_matches(r[0].path, "/search"));
	CU_ASSERT_FALSE(n && http_regex_matches(r[0].path, "/searchx"));
	/* placeholders from a compacted table stand for many ids */
	const char *ph[] = {"/items/" SEG_INT};
	n = synth_paths(&a, ph, NULL, 1, 3, &r, "GET");
	CU_ASSERT_PTR_NOT_NULL(rule_for(r, n, "/items/[0-9]+"));
	/* never .* */
	const char *odd[] = {"/a/x", "/a/y", "/a/z", "/a/w"};
	n = synth_paths(&a, odd, NULL, 4, 3, &r, "GET");
	CU_ASSERT_EQUAL(n, 4);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_PTR_NULL(strstr(r[i].path, ".*"));
	arena_free(&a);
}

static void test_selectors(void)
{
	const char *path = POLC_SRCDIR "/samples/inventory/shop.yaml";
	struct diag_sink d;
	diag_init(&d);
	struct reader_limits lim;
	reader_default_limits(&lim);
	struct inventory *inv = inventory_load(&path, 1, &lim, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	struct arena a = {0};
	struct kv *kv;
	const char *note;
	size_t n = synth_selector(inv, "shop-web/frontend", &a, &kv, &note);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(n ? kv[0].k : "", "app.kubernetes.io/name");
	CU_ASSERT_STRING_EQUAL(n ? kv[0].v : "", "frontend");
	CU_ASSERT_PTR_NOT_NULL(strstr(note, "exactly the 2 pods"));
	CU_ASSERT_PTR_NOT_NULL(strstr(note, "pod-template-hash"));
	n = synth_selector(inv, "kube-system/coredns", &a, &kv, &note);
	CU_ASSERT_EQUAL(n, 1);
	n = synth_selector(inv, "shop-web/nosuch", &a, &kv, &note);
	CU_ASSERT_EQUAL(n, 0);
	/* attribution: pods, nodes, services and their target ports, the world */
	struct attr *at = attr_build(inv);
	struct ip ip;
	struct addr_info ai;
	ip_parse("10.244.2.14", &ip);
	attr_lookup(at, &ip, &ai);
	CU_ASSERT_EQUAL(ai.cls, PC_POD);
	CU_ASSERT_STRING_EQUAL(ai.pod ? ai.pod->workload : "", "shop-api/cart");
	ip_parse("fd00:172:18::12", &ip);
	attr_lookup(at, &ip, &ai);
	CU_ASSERT_EQUAL(ai.cls, PC_NODE);
	ip_parse("10.96.3.10", &ip);
	attr_lookup(at, &ip, &ai);
	CU_ASSERT_EQUAL_FATAL(ai.cls, PC_SERVICE);
	const struct pod *b[8];
	CU_ASSERT_EQUAL(attr_backends(at, ai.svc, b, 8), 1);
	CU_ASSERT_EQUAL(attr_target_port(ai.svc, b[0], 6, 6379, false, NULL), 6379); /* named "redis" */
	CU_ASSERT_EQUAL(attr_target_port(ai.svc, b[0], 17, 6379, false, NULL), -1);
	ip_parse("10.244.1.99", &ip);
	attr_lookup(at, &ip, &ai);
	CU_ASSERT_EQUAL(ai.cls, PC_CLUSTER); /* in a pod CIDR, but no such pod */
	ip_parse("172.20.0.10", &ip);
	attr_lookup(at, &ip, &ai);
	CU_ASSERT_EQUAL(ai.cls, PC_WORLD);
	ip_parse("10.244.1.12", &ip);
	CU_ASSERT_TRUE(attr_listens(at, &ip, 6, 8080));
	CU_ASSERT_FALSE(attr_listens(at, &ip, 6, 8081));
	attr_free(at);
	arena_free(&a);
	inventory_free(inv);
	diag_free(&d);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("learner", NULL, NULL);
	struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"handshake direction", test_handshake_direction},
		{"refused and unanswered are not learned", test_refused_not_learned},
		{"ICMP unreachable fails a flow", test_icmp_unreachable},
		{"UDP with and without a reply", test_udp_outcomes},
		{"a connection captured on both ends is one", test_both_ends_dedupe},
		{"direction without a SYN", test_no_syn_direction},
		{"ICMP echo", test_icmp_echo},
		{"HTTP pipelining", test_http_pipelining},
		{"HTTP unanswered requests and retransmissions", test_http_unanswered_and_retransmit},
		{"HTTP sniffing", test_http_sniffing},
		{"HPACK Huffman", test_huffman},
		{"HPACK header blocks", test_hpack},
		{"gRPC over h2c", test_h2_grpc},
		{"DNS parsing", test_dns_parse},
		{"DNS answers lead to connections", test_dns_causality},
		{"DNS matchPattern", test_dns_pattern},
		{"DNS names a policy can hold", test_dns_writable},
		{"TLS server name", test_tls_sni},
		{"link layers", test_link_layers},
		{"VXLAN and Geneve", test_tunnels},
		{"IP fragments", test_fragments},
		{"garbage never crashes", test_garbage_never_crashes},
		{"the connection table limit", test_conn_limit},
		{"request table compaction", test_reqtab_compaction},
		{"path shapes and escaping", test_path_shape},
		{"path generalisation", test_generalisation},
		{"selectors and attribution", test_selectors},
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(*tests); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed || CU_get_error() ? 1 : 0;
}
