// SPDX-License-Identifier: GPL-2.0
/* polc's datapath: enforces a compiled image on the host side of each pod's veth.
 *
 *   TC ingress on the host veth = the pod's egress   (polc_from_pod)
 *   TC egress on the host veth  = the pod's ingress  (polc_to_pod)
 *
 * Per packet: read the control word once (which slot of the map-in-maps is live), parse with a
 * bounds check before every read, find the local endpoint by its address, follow connection
 * tracking (replies and related ICMP errors of allowed flows pass; a flow from an older image
 * is decided again), and otherwise decide with lookup.h — the same code polc's userspace runs.
 * No image, an unknown endpoint, a proxy or authentication requirement: dropped, each with its
 * own reason. Verdict events go to a ring buffer behind a per-CPU token bucket.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "runtime.h"

/* ---------------------------------------------------------------- maps */

struct policy_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG);
	__uint(max_entries, 1);
	__type(key, struct polc_policy_key);
	__type(value, struct polc_policy_value);
};

struct endpoints_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__uint(max_entries, 1);
	__type(key, struct polc_ip_key);
	__type(value, struct polc_endpoint_value);
};

struct ipcache_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__uint(max_entries, 1);
	__type(key, struct polc_ip_key);
	__type(value, struct polc_ipcache_value);
};

struct prefixes_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG);
	__uint(max_entries, 1);
	__type(key, struct polc_lpm_ip_key);
	__type(value, struct polc_ipcache_value);
};

/* clang emits only forward declarations for the key and value types of inner map templates;
 * one instance of each template makes it emit the full types libbpf needs. They are tiny. */
struct policy_inner polc_tmpl_policy SEC(".maps");
struct endpoints_inner polc_tmpl_endpoints SEC(".maps");
struct ipcache_inner polc_tmpl_ipcache SEC(".maps");
struct prefixes_inner polc_tmpl_prefixes SEC(".maps");

#define OUTER(name, inner)                                                                        \
	struct {                                                                                  \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                                         \
		__uint(max_entries, POLC_SLOTS);                                                  \
		__type(key, __u32);                                                               \
		__array(values, struct inner);                                                    \
	} name SEC(".maps")

OUTER(polc_policy, policy_inner);
OUTER(polc_endpoints, endpoints_inner);
OUTER(polc_ipcache, ipcache_inner);
OUTER(polc_prefixes, prefixes_inner);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} polc_control SEC(".maps");

/* What is loaded, for the loader and `polc status` (the datapath never reads it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct polc_meta);
} polc_meta SEC(".maps");

/* The interfaces polc attached to, so unload and status can find them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct polc_iface);
} polc_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct polc_ct_key);
	__type(value, struct polc_ct_value);
} polc_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct polc_frag_key);
	__type(value, struct polc_frag_value);
} polc_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, POLC_COUNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} polc_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct polc_stat_key);
	__type(value, struct polc_stat_value);
} polc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} polc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct polc_rate);
} polc_rate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct polc_bucket);
} polc_buckets SEC(".maps");

static __always_inline const struct polc_policy_value *
polc_policy_lookup(void *map, const struct polc_policy_key *key)
{
	return bpf_map_lookup_elem(map, key);
}

#include "lookup.h"

/* ---------------------------------------------------------------- parsing */

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define IPPROTO_ICMPV6_ 58
#define IPV6_EXT_MAX 6

struct pkt {
	__u8 family; /* POLC_FAMILY_* */
	__u8 proto;
	__u8 icmp_type;
	__u8 tcp_flags;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport, dport;
	__u32 frag_id;
	bool fragment;   /* part of a fragmented datagram */
	bool later_frag; /* not the first fragment: no L4 header */
	bool icmp_error; /* an ICMP error: inner flow below */
	bool always;     /* neighbour discovery, fragmentation needed: always pass */
	struct {
		__u8 proto;
		__u8 saddr[16];
		__u8 daddr[16];
		__be16 sport, dport;
	} inner;
};

