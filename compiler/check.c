/* Cilium's own acceptance checks (cilium-semantics.md section 5.5): what the agent's sanitizer
 * or the API server would refuse. Everything reported here is an error. Structural checks
 * (types, enums, required fields) already happened in the schema engine. */
#include "polc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

struct ctx {
	const struct policy *p;
	struct diag_sink *d;
	const struct rule *rule; /* the rule being checked, NULL for NetworkPolicy */
};

/* ---------------------------------------------------------------- selectors */

/* A Kubernetes qualified name: [DNS-subdomain "/"] name, the name 1-63 characters of
 * [A-Za-z0-9][-A-Za-z0-9_.]* ending alphanumeric. */
static bool qualified_name(const char *key)
{
	const char *slash = strrchr(key, '/');
	const char *name = slash ? slash + 1 : key;
	size_t n = strlen(name);
	if (slash && (slash == key || slash - key > 253))
		return false;
	for (const char *p = key; slash && p < slash; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	if (n == 0 || n > 63 || !isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

static void check_selector(struct ctx *c, const struct selector *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct label_req *r = &s->reqs[i];
		bool wants_values = r->op == OP_IN || r->op == OP_NOT_IN;
		const char *colon = strchr(r->key, ':');
		const char *bare = r->key[0] == '$' ? r->key + 1 : colon ? colon + 1 : r->key;
		if (!*r->key)
			diag_at(c->d, R_BAD_SELECTOR, r->at, NULL, "label selector key is empty");
		else if (!qualified_name(bare))
			diag_at(c->d, R_BAD_SELECTOR, r->at,
				"a key is [prefix/]name: up to 63 letters, digits, '-', '_' or '.', "
				"starting and ending alphanumeric",
				"\"%s\" is not a valid label key", r->key);
		else if (wants_values && r->nvalues == 0)
			diag_at(c->d, R_BAD_SELECTOR, r->at, "give at least one value",
				"operator %s on \"%s\" needs values", r->op == OP_IN ? "In" : "NotIn",
				r->key);
		else if (!wants_values && r->nvalues > 0)
			diag_at(c->d, R_BAD_SELECTOR, r->at, "remove values:",
				"operator %s on \"%s\" takes no values",
				r->op == OP_EXISTS ? "Exists" : "DoesNotExist", r->key);
	}
}

/* ---------------------------------------------------------------- CIDRs */

static bool check_cidr(struct ctx *c, const char *text, const struct node *at, bool allow_bare,
		       struct prefix *out)
{
	int rc = parse_prefix(text, out, allow_bare);
	if (rc == -2)
		diag_at(c->d, R_BAD_CIDR, at, "write the prefix length, for example 10.0.0.0/8",
			"\"%s\" has no prefix length", text);
	else if (rc < 0)
		diag_at(c->d, R_BAD_CIDR, at,
			"write an IPv4 or IPv6 prefix such as 10.0.0.0/8 or fd00::/64",
			"unable to parse CIDR \"%s\"", text);
	return rc == 0;
}

static const struct node *item_at(const struct node *list, size_t i)
{
	return list && list->kind == NODE_SEQ && i < list->n ? list->vals[i] : list;
}

/* Cilium tests only an except's base address against its cidr; the API server wants a
 * NetworkPolicy except to be a strict subset. */
static bool base_inside(const struct prefix *outer, const struct prefix *e)
{
	struct prefix base = *e;
	base.len = e->family == 4 ? 32 : 128;
	return prefix_contains(outer, &base);
}

static void check_excepts(struct ctx *c, const struct prefix *outer, const char *outer_text,
			  const char *const *except, size_t n, const struct node *list_at,
			  bool strict_subset)
{
	for (size_t i = 0; i < n; i++) {
		struct prefix e;
		const struct node *at = item_at(list_at, i);
		if (!check_cidr(c, except[i], at, false, &e))
			continue;
		if (e.family != outer->family)
			diag_at(c->d, R_BAD_CIDR, at, NULL,
				"except \"%s\" is not the same address family as \"%s\"", except[i],
				outer_text);
		else if (strict_subset ? !prefix_contains(outer, &e) || e.len <= outer->len
				       : !base_inside(outer, &e))
			diag_at(c->d, strict_subset ? R_KNP : R_BAD_CIDR, at,
				strict_subset ? "an except must be a smaller block inside its cidr"
					      : "an except must lie inside its cidr",
				"except \"%s\" is not %s \"%s\"", except[i],
				strict_subset ? "a strict subset of" : "contained in", outer_text);
	}
}

static void check_peers_cidr(struct ctx *c, const struct rule_elem *r)
{
	struct prefix p;
	for (size_t i = 0; i < r->cidr.n; i++)
		check_cidr(c, r->cidr.v[i], item_at(r->cidr.at, i), true, &p);
	for (size_t i = 0; i < r->cidr_set.n; i++) {
		const struct cidr_rule *cr = &r->cidr_set.v[i];
		if (!cr->cidr)
			continue;
		if (check_cidr(c, cr->cidr, node_get(cr->at, "cidr"), false, &p))
			check_excepts(c, &p, cr->cidr, cr->except.v, cr->except.n, cr->except.at,
				      false);
	}
}

/* ---------------------------------------------------------------- peers */

static void check_peer_combination(struct ctx *c, const struct rule_elem *r)
{
	int first = -1;
	for (int k = 0; k < PEER__COUNT; k++) {
		if (!r->peer_at[k] || !node_get(r->at, r->peer_at[k]->str) ||
		    node_is_null(node_get(r->at, r->peer_at[k]->str)))
			continue;
		if (first < 0) {
			first = k;
			continue;
		}
		char hint[160];
		snprintf(hint, sizeof hint, "split them into two rules, one with %s and one with %s",
			 peer_field_name(r->dir, (enum peer_kind)first),
			 peer_field_name(r->dir, (enum peer_kind)k));
		diag_at(c->d, R_PEER_COMBINATION, r->peer_at[k], hint,
			"combining %s and %s in one rule is not supported by Cilium",
			peer_field_name(r->dir, (enum peer_kind)first),
			peer_field_name(r->dir, (enum peer_kind)k));
	}
	if (r->nodes.presence == P_PRESENT)
		diag_at(c->d, R_NODES_PEER, r->peer_at[PEER_NODES],
			"start the agent with enable-node-selector-labels, or use "
			"fromEntities/toEntities: [remote-node]",
			"%s needs the agent option enable-node-selector-labels (off by default)",
			peer_field_name(r->dir, PEER_NODES));
}

/* ---------------------------------------------------------------- ICMP */

struct icmp_name {
	const char *name;
	int type;
};
static const struct icmp_name ICMP4[] = {
	{"EchoReply", 0},	      {"DestinationUnreachable", 3}, {"Redirect", 5},
	{"Echo", 8},		      {"EchoRequest", 8},	     {"RouterAdvertisement", 9},
	{"RouterSelection", 10},      {"TimeExceeded", 11},	     {"ParameterProblem", 12},
	{"Timestamp", 13},	      {"TimestampReply", 14},	     {"Photuris", 40},
	{"ExtendedEchoRequest", 42}, {"ExtendedEchoReply", 43},     {NULL, 0}};
static const struct icmp_name ICMP6[] = {
	{"DestinationUnreachable", 1},
	{"PacketTooBig", 2},
	{"TimeExceeded", 3},
	{"ParameterProblem", 4},
	{"EchoRequest", 128},
	{"EchoReply", 129},
	{"MulticastListenerQuery", 130},
	{"MulticastListenerReport", 131},
	{"MulticastListenerDone", 132},
	{"RouterSolicitation", 133},
	{"RouterAdvertisement", 134},
	{"NeighborSolicitation", 135},
	{"NeighborAdvertisement", 136},
	{"RedirectMessage", 137},
	{"RouterRenumbering", 138},
	{"ICMPNodeInformationQuery", 139},
	{"ICMPNodeInformationResponse", 140},
	{"InverseNeighborDiscoverySolicitation", 141},
	{"InverseNeighborDiscoveryAdvertisement", 142},
	{"HomeAgentAddressDiscoveryRequest", 144},
	{"HomeAgentAddressDiscoveryReply", 145},
	{"MobilePrefixSolicitation", 146},
	{"MobilePrefixAdvertisement", 147},
	{"DuplicateAddressRequestCodeSuffix", 157},
	{"DuplicateAddressConfirmationCodeSuffix", 158},
	{"ExtendedEchoRequest", 160},
	{"ExtendedEchoReply", 161},
	{NULL, 0}};

int icmp_type_number(const char *family, const char *type)
{
	unsigned long n;
	if (parse_uint(type, 255, &n))
		return (int)n;
	const struct icmp_name *t = family && !strcmp(family, "IPv6") ? ICMP6 : ICMP4;
	for (; t->name; t++)
		if (!strcmp(t->name, type))
			return t->type;
	return -1;
}

static void check_icmps(struct ctx *c, const struct rule_elem *r)
{
	if (r->icmps.n && r->to_ports.presence == P_PRESENT)
		diag_at(c->d, R_ICMP, node_key(r->at, "icmps"),
			"put icmps and toPorts in two separate rules",
			"icmps and toPorts cannot be combined in one rule");
	for (size_t i = 0; i < r->icmps.n; i++)
		for (size_t k = 0; k < r->icmps.v[i].n; k++) {
			const struct icmp_field *f = &r->icmps.v[i].v[k];
			if (f->type && icmp_type_number(f->family, f->type) < 0)
				diag_at(c->d, R_ICMP, node_get(f->at, "type"),
					"use a type number, or a name from the ICMP table of that family",
					"\"%s\" is not an ICMP type name for %s", f->type,
					f->family ? f->family : "IPv4");
		}
}

/* ---------------------------------------------------------------- ports and L7 */

/* Cilium parses ports with Go's base-prefix rules; "080" fails, names must be IANA-style. */
static bool is_port_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;
	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '-' && s[i + 1] == '-')
			return false;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
			letter = true;
		else if (!(ch >= '0' && ch <= '9') && ch != '-')
			return false;
	}
	return letter;
}

