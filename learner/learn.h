/* polc learn: least-privilege CiliumNetworkPolicies from observed traffic.
 *
 *   pcap / pcapng files, live interfaces ──► capture.c (link layers, tunnels)
 *   Hubble flow JSON, polc observe --json ──► learn.c (flow records, no packets)
 *        ──► decode.c (IPv4/IPv6, fragments, TCP/UDP/SCTP/ICMP; lengths never trusted)
 *        ──► flows.c (connections: direction, outcome, dedupe; bounded table)
 *              ├─ l7_http.c, l7_h2.c (gRPC), l7_dns.c, l7_tls.c (per-connection parsers)
 *              └─► edges: (client address, server address, protocol, port) + L7 evidence
 *        ──► attribute.c (address → pod → workload, service → backends:targetPort, node →
 *             host/remote-node, apiserver, world → FQDN from earlier DNS answers or CIDR)
 *        ──► synth.c (one CNP per workload: minimal stable selector, peers, ports, L7)
 *        ──► emit.c (canonical YAML via libyaml, provenance annotations)
 *        ──► selfcheck.c (every observed flow through the compiler; over-permission report;
 *             a generated `polc test` file)
 *
 * Memory is bounded: the connection table holds at most --max-conns entries (least recently
 * used connections are finished early when it is full), the edge table at most --max-edges
 * (further new edges are counted and reported, never silently lost), and parser buffers share
 * one budget (--max-l7-memory).
 */
#ifndef POLC_LEARN_H
#define POLC_LEARN_H

#include "polc.h"

#include <stdbool.h>
#include <stdint.h>

int do_learn(int argc, char **argv);
#define LEARN_USAGE                                                                                \
	"usage: polc learn -i INVENTORY [--for NS/WORKLOAD|NS]... [CAPTURE]... -o DIR\n"           \
	"                  [-i IFACE]... [--duration S] [--count N] [--filter EXPR]\n"             \
	"                  [--existing DIR] [--l4-only] [--json] [--graph FILE.dot] ...\n"         \
	"\n"                                                                                       \
	"Learns least-privilege CiliumNetworkPolicies from traffic: one policy per workload,\n"    \
	"with exact peers, ports and L7 rules, then replays every observed flow through polc's\n"  \
	"policy engine to prove the policies admit it, and reports what they admit beyond it.\n"   \
	"\n"                                                                                       \
	"Inputs:\n"                                                                                \
	"  CAPTURE              pcap or pcapng files, Hubble flows (hubble observe -o json) or\n"  \
	"                       polc observe --json lines\n"                                       \
	"  -i, --inventory FILE kubectl get pods,namespaces,nodes,services,endpointslices -A\n"    \
	"                       -o yaml; -i also takes a network interface: live capture\n"        \
	"      --interface IF   live capture on IF (repeatable); Ctrl-C ends it, and still writes\n" \
	"      --duration S     stop a live capture after S seconds\n"                             \
	"      --count N        stop after N packets\n"                                            \
	"      --filter EXPR    a pcap filter for captures and interfaces\n"                       \
	"      --write-pcap F   also save what was captured (live or read) to F\n"                 \
	"      --for WHAT       ns/workload or ns to write policies for (repeatable; default all)\n" \
	"\n"                                                                                       \
	"Output:\n"                                                                                \
	"  -o, --output DIR     where the policies go (DIR/<namespace>_<workload>.yaml)\n"         \
	"      --l4-only        no L7 rules; world peers by address (toCIDRSet), not toFQDNs:\n"   \
	"                       what polc's own datapath (no L7 proxy) can enforce\n"              \
	"      --existing DIR   policies already in force: add only what they miss, and print\n"   \
	"                       the difference (polc diff)\n"                                      \
	"      --test-file F    the generated polc test file (default DIR.test.yaml)\n"            \
	"      --graph F.dot    the learned graph (and F.svg when graphviz is installed)\n"        \
	"  -j, --json           the report as JSON on stdout\n"                                    \
	"      --no-check       skip the self-check and the test file\n"                           \
	"      --dump-edges F   every learned edge with its L7 evidence, sorted (- for stdout)\n"  \
	"      --libpcap-reader read classic pcap files through libpcap, not in place (mmap)\n"    \
	"  -q, --quiet          no progress, no table\n"                                           \
	"\n"                                                                                       \
	"Learning:\n"                                                                              \
	"      --min-support N  distinct values before a path segment becomes a regex, or names\n"  \
	"                       one label below a parent become *.parent (3)\n"               \
	"      --cidr-prefix N  widest IPv4 prefix world addresses may aggregate to (32: none)\n"  \
	"      --cidr6-prefix N the same for IPv6 (128)\n"                                         \
	"      --cidr-min N     addresses in a prefix before it is aggregated (4)\n"               \
	"      --one-way-udp    learn UDP flows that got no reply (statsd, syslog)\n"              \
	"      --max-conns N    open connections held at once (262144; about 200 bytes each)\n"    \
	"      --max-edges N    distinct client/server/port combinations (1000000)\n"              \
	"      --max-l7-memory B  parser buffers, all connections together (67108864)\n"           \
	"      --tcp-timeout S, --udp-timeout S  idle time that ends a connection (120, 30)\n"     \
	"\n"                                                                                       \
	"Exit status: 0 written and every observed flow admitted, 1 the self-check found a flow\n" \
	"the policies deny (a bug: it is listed), 2 usage or input error."