struct cursor {
	void *data, *end;
	__u32 off;
};

/* Every read goes through here: it checks the bounds first. */
static __always_inline void *take(struct cursor *c, __u32 len)
{
	void *p = c->data + c->off;
	if (p + len > c->end)
		return NULL;
	c->off += len;
	return p;
}

struct ipv4h {
	__u8 ihl_version;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u8 saddr[4];
	__u8 daddr[4];
};

struct ipv6h {
	__be32 vtc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct l4ports {
	__be16 sport, dport;
};

struct icmph {
	__u8 type, code;
	__u16 csum;
	__be16 id, seq;
};

static __always_inline int parse_ports(struct cursor *c, __u8 proto, __be16 *sport, __be16 *dport,
				       __u8 *flags)
{
	if (proto == IPPROTO_TCP) {
		__u8 *h = take(c, 20);
		if (!h)
			return -1;
		*sport = *(__be16 *)h;
		*dport = *(__be16 *)(h + 2);
		*flags = h[13];
		return 0;
	}
	if (proto == IPPROTO_UDP || proto == IPPROTO_SCTP) {
		struct l4ports *l = take(c, sizeof(*l));
		if (!l)
			return -1;
		*sport = l->sport;
		*dport = l->dport;
		return 0;
	}
	return 0; /* other protocols have no ports */
}

/* The flow inside an ICMP error: its IP header and first ports. */
static __always_inline int parse_inner(struct cursor *c, struct pkt *p)
{
	__u8 flags;
	if (p->family == POLC_FAMILY_IPV4) {
		struct ipv4h *ip = take(c, sizeof(*ip));
		if (!ip || (ip->ihl_version & 0xf) < 5)
			return -1;
		c->off += ((ip->ihl_version & 0xf) - 5) * 4;
		p->inner.proto = ip->protocol;
		__builtin_memcpy(p->inner.saddr, ip->saddr, 4);
		__builtin_memcpy(p->inner.daddr, ip->daddr, 4);
	} else {
		struct ipv6h *ip = take(c, sizeof(*ip));
		if (!ip)
			return -1;
		p->inner.proto = ip->nexthdr;
		__builtin_memcpy(p->inner.saddr, ip->saddr, 16);
		__builtin_memcpy(p->inner.daddr, ip->daddr, 16);
	}
	return parse_ports(c, p->inner.proto, &p->inner.sport, &p->inner.dport, &flags);
}

static __always_inline int parse_icmp4(struct cursor *c, struct pkt *p)
{
	struct icmph *h = take(c, sizeof(*h));
	if (!h)
		return -1;
	p->icmp_type = h->type;
	p->dport = 0;
	if (h->type == 0 || h->type == 8) { /* echo: the identifier tracks the flow */
		p->sport = h->id;
		p->dport = h->id;
		return 0;
	}
	if (h->type == 3 || h->type == 11 || h->type == 12) {
		p->icmp_error = true;
		p->always = h->type == 3 && h->code == 4; /* fragmentation needed */
		return parse_inner(c, p) < 0 ? 1 : 0;
	}
	return 0;
}

static __always_inline int parse_icmp6(struct cursor *c, struct pkt *p)
{
	struct icmph *h = take(c, sizeof(*h));
	if (!h)
		return -1;
	p->icmp_type = h->type;
	if (h->type >= 133 && h->type <= 136) /* neighbour discovery must always work */
		p->always = true;
	if (h->type == 128 || h->type == 129) {
		p->sport = h->id;
		p->dport = h->id;
		return 0;
	}
	if (h->type >= 1 && h->type <= 4) {
		p->icmp_error = true;
		return parse_inner(c, p) < 0 ? 1 : 0;
	}
	return 0;
}

static __always_inline int parse_l4(struct cursor *c, struct pkt *p)
{
	if (p->later_frag)
		return 0;
	if (p->proto == IPPROTO_ICMP && p->family == POLC_FAMILY_IPV4)
		return parse_icmp4(c, p);
	if (p->proto == IPPROTO_ICMPV6_ && p->family == POLC_FAMILY_IPV6)
		return parse_icmp6(c, p);
	return parse_ports(c, p->proto, &p->sport, &p->dport, &p->tcp_flags);
}

static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	struct ipv4h *ip = take(c, sizeof(*ip));
	if (!ip || (ip->ihl_version >> 4) != 4 || (ip->ihl_version & 0xf) < 5)
		return -1;
	__u32 opts = ((ip->ihl_version & 0xf) - 5) * 4;
	if (opts && !take(c, opts)) /* options: skipped, but they must be there */
		return -1;
	p->family = POLC_FAMILY_IPV4;
	p->proto = ip->protocol;
	__builtin_memcpy(p->saddr, ip->saddr, 4);
	__builtin_memcpy(p->daddr, ip->daddr, 4);
	__u16 frag = bpf_ntohs(ip->frag_off);
	p->fragment = (frag & 0x2000) || (frag & 0x1fff);
	p->later_frag = (frag & 0x1fff) != 0;
	p->frag_id = bpf_ntohs(ip->id);
	return parse_l4(c, p);
}

