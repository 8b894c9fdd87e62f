/* Network and transport layers: IPv4 and IPv6 (extension headers, fragments), TCP, UDP,
 * SCTP, ICMP and ICMPv6 (echo, and the errors that say a flow failed), and the tunnels a node
 * capture carries: VXLAN (4789 and 8472, Linux's and Cilium's port), Geneve (6081), GRE
 * (with ERSPAN), IP-in-IP and IPv6-in-IPv4.
 *
 * A length is never trusted beyond the bytes captured: a header's claim bounds what it may
 * cover, the capture bounds what we read. TSO/GSO/BIG TCP super-packets (IPv4 total length 0,
 * or more than the MTU) are read as far as they were captured.
 */
#include "learn.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---------------------------------------------------------------- addresses */

void ip_from_v4(struct ip *a, const uint8_t v4[4])
{
	memset(a->b, 0, 10);
	a->b[10] = a->b[11] = 0xff;
	memcpy(a->b + 12, v4, 4);
}

void ip_format(const struct ip *a, char *buf, size_t size)
{
	if (ip_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)size);
	else
		inet_ntop(AF_INET6, a->b, buf, (socklen_t)size);
}

int ip_parse(const char *text, struct ip *out)
{
	uint8_t v4[4];
	if (inet_pton(AF_INET, text, v4) == 1) {
		ip_from_v4(out, v4);
		return 0;
	}
	return inet_pton(AF_INET6, text, out->b) == 1 ? 0 : -1;
}

bool ip_is_special(const struct ip *a)
{
	if (ip_is_v4(a)) {
		const uint8_t *v = a->b + 12;
		return v[0] == 0 || v[0] >= 224 || (v[0] == 169 && v[1] == 254);
	}
	static const uint8_t zero[16];
	return a->b[0] == 0xff || (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) ||
	       !memcmp(a->b, zero, 16);
}

/* ---------------------------------------------------------------- fragments */

/* A fragment table: reassembles IPv4 and IPv6 datagrams whose pieces were captured whole.
 * Bounded: FRAG_SLOTS datagrams at once, each at most 64 KiB plus its header; a datagram not
 * completed within FRAG_TIMEOUT of capture time is dropped (and counted). */
#define FRAG_SLOTS 256
#define FRAG_MAX 65536
#define FRAG_TIMEOUT (30ull * 1000000000ull)

struct frag {
	bool used;
	struct ip src, dst;
	uint32_t id;
	uint8_t proto;
	uint64_t ts;
	uint8_t *buf;        /* L4 bytes, at their offsets */
	uint8_t seen[FRAG_MAX / 8 / 8]; /* one bit per 8-byte block */
	uint32_t total;      /* known once the last fragment came; 0 before */
	uint32_t have;       /* blocks received */
	uint32_t wire;
};

struct fragtab {
	struct frag v[FRAG_SLOTS];
};

struct fragtab *fragtab_new(void)
{
	return xcalloc(1, sizeof(struct fragtab));
}

void fragtab_free(struct fragtab *ft)
{
	if (!ft)
		return;
	for (size_t i = 0; i < FRAG_SLOTS; i++)
		free(ft->v[i].buf);
	free(ft);
}

static void frag_release(struct frag *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

static void decode_l4(struct learner *L, const struct ip *src, const struct ip *dst, uint8_t proto,
		      const uint8_t *p, uint32_t len, uint32_t wire, uint64_t ts, uint32_t source,
		      int depth);

/* Adds one fragment; when the datagram is complete, decodes it. */
static void fragment(struct learner *L, const struct ip *src, const struct ip *dst, uint32_t id,
		     uint8_t proto, uint32_t offset, bool more, const uint8_t *p, uint32_t len,
		     bool truncated, uint64_t ts, uint32_t source, int depth)
{
	struct fragtab *ft = L->ft;
	L->st.fragments++;
	if (truncated || offset + len > FRAG_MAX || (more && len % 8)) {
		L->st.frag_dropped++;
		return;
	}
	struct frag *f = NULL, *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < FRAG_SLOTS; i++) {
		struct frag *x = &ft->v[i];
		if (x->used && x->ts + FRAG_TIMEOUT < ts) {
			L->st.frag_dropped++;
			frag_release(x);
		}
		if (!x->used) {
			if (!free_slot)
				free_slot = x;
			continue;
		}
		if (x->id == id && x->proto == proto && !memcmp(&x->src, src, 16) &&
		    !memcmp(&x->dst, dst, 16)) {
			f = x;
			break;
		}
		if (!oldest || x->ts < oldest->ts)
			oldest = x;
	}
	if (!f) {
		if (!free_slot) {
			L->st.frag_dropped++;
			frag_release(oldest);
			free_slot = oldest;
		}
		f = free_slot;
		f->used = true;
		f->src = *src;
		f->dst = *dst;
		f->id = id;
		f->proto = proto;
		f->ts = ts;
		f->buf = xmalloc(FRAG_MAX);
	}
	memcpy(f->buf + offset, p, len);
	uint32_t first = offset / 8, last = (offset + len + 7) / 8;
	for (uint32_t b = first; b < last; b++)
		if (!(f->seen[b / 8] & (1u << (b % 8)))) {
			f->seen[b / 8] |= (uint8_t)(1u << (b % 8));
			f->have++;
		}
	if (!more)
		f->total = offset + len;
	if (f->total && f->have >= (f->total + 7) / 8) {
		L->st.reassembled++;
		uint8_t *buf = f->buf;
		uint32_t total = f->total;
		struct ip s = f->src, d = f->dst;
		f->buf = NULL;
		frag_release(f);
		decode_l4(L, &s, &d, proto, buf, total, total, ts, source, depth);
		free(buf);
	}
}