/* ---------------------------------------------------------------- addresses */

/* Every address is 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d). */
struct ip {
	uint8_t b[16];
};

static inline bool ip_is_v4(const struct ip *a)
{
	static const uint8_t ffff[4] = {0, 0, 0xff, 0xff};
	uint64_t lo;
	uint32_t mid, want;
	__builtin_memcpy(&lo, a->b, 8);
	__builtin_memcpy(&mid, a->b + 8, 4);
	__builtin_memcpy(&want, ffff, 4);
	return lo == 0 && mid == want; /* ::ffff:0:0/96 */
}
static inline bool ip_eq(const struct ip *x, const struct ip *y)
{
	uint64_t a[2], b[2];
	__builtin_memcpy(a, x->b, 16);
	__builtin_memcpy(b, y->b, 16);
	return a[0] == b[0] && a[1] == b[1];
}
/* A total order on addresses (not numeric order: only consistency matters). */
static inline int ip_cmp(const struct ip *x, const struct ip *y)
{
	uint64_t a[2], b[2];
	__builtin_memcpy(a, x->b, 16);
	__builtin_memcpy(b, y->b, 16);
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return a[1] < b[1] ? -1 : a[1] > b[1];
}
void ip_from_v4(struct ip *a, const uint8_t v4[4]);
void ip_format(const struct ip *a, char *buf, size_t size); /* 10.0.0.1, fd00::1 */
int ip_parse(const char *text, struct ip *out);             /* 0 ok, -1 not an address */
bool ip_is_special(const struct ip *a); /* multicast, broadcast, link-local, unspecified */

/* ---------------------------------------------------------------- options */

struct learn_opts {
	const char *out_dir;
	struct ptrvec inventory; /* paths */
	struct ptrvec want;      /* "ns/workload" or "ns" to generate for; empty: every workload */
	struct ptrvec captures;  /* files: pcap, pcapng, Hubble JSON, polc observe JSON */
	struct ptrvec ifaces;    /* live capture */
	const char *filter;      /* BPF filter for live capture and files */
	const char *existing;    /* --existing DIR */
	const char *write_pcap;
	const char *json_report; /* --json FILE ("-": stdout) */
	const char *graph;
	const char *test_file;
	double duration; /* seconds of live capture; 0: until Ctrl-C or --count */
	uint64_t count;  /* packets; 0: no limit */
	bool l4_only;
	bool quiet;
	int progress;           /* -1 auto (TTY), 0, 1 */
	unsigned min_support;   /* distinct values before a path segment becomes a regex */
	unsigned cidr4_prefix;  /* widest IPv4 prefix world addresses may be aggregated to */
	unsigned cidr6_prefix;
	unsigned cidr_min_addrs; /* addresses in one prefix before aggregation kicks in */
	bool one_way_udp;        /* learn UDP flows that never got a reply */
	size_t max_conns, max_edges, max_l7_memory;
	uint64_t tcp_idle_ns, udp_idle_ns, closed_linger_ns, dns_grace_ns;
	size_t snaplen;
};
void learn_opts_defaults(struct learn_opts *o);