static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6h *ip = take(c, sizeof(*ip));
	if (!ip || (bpf_ntohl(ip->vtc_flow) >> 28) != 6)
		return -1;
	p->family = POLC_FAMILY_IPV6;
	__builtin_memcpy(p->saddr, ip->saddr, 16);
	__builtin_memcpy(p->daddr, ip->daddr, 16);
	__u8 next = ip->nexthdr;
#pragma unroll
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		if (next == 0 || next == 43 || next == 60) { /* hop-by-hop, routing, destination */
			__u8 *h = take(c, 2);
			if (!h)
				return -1;
			__u8 nh = h[0];
			__u32 len = (h[1] + 1) * 8 - 2;
			if (!take(c, len))
				return -1;
			next = nh;
		} else if (next == 44) { /* fragment */
			__u8 *h = take(c, 8);
			if (!h)
				return -1;
			__u16 off = bpf_ntohs(*(__be16 *)(h + 2));
			p->fragment = true;
			p->later_frag = (off & 0xfff8) != 0;
			p->frag_id = bpf_ntohl(*(__be32 *)(h + 4));
			next = h[0];
		} else {
			break;
		}
	}
	if (next == 0 || next == 43 || next == 60 || next == 44)
		return -1; /* more extension headers than we follow: refuse */
	p->proto = next;
	return parse_l4(c, p);
}

/* 0: an IP packet in *p; 1: not IP (ARP and the like pass); -1: malformed. */
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	struct cursor c = {(void *)(long)skb->data, (void *)(long)skb->data_end, 0};
	struct ethhdr *eth = take(&c, sizeof(*eth));
	if (!eth)
		return -1;
	__be16 type = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (type != bpf_htons(ETH_P_8021Q_) && type != bpf_htons(ETH_P_8021AD_))
			break;
		__be16 *tag = take(&c, 4);
		if (!tag)
			return -1;
		type = tag[1];
	}
	if (type == bpf_htons(ETH_P_IP))
		return parse_ipv4(&c, p) < 0 ? -1 : 0;
	if (type == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(&c, p) < 0 ? -1 : 0;
	return 1;
}

/* ---------------------------------------------------------------- helpers */

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&polc_counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline void stat(__u32 cookie, __u16 ep, __u8 egress, __u32 bytes)
{
	struct polc_stat_key k = {cookie, ep, egress, 0};
	struct polc_stat_value *v = bpf_map_lookup_elem(&polc_stats, &k);
	if (v) {
		v->packets++;
		v->bytes += bytes;
		return;
	}
	struct polc_stat_value init = {1, bytes};
	bpf_map_update_elem(&polc_stats, &k, &init, BPF_ANY);
}

