/* The polc image: the on-disk layout of a node's compiled policy and, record for record, the
 * keys and values of the BPF maps that enforce it. This header is the single source of truth:
 * the compiler writes it, the verifier and the loader read it, and the BPF programs include it.
 *
 * Byte order: the file is little-endian (endian_mark says so). Inside records, fields marked
 * __be are in network order, as the datapath compares them with packet bytes; everything else
 * is little-endian host order (the only order polc supports).
 *
 * Layout of a file:
 *   struct polc_image_header                  (256 bytes)
 *   struct polc_section[nsections]            (24 bytes each)
 *   section payloads, each 8-byte aligned, records of entry_size bytes
 *   sha256 of every byte before it            (32 bytes)
 *
 * schemas/image-format.md describes every field.
 */
#ifndef POLC_IMAGE_H
#define POLC_IMAGE_H

#include <linux/types.h>

#define POLC_IMAGE_MAGIC 0x00474d49434c4f50ULL /* "POLCIMG\0" read as little-endian */
#define POLC_IMAGE_FORMAT 1                  /* the file layout */
#define POLC_IMAGE_ABI 1                     /* the map key and value layouts */
#define POLC_ENDIAN_MARK 0x01020304u
#define POLC_DIGEST_SIZE 32

enum polc_section_type {
	POLC_SEC_STRINGS = 1,   /* NUL-terminated strings; offsets point here */
	POLC_SEC_IDENTITIES,    /* struct polc_identity_rec, sorted by id */
	POLC_SEC_IPCACHE_EXACT, /* struct polc_ipcache_exact: /32 and /128, for a hash map */
	POLC_SEC_IPCACHE_PREFIX,/* struct polc_ipcache_prefix: real prefixes, for an LPM trie */
	POLC_SEC_ENDPOINTS,     /* struct polc_endpoint_rec, sorted by key */
	POLC_SEC_POLICY,        /* struct polc_policy_entry, sorted by key */
	POLC_SEC_L7,            /* struct polc_l7_rec, sorted by id */
	POLC_SEC_ORIGINS,       /* struct polc_origin, sorted by cookie */
	POLC_SEC__MAX
};

/* How many entries each map must hold (the loader sizes maps from this). */
struct polc_capacity {
	__u32 identities;
	__u32 ipcache_exact;
	__u32 ipcache_prefix;
	__u32 endpoints;
	__u32 policy_entries;
	__u32 policy_max_per_endpoint;
	__u32 l7_rules;
	__u32 origins;
};

struct polc_image_header {
	__u64 magic;
	__u32 format_version;
	__u32 abi_version;
	__u32 endian_mark;
	__u32 header_size;   /* sizeof(struct polc_image_header) */
	__u64 generation;    /* a newer image has a higher generation */
	__u64 total_size;    /* the whole file, digest included */
	char node_name[64];  /* NUL-padded */
	char compiler_version[24];
	__u8 policies_sha256[POLC_DIGEST_SIZE];  /* over the sorted digests of the policy files */
	__u8 inventory_sha256[POLC_DIGEST_SIZE]; /* likewise for the inventory files */
	__u32 nsections;
	__u32 flags; /* POLC_IMAGE_F_* */
	struct polc_capacity capacity;
	__u8 reserved[24];
};
#define POLC_IMAGE_F_DUAL_STACK 1u

struct polc_section {
	__u32 type;
	__u32 entry_size;
	__u64 offset; /* from the start of the file */
	__u64 count;
};

/* ---------------------------------------------------------------- records */

enum { POLC_FAMILY_IPV4 = 1, POLC_FAMILY_IPV6 = 2 };

/* An address: IPv4 in the first 4 bytes of addr, network order. */
struct polc_ip_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/* LPM form: prefixlen counts bits after itself: 32 (family and padding) + the IP prefix. */
struct polc_lpm_ip_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
#define POLC_IP_STATIC_PREFIX 32

struct polc_ipcache_value {
	__u32 identity;
	__u32 flags;
};

struct polc_ipcache_exact {
	struct polc_ip_key key;
	struct polc_ipcache_value value;
	__u32 pad;
};

struct polc_ipcache_prefix {
	struct polc_lpm_ip_key key;
	struct polc_ipcache_value value;
};

struct polc_identity_rec {
	__u32 id;
	__u32 labels_off; /* "source:key=value;..." in the strings section */
	__u32 labels_len;
	__u32 pad;
};

/* Enforcement per endpoint and direction. */
enum polc_mode {
	POLC_MODE_OFF = 0,     /* no policy selects it: everything passes */
	POLC_MODE_ENFORCE = 1, /* verdicts are enforced */
	POLC_MODE_AUDIT = 2,   /* verdicts are computed and reported, traffic passes */
};