/* Returns the port number, -1 for a named port, -2 if invalid (reported). */
static long check_port(struct ctx *c, const struct port_protocol *pp)
{
	unsigned long n;
	if (!pp->port)
		return 0;
	if (cilium_port_number(pp->port, &n))
		return (long)n;
	if (pp->port[0] >= '0' && pp->port[0] <= '9' && !is_port_name(pp->port)) {
		diag_at(c->d, R_BAD_PORT, pp->port_at, "write the port in decimal without a leading zero",
			"unable to parse port \"%s\"", pp->port);
		return -2;
	}
	if (!is_port_name(pp->port)) {
		diag_at(c->d, R_BAD_PORT, pp->port_at,
			"a port name has 1-15 letters, digits or single hyphens, with a letter",
			"\"%s\" is neither a port number nor a valid port name", pp->port);
		return -2;
	}
	return -1;
}

static bool is_extended_protocol(const char *proto)
{
	return proto && (!strcmp(proto, "VRRP") || !strcmp(proto, "IGMP"));
}

static void check_http(struct ctx *c, const struct http_rule *h)
{
	const char *what[] = {"method", "path", "host"};
	const char *re[] = {h->method, h->path, h->host};
	const struct node *at[] = {h->method_at, h->path_at, h->host_at};
	for (int i = 0; i < 3; i++) {
		char err[256];
		size_t off = 0;
		if (!re[i] || http_regex_check(re[i], err, sizeof err, &off) == 0)
			continue;
		struct node pos = *at[i];
		if (!at[i]->quoted && (size_t)off <= at[i]->len)
			pos.col += (int)off;
		char hint[96];
		snprintf(hint, sizeof hint, "fix the regex at offset %zu (the whole %s is matched)", off,
			 what[i]);
		diag_at(c->d, R_HTTP_REGEX, &pos, hint, "%s regex \"%s\" is invalid: %s", what[i],
			re[i], err);
	}
}