/* A token bucket per CPU, so a flood of drops cannot flood user space. */
static __always_inline bool may_emit(void)
{
	__u32 zero = 0;
	struct polc_rate *r = bpf_map_lookup_elem(&polc_rate, &zero);
	struct polc_bucket *b = bpf_map_lookup_elem(&polc_buckets, &zero);
	if (!r || !b || !r->per_sec)
		return false;
	__u64 now = bpf_ktime_get_ns();
	__u64 refill = (now - b->last_ns) * r->per_sec / 1000000000ull;
	if (refill) {
		b->tokens = b->tokens + refill > r->burst ? r->burst : b->tokens + refill;
		b->last_ns = now;
	}
	if (!b->tokens)
		return false;
	b->tokens--;
	return true;
}

static __always_inline void emit(struct __sk_buff *skb, const struct pkt *p, __u16 ep, __u8 egress,
				 __u32 identity, const struct polc_decision *d, __u8 audited)
{
	if (!may_emit()) {
		count(POLC_COUNT_EVENTS_DROPPED);
		return;
	}
	struct polc_event *e = bpf_ringbuf_reserve(&polc_events, sizeof(*e), 0);
	if (!e) {
		count(POLC_COUNT_EVENTS_DROPPED);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->identity = identity;
	e->cookie = d->cookie;
	e->endpoint = ep;
	e->egress = egress;
	e->verdict = d->verdict;
	e->reason = d->reason;
	e->audited = audited;
	e->proto = p->proto;
	e->family = p->family;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->sport = bpf_ntohs(p->sport);
	e->dport = bpf_ntohs(p->dport);
	e->ifindex = skb->ifindex;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void ip_key(struct polc_ip_key *k, __u8 family, const __u8 *addr)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = family;
	__builtin_memcpy(k->addr, addr, 16);
}

/* The ipcache: exact addresses first, then prefixes, then the world. */
static __always_inline __u32 remote_identity(__u32 slot, __u64 ctl, __u8 family, const __u8 *addr)
{
	struct polc_ip_key k;
	ip_key(&k, family, addr);
	void *exact = bpf_map_lookup_elem(&polc_ipcache, &slot);
	if (exact) {
		struct polc_ipcache_value *v = bpf_map_lookup_elem(exact, &k);
		if (v)
			return v->identity;
	}
	void *prefixes = bpf_map_lookup_elem(&polc_prefixes, &slot);
	if (prefixes) {
		struct polc_lpm_ip_key lk = {};
		lk.prefixlen = POLC_IP_STATIC_PREFIX + (family == POLC_FAMILY_IPV4 ? 32 : 128);
		lk.family = family;
		__builtin_memcpy(lk.addr, addr, 16);
		struct polc_ipcache_value *v = bpf_map_lookup_elem(prefixes, &lk);
		if (v)
			return v->identity;
	}
	if (!(ctl & POLC_CTL_DUAL_STACK))
		return 2;
	return family == POLC_FAMILY_IPV4 ? 9 : 10;
}

static __always_inline void ct_key(struct polc_ct_key *k, const struct pkt *p, __u16 ep,
				   __u8 egress, bool reverse)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->proto = p->proto;
	k->endpoint = ep;
	k->egress = egress;
	if (!reverse) {
		__builtin_memcpy(k->saddr, p->saddr, 16);
		__builtin_memcpy(k->daddr, p->daddr, 16);
		k->sport = p->sport;
		k->dport = p->dport;
	} else {
		__builtin_memcpy(k->saddr, p->daddr, 16);
		__builtin_memcpy(k->daddr, p->saddr, 16);
		k->sport = p->dport;
		k->dport = p->sport;
	}
}

/* ---------------------------------------------------------------- the decision */

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_FIN 0x01
#define TCP_RST 0x04

static __always_inline int drop(const struct pkt *p, __u8 reason)
{
	count(reason);
	return TC_ACT_SHOT;
}