struct polc_endpoint_value {
	__u16 endpoint_id;
	__u8 ingress_mode;
	__u8 egress_mode;
	__u32 identity;
	__u32 name_off; /* "ns/pod" in the strings section */
	__u32 pad;
};

struct polc_endpoint_rec {
	struct polc_ip_key key;
	struct polc_endpoint_value value;
};

/* The policy map key: an LPM trie over (endpoint, direction, identity, protocol, port).
 * endpoint, direction, padding and identity are always matched (64 static bits); then 8 bits
 * of protocol and 0-16 bits of port. Protocol 0 with prefixlen 64 is "every protocol". */
struct polc_policy_key {
	__u32 prefixlen;
	__be16 endpoint;
	__u8 egress;
	__u8 pad1;
	__be32 identity; /* network order, so the key sorts by number */
	__u8 proto;
	__be16 dport;
	__u8 pad2; /* never part of a prefix; zero */
} __attribute__((packed));
#define POLC_POLICY_STATIC_PREFIX 64
#define POLC_POLICY_FULL_PREFIX 88

/* flags: bit 0 deny; bits 3-7 the entry's prefix length beyond the static 64 bits (0, 8,
 * 9-24), so lookups can compare specificity as Cilium's datapath does. */
#define POLC_POLICY_F_DENY 0x01
#define POLC_POLICY_LPM_SHIFT 3

/* Precedence, as Cilium 1.19: deny > redirect > allow. */
#define POLC_PRECEDENCE_DENY 0xFFFFFFFFu
#define POLC_PRECEDENCE_REDIRECT 0xFFFFFF9Au /* HTTP listener priority 101 */
#define POLC_PRECEDENCE_ALLOW 0xFFFFFF01u

struct polc_policy_value {
	__be16 proxy_port; /* non-zero: needs the L7 proxy; polc stores the L7 rule-set id */
	__u8 flags;
	__u8 auth_type;    /* 0 none, 1 spire, 2 test-always-fail */
	__u32 precedence;
	__u32 cookie;      /* the rule origin */
};

struct polc_policy_entry {
	struct polc_policy_key key;
	struct polc_policy_value value;
	__u32 pad;
};

enum polc_l7_kind { POLC_L7_HTTP = 1, POLC_L7_KAFKA, POLC_L7_DNS, POLC_L7_GENERIC, POLC_L7_TLS };

struct polc_l7_rec {
	__u32 id;
	__u8 kind;
	__u8 pad[3];
	__u32 text_off; /* the rule set as JSON, in the strings section */
	__u32 text_len;
};

enum polc_origin_kind { POLC_ORIGIN_CNP = 1, POLC_ORIGIN_CCNP, POLC_ORIGIN_KNP, POLC_ORIGIN_SYNTHETIC };

struct polc_origin {
	__u32 cookie;
	__u8 kind;
	__u8 egress;
	__u8 deny;
	__u8 pad;
	__u32 namespace_off;
	__u32 name_off;
	__u32 file_off;
	__u32 line;
	__u32 column;
	__u32 pad2;
};

/* ---------------------------------------------------------------- verdicts */

enum polc_verdict {
	POLC_VERDICT_DENY = 0,
	POLC_VERDICT_ALLOW = 1,
	POLC_VERDICT_REDIRECT = 2, /* needs the L7 proxy */
	POLC_VERDICT_AUTH = 3,     /* allowed once mutually authenticated */
};

/* Why a packet was dropped; also the counters' index. */
enum polc_drop_reason {
	POLC_DROP_NONE = 0,
	POLC_DROP_POLICY = 1,      /* enforced, and no entry allows it (default deny) */
	POLC_DROP_POLICY_DENY = 2, /* a deny entry matched */
	POLC_DROP_PROXY = 3,       /* needs the L7 proxy, which polc does not run: fail closed */
	POLC_DROP_AUTH = 4,        /* needs authentication polc cannot give */
	POLC_DROP_NO_IMAGE = 5,    /* enforced endpoint and no valid image: deny all */
	POLC_DROP_FRAG = 6,        /* a fragment with no flow to follow */
	POLC_DROP_PARSE = 7,       /* a packet that does not parse */
	POLC_DROP_NO_ENDPOINT = 8, /* an address on an enforced interface that the image lacks */
	POLC_DROP__MAX
};

struct polc_decision {
	__u8 verdict;
	__u8 reason; /* enum polc_drop_reason when denied */
	__u8 auth_type;
	__u8 match_prefix; /* bits beyond the static 64 of the chosen entry */
	__u32 cookie;
	__u16 proxy_port;
	__u16 pad;
};

#endif
