/* The runtime's own maps: shared by policy.bpf.c and the loader. The image's maps (policy,
 * endpoints, ipcache) are laid out in image.h; these hold the switch, connection tracking,
 * counters and events. */
#ifndef POLC_RUNTIME_H
#define POLC_RUNTIME_H

#include "image.h"

/* The control word, one u64 read once per packet: which slot of the map-in-maps is live,
 * whether there is an image at all, whether running open without one is allowed, and the
 * generation (which connection tracking compares to re-check old flows after a swap). */
#define POLC_CTL_SLOT 0x1ull
#define POLC_CTL_HAS_IMAGE 0x2ull
#define POLC_CTL_FAIL_OPEN 0x4ull
#define POLC_CTL_DUAL_STACK 0x8ull
#define POLC_CTL_GEN_SHIFT 16

#define POLC_SLOTS 2

/* Connection tracking: one entry per flow and per half (endpoint, direction), keyed in the
 * direction of the packet that opened it. */
struct polc_ct_key {
	__u8 family;
	__u8 proto;
	__u16 endpoint;
	__u8 egress;
	__u8 pad[3];
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport; /* ICMP echo: the identifier, in both ports */
	__be16 dport;
};

#define POLC_CT_SEEN_REPLY 0x1
#define POLC_CT_CLOSING 0x2

struct polc_ct_value {
	__u64 last_seen_ns;
	__u64 generation;
	__u32 cookie;
	__u32 flags;
};

/* Non-first IPv4/IPv6 fragments carry no ports: they follow the first fragment's flow. */
struct polc_frag_key {
	__u8 family;
	__u8 proto;
	__u16 pad;
	__u32 id;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct polc_frag_value {
	__be16 sport;
	__be16 dport;
	__u32 pad;
};

/* Per-entry counters: by rule cookie, endpoint and direction. */
struct polc_stat_key {
	__u32 cookie;
	__u16 endpoint;
	__u8 egress;
	__u8 pad;
};

struct polc_stat_value {
	__u64 packets;
	__u64 bytes;
};

/* Verdict counters: drop reasons (enum polc_drop_reason), then these. */
enum {
	POLC_COUNT_FORWARDED = POLC_DROP__MAX,
	POLC_COUNT_AUDITED,
	POLC_COUNT_REPLY,
	POLC_COUNT_EVENTS_DROPPED,
	POLC_COUNT__MAX
};

struct polc_event {
	__u64 ts_ns;
	__u32 identity; /* the peer's */
	__u32 cookie;
	__u16 endpoint;
	__u8 egress;
	__u8 verdict; /* enum polc_verdict */
	__u8 reason;  /* enum polc_drop_reason */
	__u8 audited;
	__u8 proto;
	__u8 family;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* host order */
	__u16 dport;
	__u32 ifindex;
};

/* Event rate limit: a token bucket per CPU, refilled at polc_rate.per_sec. */
struct polc_rate {
	__u64 per_sec;
	__u64 burst;
};

struct polc_bucket {
	__u64 last_ns;
	__u64 tokens;
};

struct polc_meta {
	__u8 digest[POLC_DIGEST_SIZE]; /* the active image's sha256 */
	__u64 generation;
	char node_name[64];
	__u32 abi_version;
	__u32 pad;
};

enum { POLC_ATTACH_TCX = 1, POLC_ATTACH_CLSACT = 2 };

struct polc_iface {
	char name[16];
	__u32 mode; /* POLC_ATTACH_* */
	__u32 pad;
};

#endif