/* Non-first fragments take their ports from the first one, or are dropped. */
static __always_inline int follow_fragment(struct pkt *p)
{
	struct polc_frag_key fk = {};
	fk.family = p->family;
	fk.proto = p->proto;
	fk.id = p->frag_id;
	__builtin_memcpy(fk.saddr, p->saddr, 16);
	__builtin_memcpy(fk.daddr, p->daddr, 16);
	if (!p->later_frag) {
		struct polc_frag_value v = {p->sport, p->dport, 0};
		bpf_map_update_elem(&polc_frags, &fk, &v, BPF_ANY);
		return 0;
	}
	struct polc_frag_value *v = bpf_map_lookup_elem(&polc_frags, &fk);
	if (!v)
		return -1;
	p->sport = v->sport;
	p->dport = v->dport;
	return 0;
}

/* Turns a reply into the request it answers: addresses, ports, and echo reply into request. */
static __always_inline void reverse_packet(struct pkt *p)
{
	__u8 tmp[16];
	__builtin_memcpy(tmp, p->saddr, 16);
	__builtin_memcpy(p->saddr, p->daddr, 16);
	__builtin_memcpy(p->daddr, tmp, 16);
	__be16 port = p->sport;
	p->sport = p->dport;
	p->dport = port;
	if (p->proto == IPPROTO_ICMP && p->icmp_type == 0)
		p->icmp_type = 8;
	if (p->proto == IPPROTO_ICMPV6_ && p->icmp_type == 129)
		p->icmp_type = 128;
}

/* The port the policy sees: the destination port, or the ICMP type. */
static __always_inline __u16 policy_port(const struct pkt *p)
{
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6_)
		return p->icmp_type;
	return bpf_ntohs(p->dport);
}