/* ---------------------------------------------------------------- tunnels */

static bool decap_ether(struct learner *L, const uint8_t *p, uint32_t len, uint64_t ts,
			uint32_t source, int depth)
{
	uint32_t off = 0;
	uint16_t et = ether_decode(p, len, &off);
	if (et == 0x0800 || et == 0x86dd) {
		L->st.tunnels++;
		decode_l3(L, et, p + off, len - off, len - off, ts, source, depth + 1);
		return true;
	}
	if (et == 0x0806) { /* ARP inside the tunnel: a tunnel all the same */
		L->st.tunnels++;
		L->st.non_ip++;
		return true;
	}
	return false;
}

/* UDP tunnels; true if the datagram was one (and its inside was handled). */
static bool udp_tunnel(struct learner *L, uint16_t dport, const uint8_t *p, uint32_t len,
		       uint64_t ts, uint32_t source, int depth)
{
	if (depth >= 4)
		return false;
	if ((dport == 4789 || dport == 8472) && len >= 8 + 14) {
		/* VXLAN: flags with the I bit, 24 reserved bits, VNI, reserved */
		if ((p[0] & 0x08) == 0 || p[1] || p[2] || p[3] || p[7])
			return false;
		return decap_ether(L, p + 8, len - 8, ts, source, depth);
	}
	if (dport == 6081 && len >= 8) {
		/* Geneve: version 0, option length in 4-byte words, protocol type */
		if (p[0] >> 6)
			return false;
		uint32_t hl = 8u + (uint32_t)(p[0] & 0x3f) * 4u;
		uint16_t type = be16(p + 2);
		if (hl > len)
			return false;
		if (type == 0x6558)
			return decap_ether(L, p + hl, len - hl, ts, source, depth);
		if (type == 0x0800 || type == 0x86dd) {
			L->st.tunnels++;
			decode_l3(L, type, p + hl, len - hl, len - hl, ts, source, depth + 1);
			return true;
		}
	}
	return false;
}

static bool gre(struct learner *L, const uint8_t *p, uint32_t len, uint64_t ts, uint32_t source,
		int depth)
{
	if (len < 4 || depth >= 4)
		return false;
	uint16_t flags = be16(p), type = be16(p + 2);
	if (flags & 0x0007) /* version must be 0 (1 is PPTP) */
		return false;
	uint32_t hl = 4 + ((flags & 0x8000) ? 4 : 0) + ((flags & 0x2000) ? 4 : 0) +
		      ((flags & 0x1000) ? 4 : 0);
	if (hl > len)
		return false;
	p += hl;
	len -= hl;
	switch (type) {
	case 0x6558:
		return decap_ether(L, p, len, ts, source, depth);
	case 0x0800:
	case 0x86dd:
		L->st.tunnels++;
		decode_l3(L, type, p, len, len, ts, source, depth + 1);
		return true;
	case 0x88be: /* ERSPAN type II: 8-byte header */
		return len > 8 && decap_ether(L, p + 8, len - 8, ts, source, depth);
	case 0x22eb: { /* ERSPAN type III: 12 bytes, plus 8 with the O flag */
		if (len < 12)
			return false;
		uint32_t eh = 12 + ((p[11] & 1) ? 8 : 0);
		return len > eh && decap_ether(L, p + eh, len - eh, ts, source, depth);
	}
	}
	return false;
}

/* ---------------------------------------------------------------- transport */

