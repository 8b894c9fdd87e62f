/* Fuzz target: semantic verification of compiled images.
 *
 * The input bytes are a recipe, not text: each byte picks the next choice of a small generator
 * (a missing byte picks 0), which writes a cluster (namespaces, nodes, pods with named ports,
 * services, the API server) and a few policies (CNP, CCNP, KNP: allow and deny sections, peers
 * by selector, entity, CIDR and CIDR set with excepts, L4-only, port ranges, named ports, ICMP,
 * HTTP rules, authentication, enableDefaultDeny) plus agent options, as YAML. That text goes
 * through polc's own reader, schema checks and loader; a case that does not load without
 * errors is skipped. Then, for every node:
 *
 *   image_build -> image_parse (must pass) -> image_verify_semantics (must verify: the image
 *   decides every flow class as the resolved policy and the reference evaluator do)
 *
 * Any mismatch aborts with both answers. Set POLC_FUZZ_PRINT=1 to print each case's YAML (to
 * see what a crashing input stands for: `POLC_FUZZ_PRINT=1 replay-semantic CRASH-FILE`).
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

struct recipe {
	const uint8_t *p;
	size_t n, i;
};

/* A choice among n (n <= 256); 0 when the recipe is used up. */
static unsigned pick(struct recipe *r, unsigned n)
{
	if (n <= 1 || r->i >= r->n)
		return 0;
	return r->p[r->i++] % n;
}

static bool yes(struct recipe *r, unsigned percent)
{
	if (r->i >= r->n)
		return false;
	return (unsigned)(r->p[r->i++] % 100) < percent;
}

static uint16_t pick16(struct recipe *r)
{
	unsigned hi = pick(r, 256), lo = pick(r, 256);
	return (uint16_t)(hi << 8 | lo);
}

#define COUNT(a) (sizeof(a) / sizeof(*(a)))
#define PICK(r, a) ((a)[pick((r), (unsigned)COUNT(a))])

static const char *const NAMESPACES[] = {"default", "prod", "dev"};
static const char *const APPS[] = {"web", "api", "db"};
static const char *const TIERS[] = {"front", "back"};
static const char *const PORT_NAMES[] = {"http", "dns", "metrics"};
static const int PORT_NUMBERS[] = {80, 8080, 53, 9090, 443};
static const char *const ENTITIES[] = {"world",	 "cluster", "host",	      "remote-node",
				       "all",	 "health",  "kube-apiserver", "init",
				       "ingress", "unmanaged", "world-ipv4",  "world-ipv6"};
static const char *const CIDRS[] = {"10.0.0.0/8",    "10.0.1.0/24",    "10.0.1.2/32",
				    "192.168.0.0/16", "0.0.0.0/0",	"1.2.3.0/24",
				    "fd00::/8",	     "fd00:10::/64",   "::/0",
				    "2001:db8::/32", "10.96.0.0/12",   "192.168.100.11/32"};
static const char *const EXCEPTS[] = {"10.0.1.0/25", "10.0.1.2/32", "10.0.0.0/16",
				      "192.168.100.0/24", "fd00:10::/96", "1.2.3.128/25"};
static const int RULE_PORTS[] = {0, 1, 53, 80, 443, 1024, 8080, 9090, 65535};
static const char *const PROTOCOLS[] = {"TCP", "UDP", "SCTP", "ANY"};

struct gen {
	struct recipe *r;
	struct strbuf *sb;
	int nns, nnodes, npods;
	char opts[6][64];
	int nopts;
};

/* ---------------------------------------------------------------- the cluster */

