/* The semantic core: identities, Cilium's scoping rules, and every endpoint's policy.
 *
 *   inventory ──► endpoints + identities (identity.c)
 *   IR ──► flat rules with Cilium's implicit scoping (translate.c)
 *        ──► peers to identity sets (selcache.c) ──► per endpoint and direction: map state
 *            (resolve.c), looked up by mapstate_lookup()
 *   IR + inventory ──► reference evaluator (refeval.c), deliberately separate: the oracle
 */
#ifndef POLC_RESOLVE_H
#define POLC_RESOLVE_H

/* ---------------------------------------------------------------- options */

enum enforcement_mode { ENFORCE_DEFAULT, ENFORCE_ALWAYS, ENFORCE_NEVER };

/* The Cilium agent settings that change verdicts, with Cilium's defaults (docs/semantics.md). */
struct semantics {
	enum enforcement_mode enable_policy; /* enable-policy: default */
	bool allow_localhost;                /* allow-localhost=auto in Kubernetes mode: true */
	bool cidr_match_nodes;               /* policy-cidr-match-mode=nodes: false */
	bool default_local_cluster;          /* policy-default-local-cluster: true (1.19+) */
	bool node_selector_labels;           /* enable-node-selector-labels: false */
	bool host_firewall;                  /* enable-host-firewall: false */
	bool non_default_deny_policies;      /* enable-non-default-deny-policies: true */
	const char *cluster_name;            /* cluster-name: "default" */
};
void semantics_defaults(struct semantics *s);
/* Parses "name=value" for one of the fields above; -1 with a message if unknown. */
int semantics_set(struct semantics *s, const char *assignment, char *err, size_t errsize);

/* ---------------------------------------------------------------- identity.c */

enum {
	ID_ANY = 0,
	ID_HOST = 1,
	ID_WORLD = 2,
	ID_UNMANAGED = 3,
	ID_HEALTH = 4,
	ID_INIT = 5,
	ID_REMOTE_NODE = 6,
	ID_KUBE_APISERVER = 7,
	ID_INGRESS = 8,
	ID_WORLD_IPV4 = 9,
	ID_WORLD_IPV6 = 10,
	ID_FIRST_GLOBAL = 256,
};
#define ID_LOCAL_SCOPE 0x01000000u

struct identity {
	uint32_t id;
	struct label_set labels; /* sorted by source, key */
	const char *key;         /* canonical text of the labels, e.g. "k8s:app=web;k8s:..." */
	bool is_cidr;
	struct prefix cidr;
};

/* A local endpoint: a pod, or a workload known only from its controller. */
struct endpoint {
	const char *name;      /* "ns/pod" or "ns/workload" */
	const char *namespace; /* pod namespace */
	const char *workload;  /* "ns/deployment" etc., or NULL */
	const struct pod *pod;
	const struct identity *id;
	const char *node;
};

struct cluster {
	const struct inventory *inv;
	struct semantics sem;
	bool dual_stack;
	struct identity **ids; /* sorted by number */
	size_t nids;
	struct endpoint *eps;
	size_t neps;
	struct arena arena;
	void *by_key;      /* uthash index: labels key -> identity */
	void *label_index; /* uthash: "key=value" and "key" -> identities (selcache.c) */
	void *named_ports; /* uthash: "name/proto" -> the one number every pod uses, or -1 */
};

/* Builds identities for the inventory's pods and workloads, the reserved identities, and a
 * CIDR identity for every prefix the policies name. alloc (may be NULL) is a previous
 * allocation to keep numbers stable. */
struct cluster *cluster_build(const struct inventory *inv, const struct corpus *policies,
			      const struct semantics *sem, const char *alloc_path,
			      struct diag_sink *d);
void cluster_free(struct cluster *c);
const struct identity *identity_by_id(const struct cluster *c, uint32_t id);
/* Where id is, or would be, in c->ids (sorted by number). */
size_t identity_index(const struct cluster *c, uint32_t id);
const struct identity *identity_by_key(const struct cluster *c, const char *labels_key);
uint32_t node_identity(const struct inventory *inv, const struct k8s_node *n, size_t ip,
		       const char *local_node);
/* The identity a packet from/to this address gets (the ipcache), seen from an endpoint on
 * node `local_node` (host vs remote-node). */
const struct identity *identity_for_ip(const struct cluster *c, const char *ip,
				       const char *local_node);
const struct endpoint *endpoint_by_name(const struct cluster *c, const char *name);
/* Egress named ports: the number all endpoints agree on for (name, protocol), or -1. */
long cluster_named_port(const struct cluster *c, const char *name, uint8_t proto);
int identity_write_alloc(const struct cluster *c, const char *path);

/* ---------------------------------------------------------------- translate.c */

/* A set of identities; `any` stands for identity 0 (every peer). */
struct idset {
	bool any;
	uint32_t *v; /* sorted */
	size_t n, cap;
};

enum peer_type { PT_ALL, PT_SELECTOR, PT_ENTITY, PT_CIDR, PT_NOTHING };

struct flat_peer {
	enum peer_type type;
	struct selector sel; /* PT_SELECTOR: absolute, with Cilium's implicit requirements */
	const char *entity;
	struct prefix cidr;
	struct prefix *except;
	size_t nexcept;
	const char *text; /* as written, for explanations */
	const struct idset *ids; /* what it selects; filled by flat_index() */
};

struct flat_port {
	uint8_t proto; /* 0: every IP protocol (L3-only); 6, 17, 132, 1, 58 */
	uint16_t lo, hi;
	const char *name; /* a named port, resolved per endpoint */
	const struct port_rule *l7; /* the PortRule with L7 rules, or NULL */
};