static const char *const KAFKA_API_KEYS[] = {
	"produce", "fetch", "offsets", "metadata", "leaderandisr", "stopreplica", "updatemetadata",
	"controlledshutdown", "offsetcommit", "offsetfetch", "findcoordinator", "joingroup",
	"heartbeat", "leavegroup", "syncgroup", "describegroups", "listgroups", "saslhandshake",
	"apiversions", "createtopics", "deletetopics", "deleterecords", "initproducerid",
	"offsetforleaderepoch", "addpartitionstotxn", "addoffsetstotxn", "endtxn",
	"writetxnmarkers", "txnoffsetcommit", "describeacls", "createacls", "deleteacls",
	"describeconfigs", "alterconfigs", NULL};

static void check_kafka(struct ctx *c, const struct kafka_rule *k)
{
	if (k->role && k->api_key)
		diag_at(c->d, R_L7, k->at, "keep either role or apiKey",
			"a Kafka rule cannot have both role and apiKey");
	if (k->api_key) {
		const char *const *key = KAFKA_API_KEYS;
		while (*key && strcasecmp(*key, k->api_key) != 0)
			key++;
		if (!*key)
			diag_at(c->d, R_L7, node_get(k->at, "apiKey"), "use a name such as produce or fetch",
				"unknown Kafka apiKey \"%s\"", k->api_key);
	}
	unsigned long v;
	if (k->api_version && !parse_uint(k->api_version, 32767, &v))
		diag_at(c->d, R_L7, node_get(k->at, "apiVersion"), "a decimal number from 0 to 32767",
			"invalid Kafka apiVersion \"%s\"", k->api_version);
}