static void gen_cluster(struct gen *g)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	g->nns = 1 + (int)pick(r, 3);
	for (int i = 0; i < g->nns; i++) {
		sb_printf(sb, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: "
			      "{kubernetes.io/metadata.name: %s",
			  NAMESPACES[i], NAMESPACES[i]);
		if (yes(r, 50))
			sb_printf(sb, ", team: %s", yes(r, 50) ? "blue" : "red");
		sb_puts(sb, "}}\n");
	}
	g->nnodes = 1 + (int)pick(r, 2);
	for (int i = 0; i < g->nnodes; i++)
		sb_printf(sb,
			  "---\napiVersion: v1\nkind: Node\nmetadata: {name: node-%d, labels: "
			  "{kubernetes.io/hostname: node-%d}}\nstatus: {addresses: [{type: InternalIP, "
			  "address: 192.168.100.%d}, {type: InternalIP, address: \"fd00:100::%d\"}]}\n",
			  i + 1, i + 1, 11 + i, 11 + i);
	bool dual = yes(r, 70);
	g->npods = 1 + (int)pick(r, 6);
	for (int i = 0; i < g->npods; i++) {
		const char *ns = NAMESPACES[pick(r, (unsigned)g->nns)];
		sb_printf(sb, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: pod-%d, namespace: %s, "
			      "labels: {app: %s",
			  i, ns, PICK(r, APPS));
		if (yes(r, 50))
			sb_printf(sb, ", tier: %s", PICK(r, TIERS));
		sb_printf(sb, "}}\nspec:\n  nodeName: node-%d\n", 1 + (int)pick(r, (unsigned)g->nnodes));
		if (yes(r, 40))
			sb_printf(sb, "  serviceAccountName: sa-%c\n", yes(r, 50) ? 'a' : 'b');
		bool host = yes(r, 5);
		if (host)
			sb_puts(sb, "  hostNetwork: true\n");
		sb_puts(sb, "  containers:\n  - name: main\n    ports:\n");
		unsigned nports = pick(r, 3);
		bool used[COUNT(PORT_NAMES)] = {0};
		sb_puts(sb, nports ? "" : "    - {containerPort: 7}\n");
		for (unsigned k = 0; k < nports; k++) {
			unsigned ni = pick(r, (unsigned)COUNT(PORT_NAMES));
			sb_puts(sb, "    - {");
			if (!used[ni]) {
				used[ni] = true;
				sb_printf(sb, "name: %s, ", PORT_NAMES[ni]);
			}
			sb_printf(sb, "containerPort: %d, protocol: %s}\n", PICK(r, PORT_NUMBERS),
				  yes(r, 25) ? "UDP" : "TCP");
		}
		if (host) {
			sb_puts(sb, "status: {podIP: 192.168.100.11}\n");
		} else if (!yes(r, 5)) {
			sb_printf(sb, "status: {podIPs: [{ip: 10.0.1.%d}", 1 + i);
			if (dual)
				sb_printf(sb, ", {ip: \"fd00:10::%x\"}", 1 + i);
			sb_puts(sb, "]}\n");
		}
	}
	unsigned nsvc = pick(r, 3);
	for (unsigned i = 0; i < nsvc; i++) {
		const char *ns = NAMESPACES[pick(r, (unsigned)g->nns)];
		if (yes(r, 70)) {
			sb_printf(sb,
				  "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%u, namespace: "
				  "%s, labels: {tier: %s}}\nspec: {selector: {app: %s}, clusterIP: 10.96.0.%u, "
				  "ports: [{name: http, port: 80, targetPort: %s}]}\n",
				  i, ns, PICK(r, TIERS), PICK(r, APPS), 10 + i,
				  yes(r, 30) ? "http" : "8080");
		} else {
			sb_printf(sb,
				  "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%u, namespace: "
				  "%s}\nspec: {clusterIP: None, ports: [{port: 80}]}\n"
				  "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: "
				  "svc-%u-x, namespace: %s, labels: {kubernetes.io/service-name: svc-%u}}\n"
				  "endpoints: [{addresses: [\"%s\"]}]\n",
				  i, ns, i, ns, i, yes(r, 50) ? "203.0.113.7" : "2001:db8::7");
		}
	}
	if (yes(r, 30))
		sb_puts(sb, "---\napiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, "
			    "namespace: default}\nspec: {clusterIP: 10.96.0.1, ports: [{name: https, "
			    "port: 443}]}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			    "metadata: {name: kubernetes, namespace: default, labels: "
			    "{kubernetes.io/service-name: kubernetes}}\nendpoints: [{addresses: "
			    "[192.168.100.11]}]\n");
}

/* ---------------------------------------------------------------- policies */

static void gen_labels_selector(struct gen *g, bool knp_ns)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	unsigned kind = pick(r, 8);
	if (kind == 0) {
		sb_puts(sb, "{}");
		return;
	}
	if (knp_ns) {
		if (kind < 5)
			sb_printf(sb, "{matchLabels: {kubernetes.io/metadata.name: %s}}",
				  PICK(r, NAMESPACES));
		else
			sb_printf(sb, "{matchExpressions: [{key: team, operator: %s}]}",
				  yes(r, 50) ? "Exists" : "DoesNotExist");
		return;
	}
	if (kind < 5) {
		sb_printf(sb, "{matchLabels: {app: %s", PICK(r, APPS));
		if (yes(r, 30))
			sb_printf(sb, ", tier: %s", PICK(r, TIERS));
		sb_puts(sb, "}}");
	} else if (kind < 7) {
		static const char *const ops[] = {"In", "NotIn"};
		sb_printf(sb, "{matchExpressions: [{key: %s, operator: %s, values: [%s]}",
			  yes(r, 50) ? "app" : "tier", PICK(r, ops), PICK(r, APPS));
		if (yes(r, 30))
			sb_printf(sb, ", {key: tier, operator: %s}", yes(r, 50) ? "Exists" : "DoesNotExist");
		sb_puts(sb, "]}");
	} else {
		sb_puts(sb, "{matchLabels: {");
		sb_printf(sb, "k8s:io.kubernetes.pod.namespace: %s", PICK(r, NAMESPACES));
		if (yes(r, 50))
			sb_printf(sb, ", app: %s", PICK(r, APPS));
		sb_puts(sb, "}}");
	}
}

