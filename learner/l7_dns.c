/* DNS over UDP and TCP: the question a client asked, and what the answer said (rcode, A and
 * AAAA records through any CNAME chain, TTLs). Answers feed FQDN attribution (which name led
 * a client to a world address); the names asked feed the DNS rule of the egress to kube-dns.
 * Names are normalised: lower case, no final dot. Compression pointers are followed with a
 * hop limit; nothing is read past the message.
 */
#include "learn.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Reads a (possibly compressed) name at *off; advances *off past it in the message. */
static int read_name(const uint8_t *m, size_t n, size_t *off, char *out, size_t size)
{
	size_t o = *off, w = 0;
	bool jumped = false;
	for (int hops = 0; hops < 64; hops++) {
		if (o >= n)
			return -1;
		uint8_t len = m[o];
		if ((len & 0xc0) == 0xc0) {
			if (o + 1 >= n)
				return -1;
			if (!jumped)
				*off = o + 2;
			jumped = true;
			o = (size_t)(len & 0x3f) << 8 | m[o + 1];
			continue;
		}
		if (len & 0xc0)
			return -1;
		if (len == 0) {
			if (!jumped)
				*off = o + 1;
			if (w == 0) {
				if (size < 2)
					return -1;
				out[0] = 0; /* the root */
			}
			out[w] = 0;
			return 0;
		}
		if (o + 1 + len > n || w + len + 2 > size)
			return -1;
		if (w)
			out[w++] = '.';
		for (size_t i = 0; i < len; i++) {
			unsigned char c = m[o + 1 + i];
			if (c <= 0x20 || c >= 0x7f || c == '.')
				return -1; /* not a host name we could write in a policy */
			out[w++] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
		}
		o += 1 + len;
	}
	return -1;
}

/* Steps over a name without reading it (the owner names of answers are not needed). */
static int skip_name(const uint8_t *m, size_t n, size_t *off)
{
	size_t o = *off;
	for (int labels = 0; labels < 128; labels++) {
		if (o >= n)
			return -1;
		uint8_t len = m[o];
		if ((len & 0xc0) == 0xc0) {
			if (o + 1 >= n)
				return -1;
			*off = o + 2;
			return 0;
		}
		if (len & 0xc0)
			return -1;
		if (len == 0) {
			*off = o + 1;
			return 0;
		}
		o += 1 + (size_t)len;
	}
	return -1;
}

int dns_parse(const uint8_t *p, size_t n, struct dns_msg *m)
{
	m->nan = 0;
	m->qname[0] = 0;
	m->qtype = 0;
	if (n < 12)
		return -1;
	m->id = be16(p);
	m->response = p[2] & 0x80;
	uint8_t opcode = (p[2] >> 3) & 15;
	m->rcode = p[3] & 15;
	uint16_t qd = be16(p + 4), an = be16(p + 6);
	if (opcode != 0 || qd != 1)
		return -1; /* only standard queries with one question */
	size_t off = 12;
	/* a query's name is not needed (the answer repeats it): only check its shape */
	if ((m->response ? read_name(p, n, &off, m->qname, sizeof m->qname)
			 : skip_name(p, n, &off)) < 0 ||
	    off + 4 > n)
		return -1;
	m->qtype = be16(p + off);
	off += 4;
	if (!m->response)
		return 0;
	for (uint16_t i = 0; i < an && m->nan < sizeof(m->an) / sizeof(*m->an); i++) {
		if (skip_name(p, n, &off) < 0 || off + 10 > n)
			break; /* answers cut short: keep what was whole */
		uint16_t type = be16(p + off);
		uint32_t ttl = (uint32_t)p[off + 4] << 24 | (uint32_t)p[off + 5] << 16 |
			       (uint32_t)p[off + 6] << 8 | p[off + 7];
		uint16_t rdlen = be16(p + off + 8);
		off += 10;
		if (off + rdlen > n)
			break;
		if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) {
			m->an[m->nan].type = type;
			m->an[m->nan].ttl = ttl;
			if (type == 1)
				ip_from_v4(&m->an[m->nan].addr, p + off);
			else
				memcpy(m->an[m->nan].addr.b, p + off, 16);
			m->nan++;
		}
		off += rdlen;
	}
	return 0;
}