/* ---------------------------------------------------------------- decoded packets */

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10 };

struct pkt {
	uint64_t ts; /* ns since the epoch */
	uint8_t proto; /* 6, 17, 132, 1, 58 */
	struct ip src, dst;
	uint16_t sport, dport; /* ICMP echo: both are the echo identifier */
	uint8_t tcp_flags;
	uint32_t seq, ack;
	const uint8_t *payload; /* captured bytes of the L4 payload */
	uint32_t paylen;        /* captured */
	uint32_t wire_paylen;   /* as the headers claim, bounded by what could be there */
	uint8_t icmp_type, icmp_code;
	/* ICMP errors: the datagram it quotes (the flow that failed) */
	bool icmp_error;
	struct ip in_src, in_dst;
	uint16_t in_sport, in_dport;
	uint8_t in_proto;
	uint32_t source; /* index of the capture source */
};

struct learn_stats {
	uint64_t packets, bytes, ip_packets, non_ip, control, truncated, malformed, bad_link;
	uint64_t fragments, reassembled, frag_dropped, tunnels, duplicates, special_addr;
	uint64_t conns, conns_evicted, conns_timed_out, edges_dropped, l7_budget_hits;
	uint64_t records; /* Hubble / observe flow records */
	uint64_t records_skipped;
	uint64_t http_requests, http_unanswered, dns_queries, dns_answers, tls_hellos, h2_requests;
	uint64_t ts_first, ts_last;
	size_t peak_conns;
};

/* ---------------------------------------------------------------- small sets */

/* An interned string with evidence: how often, when first and last, and flags. */
struct counted {
	const char *s;
	uint64_t n, first, last;
	uint32_t flags;
};
struct strtab {
	struct counted *v;
	uint32_t n, cap;
	uint64_t dropped; /* entries refused because the table was full */
	uint32_t last;    /* 1 + index of the last entry added to (the same name often comes again) */
};
struct counted *strtab_add(struct strtab *t, const char *s, uint64_t ts, uint32_t flags,
			   uint32_t limit);
struct counted *strtab_find(const struct strtab *t, const char *s);
void strtab_free(struct strtab *t);

/* One HTTP request kind on an edge. */
enum {
	REQ_STATUS_1XX = 1 << 1, REQ_STATUS_2XX = 1 << 2, REQ_STATUS_3XX = 1 << 3,
	REQ_STATUS_4XX = 1 << 4, REQ_STATUS_5XX = 1 << 5,
	REQ_QUERY = 1 << 8, /* a query string was seen (never stored) */
	REQ_GRPC = 1 << 9, REQ_H2 = 1 << 10,
};
struct http_req {
	const char *method, *path; /* method interned; path owned, without its query string */
	uint64_t n, first, last;
	uint32_t flags;
	uint32_t hash;
};
struct reqtab {
	struct http_req *v;
	uint32_t n, cap;
	uint64_t dropped;
	uint64_t unwritable; /* requests with a method or path no rule can hold */
	bool compacted; /* id-like paths were folded into placeholders */
	bool saturated; /* compaction no longer frees room: new shapes are dropped (and counted) */
};

/* DNS name flags in an edge's name table */
enum { DNS_NOERROR = 1, DNS_NXDOMAIN = 2, DNS_OTHER_RCODE = 4, DNS_HAS_ADDR = 8 };

/* ---------------------------------------------------------------- edges */

