/* The policy object model (IR): what CNP, CCNP, KNP and CiliumCIDRGroup say, typed, with the
 * node each value came from. Built only from documents that passed schema validation.
 *
 * Lists keep four states apart because Cilium gives them different meanings:
 *   absent (field not written), null, [] (empty list) and [...] (items).
 * For example `fromEndpoints: []` selects nothing while an absent fromEndpoints with toPorts
 * is an L4-only rule for every peer; `ingress: [{}]` enforces default deny, `ingress: []` does
 * nothing.
 */
#ifndef POLC_IR_H
#define POLC_IR_H

enum presence { P_ABSENT = 0, P_NULL, P_PRESENT };

#define IR_LIST(T)                                                                                \
	struct {                                                                                  \
		enum presence presence;                                                           \
		size_t n;                                                                         \
		T *v;                                                                             \
		const struct node *at;                                                            \
	}

enum selector_op { OP_IN, OP_NOT_IN, OP_EXISTS, OP_DOES_NOT_EXIST };

struct label_req {
	const char *key; /* as written, possibly with a "source:" prefix */
	enum selector_op op;
	const char **values;
	size_t nvalues;
	const struct node *at;
};

/* matchLabels become In requirements with one value; order is preserved. */
struct selector {
	enum presence presence;
	struct label_req *reqs;
	size_t n;
	const struct node *at;
};

struct cidr_rule {
	const char *cidr; /* NULL when a group is referenced */
	IR_LIST(const char *) except;
	const char *group_ref;
	struct selector group_selector;
	const struct node *at;
};

struct service_ref {
	bool by_selector;
	const char *name, *namespace; /* namespace NULL: every namespace */
	struct selector selector;
	const struct node *at;
};

struct fqdn {
	const char *match_name, *match_pattern;
	const struct node *at;
};

struct port_protocol {
	const char *port;     /* NULL if absent */
	int end_port;         /* -1 if absent */
	const char *protocol; /* NULL if absent: ANY */
	const struct node *at, *port_at;
};

struct header_match {
	const char *name, *value, *mismatch;
	const char *secret_name, *secret_namespace;
	const struct node *at;
};

struct http_rule {
	const char *method, *path, *host;
	const struct node *method_at, *path_at, *host_at;
	IR_LIST(const char *) headers;
	IR_LIST(struct header_match) header_matches;
	const struct node *at;
};

struct kafka_rule {
	const char *role, *api_key, *api_version, *client_id, *topic;
	const struct node *at;
};

enum l7_kind { L7_NONE, L7_HTTP, L7_KAFKA, L7_DNS, L7_GENERIC };

struct tls_context {
	bool present;
	const char *secret_name, *secret_namespace;
	const struct node *at;
};

struct port_rule {
	IR_LIST(struct port_protocol) ports;
	enum l7_kind l7_kind; /* the first L7 list given */
	const struct node *rules_at;
	IR_LIST(struct http_rule) http;
	IR_LIST(struct kafka_rule) kafka;
	IR_LIST(struct fqdn) dns;
	const char *l7proto;
	IR_LIST(const struct node *) l7_generic; /* the l7 key/value maps */
	struct tls_context terminating_tls, originating_tls;
	IR_LIST(const char *) server_names;
	bool has_listener;
	const char *listener_kind, *listener_config, *listener_name;
	int listener_priority; /* 0 if absent */
	const struct node *at;
};

struct icmp_field {
	const char *family; /* NULL: IPv4 */
	const char *type;   /* number or name, as written */
	const struct node *at;
};

enum direction { DIR_INGRESS, DIR_EGRESS };

/* The kinds of peer a rule element can name; at most one per element (Cilium's rule). */
enum peer_kind {
	PEER_ENDPOINTS,
	PEER_REQUIRES,
	PEER_CIDR,
	PEER_CIDR_SET,
	PEER_ENTITIES,
	PEER_SERVICES,
	PEER_FQDNS,
	PEER_GROUPS,
	PEER_NODES,
	PEER__COUNT
};

struct rule_elem {
	enum direction dir;
	bool deny;
	IR_LIST(struct selector) endpoints, requires, nodes;
	IR_LIST(const char *) cidr;
	IR_LIST(struct cidr_rule) cidr_set;
	IR_LIST(const char *) entities;
	IR_LIST(struct service_ref) services;
	IR_LIST(struct fqdn) fqdns;
	IR_LIST(const struct node *) groups;
	IR_LIST(struct port_rule) to_ports;
	IR_LIST(IR_LIST(struct icmp_field)) icmps;
	const char *auth_mode;
	const struct node *at;
	const struct node *peer_at[PEER__COUNT]; /* the key node of each peer field given */
};

enum tristate { TRI_UNSET = -1, TRI_FALSE = 0, TRI_TRUE = 1 };

struct rule_label {
	const char *key, *value, *source;
};

struct rule {
	struct selector endpoint_selector, node_selector;
	IR_LIST(struct rule_label) labels;
	IR_LIST(struct rule_elem) ingress, ingress_deny, egress, egress_deny;
	enum tristate default_deny_ingress, default_deny_egress;
	const char *description, *log;
	const struct node *at;
};

/* ---- Kubernetes NetworkPolicy */

struct knp_port {
	const char *protocol; /* NULL: TCP */
	const char *port;     /* number or name as text; NULL: all ports */
	bool named;
	int end_port; /* -1 if absent */
	const struct node *at;
};

struct knp_peer {
	struct selector pod_selector, namespace_selector;
	const char *ip_cidr;
	IR_LIST(const char *) ip_except;
	const struct node *at;
};

struct knp_rule {
	IR_LIST(struct knp_peer) peers; /* from or to */
	IR_LIST(struct knp_port) ports;
	const struct node *at;
};

struct knp {
	struct selector pod_selector;
	IR_LIST(const char *) policy_types;
	IR_LIST(struct knp_rule) ingress, egress;
};

enum policy_kind { KIND_CNP, KIND_CCNP, KIND_KNP };

struct policy {
	enum policy_kind kind;
	const char *name, *namespace; /* namespace NULL for CCNP; "default" if a KNP/CNP omits it */
	bool namespace_given;
	IR_LIST(struct rule) rules; /* CNP/CCNP: spec first, then specs */
	bool has_spec, has_specs;
	struct knp knp;
	bool *disabled_lints; /* from the lint.polc.io/disable annotation; NULL if none */
	const struct node *at;
	const struct source *src;
};

struct cidr_group {
	const char *name;
	const struct node *labels; /* metadata.labels, for cidrGroupSelector */
	IR_LIST(const char *) cidrs;
	const struct node *at;
};

const char *policy_kind_name(enum policy_kind k);
const char *peer_field_name(enum direction dir, enum peer_kind k); /* "" if none */
/* Converts a validated document. Returns NULL for kinds the IR does not model. */
struct policy *ir_policy(struct arena *a, const struct node *doc, enum policy_kind kind,
			 struct diag_sink *d);
struct cidr_group *ir_cidr_group(struct arena *a, const struct node *doc);
void ir_selector(struct arena *a, const struct node *n, struct selector *out);
/* The lints that an object's lint.polc.io/disable annotation silences, or NULL. */
bool *annotation_disables(struct arena *a, const struct node *meta);

#endif