static void check_l7(struct ctx *c, const struct rule_elem *r, const struct port_rule *pr)
{
	if (pr->l7_kind == L7_NONE)
		return;
	const char *kind = pr->l7_kind == L7_HTTP ? "HTTP" : pr->l7_kind == L7_KAFKA ? "Kafka"
						 : pr->l7_kind == L7_DNS ? "DNS" : "L7";
	if (pr->l7_kind == L7_DNS && r->dir == DIR_INGRESS)
		diag_at(c->d, R_L7, pr->rules_at, "DNS rules belong in egress rules toward the DNS server",
			"DNS rules are not allowed on ingress");
	if (pr->l7_kind == L7_DNS && pr->ports.n == 0)
		diag_at(c->d, R_L7, pr->rules_at, "add ports: [{port: \"53\", protocol: ANY}]",
			"DNS rules need a port (53 must be specified)");
	if (pr->has_listener)
		diag_at(c->d, R_L7, pr->rules_at, "a listener already redirects; drop the rules",
			"a listener cannot be combined with L7 rules");
	if (pr->server_names.n && !pr->terminating_tls.present)
		diag_at(c->d, R_L7, pr->rules_at, "add terminatingTLS, or drop serverNames",
			"serverNames with L7 rules need terminatingTLS");
	for (size_t i = 0; i < pr->ports.n; i++) {
		const struct port_protocol *pp = &pr->ports.v[i];
		if (!pp->port || !strcmp(pp->port, "0"))
			diag_at(c->d, R_L7, pp->at, "name the port the proxy listens for",
				"%s rules cannot apply to port 0 (all ports)", kind);
		bool tcp = pp->protocol && !strcmp(pp->protocol, "TCP");
		bool dns_ok = !pp->protocol || strcmp(pp->protocol, "SCTP") != 0;
		if (pr->l7_kind != L7_DNS && !tcp)
			diag_at(c->d, R_L7, pp->at, "add protocol: TCP",
				"%s rules can only apply to TCP, and protocol is %s", kind,
				pp->protocol ? pp->protocol : "not given (ANY)");
		if (pr->l7_kind == L7_DNS && !dns_ok)
			diag_at(c->d, R_L7, pp->at, "use UDP, TCP or ANY",
				"DNS rules cannot apply to SCTP");
		if (pr->l7_kind == L7_DNS && pp->end_port > 0)
			diag_at(c->d, R_L7, node_get(pp->at, "endPort"), "give a single port",
				"DNS rules cannot apply to a port range");
	}
	for (size_t i = 0; i < pr->http.n; i++)
		check_http(c, &pr->http.v[i]);
	for (size_t i = 0; i < pr->kafka.n; i++)
		check_kafka(c, &pr->kafka.v[i]);
}

static void check_port_rule(struct ctx *c, const struct rule_elem *r, const struct port_rule *pr)
{
	for (size_t i = 0; i < pr->ports.n; i++) {
		const struct port_protocol *pp = &pr->ports.v[i];
		if (is_extended_protocol(pp->protocol)) {
			diag_at(c->d, R_BAD_PORT, node_get(pp->at, "protocol"),
				"start the agent with enable-extended-ip-protocols (Cilium 1.19+)",
				"protocol %s needs the agent option enable-extended-ip-protocols (off by "
				"default)",
				pp->protocol);
			continue;
		}
		if (!pp->port) {
			diag_at(c->d, R_BAD_PORT, pp->at, "add port: \"0\" to mean every port",
				"port must be specified");
			continue;
		}
		if (is_extended_protocol(pp->protocol) && pp->port && strcmp(pp->port, "0") != 0)
			diag_at(c->d, R_BAD_PORT, pp->port_at, "remove the port",
				"protocol %s has no ports", pp->protocol);
		check_port(c, pp);
	}
	if (pr->has_listener && r->dir == DIR_INGRESS)
		diag_at(c->d, R_L7, node_get(pr->at, "listener"), "listeners apply to egress only",
			"a listener is not allowed on ingress");
	if (pr->has_listener && c->p->kind == KIND_CCNP && pr->listener_kind &&
	    !strcmp(pr->listener_kind, "CiliumEnvoyConfig"))
		diag_at(c->d, R_L7, node_get(pr->at, "listener"),
			"use kind: CiliumClusterwideEnvoyConfig",
			"a clusterwide policy cannot use a namespaced CiliumEnvoyConfig");
	for (size_t i = 0; i < pr->server_names.n; i++)
		if (!*pr->server_names.v[i])
			diag_at(c->d, R_L7, item_at(pr->server_names.at, i), NULL,
				"empty server name");
	if (pr->l7_kind != L7_NONE && c->rule && c->rule->node_selector.presence == P_PRESENT)
		diag_at(c->d, R_L7, pr->rules_at, "host policies take L3/L4 rules only",
			"host policies (nodeSelector) do not support L7 rules");
	check_l7(c, r, pr);
}