enum dir_evidence {
	EV_SYN = 1 << 0,      /* the client sent the SYN (or SCTP INIT) */
	EV_SYNACK = 1 << 1,   /* the server answered SYN-ACK */
	EV_LISTENER = 1 << 2, /* the server port answered a SYN in another connection */
	EV_INVENTORY = 1 << 3, /* the inventory says the server listens there */
	EV_PORT = 1 << 4,     /* port heuristic: well-known or non-ephemeral port */
	EV_CONTENT = 1 << 5,  /* the client sent a request (HTTP, DNS query, ClientHello) */
	EV_FIRST = 1 << 6,    /* the client sent the first packet seen */
	EV_ECHO = 1 << 7,     /* ICMP echo request */
	EV_RECORD = 1 << 8,   /* a flow record said so (Hubble, polc observe) */
};

enum l7_flags {
	L7F_HTTP = 1 << 0, L7F_H2 = 1 << 1, L7F_GRPC = 1 << 2, L7F_TLS = 1 << 3,
	L7F_DNS = 1 << 4,
	L7F_OPAQUE = 1 << 5,    /* payload that none of the parsers understood */
	L7F_INCOMPLETE = 1 << 6, /* a parser lost its place (gap, budget, oversized header) */
	L7F_UPGRADE = 1 << 7,   /* HTTP upgraded to another protocol (WebSocket) */
	L7F_ODDNAME = 1 << 8,   /* a DNS name no matchName can write was asked */
};
/* Can Cilium's matchName hold this name? (labels of letters, digits, '-' and '_') */
bool dns_name_writable(const char *name);

struct edge_key {
	struct ip client, server;
	uint16_t port; /* server port; ICMP: the request type */
	uint8_t proto;
	uint8_t zero;
};

struct edge {
	struct edge_key k;
	uint32_t hnext;
	uint64_t ok, refused, unanswered, failed, midstream; /* connections by outcome */
	uint64_t dropped; /* flow records whose verdict was DROPPED */
	uint64_t pkts, bytes, first, last;
	uint32_t evidence; /* enum dir_evidence, over all connections */
	uint32_t l7;       /* enum l7_flags */
	uint64_t http_unanswered, http_rejected;
	struct reqtab http;
	struct strtab dns;   /* names the client asked for (DNS servers only) */
	struct strtab sni;   /* TLS server names */
	struct strtab fqdn;  /* world servers: names whose answers preceded the connection */
	uint64_t fqdn_conns, nofqdn_conns;
	uint64_t nat_twin; /* connections also seen through a service address */
};

/* ---------------------------------------------------------------- the learner */

struct conntab;
struct fragtab;
struct attr;

/* What a DNS answer said: name → address, for whom, when, for how long. */
struct dns_answer {
	struct ip addr, client;
	const char *name; /* the name asked for (a CNAME chain's start) */
	uint64_t ts, ttl_ns;
	uint32_t hnext;
};

struct learner {
	struct learn_opts *o;
	struct learn_stats st;
	struct arena arena; /* interned strings, for the learner's lifetime */
	void *intern;       /* uthash of interned strings */
	size_t interned, interned_bytes;
	struct conntab *ct;
	struct fragtab *ft;
	const char *icache[256]; /* recently interned strings, by a cheap hash */
	/* edges */
	struct edge *edges;
	uint32_t nedges, edges_cap;
	uint32_t *ebuckets;
	uint32_t ebuckets_n;
	/* DNS answers (ring, newest wins when full) */
	struct dns_answer *answers;
	uint32_t nanswers, answers_cap, answers_next;
	uint32_t *abuckets;
	uint32_t abuckets_n;
	/* addresses seen answering a SYN: (ip, port) listeners */
	void *listeners;
	size_t l7_memory; /* bytes of parser buffers in use */
	const struct attr *attr; /* for listening evidence while capturing; may be NULL */
	volatile int *stop;
	bool edges_full_warned, conns_full_warned;
};

void learner_init(struct learner *L, struct learn_opts *o);
void learner_free(struct learner *L);
const char *intern(struct learner *L, const char *s, size_t n);
void intern_free(struct learner *L);

/* ---------------------------------------------------------------- capture.c */