static __always_inline int handle(struct __sk_buff *skb, __u8 egress)
{
	struct pkt p = {};
	int rc = parse(skb, &p);
	if (rc > 0)
		return TC_ACT_OK;
	if (rc < 0)
		return drop(&p, POLC_DROP_PARSE);
	__u32 zero = 0;
	__u64 *ctlp = bpf_map_lookup_elem(&polc_control, &zero);
	__u64 ctl = ctlp ? *(volatile __u64 *)ctlp : 0;
	/* Neighbour discovery and "fragmentation needed" are plumbing, not policy: like ARP they
	 * pass even with no image, so that a denied flow is denied by its own packets. */
	if (p.always)
		return TC_ACT_OK;
	if (!(ctl & POLC_CTL_HAS_IMAGE)) {
		if (ctl & POLC_CTL_FAIL_OPEN)
			return TC_ACT_OK;
		return drop(&p, POLC_DROP_NO_IMAGE);
	}
	__u32 slot = ctl & POLC_CTL_SLOT;
	__u64 gen = ctl >> POLC_CTL_GEN_SHIFT;
	void *eps = bpf_map_lookup_elem(&polc_endpoints, &slot);
	if (!eps)
		return drop(&p, POLC_DROP_NO_IMAGE);
	struct polc_ip_key lk;
	ip_key(&lk, p.family, egress ? p.saddr : p.daddr);
	struct polc_endpoint_value *ep = bpf_map_lookup_elem(eps, &lk);
	if (!ep)
		return drop(&p, POLC_DROP_NO_ENDPOINT);
	__u8 mode = egress ? ep->egress_mode : ep->ingress_mode;
	__u16 epid = ep->endpoint_id;
	if (p.fragment && follow_fragment(&p) < 0 && mode != POLC_MODE_OFF)
		return drop(&p, POLC_DROP_FRAG);

	/* Connection tracking. */
	struct polc_ct_key k;
	__u64 now = bpf_ktime_get_ns();
	/* What can never be a reply: a TCP SYN without ACK, an echo request. */
	bool syn_only = p.proto == IPPROTO_TCP && (p.tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	bool echo_request = (p.proto == IPPROTO_ICMP && p.icmp_type == 8) ||
			    (p.proto == IPPROTO_ICMPV6_ && p.icmp_type == 128);
	bool may_reply = !syn_only && !echo_request;
	if (p.icmp_error) {
		/* Related: an error about a flow this endpoint has (inner is that flow, reversed). */
		struct pkt inner = {};
		inner.family = p.family;
		inner.proto = p.inner.proto;
		__builtin_memcpy(inner.saddr, p.inner.saddr, 16);
		__builtin_memcpy(inner.daddr, p.inner.daddr, 16);
		inner.sport = p.inner.sport;
		inner.dport = p.inner.dport;
		ct_key(&k, &inner, epid, !egress, false);
		if (bpf_map_lookup_elem(&polc_ct, &k)) {
			count(POLC_COUNT_REPLY);
			return TC_ACT_OK;
		}
	}
	ct_key(&k, &p, epid, egress, false);
	struct polc_ct_value *ct = bpf_map_lookup_elem(&polc_ct, &k);
	if (ct && ct->generation == gen) {
		ct->last_seen_ns = now;
		count(POLC_COUNT_FORWARDED);
		return TC_ACT_OK;
	}
	if (!ct && may_reply) {
		struct polc_ct_key rk;
		ct_key(&rk, &p, epid, !egress, true);
		struct polc_ct_value *rev = bpf_map_lookup_elem(&polc_ct, &rk);
		if (rev && rev->generation == gen) {
			rev->last_seen_ns = now;
			rev->flags |= POLC_CT_SEEN_REPLY;
			count(POLC_COUNT_REPLY);
			return TC_ACT_OK;
		}
		/* A reply of a flow opened under an older image: the flow must still be allowed. */
		if (rev) {
			reverse_packet(&p);
			egress = !egress;
			mode = egress ? ep->egress_mode : ep->ingress_mode;
			__builtin_memcpy(&k, &rk, sizeof(k));
			ct = rev;
		}
	}

	/* Not enforced in this direction: pass, but track the flow, so that its replies pass the
	 * other direction if that one is enforced. */
	if (mode == POLC_MODE_OFF) {
		struct polc_ct_value off = {now, gen, 0, 0};
		bpf_map_update_elem(&polc_ct, &k, &off, BPF_ANY);
		count(POLC_COUNT_FORWARDED);
		return TC_ACT_OK;
	}

	/* A new flow, or one from an older image: decide. */
	void *policy = bpf_map_lookup_elem(&polc_policy, &slot);
	if (!policy)
		return drop(&p, POLC_DROP_NO_IMAGE);
	__u32 remote = remote_identity(slot, ctl, p.family, egress ? p.daddr : p.saddr);
	struct polc_decision d;
	struct polc_flow flow = {epid, egress, p.proto, remote, policy_port(&p), 0};
	polc_policy_decide(policy, &flow, &d);
	if (d.verdict == POLC_VERDICT_REDIRECT) {
		d.verdict = POLC_VERDICT_DENY;
		d.reason = POLC_DROP_PROXY;
	} else if (d.verdict == POLC_VERDICT_AUTH) {
		d.verdict = POLC_VERDICT_DENY;
		d.reason = POLC_DROP_AUTH;
	}
	stat(d.cookie, epid, egress, skb->len);
	if (d.verdict == POLC_VERDICT_DENY) {
		if (ct)
			bpf_map_delete_elem(&polc_ct, &k);
		emit(skb, &p, epid, egress, remote, &d, mode == POLC_MODE_AUDIT);
		if (mode == POLC_MODE_AUDIT) {
			count(POLC_COUNT_AUDITED);
			return TC_ACT_OK;
		}
		return drop(&p, d.reason);
	}
	struct polc_ct_value v = {now, gen, d.cookie, 0};
	bpf_map_update_elem(&polc_ct, &k, &v, BPF_ANY);
	if (!ct)
		emit(skb, &p, epid, egress, remote, &d, 0);
	count(POLC_COUNT_FORWARDED);
	return TC_ACT_OK;
}

SEC("tc")
int polc_from_pod(struct __sk_buff *skb)
{
	return handle(skb, 1);
}

SEC("tc")
int polc_to_pod(struct __sk_buff *skb)
{
	return handle(skb, 0);
}

/* Baselines for the per-packet benchmark: parse only, and nothing at all. */
SEC("tc")
int polc_parse_only(struct __sk_buff *skb)
{
	struct pkt p = {};
	return parse(skb, &p) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int polc_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