/* A Cilium peer selector may also name reserved labels and namespace labels. */
static void gen_peer_selector(struct gen *g)
{
	struct recipe *r = g->r;
	switch (pick(r, 10)) {
	case 0:
		sb_printf(g->sb, "{matchLabels: {%s: \"\"}}",
			  yes(r, 50) ? "reserved:host" : "reserved:world");
		return;
	case 1:
		sb_printf(g->sb, "{matchLabels: {k8s:io.cilium.k8s.namespace.labels.team: %s}}",
			  yes(r, 50) ? "blue" : "red");
		return;
	case 2:
		sb_printf(g->sb, "{matchLabels: {k8s:io.cilium.k8s.policy.serviceaccount: sa-%c}}",
			  yes(r, 50) ? 'a' : 'b');
		return;
	default:
		gen_labels_selector(g, false);
	}
}

static void gen_port(struct gen *g, bool l7, bool knp)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	sb_puts(sb, "{");
	if (yes(r, 15)) {
		sb_printf(sb, "port: %s", PICK(r, PORT_NAMES));
	} else {
		int port = yes(r, 20) ? (int)pick16(r) : PICK(r, RULE_PORTS);
		if ((l7 || knp) && port == 0)
			port = 8080;
		sb_printf(sb, knp ? "port: %d" : "port: \"%d\"", port);
		if (yes(r, 30)) {
			int end = port + (yes(r, 50) ? (int)pick(r, 32) : (int)pick16(r));
			if (end > 65535)
				end = 65535;
			sb_printf(sb, ", endPort: %d", end);
		}
	}
	const char *proto = l7 ? "TCP" : knp ? PICK(r, PROTOCOLS) : yes(r, 25) ? NULL : PICK(r, PROTOCOLS);
	if (knp && !strcmp(proto, "ANY"))
		proto = "TCP";
	if (proto)
		sb_printf(sb, ", protocol: %s", proto);
	sb_puts(sb, "}");
}

static void gen_to_ports(struct gen *g, bool deny)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	bool l7 = !deny && yes(r, 15);
	unsigned n = 1 + pick(r, 2);
	sb_puts(sb, "    toPorts:\n    - ports: [");
	for (unsigned i = 0; i < n; i++) {
		if (i)
			sb_puts(sb, ", ");
		gen_port(g, l7, false);
	}
	sb_puts(sb, "]\n");
	if (l7)
		sb_printf(sb, "      rules: {http: [{method: %s, path: \"/api/.*\"}]}\n",
			  yes(r, 50) ? "GET" : "POST");
}

static void gen_rule(struct gen *g, bool egress, bool deny)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	const char *dir = egress ? "to" : "from";
	unsigned peer = pick(r, 6);
	bool started = false;