struct capture;
struct capture *capture_new(struct learner *L);
/* A pcap or pcapng file. 0, or -1 with a message in err. */
int capture_add_file(struct capture *c, const char *path, char *err, size_t errsize);
int capture_add_live(struct capture *c, const char *iface, char *err, size_t errsize);
int capture_set_filter(struct capture *c, const char *filter, char *err, size_t errsize);
int capture_write_to(struct capture *c, const char *path, char *err, size_t errsize);
/* Reads every source (files merged by time; live until stop, duration or count).
 * progress(ctx, done_bytes, total_bytes) is called now and then. */
int capture_run(struct capture *c, void (*progress)(void *, uint64_t, uint64_t), void *ctx);
void capture_free(struct capture *c);
size_t capture_nsources(const struct capture *c);
/* Classic pcap files are mapped and read in place; this makes libpcap read them too. */
void capture_use_libpcap(struct capture *c);
/* Is this file a packet capture (pcap or pcapng magic)? */
bool capture_file_is_pcap(const char *path);

/* Link layer to network layer: returns the ethertype (0x0800, 0x86dd) and the offset of the
 * network header, or 0 when the frame carries something else. */
uint16_t link_decode(int dlt, const uint8_t *p, uint32_t caplen, uint32_t *off,
		     struct learn_stats *st);
/* An Ethernet frame (with any number of VLAN tags) */
uint16_t ether_decode(const uint8_t *p, uint32_t caplen, uint32_t *off);

/* ---------------------------------------------------------------- decode.c */

/* Decodes one frame's network layer and hands each packet (decapsulated, reassembled) to
 * flows_packet(). depth counts tunnels. */
void decode_l3(struct learner *L, uint16_t ethertype, const uint8_t *p, uint32_t len,
	       uint32_t wire_len, uint64_t ts, uint32_t source, int depth);
struct fragtab *fragtab_new(void);
void fragtab_free(struct fragtab *ft);

/* ---------------------------------------------------------------- flows.c */

struct conntab *conntab_new(size_t cap);
void conntab_free(struct learner *L, struct conntab *ct);
void flows_packet(struct learner *L, const struct pkt *p);
/* Finishes every open connection (end of input). */
void flows_flush(struct learner *L);
size_t flows_open(const struct learner *L);

/* A finished flow from a record (Hubble, polc observe): one connection, direction known. */
struct flow_record {
	struct ip client, server;
	uint16_t port;
	uint8_t proto;
	uint64_t ts;
	bool ok; /* forwarded (or audit) and, for TCP, not a failed handshake */
	const char *http_method, *http_path;
	int http_status;
	const char *dns_query; /* with dns_ips: an answer */
	struct ip dns_ips[16];
	size_t ndns_ips;
	uint32_t dns_ttl;
	int dns_rcode;
	const char *fqdn; /* destination name (Hubble destination_names) */
};
void flows_record(struct learner *L, const struct flow_record *r);

struct edge *edge_get(struct learner *L, const struct edge_key *k, bool create);
void reqtab_add(struct learner *L, struct reqtab *t, const char *method, const char *path,
		uint64_t ts, uint32_t flags);
void reqtab_free(struct reqtab *t);
/* Remembers a DNS answer for FQDN attribution. */
void dns_remember(struct learner *L, const struct ip *addr, const struct ip *client,
		  const char *name, uint64_t ts, uint32_t ttl);
/* The name whose answer led `client` to `addr` at time ts: same client first, within TTL
 * plus grace; NULL if none. */
const char *dns_name_for(const struct learner *L, const struct ip *addr, const struct ip *client,
			 uint64_t ts);
/* Every address answered for a name (for the self-check's FQDN view). */
size_t dns_addrs_for(const struct learner *L, const char *name, struct ip *out, size_t max);
bool listener_known(const struct learner *L, const struct ip *a, uint8_t proto, uint16_t port);

/* ---------------------------------------------------------------- L7 parsers */

/* The per-connection L7 state; opaque to flows.c. */
struct l7;
enum l7_proto { L7P_NONE, L7P_HTTP, L7P_H2, L7P_DNS, L7P_TLS, L7P_OPAQUE };