bool dns_name_writable(const char *name)
{
	size_t label = 0, n = 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
			return false;
		label++;
	}
	return n && n <= 253 && label;
}

uint32_t dns_handle(struct l7_sink *s, const struct ip *client, const struct dns_msg *m)
{
	struct learner *L = s->L;
	if (!m->response) {
		L->st.dns_queries++;
		return L7F_DNS;
	}
	L->st.dns_answers++;
	if (!m->qname[0])
		return L7F_DNS;
	if (!dns_name_writable(m->qname))
		return L7F_DNS | L7F_ODDNAME; /* kept out of rules; the port gets no DNS rule */
	const char *name = intern(L, m->qname, strlen(m->qname));
	uint32_t fl = m->rcode == 0 ? DNS_NOERROR : m->rcode == 3 ? DNS_NXDOMAIN : DNS_OTHER_RCODE;
	if (m->nan)
		fl |= DNS_HAS_ADDR;
	if (s->edge)
		strtab_add(&s->edge->dns, name, s->ts, fl, 4096);
	for (size_t i = 0; m->rcode == 0 && i < m->nan; i++)
		dns_remember(L, &m->an[i].addr, client, name, s->ts, m->an[i].ttl);
	return L7F_DNS;
}

/* ---------------------------------------------------------------- DNS over TCP */

struct dnsdir {
	uint8_t *buf;
	uint32_t len, cap;
};
struct l7_dnstcp {
	struct dnsdir d[2];
};

struct l7_dnstcp *dnstcp_new(void)
{
	return xcalloc(1, sizeof(struct l7_dnstcp));
}

void dnstcp_free(struct learner *L, struct l7_dnstcp *t)
{
	if (!t)
		return;
	for (int i = 0; i < 2; i++) {
		l7_release(L, t->d[i].cap);
		free(t->d[i].buf);
	}
	free(t);
}

uint32_t dnstcp_feed(struct l7_dnstcp *t, struct l7_sink *s, const struct ip *client, int dir,
		     const uint8_t *p, size_t n)
{
	struct dnsdir *d = &t->d[dir];
	uint32_t fl = 0;
	if (d->len + n > 65537 + 2)
		return L7F_INCOMPLETE;
	if (d->len + n > d->cap) {
		uint32_t ncap = d->cap ? d->cap : 512;
		while (ncap < d->len + n)
			ncap *= 2;
		if (!l7_charge(s->L, ncap - d->cap))
			return L7F_INCOMPLETE;
		d->buf = xrealloc(d->buf, ncap);
		d->cap = ncap;
	}
	if (n) /* an empty segment may come with no buffer at all */
		memcpy(d->buf + d->len, p, n);
	d->len += (uint32_t)n;
	while (d->len >= 2) {
		uint32_t ml = be16(d->buf);
		if (d->len < 2 + ml)
			break;
		struct dns_msg m;
		if (dns_parse(d->buf + 2, ml, &m) == 0)
			fl |= dns_handle(s, client, &m);
		else
			fl |= L7F_OPAQUE;
		memmove(d->buf, d->buf + 2 + ml, d->len - 2 - ml);
		d->len -= 2 + ml;
	}
	return fl;
}

/* ---------------------------------------------------------------- Cilium matchPattern */

static bool dns_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* "*" alone matches every name; otherwise "*" matches any run of DNS characters within one
 * label (it never matches a dot). Case-insensitive; final dots ignored. */
bool dns_pattern_matches(const char *pattern, const char *name)
{
	size_t pl = strlen(pattern), nl = strlen(name);
	if (pl && pattern[pl - 1] == '.')
		pl--;
	if (nl && name[nl - 1] == '.')
		nl--;
	if (pl == 1 && pattern[0] == '*')
		return true;
	/* classic backtracking over one star at a time */
	size_t pi = 0, ni = 0, star = (size_t)-1, mark = 0;
	while (ni < nl) {
		if (pi < pl && pattern[pi] == '*') {
			star = pi++;
			mark = ni;
		} else if (pi < pl && tolower((unsigned char)pattern[pi]) ==
					      tolower((unsigned char)name[ni])) {
			pi++, ni++;
		} else if (star != (size_t)-1 && dns_char(name[mark])) {
			pi = star + 1;
			ni = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pl && pattern[pi] == '*')
		pi++;
	return pi == pl;
}