#define ITEM() (sb_puts(sb, started ? "    " : "  - "), started = true)
	switch (peer) {
	case 0: /* L4-only (or, with nothing else, `{}`) */
		break;
	case 1:
		ITEM();
		sb_printf(sb, "%sEndpoints: [", dir);
		for (unsigned i = 0, n = pick(r, 3); i < n; i++) {
			if (i)
				sb_puts(sb, ", ");
			gen_peer_selector(g);
		}
		sb_puts(sb, "]\n");
		break;
	case 2:
		ITEM();
		sb_printf(sb, "%sEntities: [%s", dir, PICK(r, ENTITIES));
		if (yes(r, 30))
			sb_printf(sb, ", %s", PICK(r, ENTITIES));
		sb_puts(sb, "]\n");
		break;
	case 3:
		ITEM();
		sb_printf(sb, "%sCIDR: [\"%s\"]\n", dir, PICK(r, CIDRS));
		break;
	case 4: {
		ITEM();
		const char *cidr = PICK(r, CIDRS);
		sb_printf(sb, "%sCIDRSet: [{cidr: \"%s\"", dir, cidr);
		if (yes(r, 60)) {
			/* an except must be inside its cidr: take one that is, or none */
			struct prefix outer, inner;
			const char *e = PICK(r, EXCEPTS);
			if (parse_prefix(cidr, &outer, true) == 0 && parse_prefix(e, &inner, true) == 0 &&
			    outer.len < inner.len && prefix_contains(&outer, &inner))
				sb_printf(sb, ", except: [\"%s\"]", e);
		}
		sb_puts(sb, "}]\n");
		break;
	}
	default:
		ITEM();
		sb_printf(sb, "%sEndpoints: [{}]\n", dir);
	}
	bool ports = peer == 0 ? yes(r, 80) : yes(r, 55);
	bool icmp = !ports && yes(r, 15);
	if (ports) {
		if (!started) {
			sb_puts(sb, "  -\n");
			started = true;
		}
		gen_to_ports(g, deny);
	} else if (icmp) {
		ITEM();
		sb_printf(sb, "icmps: [{fields: [{type: %s, family: %s}]}]\n",
			  yes(r, 50) ? "8" : "EchoRequest", yes(r, 70) ? "IPv4" : "IPv6");
	}
	if (!deny && yes(r, 8)) {
		ITEM();
		sb_printf(sb, "authentication: {mode: %s}\n",
			  yes(r, 50) ? "required" : "test-always-fail");
	}
	if (!started)
		sb_puts(sb, "  - {}\n");
#undef ITEM
}

static void gen_cilium_policy(struct gen *g, int serial)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	bool ccnp = yes(r, 25);
	if (ccnp)
		sb_printf(sb, "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\n"
			      "metadata: {name: p%d}\nspec:\n",
			  serial);
	else
		sb_printf(sb, "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: "
			      "{name: p%d, namespace: %s}\nspec:\n",
			  serial, NAMESPACES[pick(r, (unsigned)g->nns)]);
	sb_puts(sb, "  endpointSelector: ");
	gen_labels_selector(g, false);
	sb_puts(sb, "\n");
	if (yes(r, 15))
		sb_printf(sb, "  enableDefaultDeny: {ingress: %s, egress: %s}\n",
			  yes(r, 50) ? "true" : "false", yes(r, 50) ? "true" : "false");
	static const char *const sections[] = {"ingress", "egress", "ingressDeny", "egressDeny"};
	bool any = false;
	for (int s = 0; s < 4; s++) {
		unsigned n = pick(r, 3);
		if (!n && !(s == 3 && !any))
			continue;
		if (!n && yes(r, 30)) { /* present but empty: enforces nothing */
			sb_printf(sb, "  %s: []\n", sections[s]);
			continue;
		}
		any = true;
		sb_printf(sb, "  %s:\n", sections[s]);
		for (unsigned i = 0; i < (n ? n : 1); i++)
			gen_rule(g, s == 1 || s == 3, s >= 2);
	}
}

static void gen_knp_peers(struct gen *g, bool egress)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	unsigned n = pick(r, 3);
	if (!n)
		return;
	sb_printf(sb, "    %s:\n", egress ? "to" : "from");
	for (unsigned i = 0; i < n; i++) {
		switch (pick(r, 4)) {
		case 0:
			sb_puts(sb, "    - podSelector: ");
			gen_labels_selector(g, false);
			sb_puts(sb, "\n");
			break;
		case 1:
			sb_puts(sb, "    - namespaceSelector: ");
			gen_labels_selector(g, true);
			sb_puts(sb, "\n");
			break;
		case 2:
			sb_puts(sb, "    - namespaceSelector: ");
			gen_labels_selector(g, true);
			sb_puts(sb, "\n      podSelector: ");
			gen_labels_selector(g, false);
			sb_puts(sb, "\n");
			break;
		default: {
			const char *cidr = PICK(r, CIDRS);
			sb_printf(sb, "    - ipBlock: {cidr: \"%s\"", cidr);
			struct prefix outer, inner;
			const char *e = PICK(r, EXCEPTS);
			if (yes(r, 50) && parse_prefix(cidr, &outer, true) == 0 &&
			    parse_prefix(e, &inner, true) == 0 && outer.len < inner.len &&
			    prefix_contains(&outer, &inner))
				sb_printf(sb, ", except: [\"%s\"]", e);
			sb_puts(sb, "}\n");
		}
		}
	}
}