/* The 5-tuple of the datagram an ICMP error quotes. */
static bool quoted(const uint8_t *p, uint32_t len, struct pkt *k)
{
	if (len < 1)
		return false;
	uint8_t v = p[0] >> 4;
	uint32_t hl;
	if (v == 4) {
		if (len < 20)
			return false;
		hl = (uint32_t)(p[0] & 15) * 4;
		if (hl < 20 || hl > len)
			return false;
		k->in_proto = p[9];
		ip_from_v4(&k->in_src, p + 12);
		ip_from_v4(&k->in_dst, p + 16);
	} else if (v == 6) {
		if (len < 40)
			return false;
		hl = 40;
		k->in_proto = p[6];
		memcpy(k->in_src.b, p + 8, 16);
		memcpy(k->in_dst.b, p + 24, 16);
	} else {
		return false;
	}
	if (k->in_proto == 6 || k->in_proto == 17 || k->in_proto == 132) {
		if (hl + 4 > len)
			return false;
		k->in_sport = be16(p + hl);
		k->in_dport = be16(p + hl + 2);
	} else if (k->in_proto == 1 || k->in_proto == 58) {
		if (hl + 8 > len)
			return false;
		k->in_sport = k->in_dport = be16(p + hl + 4);
	} else {
		return false;
	}
	return true;
}

static void decode_l4(struct learner *L, const struct ip *src, const struct ip *dst, uint8_t proto,
		      const uint8_t *p, uint32_t len, uint32_t wire, uint64_t ts, uint32_t source,
		      int depth)
{
	struct pkt k;
	/* every field is set below or here (no memset: this runs for every packet) */
	k.ts = ts;
	k.tcp_flags = 0;
	k.seq = k.ack = 0;
	k.payload = NULL;
	k.paylen = k.wire_paylen = 0;
	k.icmp_type = k.icmp_code = 0;
	k.icmp_error = false;
	k.sport = k.dport = 0;
	k.proto = proto;
	k.src = *src;
	k.dst = *dst;
	k.source = source;
	if (wire < len)
		wire = len;
	switch (proto) {
	case 6: {
		if (len < 20) {
			L->st.truncated++;
			return;
		}
		uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
		if (doff < 20) {
			L->st.malformed++;
			return;
		}
		k.sport = be16(p);
		k.dport = be16(p + 2);
		k.seq = be32(p + 4);
		k.ack = be32(p + 8);
		k.tcp_flags = p[13];
		if (doff <= len) {
			k.payload = p + doff;
			k.paylen = len - doff;
		}
		k.wire_paylen = wire > doff ? wire - doff : 0;
		break;
	}
	case 17: {
		if (len < 8) {
			L->st.truncated++;
			return;
		}
		uint32_t ulen = be16(p + 4);
		if (ulen == 0) /* jumbogram or offload: the capture decides */
			ulen = wire;
		if (ulen < 8) {
			L->st.malformed++;
			return;
		}
		k.sport = be16(p);
		k.dport = be16(p + 2);
		k.payload = p + 8;
		k.paylen = (ulen < len ? ulen : len) - 8;
		k.wire_paylen = ulen - 8;
		if (udp_tunnel(L, k.dport, k.payload, k.paylen, ts, source, depth))
			return;
		break;
	}
	case 132: {
		if (len < 12) {
			L->st.truncated++;
			return;
		}
		k.sport = be16(p);
		k.dport = be16(p + 2);
		if (len >= 16) {
			uint8_t chunk = p[12];
			k.tcp_flags = chunk == 1 ? TH_SYN : chunk == 2 ? (TH_SYN | TH_ACK)
				      : chunk == 6 ? TH_RST : chunk == 7 ? TH_FIN : TH_ACK;
		}
		k.payload = p + 12;
		k.paylen = len - 12;
		k.wire_paylen = wire - 12;
		break;
	}
	case 1:
	case 58: {
		if (len < 4) {
			L->st.truncated++;
			return;
		}
		k.icmp_type = p[0];
		k.icmp_code = p[1];
		bool v6 = proto == 58;
		uint8_t req = v6 ? 128 : 8, rep = v6 ? 129 : 0, unreach = v6 ? 1 : 3;
		if (k.icmp_type == req || k.icmp_type == rep) {
			if (len < 8) {
				L->st.truncated++;
				return;
			}
			k.sport = k.dport = be16(p + 4);
			k.seq = be16(p + 6);
			k.payload = p + 8;
			k.paylen = len - 8;
			k.wire_paylen = wire - 8;
		} else if (k.icmp_type == unreach) {
			if (len < 8 || !quoted(p + 8, len - 8, &k)) {
				L->st.truncated++;
				return;
			}
			k.icmp_error = true;
		} else {
			L->st.control++; /* ND, MLD, router messages, redirects, time exceeded ... */
			return;
		}
		break;
	}
	case 4:
		if (depth < 4) {
			L->st.tunnels++;
			decode_l3(L, 0x0800, p, len, wire, ts, source, depth + 1);
		}
		return;
	case 41:
		if (depth < 4) {
			L->st.tunnels++;
			decode_l3(L, 0x86dd, p, len, wire, ts, source, depth + 1);
		}
		return;
	case 47:
		if (!gre(L, p, len, ts, source, depth))
			L->st.control++;
		return;
	default:
		L->st.control++; /* IGMP, OSPF, VRRP, ESP ...: not flows a policy names */
		return;
	}
	if (ip_is_special(&k.src) || ip_is_special(&k.dst)) {
		L->st.special_addr++;
		return;
	}
	if ((proto == 6 || proto == 17 || proto == 132) && (!k.sport || !k.dport)) {
		L->st.malformed++; /* port 0 is no port: nothing a policy could name */
		return;
	}
	L->st.ip_packets++;
	flows_packet(L, &k);
}

