/* Fuzz target: the learner's L7 parsers, fed directly (learner/l7_*.c).
 *
 * The first byte picks the parser:
 *   0 DNS message (dns_parse, then dns_handle into an edge)     4 HTTP/1.x stream (http_feed)
 *   1 TLS ClientHello SNI (tls_client_hello_sni)                 5 HTTP/2 stream (h2_feed)
 *   2 HPACK Huffman string (hpack_huffman_decode)                6 TLS stream (tls_feed)
 *   3 HPACK header block (hpack_decode, twice: dynamic table)    7 DNS over TCP (dnstcp_feed)
 *   8 Cilium DNS matchPattern against a name (NUL between them)
 * A stream (4-7) is a sequence of chunks: [flags][length][bytes]; flags bit 0 is the
 * direction (0 client to server), bit 1 a gap before the chunk, bit 2 "after an HTTP
 * Upgrade" for HTTP/2. The parsers report into a real edge of a learner with small budgets.
 */
#include "learner_common.h"

static void on_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t *sink = ctx;
	*sink += nlen + vlen + (nlen ? (unsigned char)name[0] : 0) + (vlen ? (unsigned char)value[vlen - 1] : 0);
}

static void stream(struct learner *L, unsigned mode, struct cursor *c)
{
	struct edge_key k;
	memset(&k, 0, sizeof k);
	uint8_t a[4] = {10, 0, 1, 1}, b[4] = {10, 0, 1, 2};
	ip_from_v4(&k.client, a);
	ip_from_v4(&k.server, b);
	k.port = mode == 7 ? 53 : mode == 6 ? 443 : 80;
	k.proto = 6;
	struct edge *e = edge_get(L, &k, true);
	struct l7_sink s = {L, e, 1000000000ull, true};
	unsigned first = cur_u8(c);
	void *state = NULL;
	switch (mode) {
	case 4:
		state = http_new();
		break;
	case 5:
		state = h2_new(first & 4);
		break;
	case 6:
		state = tls_new();
		break;
	default:
		state = dnstcp_new();
	}
	c->i--; /* the first chunk's flags again */
	while (cur_left(c)) {
		unsigned flags = cur_u8(c);
		unsigned len = cur_u8(c);
		if (flags & 0x80)
			len = len << 8 | cur_u8(c);
		const uint8_t *p;
		size_t n = cur_take(c, len, &p);
		int dir = flags & 1;
		s.client_is_sender = dir == 0;
		s.ts += 1000000ull * (flags >> 3 & 7);
		uint32_t fl = 0;
		switch (mode) {
		case 4:
			if (flags & 2)
				http_gap(state, dir);
			fl = http_feed(state, &s, dir, p, n);
			if (http_switched_to_h2(state)) {
				http_free(L, state);
				state = h2_new(true);
				mode = 5;
			}
			break;
		case 5:
			if (flags & 2)
				h2_gap(state, dir);
			fl = h2_feed(state, &s, dir, p, n);
			break;
		case 6:
			fl = tls_feed(state, &s, dir, p, n);
			break;
		default:
			fl = dnstcp_feed(state, &s, &k.client, dir, p, n);
		}
		if (fl & L7F_UPGRADE)
			break;
	}
	switch (mode) {
	case 4:
		(void)http_pending(state);
		http_free(L, state);
		break;
	case 5:
		(void)h2_pending(state);
		h2_free(L, state);
		break;
	case 6:
		tls_free(L, state);
		break;
	default:
		dnstcp_free(L, state);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	unsigned mode = data[0] % 9;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	struct learn_opts o;
	struct learner L;
	fuzz_learner_init(&L, &o);
	volatile size_t sink = 0;
	switch (mode) {
	case 0: {
		struct dns_msg m;
		if (dns_parse(p, n, &m) == 0) {
			sink += strlen(m.qname) + m.nan;
			struct edge_key k;
			memset(&k, 0, sizeof k);
			uint8_t a[4] = {10, 0, 1, 1}, b[4] = {10, 96, 0, 10};
			ip_from_v4(&k.client, a);
			ip_from_v4(&k.server, b);
			k.port = 53;
			k.proto = 17;
			struct l7_sink s = {&L, edge_get(&L, &k, true), 1000000000ull, !m.response};
			sink += dns_handle(&s, &k.client, &m);
			if (m.nan)
				sink += dns_name_for(&L, &m.an[0].addr, &k.client, 1000000000ull) != NULL;
		}
		break;
	}
	case 1: {
		char sni[256];
		int rc = tls_client_hello_sni(p, n, sni, sizeof sni);
		if (rc == 1)
			sink += strlen(sni);
		sink += tls_looks_like_hello(p, n);
		break;
	}
	case 2: {
		char out[512];
		int rc = hpack_huffman_decode(p, n, out, sizeof out);
		if (rc > 0)
			sink += (size_t)rc;
		break;
	}
	case 3: {
		struct hpack *t = hpack_new();
		size_t acc = 0;
		/* twice: the second block sees what the first put in the dynamic table */
		if (hpack_decode(t, p, n, on_header, &acc) == 0)
			hpack_decode(t, p, n, on_header, &acc);
		hpack_free(t);
		sink += acc;
		break;
	}
	case 8: {
		const uint8_t *nul = memchr(p, 0, n);
		if (nul) {
			char *pattern = xmalloc((size_t)(nul - p) + 1), *name = xmalloc(n - (size_t)(nul - p));
			memcpy(pattern, p, (size_t)(nul - p));
			pattern[nul - p] = 0;
			memcpy(name, nul + 1, n - (size_t)(nul - p) - 1);
			name[n - (size_t)(nul - p) - 1] = 0;
			sink += dns_pattern_matches(pattern, name);
			free(pattern);
			free(name);
		}
		break;
	}
	default: {
		struct cursor c = {p, n, 0};
		sink += http_looks_like_request(p, n) + http_looks_like_response(p, n) + h2_is_preface(p, n);
		if (n)
			stream(&L, mode, &c);
	}
	}
	(void)sink;
	learner_free(&L);
	return 0;
}