/* What a parser reports back to the connection. */
struct l7_sink {
	struct learner *L;
	struct edge *edge; /* where requests go; direction is known when this is set */
	uint64_t ts;
	bool client_is_sender;
};

/* l7_http.c */
bool http_looks_like_request(const uint8_t *p, size_t n);
bool http_looks_like_response(const uint8_t *p, size_t n);
struct l7_http;
struct l7_http *http_new(void);
void http_free(struct learner *L, struct l7_http *h);
/* Feeds stream bytes in order; dir 0 = client to server. Returns L7F_* flags learned. */
uint32_t http_feed(struct l7_http *h, struct l7_sink *s, int dir, const uint8_t *p, size_t n);
/* A gap in one direction: the parser resynchronises at the next message start. */
void http_gap(struct l7_http *h, int dir);
/* The connection ended: requests still waiting for an answer. */
uint64_t http_pending(const struct l7_http *h);
bool http_switched_to_h2(const struct l7_http *h);

/* l7_h2.c */
bool h2_is_preface(const uint8_t *p, size_t n);
struct l7_h2;
struct l7_h2 *h2_new(bool after_upgrade);
void h2_free(struct learner *L, struct l7_h2 *h);
uint32_t h2_feed(struct l7_h2 *h, struct l7_sink *s, int dir, const uint8_t *p, size_t n);
void h2_gap(struct l7_h2 *h, int dir);
uint64_t h2_pending(const struct l7_h2 *h);
/* HPACK pieces, exposed for the unit tests */
int hpack_huffman_decode(const uint8_t *p, size_t n, char *out, size_t outsize);
struct hpack;
struct hpack *hpack_new(void);
void hpack_free(struct hpack *t);
/* Decodes a header block; calls cb for each field. -1 if malformed. */
int hpack_decode(struct hpack *t, const uint8_t *p, size_t n,
		 void (*cb)(void *, const char *, size_t, const char *, size_t), void *ctx);

/* l7_dns.c */
struct dns_msg {
	uint16_t id;
	bool response;
	uint8_t rcode;
	char qname[256];
	uint16_t qtype;
	struct {
		uint16_t type;
		uint32_t ttl;
		struct ip addr; /* A/AAAA */
	} an[32];
	size_t nan;
};
/* Parses one DNS message; -1 if it is not one. Names are lower case, without the final dot. */
int dns_parse(const uint8_t *p, size_t n, struct dns_msg *m);
/* One DNS datagram (or TCP message) of a connection to a DNS server. */
uint32_t dns_handle(struct l7_sink *s, const struct ip *client, const struct dns_msg *m);
struct l7_dnstcp;
struct l7_dnstcp *dnstcp_new(void);
void dnstcp_free(struct learner *L, struct l7_dnstcp *d);
uint32_t dnstcp_feed(struct l7_dnstcp *d, struct l7_sink *s, const struct ip *client, int dir,
		     const uint8_t *p, size_t n);
/* Does a Cilium DNS matchPattern ("*" within a label, "*" alone: anything) match a name? */
bool dns_pattern_matches(const char *pattern, const char *name);

/* l7_tls.c */
bool tls_looks_like_hello(const uint8_t *p, size_t n);
struct l7_tls;
struct l7_tls *tls_new(void);
void tls_free(struct learner *L, struct l7_tls *t);
uint32_t tls_feed(struct l7_tls *t, struct l7_sink *s, int dir, const uint8_t *p, size_t n);
/* Parses a ClientHello record and copies the SNI; 1 found, 0 none, -1 not a ClientHello
 * (or incomplete: -2). */
int tls_client_hello_sni(const uint8_t *p, size_t n, char *sni, size_t size);

/* Parser buffers are charged against L->o->max_l7_memory. */
bool l7_charge(struct learner *L, size_t n);
void l7_release(struct learner *L, size_t n);

/* ---------------------------------------------------------------- attribute.c */

