/* TLS: the server name a client asked for in its ClientHello (SNI). It names a world peer
 * when no DNS answer does (provenance only: Cilium cannot select by SNI without DNS), and it
 * tells the synthesiser that the port carries TLS, so no HTTP rule can apply there.
 */
#include "learn.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_MAX (16384 + 5)

static inline uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

bool tls_looks_like_hello(const uint8_t *p, size_t n)
{
	return n >= 6 && p[0] == 22 && p[1] == 3 && p[2] <= 4 && p[5] == 1;
}

/* The handshake message may span records: concatenate record payloads first. */
int tls_client_hello_sni(const uint8_t *p, size_t n, char *sni, size_t size)
{
	uint8_t *hs = xmalloc(n ? n : 1);
	size_t hl = 0, off = 0;
	int rc = -2;
	while (off + 5 <= n) {
		if (p[off] != 22 || p[off + 1] != 3) {
			rc = -1;
			goto out;
		}
		size_t rl = be16(p + off + 3);
		if (off + 5 + rl > n) { /* take what is there; the rest may follow */
			memcpy(hs + hl, p + off + 5, n - off - 5);
			hl += n - off - 5;
			off = n;
			break;
		}
		memcpy(hs + hl, p + off + 5, rl);
		hl += rl;
		off += 5 + rl;
	}
	if (hl < 4)
		goto out;
	if (hs[0] != 1) {
		rc = -1;
		goto out;
	}
	size_t mlen = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
	if (hl < 4 + mlen)
		goto out; /* incomplete */
	const uint8_t *q = hs + 4, *end = hs + 4 + mlen;
	rc = -1;
	if (end - q < 34)
		goto out;
	q += 34; /* version, random */
	if (q >= end || (size_t)(end - q) < 1u + q[0])
		goto out;
	q += 1 + q[0]; /* session id */
	if (end - q < 2 || (size_t)(end - q) < 2 + be16(q))
		goto out;
	q += 2 + be16(q); /* cipher suites */
	if (q >= end || (size_t)(end - q) < 1u + q[0])
		goto out;
	q += 1 + q[0]; /* compression */
	rc = 0;
	if (end - q < 2)
		goto out; /* no extensions */
	const uint8_t *xend = q + 2 + be16(q);
	q += 2;
	if (xend > end)
		xend = end;
	while (xend - q >= 4) {
		uint32_t type = be16(q), len = be16(q + 2);
		q += 4;
		if ((size_t)(xend - q) < len)
			break;
		if (type == 0 && len >= 5) {
			const uint8_t *s = q + 2, *send = q + len;
			while (send - s >= 3) {
				uint32_t nl = be16(s + 1);
				if ((size_t)(send - s - 3) < nl)
					break;
				if (s[0] == 0 && nl && nl < size) {
					for (uint32_t i = 0; i < nl; i++) {
						unsigned char c = s[3 + i];
						if (c <= 0x20 || c >= 0x7f)
							goto out;
						sni[i] = (char)tolower(c);
					}
					sni[nl] = 0;
					if (nl && sni[nl - 1] == '.')
						sni[nl - 1] = 0;
					rc = 1;
					goto out;
				}
				s += 3 + nl;
			}
		}
		q += len;
	}
out:
	free(hs);
	return rc;
}

struct l7_tls {
	uint8_t *buf;
	uint32_t len, cap;
};

struct l7_tls *tls_new(void)
{
	return xcalloc(1, sizeof(struct l7_tls));
}

void tls_free(struct learner *L, struct l7_tls *t)
{
	if (!t)
		return;
	l7_release(L, t->cap);
	free(t->buf);
	free(t);
}

uint32_t tls_feed(struct l7_tls *t, struct l7_sink *s, int dir, const uint8_t *p, size_t n)
{
	if (dir != 0)
		return 0;
	if (t->len + n > HELLO_MAX)
		n = HELLO_MAX - t->len;
	if (t->len + n > t->cap) {
		uint32_t ncap = t->cap ? t->cap : 1024;
		while (ncap < t->len + n)
			ncap *= 2;
		if (!l7_charge(s->L, ncap - t->cap))
			return L7F_INCOMPLETE;
		t->buf = xrealloc(t->buf, ncap);
		t->cap = ncap;
	}
	if (n) /* nothing is allocated before the first byte */
		memcpy(t->buf + t->len, p, n);
	t->len += (uint32_t)n;
	char sni[256];
	int rc = tls_client_hello_sni(t->buf, t->len, sni, sizeof sni);
	if (rc == -2 && t->len < HELLO_MAX)
		return 0; /* wait for more */
	if (rc < 0)
		return L7F_TLS | L7F_INCOMPLETE;
	s->L->st.tls_hellos++;
	if (rc == 1 && s->edge)
		strtab_add(&s->edge->sni, intern(s->L, sni, strlen(sni)), s->ts, 0, 64);
	return L7F_TLS;
}
