/* The cluster as kubectl shows it: pods, namespaces, nodes, services. Identity label sets and
 * selector matching follow Cilium (cilium-semantics.md sections 2 and 3.5). */
#ifndef POLC_INVENTORY_H
#define POLC_INVENTORY_H

/* One label as Cilium sees it: source ("k8s", "reserved", ...), key and value. */
struct label {
	const char *source, *key, *value;
};

struct label_set {
	struct label *v;
	size_t n;
};

struct container_port {
	const char *name, *protocol;
	int port;
};

struct pod {
	const char *name, *namespace, *service_account, *node;
	struct label_set k8s_labels; /* metadata.labels as given */
	struct label_set identity;   /* Cilium's security labels (filtered, with namespace etc.) */
	const char **ips;
	size_t nips;
	struct container_port *ports;
	size_t nports;
	bool host_network;
	const char *owner_kind, *owner_name;
	const char *workload; /* "ns/name" of the controller that owns it, or NULL */
	const char *host_ip;  /* status.hostIP: its node's address */
	bool from_template;   /* a workload known only from its controller's pod template */
	const struct node *at;
};

struct k8s_namespace {
	const char *name;
	struct label_set labels;
	const struct node *at;
};

struct k8s_node {
	const char *name;
	struct label_set labels;
	const char **ips;
	size_t nips;
};

struct service_port {
	const char *name, *protocol, *target_name; /* target_name: a named targetPort */
	int port, target_port;
	int node_port; /* NodePort and LoadBalancer services: the port on every node, or 0 */
};

struct k8s_service {
	const char *name, *namespace, *type;
	const struct node *labels; /* metadata.labels, for k8sServiceSelector */
	struct label_set selector;
	bool has_selector;
	const char **cluster_ips;
	size_t ncluster_ips;
	const char **external_ips; /* spec.externalIPs and status.loadBalancer.ingress[].ip */
	size_t nexternal_ips;
	struct service_port *ports;
	size_t nports;
	const char **backends; /* addresses from its EndpointSlices */
	size_t nbackends;
};

struct inventory {
	struct corpus *objects; /* owns every string below */
	struct pod *pods;
	size_t npods;
	struct k8s_namespace *namespaces;
	size_t nnamespaces;
	struct k8s_node *nodes;
	size_t nnodes;
	struct k8s_service *services;
	size_t nservices;
	const char *cluster_name; /* io.cilium.k8s.policy.cluster; "default" like Cilium */
};

/* Reads kubectl output (files, dirs, "-"). Returns NULL after reporting why. */
struct inventory *inventory_load(const char *const *paths, size_t npaths,
				 const struct reader_limits *lim, struct diag_sink *d);
/* Builds the inventory from objects already loaded (kinds without a policy schema land in
 * objects->other); takes ownership of `objects`. */
struct inventory *inventory_build(struct corpus *objects);
void inventory_free(struct inventory *inv);
/* Is this address a backend of default/kubernetes (the API server)? */
bool inventory_is_apiserver(const struct inventory *inv, const char *ip);

/* Cilium's default identity-relevant label filter: true if the k8s label key is kept. */
bool label_is_identity_relevant(const char *key);
/* Does the selector, with keys in "source:key" form, match the label set? */
bool selector_matches(const struct selector *sel, const struct label_set *labels);
bool selector_matches_labels_node(const struct selector *sel, const struct node *labels);
const char *label_get(const struct label_set *ls, const char *source, const char *key);

#endif