enum peer_class {
	PC_POD,        /* a pod address */
	PC_NODE,       /* a node address: host or remote-node, depending on who looks */
	PC_SERVICE,    /* a service's ClusterIP (or another service address) */
	PC_APISERVER,  /* the API server (default/kubernetes) */
	PC_CLUSTER,    /* inside a pod CIDR, but no pod of the inventory has it */
	PC_WORLD,
};

struct addr_info {
	enum peer_class cls;
	const struct pod *pod;
	const struct k8s_node *node;
	const struct k8s_service *svc;
};

struct attr *attr_build(const struct inventory *inv);
void attr_free(struct attr *a);
void attr_lookup(const struct attr *a, const struct ip *ip, struct addr_info *out);
/* Does the inventory say this address listens on the port (container or service port)? */
bool attr_listens(const struct attr *a, const struct ip *ip, uint8_t proto, uint16_t port);
/* A service port (its nodePort, with node_port): its target port number on a given
 * backend pod (named ports resolved), or -1. */
int attr_target_port(const struct k8s_service *svc, const struct pod *backend, uint8_t proto,
		     uint16_t port, bool node_port, const char **port_name);
/* The service that has this nodePort, or NULL: a node address on it leads to its backends. */
const struct k8s_service *attr_node_port(const struct attr *a, uint8_t proto, uint16_t port);
/* The pods a service selects (its backends). */
size_t attr_backends(const struct attr *a, const struct k8s_service *svc,
		     const struct pod **out, size_t max);
const struct inventory *attr_inventory(const struct attr *a);

/* ---------------------------------------------------------------- synth.c */

enum speer_kind { SP_ENDPOINT, SP_ENTITY, SP_CIDR, SP_FQDN };

struct kv {
	const char *k, *v;
};

/* One peer of a rule. */
struct speer {
	enum speer_kind kind;
	const char *key; /* canonical text, for sorting and grouping */
	/* SP_ENDPOINT */
	const char *ns;       /* set when the peer is in another namespace */
	const char *workload; /* "ns/name" */
	struct kv *labels;
	size_t nlabels;
	/* SP_ENTITY / SP_CIDR / SP_FQDN (a matchPattern "*.parent" when it starts with "*.") */
	const char *text;
	/* a pattern: the observed names it stands for */
	const char **members;
	size_t nmembers;
};

struct shttp {
	const char *method, *path; /* path is a regex (literal segments escaped) */
	uint64_t support;          /* observed requests it stands for */
	uint32_t distinct;         /* distinct observed paths */
	bool generalised;
};

struct sport {
	uint8_t proto;
	uint16_t port;
	struct shttp *http;
	size_t nhttp;
	const char **dns; /* matchName values */
	size_t ndns;
	const char *l7_note; /* why there is no L7 rule, when there could be */
};

/* Evidence behind a rule. */
struct prov {
	uint64_t conns, pkts, requests;
	uint64_t first, last;
};

struct selem {
	enum direction dir;
	enum speer_kind kind;
	struct speer *peers;
	size_t npeers;
	struct sport *ports;
	size_t nports;
	bool icmp;
	int icmp_types[4][2]; /* {family (4/6), type} */
	size_t nicmp;
	struct prov prov;
	const char *why; /* one line: what traffic this rule is for */
};

struct spolicy {
	const char *ns, *name, *workload;
	struct kv *selector;
	size_t nselector;
	const char *selector_note; /* why this selector */
	struct selem *ingress, *egress;
	size_t ningress, negress;
	bool ingress_seen, egress_seen; /* traffic was observed in that direction */
	struct prov prov;
	size_t npods;
};

/* One observed flow, attributed: what the self-check replays. */
struct oflow {
	const char *src, *dst;   /* trace parties: ns/pod, or an address */
	const char *src_ep, *dst_ep; /* local endpoints' workloads, or NULL */
	uint8_t proto;
	uint16_t port; /* destination port after service translation; ICMP: type */
	const struct edge *edge;
	const char *via_service; /* "ns/name" when the client used a service address */
	const char *fqdn;        /* world destinations reached by name */
	bool learned;            /* it took part in synthesis */
};