static void gen_knp(struct gen *g, int serial)
{
	struct recipe *r = g->r;
	struct strbuf *sb = g->sb;
	sb_printf(sb, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: "
		      "k%d, namespace: %s}\nspec:\n  podSelector: ",
		  serial, NAMESPACES[pick(r, (unsigned)g->nns)]);
	gen_labels_selector(g, false);
	sb_puts(sb, "\n");
	bool in = yes(r, 70), out = yes(r, 40);
	unsigned types = pick(r, 4); /* 0: none given */
	if (types) {
		sb_puts(sb, "  policyTypes: [");
		if (types & 1)
			sb_puts(sb, "Ingress");
		if (types == 3)
			sb_puts(sb, ", ");
		if (types & 2)
			sb_puts(sb, "Egress");
		sb_puts(sb, "]\n");
	}
	for (int dir = 0; dir < 2; dir++) {
		if (!(dir ? out : in))
			continue;
		unsigned n = pick(r, 3);
		if (!n) {
			sb_printf(sb, "  %s: []\n", dir ? "egress" : "ingress");
			continue;
		}
		sb_printf(sb, "  %s:\n", dir ? "egress" : "ingress");
		for (unsigned i = 0; i < n; i++) {
			sb_puts(sb, "  - ports: [");
			for (unsigned k = 0, np = pick(r, 3); k < np; k++) {
				if (k)
					sb_puts(sb, ", ");
				gen_port(g, false, true);
			}
			sb_puts(sb, "]\n");
			gen_knp_peers(g, dir == 1);
		}
	}
}

static void gen_options(struct gen *g)
{
	struct recipe *r = g->r;
	static const char *const choices[] = {
		"enable-policy=default", "enable-policy=always",     "enable-policy=never",
		"allow-localhost=false", "policy-cidr-match-mode=nodes", "enable-non-default-deny-policies=false",
		"policy-default-local-cluster=false"};
	for (unsigned i = 0, n = pick(r, 3); i < n && g->nopts < 6; i++)
		snprintf(g->opts[g->nopts++], sizeof g->opts[0], "%s", PICK(r, choices));
}

/* ---------------------------------------------------------------- the target */

static struct schema_set *schemas;
static bool print_cases;
static unsigned long cases, loaded;

static void report(void)
{
	if (getenv("POLC_FUZZ_STATS"))
		fprintf(stderr, "fuzz_semantic: %lu cases, %lu loaded without errors\n", cases, loaded);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	schemas = schema_builtin();
	print_cases = getenv("POLC_FUZZ_PRINT") != NULL;
	atexit(report);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!schemas)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size > 4096)
		return 0; /* a recipe needs far fewer choices; bigger inputs only cost time */
	struct recipe r = {data, size, 0};
	struct strbuf inv = {0}, pol = {0};
	struct gen g = {.r = &r, .sb = &inv};
	gen_cluster(&g);
	g.sb = &pol;
	gen_options(&g);
	for (int i = 0, n = 1 + (int)pick(&r, 4); i < n; i++) {
		if (yes(&r, 20))
			gen_knp(&g, i);
		else
			gen_cilium_policy(&g, i);
	}
	cases++;
	if (print_cases) {
		fprintf(stderr, "# ---- inventory\n%s# ---- policies\n%s# ---- options:", inv.s,
			pol.s ? pol.s : "");
		for (int i = 0; i < g.nopts; i++)
			fprintf(stderr, " %s", g.opts[i]);
		fprintf(stderr, "\n");
	}

	struct session s;
	session_init(&s);
	s.schemas = schemas;
	/* the image is checked against the resolved policy on every flow class; against the
	 * reference evaluator (slow; tests/differential covers it) on a sample */
	s.verify_budget = 5000;
	for (int i = 0; i < g.nopts; i++) {
		char err[128];
		if (semantics_set(&s.sem, g.opts[i], err, sizeof err) < 0)
			fuzz_fail(NULL, "option %s: %s", g.opts[i], err);
	}
	s.inv = fuzz_inventory_text("inventory.yaml", inv.s, inv.len, &s.diag);
	bool ok = s.inv && !fuzz_has_errors(&s.diag) &&
		  fuzz_load_text(&s.policies, &s.load, schemas, "policies.yaml", pol.s ? pol.s : "",
				 pol.len, &s.diag) == 0 &&
		  !fuzz_has_errors(&s.diag);
	if (ok) {
		loaded++;
		fuzz_images_roundtrip(&s, 2);
	} else if (print_cases) {
		diag_render(&s.diag, FORMAT_TEXT, stderr, 0);
	}
	s.schemas = NULL;
	session_free(&s);
	sb_free(&inv);
	sb_free(&pol);
	return 0;
}