/* ---------------------------------------------------------------- IPv4 / IPv6 */

static void ipv4(struct learner *L, const uint8_t *p, uint32_t len, uint32_t wire_len, uint64_t ts,
		 uint32_t source, int depth)
{
	if (len < 20 || (p[0] >> 4) != 4) {
		L->st.malformed++;
		return;
	}
	uint32_t hl = (uint32_t)(p[0] & 15) * 4;
	if (hl < 20 || hl > len) {
		L->st.malformed++;
		return;
	}
	uint32_t total = be16(p + 2);
	if (total == 0) /* TSO / BIG TCP: the length is in the capture, not the header */
		total = wire_len > len ? wire_len : len;
	if (total < hl) {
		L->st.malformed++;
		return;
	}
	bool truncated = len < total;
	uint32_t avail = truncated ? len : total;
	struct ip src, dst;
	ip_from_v4(&src, p + 12);
	ip_from_v4(&dst, p + 16);
	uint16_t fo = be16(p + 6);
	uint32_t offset = (uint32_t)(fo & 0x1fff) * 8;
	bool more = fo & 0x2000;
	if (offset || more) {
		fragment(L, &src, &dst, be16(p + 4), p[9], offset, more, p + hl, avail - hl, truncated,
			 ts, source, depth);
		return;
	}
	decode_l4(L, &src, &dst, p[9], p + hl, avail - hl, total - hl, ts, source, depth);
}

static void ipv6(struct learner *L, const uint8_t *p, uint32_t len, uint32_t wire_len, uint64_t ts,
		 uint32_t source, int depth)
{
	if (len < 40 || (p[0] >> 4) != 6) {
		L->st.malformed++;
		return;
	}
	uint32_t plen = be16(p + 4);
	if (plen == 0) /* jumbogram or BIG TCP */
		plen = (wire_len > len ? wire_len : len) - 40;
	uint32_t total = 40 + plen;
	bool truncated = len < total;
	uint32_t avail = truncated ? len : total;
	struct ip src, dst;
	memcpy(src.b, p + 8, 16);
	memcpy(dst.b, p + 24, 16);
	uint8_t nh = p[6];
	uint32_t off = 40;
	for (int i = 0; i < 10; i++) {
		if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140) {
			if (off + 8 > avail) {
				L->st.truncated++;
				return;
			}
			uint32_t hl = ((uint32_t)p[off + 1] + 1) * 8;
			nh = p[off];
			off += hl;
			continue;
		}
		if (nh == 51) { /* AH */
			if (off + 8 > avail) {
				L->st.truncated++;
				return;
			}
			uint32_t hl = ((uint32_t)p[off + 1] + 2) * 4;
			nh = p[off];
			off += hl;
			continue;
		}
		if (nh == 44) {
			if (off + 8 > avail) {
				L->st.truncated++;
				return;
			}
			uint8_t next = p[off];
			uint16_t fo = be16(p + off + 2);
			uint32_t id = be32(p + off + 4);
			off += 8;
			uint32_t offset = (uint32_t)(fo >> 3) * 8;
			bool more = fo & 1;
			if (offset == 0 && !more) { /* an atomic fragment: just a header */
				nh = next;
				continue;
			}
			if (off > avail) {
				L->st.truncated++;
				return;
			}
			fragment(L, &src, &dst, id, next, offset, more, p + off, avail - off, truncated,
				 ts, source, depth);
			return;
		}
		break;
	}
	if (off > avail) {
		L->st.truncated++;
		return;
	}
	if (nh == 59) { /* no next header */
		L->st.control++;
		return;
	}
	decode_l4(L, &src, &dst, nh, p + off, avail - off, total - off, ts, source, depth);
}

void decode_l3(struct learner *L, uint16_t ethertype, const uint8_t *p, uint32_t len,
	       uint32_t wire_len, uint64_t ts, uint32_t source, int depth)
{
	if (ethertype == 0x0800)
		ipv4(L, p, len, wire_len, ts, source, depth);
	else if (ethertype == 0x86dd)
		ipv6(L, p, len, wire_len, ts, source, depth);
	else
		L->st.non_ip++;
}