struct skipped {
	const struct edge *edge;
	const char *reason;
};

struct session;
struct synth {
	struct learner *L;
	const struct session *existing; /* --existing: flows it allows are not learned again */
	const struct attr *attr;
	struct arena arena;
	struct spolicy *pol;
	size_t npol;
	struct oflow *flows;
	size_t nflows, flows_cap;
	struct skipped *skipped;
	size_t nskipped, skipped_cap;
	struct ptrvec notes; /* warnings worth a line in the summary */
	uint64_t generalised_paths; /* distinct paths covered by regex segments */
	uint64_t regex_checks;
};

int synth_run(struct synth *s, struct learner *L, const struct attr *attr);
void synth_free(struct synth *s);
/* The minimal stable selector of a workload; exposed for the unit tests. */
size_t synth_selector(const struct inventory *inv, const char *workload, struct arena *a,
		      struct kv **out, const char **note);
bool label_is_volatile(const char *key);
/* Path generalisation over one (method) set of paths; exposed for the unit tests.
 * Returns the number of rules; each rule's regex matches its observed paths (PCRE2-checked). */
size_t synth_paths(struct arena *a, const char *const *paths, const uint64_t *counts, size_t n,
		   unsigned min_support, struct shttp **out, const char *method);
/* A path with id-like segments (digits, UUIDs, long hex) replaced by the placeholders below;
 * malloc'd. Placeholders start with \x01, which no request path can contain. */
#define SEG_INT "\x01int"
#define SEG_UUID "\x01uuid"
#define SEG_HEX "\x01hex"
char *path_shape(const char *path);
/* A path with its placeholders replaced by sample values (malloc'd). */
char *path_concrete(const char *path);
/* The same into a buffer; 0 if it does not fit. */
size_t path_shape_into(const char *path, char *out, size_t size);
/* Cilium regex text for a literal (escapes metacharacters) */
char *regex_escape(struct arena *a, const char *s);

/* ---------------------------------------------------------------- emit.c */

enum emit_mode {
	EMIT_FULL,      /* what the user gets */
	EMIT_RESOLVED,  /* toFQDNs replaced by the addresses DNS answered (the self-check) */
};
/* Writes one policy as YAML into buf. 0 ok. */
int emit_policy(const struct synth *s, const struct spolicy *p, enum emit_mode mode,
		struct strbuf *buf);
/* Writes every policy to dir/<ns>_<name>.yaml (atomically). */
int emit_all(const struct synth *s, const char *dir, struct ptrvec *written);
void emit_graph(const struct synth *s, FILE *out);
void format_time(uint64_t ns, char *buf, size_t size);

/* ---------------------------------------------------------------- selfcheck.c */

struct selfcheck {
	size_t flows, admitted;
	size_t requests, requests_admitted;
	size_t dns_names, dns_admitted;
	struct ptrvec failures; /* char * */
	/* over-permission */
	uint64_t admitted_pairs, observed_pairs;   /* (local endpoint, remote identity, port) */
	uint64_t unobserved_pairs;
	uint64_t any_port_rules;                   /* rules with no port restriction */
	uint64_t cidr_addrs, cidr_observed;        /* addresses CIDR rules admit vs used */
	uint64_t regex_rules, regex_paths;
	uint64_t selected_pods, observed_pods;     /* pods selected by peer selectors vs seen */
	struct ptrvec over; /* lines for the report */
	size_t tests_allow, tests_deny;
	int test_rc; /* polc test on the generated file: 0 passed */
	bool ran;
};

int selfcheck_run(struct synth *s, const char *out_dir, const char *existing,
		  const char *test_file, struct selfcheck *r);
void selfcheck_free(struct selfcheck *r);

/* ---------------------------------------------------------------- input records (learn.c) */

/* Reads Hubble (`hubble observe -o json`) or `polc observe --json` lines. */
int records_read(struct learner *L, const char *path, char *err, size_t errsize);
bool file_is_json_lines(const char *path);

#endif