enum auth_type { AUTH_NONE = 0, AUTH_SPIRE = 1, AUTH_ALWAYS_FAIL = 2 };

struct flat_rule {
	const struct policy *policy;
	const struct node *at; /* the rule element */
	uint32_t cookie;       /* 1-based, stable for the same inputs */
	struct selector subject;
	bool subject_is_host; /* nodeSelector */
	enum direction dir;
	bool deny;
	bool synthetic; /* allow-localhost, or enableDefaultDeny: false */
	struct flat_peer *peers;
	size_t npeers;
	struct flat_port *ports;
	size_t nports;
	enum auth_type auth;
};

/* A rule (spec) that enforces a direction for its subjects, even with no elements. */
struct flat_section {
	const struct policy *policy;
	struct selector subject;
	bool subject_is_host;
	enum direction dir;
	enum tristate default_deny;
};

struct flat_index;

struct flat_policy {
	struct arena arena;
	struct flat_index *index; /* built by flat_index(); NULL before */
	struct flat_rule *rules;
	size_t nrules;
	struct flat_section *sections;
	size_t nsections;
};

int translate(const struct cluster *c, const struct corpus *policies, struct flat_policy *out,
	      struct diag_sink *d);
bool cidr_group_named(const struct cidr_group *grp, const struct cidr_rule *cr);
bool service_named(const struct k8s_service *svc, const struct service_ref *sr);
void flat_policy_free(struct flat_policy *fp);
bool flat_subject_selects(const struct flat_rule *r, const struct endpoint *ep);

/* ---------------------------------------------------------------- selcache.c */

bool entity_selects(const struct cluster *c, const char *entity, const struct identity *id);
bool peer_selects(const struct cluster *c, const struct flat_peer *p, const struct identity *id);
void peer_identities(const struct cluster *c, const struct flat_peer *p, struct idset *out);
void idset_add(struct idset *s, uint32_t id);
void idset_sort(struct idset *s);
void idset_free(struct idset *s);
bool idset_has(const struct idset *s, uint32_t id);
/* Posting lists label -> identities, so selectors need not scan every identity. */
void cluster_index_labels(struct cluster *c);
void cluster_free_label_index(struct cluster *c);
/* Computes every peer's and subject's identities once (shared between equal selectors) and,
 * per identity, the rules and sections that select it. translate() calls it. */
void flat_index(const struct cluster *c, struct flat_policy *fp);
void flat_index_free(struct flat_policy *fp);
/* The rules (indexes into fp->rules) and sections selecting an identity. */
void flat_selected(const struct cluster *c, const struct flat_policy *fp, uint32_t id,
		   const uint32_t **rules, size_t *nrules, const uint32_t **sections,
		   size_t *nsections);

/* ---------------------------------------------------------------- resolve.c */

enum verdict { VERDICT_DENY = 0, VERDICT_ALLOW = 1 };

enum reason {
	REASON_NOT_ENFORCED,  /* no policy selects the endpoint in this direction */
	REASON_ALLOWED,       /* an allow rule matches */
	REASON_L7,            /* allowed, redirected to the L7 proxy */
	REASON_AUTH,          /* allowed once authenticated */
	REASON_POLICY_DENY,   /* a deny rule matches */
	REASON_DEFAULT_DENY,  /* enforced and nothing allows it */
};
const char *reason_name(enum reason r);

/* One resolved entry: (identity or ANY, protocol or ANY, port range) -> verdict. */
struct ms_entry {
	uint32_t identity;
	uint8_t proto;
	uint16_t lo, hi;
	bool deny;
	bool l7;
	uint8_t auth;
	uint32_t cookie; /* the first rule that produced it */
	const struct port_rule *l7_rule; /* the L7 rules of that rule, when l7 */
};

struct mapstate {
	bool enforced;
	struct ms_entry *v;
	size_t n, cap;
};

struct flow_result {
	enum verdict verdict;
	enum reason reason;
	uint32_t cookie; /* deciding rule, 0 if none */
};

/* The policy of one endpoint in one direction. */
void resolve_endpoint(const struct cluster *c, const struct flat_policy *fp,
		      const struct endpoint *ep, enum direction dir, struct mapstate *out);
void mapstate_free(struct mapstate *ms);
struct flow_result mapstate_lookup(const struct mapstate *ms, uint32_t remote, uint8_t proto,
				   uint16_t port);

/* ---------------------------------------------------------------- refeval.c */

/* One half of a flow, decided straight from the parsed rules. */
struct ref_query {
	const struct endpoint *ep;      /* the local endpoint */
	enum direction dir;
	const struct identity *remote;  /* the peer's identity */
	const struct endpoint *remote_ep; /* the peer if it is a local endpoint (named ports) */
	uint8_t proto;
	uint16_t port;
};
struct ref_result {
	enum verdict verdict;
	enum reason reason;
	const struct policy *policy; /* deciding rule's policy, or NULL */
	const struct node *at;       /* deciding rule element */
};
struct ref_result ref_evaluate(const struct cluster *c, const struct corpus *policies,
			       const struct ref_query *q);

/* The rules that select one endpoint (rule NULL: a NetworkPolicy), in corpus order. For many
 * questions about one endpoint: build it once, ask with ref_evaluate_subject. */
struct ref_subject {
	const struct endpoint *ep;
	struct ref_pick {
		const struct policy *p;
		const struct rule *rule;
	} *v;
	size_t n;
};
void ref_subject_build(const struct cluster *c, const struct corpus *policies,
		       const struct endpoint *ep, struct ref_subject *out);
void ref_subject_free(struct ref_subject *s);
struct ref_result ref_evaluate_subject(const struct cluster *c, const struct corpus *policies,
				       const struct ref_subject *subj, const struct ref_query *q);

#endif