/* ---------------------------------------------------------------- rules */

static void check_elem(struct ctx *c, const struct rule_elem *r)
{
	check_peer_combination(c, r);
	check_peers_cidr(c, r);
	for (size_t i = 0; i < r->endpoints.n; i++)
		check_selector(c, &r->endpoints.v[i]);
	for (size_t i = 0; i < r->requires.n; i++)
		check_selector(c, &r->requires.v[i]);
	check_icmps(c, r);
	for (size_t i = 0; i < r->to_ports.n; i++)
		check_port_rule(c, r, &r->to_ports.v[i]);
}

static void check_elems(struct ctx *c, const struct rule_elem *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_elem(c, &v[i]);
}

static void check_rule(struct ctx *c, const struct rule *r)
{
	c->rule = r;
	if (c->p->kind == KIND_CNP && r->node_selector.presence == P_PRESENT)
		diag_at(c->d, R_NODE_SELECTOR_CNP, node_key(r->at, "nodeSelector"),
			"host policies are clusterwide: use a CiliumClusterwideNetworkPolicy",
			"a CiliumNetworkPolicy cannot have a nodeSelector");
	check_selector(c, &r->endpoint_selector);
	check_selector(c, &r->node_selector);
	check_elems(c, r->ingress.v, r->ingress.n);
	check_elems(c, r->ingress_deny.v, r->ingress_deny.n);
	check_elems(c, r->egress.v, r->egress.n);
	check_elems(c, r->egress_deny.v, r->egress_deny.n);
}

/* ---------------------------------------------------------------- NetworkPolicy */

static void check_knp_rules(struct ctx *c, const struct knp_rule *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].ports.n; k++) {
			const struct knp_port *kp = &v[i].ports.v[k];
			const struct node *end_at = node_get(kp->at, "endPort");
			if (kp->named && kp->port && strspn(kp->port, "0123456789") == strlen(kp->port))
				diag_at(c->d, R_KNP, node_get(kp->at, "port"), "write the number unquoted",
					"\"%s\" is a string, and a port name needs a letter", kp->port);
			if (kp->end_port < 0)
				continue;
			if (!kp->port || kp->named)
				diag_at(c->d, R_KNP, end_at, "give a numeric port to start the range",
					"endPort needs a numeric port");
			else if (kp->end_port < atoi(kp->port))
				diag_at(c->d, R_KNP, end_at, "endPort must be at least port",
					"endPort %d is below port %s", kp->end_port, kp->port);
		}
		for (size_t k = 0; k < v[i].peers.n; k++) {
			const struct knp_peer *peer = &v[i].peers.v[k];
			struct prefix p;
			check_selector(c, &peer->pod_selector);
			check_selector(c, &peer->namespace_selector);
			if (peer->ip_cidr &&
			    check_cidr(c, peer->ip_cidr, node_get(node_get(peer->at, "ipBlock"), "cidr"),
				       false, &p))
				check_excepts(c, &p, peer->ip_cidr, peer->ip_except.v, peer->ip_except.n,
					      peer->ip_except.at, true);
			bool sel = peer->pod_selector.presence == P_PRESENT ||
				   peer->namespace_selector.presence == P_PRESENT;
			if (peer->ip_cidr && sel)
				diag_at(c->d, R_KNP, peer->at, "put ipBlock in a peer of its own",
					"ipBlock cannot be combined with podSelector or namespaceSelector");
			if (!peer->ip_cidr && !sel)
				diag_at(c->d, R_KNP, peer->at,
					"give podSelector, namespaceSelector or ipBlock",
					"a peer must select something");
		}
	}
}

void check_policy(const struct policy *p, struct diag_sink *d)
{
	struct ctx c = {p, d, NULL};
	if (p->kind == KIND_KNP) {
		check_selector(&c, &p->knp.pod_selector);
		check_knp_rules(&c, p->knp.ingress.v, p->knp.ingress.n);
		check_knp_rules(&c, p->knp.egress.v, p->knp.egress.n);
		return;
	}
	if (!p->has_spec && !p->has_specs) {
		diag_at(d, R_EMPTY_POLICY, p->at, "add a spec: with an endpointSelector and rules",
			"%s \"%s\" has neither spec nor specs", policy_kind_name(p->kind), p->name);
		return;
	}
	for (size_t i = 0; i < p->rules.n; i++)
		check_rule(&c, &p->rules.v[i]);
}
