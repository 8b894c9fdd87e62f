/* Unit tests of the IR (compiler/ir.c) as corpus_load builds it from inline documents. */
#include "unit.h"

static struct schema_set *S;

static int setup(void)
{
	S = schema_builtin();
	return S ? 0 : 1;
}

static int teardown(void)
{
	schema_free(S);
	S = NULL;
	return 0;
}

/* Loads text that must yield exactly `want` policies and no error. */
static void load_ok(struct loaded *l, const char *text, size_t want)
{
	load_text(l, S, text);
	CU_ASSERT_EQUAL(l->rc, 0);
	CU_ASSERT_EQUAL(l->d.counts[SEV_ERROR], 0);
	if (l->d.counts[SEV_ERROR])
		dump_diags(&l->d);
	CU_ASSERT_EQUAL_FATAL(l->c.policies.n, want);
}

#define CNP(spec)                                                                                  \
	"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n"              \
	"  namespace: team\nspec:\n" spec

/* ---------------------------------------------------------------- rules */

static void test_spec_and_specs(void)
{
	struct loaded l;
	load_ok(&l,
		"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: both}\n"
		"specs:\n"
		"- endpointSelector: {matchLabels: {app: second}}\n  egress: [{}]\n"
		"- endpointSelector: {matchLabels: {app: third}}\n  egress: [{}]\n"
		"spec:\n"
		"  endpointSelector: {matchLabels: {app: first}}\n  ingress: [{}]\n",
		1);
	struct policy *p = loaded_policy(&l, 0);
	CU_ASSERT_EQUAL(p->kind, KIND_CNP);
	CU_ASSERT_STRING_EQUAL(p->name, "both");
	CU_ASSERT_TRUE(p->has_spec);
	CU_ASSERT_TRUE(p->has_specs);
	CU_ASSERT_EQUAL(p->rules.presence, P_PRESENT);
	CU_ASSERT_EQUAL_FATAL(p->rules.n, 3);
	const char *order[] = {"first", "second", "third"};
	const int lines[] = {10, 5, 7};
	for (size_t i = 0; i < 3; i++) {
		const struct selector *sel = &p->rules.v[i].endpoint_selector;
		CU_ASSERT_EQUAL_FATAL(sel->n, 1);
		CU_ASSERT_STRING_EQUAL(sel->reqs[0].values[0], order[i]);
		CU_ASSERT_EQUAL(p->rules.v[i].at->line, lines[i]);
	}
	CU_ASSERT_EQUAL(p->rules.v[0].ingress.n, 1);
	CU_ASSERT_EQUAL(p->rules.v[0].egress.presence, P_ABSENT);
	CU_ASSERT_EQUAL(p->rules.v[1].egress.n, 1);
	CU_ASSERT_PTR_EQUAL(p->src, p->at->src);
	loaded_free(&l);

	/* a null spec next to specs is no rule */
	load_ok(&l,
		"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: s}\n"
		"spec: ~\nspecs:\n- endpointSelector: {}\n  egress: [{}]\n",
		1);
	p = loaded_policy(&l, 0);
	CU_ASSERT_FALSE(p->has_spec);
	CU_ASSERT_TRUE(p->has_specs);
	CU_ASSERT_EQUAL(p->rules.n, 1);
	loaded_free(&l);

	/* neither: Cilium refuses the policy (and the IR still has it, with no rules) */
	load_text(&l, S,
		  "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: e}\n");
	ASSERT_ONLY_DIAG(&l.d, R_EMPTY_POLICY, 1, 1);
	CU_ASSERT_TRUE(contains(l.d.v[0].message, "\"e\" has neither spec nor specs"));
	CU_ASSERT_EQUAL_FATAL(l.c.policies.n, 1);
	p = loaded_policy(&l, 0);
	CU_ASSERT_EQUAL(p->rules.presence, P_ABSENT);
	CU_ASSERT_EQUAL(p->rules.n, 0);
	loaded_free(&l);

	/* an empty specs list is no rule either */
	load_text(&l, S,
		  "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: "
		  "e}\nspecs: []\n");
	CU_ASSERT_EQUAL(count_rule(&l.d, R_EMPTY_POLICY), 0);
	CU_ASSERT_EQUAL_FATAL(l.c.policies.n, 1);
	CU_ASSERT_TRUE(loaded_policy(&l, 0)->has_specs);
	CU_ASSERT_EQUAL(loaded_policy(&l, 0)->rules.n, 0);
	loaded_free(&l);
}

static void test_list_states(void)
{
	struct loaded l;
	load_ok(&l,
		CNP("  endpointSelector: {}\n"
		    "  ingress:\n"
		    "  - toPorts: [{ports: [{port: \"80\"}]}]\n" /* line 9: fromEndpoints absent */
		    "  - fromEndpoints: ~\n"
		    "  - fromEndpoints: []\n"
		    "  - fromEndpoints: [{}]\n"
		    "  - fromEntities: [world]\n    fromCIDR: ~\n"
		    "  egress: []\n"
		    "  ingressDeny: ~\n"),
		1);
	struct rule *r = &loaded_policy(&l, 0)->rules.v[0];
	CU_ASSERT_EQUAL(r->ingress.presence, P_PRESENT);
	CU_ASSERT_EQUAL_FATAL(r->ingress.n, 5);
	CU_ASSERT_EQUAL(r->ingress.at->line, 9);
	CU_ASSERT_EQUAL(r->egress.presence, P_PRESENT);
	CU_ASSERT_EQUAL(r->egress.n, 0);
	CU_ASSERT_EQUAL(r->egress.at->line, 15);
	CU_ASSERT_EQUAL(r->ingress_deny.presence, P_NULL);
	CU_ASSERT_EQUAL(r->ingress_deny.n, 0);
	CU_ASSERT_EQUAL(r->egress_deny.presence, P_ABSENT);
	CU_ASSERT_PTR_NULL(r->egress_deny.at);

	struct rule_elem *e = r->ingress.v;
	CU_ASSERT_EQUAL(e[0].endpoints.presence, P_ABSENT);
	CU_ASSERT_EQUAL(e[0].to_ports.presence, P_PRESENT);
	CU_ASSERT_EQUAL(e[0].to_ports.n, 1);
	CU_ASSERT_EQUAL(e[1].endpoints.presence, P_NULL);
	CU_ASSERT_EQUAL(e[1].endpoints.n, 0);
	CU_ASSERT_EQUAL(e[1].to_ports.presence, P_ABSENT);
	CU_ASSERT_EQUAL(e[2].endpoints.presence, P_PRESENT);
	CU_ASSERT_EQUAL(e[2].endpoints.n, 0);
	CU_ASSERT_EQUAL(e[3].endpoints.presence, P_PRESENT);
	CU_ASSERT_EQUAL_FATAL(e[3].endpoints.n, 1);
	CU_ASSERT_EQUAL(e[3].endpoints.v[0].presence, P_PRESENT); /* {} selects everything */
	CU_ASSERT_EQUAL(e[3].endpoints.v[0].n, 0);
	CU_ASSERT_EQUAL(e[4].entities.presence, P_PRESENT);
	CU_ASSERT_EQUAL_FATAL(e[4].entities.n, 1);
	CU_ASSERT_STRING_EQUAL(e[4].entities.v[0], "world");
	CU_ASSERT_EQUAL(e[4].cidr.presence, P_NULL);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(e[i].dir, DIR_INGRESS);
		CU_ASSERT_FALSE(e[i].deny);
		CU_ASSERT_EQUAL(e[i].at->line, 9 + i);
	}
	/* the key node of each peer field that was written, null or not */
	CU_ASSERT_PTR_NULL(e[0].peer_at[PEER_ENDPOINTS]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e[1].peer_at[PEER_ENDPOINTS]);
	CU_ASSERT_STRING_EQUAL(e[1].peer_at[PEER_ENDPOINTS]->str, "fromEndpoints");
	CU_ASSERT_EQUAL(e[1].peer_at[PEER_ENDPOINTS]->col, 5);
	CU_ASSERT_PTR_NOT_NULL(e[4].peer_at[PEER_ENTITIES]);
	CU_ASSERT_PTR_NOT_NULL(e[4].peer_at[PEER_CIDR]);
	loaded_free(&l);

	/* ingress: [{}] is one element with no peer at all */
	load_ok(
	    &l,
	    CNP("  endpointSelector: {}\n  ingress: [{}]\n  egressDeny: [{toEntities: [all]}]\n"),
	    1);
	r = &loaded_policy(&l, 0)->rules.v[0];
	CU_ASSERT_EQUAL_FATAL(r->ingress.n, 1);
	for (int k = 0; k < PEER__COUNT; k++)
		CU_ASSERT_PTR_NULL(r->ingress.v[0].peer_at[k]);
	CU_ASSERT_EQUAL(r->ingress.v[0].endpoints.presence, P_ABSENT);
	CU_ASSERT_EQUAL(r->ingress.v[0].to_ports.presence, P_ABSENT);
	CU_ASSERT_EQUAL_FATAL(r->egress_deny.n, 1);
	CU_ASSERT_TRUE(r->egress_deny.v[0].deny);
	CU_ASSERT_EQUAL(r->egress_deny.v[0].dir, DIR_EGRESS);
	loaded_free(&l);
}

static void test_selectors(void)
{
	struct loaded l;
	load_ok(&l,
		CNP("  endpointSelector:\n"
		    "    matchLabels: {app: web, \"k8s:tier\": db}\n" /* line 8 */
		    "    matchExpressions:\n"
		    "    - {key: env, operator: NotIn, values: [prod, staging]}\n"
		    "    - {key: tier, operator: Exists}\n"
		    "    - {key: zone, operator: DoesNotExist}\n"
		    "    - {key: role, operator: In, values: [a]}\n"
		    "  ingress: [{}]\n"),
		1);
	struct rule *r = &loaded_policy(&l, 0)->rules.v[0];
	struct selector *s = &r->endpoint_selector;
	CU_ASSERT_EQUAL(s->presence, P_PRESENT);
	CU_ASSERT_EQUAL(s->at->line, 8);
	CU_ASSERT_EQUAL_FATAL(s->n, 6);
	/* matchLabels first, in order, as In with one value */
	CU_ASSERT_STRING_EQUAL(s->reqs[0].key, "app");
	CU_ASSERT_EQUAL(s->reqs[0].op, OP_IN);
	CU_ASSERT_EQUAL_FATAL(s->reqs[0].nvalues, 1);
	CU_ASSERT_STRING_EQUAL(s->reqs[0].values[0], "web");
	CU_ASSERT_EQUAL(s->reqs[0].at->line, 8);
	CU_ASSERT_EQUAL(s->reqs[0].at->col, 19);
	CU_ASSERT_STRING_EQUAL(s->reqs[1].key, "k8s:tier");
	CU_ASSERT_STRING_EQUAL(s->reqs[1].values[0], "db");
	/* then matchExpressions */
	CU_ASSERT_STRING_EQUAL(s->reqs[2].key, "env");
	CU_ASSERT_EQUAL(s->reqs[2].op, OP_NOT_IN);
	CU_ASSERT_EQUAL_FATAL(s->reqs[2].nvalues, 2);
	CU_ASSERT_STRING_EQUAL(s->reqs[2].values[1], "staging");
	CU_ASSERT_EQUAL(s->reqs[2].at->line, 10);
	CU_ASSERT_EQUAL(s->reqs[3].op, OP_EXISTS);
	CU_ASSERT_EQUAL(s->reqs[3].nvalues, 0);
	CU_ASSERT_EQUAL(s->reqs[4].op, OP_DOES_NOT_EXIST);
	CU_ASSERT_STRING_EQUAL(s->reqs[4].key, "zone");
	CU_ASSERT_EQUAL(s->reqs[5].op, OP_IN);
	CU_ASSERT_STRING_EQUAL(s->reqs[5].values[0], "a");
	/* the selector that was not written */
	CU_ASSERT_EQUAL(r->node_selector.presence, P_ABSENT);
	CU_ASSERT_EQUAL(r->node_selector.n, 0);
	loaded_free(&l);

	/* ir_selector directly: absent, null, empty */
	struct arena a = {0};
	struct selector sel;
	ir_selector(&a, NULL, &sel);
	CU_ASSERT_EQUAL(sel.presence, P_ABSENT);
	CU_ASSERT_EQUAL(sel.n, 0);
	struct parsed p;
	parse(&p, "a: ~\nb: {}\n");
	ir_selector(&a, node_get(doc_root(&p, 0), "a"), &sel);
	CU_ASSERT_EQUAL(sel.presence, P_NULL);
	ir_selector(&a, node_get(doc_root(&p, 0), "b"), &sel);
	CU_ASSERT_EQUAL(sel.presence, P_PRESENT);
	CU_ASSERT_EQUAL(sel.n, 0);
	CU_ASSERT_PTR_EQUAL(sel.at, node_get(doc_root(&p, 0), "b"));
	parsed_free(&p);
	arena_free(&a);
}

static void test_ports(void)
{
	struct loaded l;
	/* VRRP needs an agent option that is off by default: one error, and the IR still built. */
	load_text(&l, S,
		  CNP("  endpointSelector: {}\n"
		      "  ingress:\n"
		      "  - toPorts:\n"
		      "    - ports:\n"
		      "      - {port: \"80\", protocol: TCP}\n" /* line 11 */
		      "      - {port: \"8000\", endPort: 8080}\n"
		      "      - {port: http, protocol: UDP}\n"
		      "      - {protocol: VRRP}\n"
		      "    - ports: []\n"
		      "    - {}\n"));
	CU_ASSERT_EQUAL(l.d.counts[SEV_ERROR], 1);
	CU_ASSERT_EQUAL_FATAL(l.c.policies.n, 1);
	struct rule_elem *e = &loaded_policy(&l, 0)->rules.v[0].ingress.v[0];
	CU_ASSERT_EQUAL_FATAL(e->to_ports.n, 3);
	struct port_rule *pr = &e->to_ports.v[0];
	CU_ASSERT_EQUAL(pr->ports.presence, P_PRESENT);
	CU_ASSERT_EQUAL_FATAL(pr->ports.n, 4);
	struct port_protocol *pp = pr->ports.v;
	CU_ASSERT_STRING_EQUAL(pp[0].port, "80");
	CU_ASSERT_EQUAL(pp[0].end_port, -1);
	CU_ASSERT_STRING_EQUAL(pp[0].protocol, "TCP");
	CU_ASSERT_EQUAL(pp[0].at->line, 11);
	CU_ASSERT_EQUAL(pp[0].port_at->line, 11);
	CU_ASSERT_EQUAL(pp[0].port_at->col, 16);
	CU_ASSERT_STRING_EQUAL(pp[1].port, "8000");
	CU_ASSERT_EQUAL(pp[1].end_port, 8080);
	CU_ASSERT_PTR_NULL(pp[1].protocol);
	CU_ASSERT_STRING_EQUAL(pp[2].port, "http");
	CU_ASSERT_STRING_EQUAL(pp[2].protocol, "UDP");
	CU_ASSERT_PTR_NULL(pp[3].port);
	CU_ASSERT_PTR_NULL(pp[3].port_at);
	CU_ASSERT_STRING_EQUAL(pp[3].protocol, "VRRP");
	CU_ASSERT_EQUAL(pr->l7_kind, L7_NONE);
	CU_ASSERT_EQUAL(e->to_ports.v[1].ports.presence, P_PRESENT);
	CU_ASSERT_EQUAL(e->to_ports.v[1].ports.n, 0);
	CU_ASSERT_EQUAL(e->to_ports.v[2].ports.presence, P_ABSENT);
	loaded_free(&l);
}

static void test_l7(void)
{
	struct loaded l;
	load_ok(
	    &l,
	    CNP("  endpointSelector: {}\n"
		"  egress:\n"
		"  - toPorts:\n"
		"    - ports: [{port: \"80\", protocol: TCP}]\n"
		"      rules:\n"
		"        http:\n"
		"        - method: GET\n" /* line 13 */
		"          path: \"/api/.*\"\n"
		"          host: api.example.com\n"
		"          headers: [\"X-A: 1\"]\n"
		"          headerMatches:\n"
		"          - {name: X-B, value: v, mismatch: ADD}\n"
		"          - {name: X-C, secret: {name: s, namespace: ns1}}\n"
		"    - ports: [{port: \"9092\", protocol: TCP}]\n"
		"      rules: {kafka: [{role: produce, topic: t}, {apiKey: fetch, clientID: c}]}\n"
		"    - ports: [{port: \"53\", protocol: ANY}]\n"
		"      rules: {http: ~, dns: [{matchPattern: \"*\"}, {matchName: a.example}]}\n"
		"    - ports: [{port: \"6379\", protocol: TCP}]\n"
		"      rules: {l7proto: redis, l7: [{cmd: GET}]}\n"
		"    - ports: [{port: \"443\", protocol: TCP}]\n"
		"      terminatingTLS: {secret: {name: t, namespace: ns}}\n"
		"      originatingTLS: {secret: {name: o}}\n"
		"      serverNames: [a.example.com]\n"
		"    - ports: [{port: \"80\", protocol: TCP}]\n"
		"      listener: {envoyConfig: {kind: CiliumEnvoyConfig, name: cec}, name: l, "
		"priority: 5}\n"),
	    1);
	struct rule_elem *e = &loaded_policy(&l, 0)->rules.v[0].egress.v[0];
	CU_ASSERT_EQUAL_FATAL(e->to_ports.n, 6);
	struct port_rule *pr = e->to_ports.v;

	CU_ASSERT_EQUAL(pr[0].l7_kind, L7_HTTP);
	CU_ASSERT_EQUAL(pr[0].rules_at->line, 12);
	CU_ASSERT_EQUAL_FATAL(pr[0].http.n, 1);
	struct http_rule *h = &pr[0].http.v[0];
	CU_ASSERT_STRING_EQUAL(h->method, "GET");
	CU_ASSERT_STRING_EQUAL(h->path, "/api/.*");
	CU_ASSERT_STRING_EQUAL(h->host, "api.example.com");
	CU_ASSERT_EQUAL(h->method_at->line, 13);
	CU_ASSERT_EQUAL(h->path_at->line, 14);
	CU_ASSERT_EQUAL(h->path_at->col, 17);
	CU_ASSERT_EQUAL_FATAL(h->headers.n, 1);
	CU_ASSERT_STRING_EQUAL(h->headers.v[0], "X-A: 1");
	CU_ASSERT_EQUAL_FATAL(h->header_matches.n, 2);
	CU_ASSERT_STRING_EQUAL(h->header_matches.v[0].name, "X-B");
	CU_ASSERT_STRING_EQUAL(h->header_matches.v[0].value, "v");
	CU_ASSERT_STRING_EQUAL(h->header_matches.v[0].mismatch, "ADD");
	CU_ASSERT_PTR_NULL(h->header_matches.v[0].secret_name);
	CU_ASSERT_STRING_EQUAL(h->header_matches.v[1].secret_name, "s");
	CU_ASSERT_STRING_EQUAL(h->header_matches.v[1].secret_namespace, "ns1");
	CU_ASSERT_EQUAL(pr[0].kafka.presence, P_ABSENT);

	CU_ASSERT_EQUAL(pr[1].l7_kind, L7_KAFKA);
	CU_ASSERT_EQUAL_FATAL(pr[1].kafka.n, 2);
	CU_ASSERT_STRING_EQUAL(pr[1].kafka.v[0].role, "produce");
	CU_ASSERT_STRING_EQUAL(pr[1].kafka.v[0].topic, "t");
	CU_ASSERT_PTR_NULL(pr[1].kafka.v[0].api_key);
	CU_ASSERT_STRING_EQUAL(pr[1].kafka.v[1].api_key, "fetch");
	CU_ASSERT_STRING_EQUAL(pr[1].kafka.v[1].client_id, "c");

	/* a null list does not decide the kind */
	CU_ASSERT_EQUAL(pr[2].l7_kind, L7_DNS);
	CU_ASSERT_EQUAL(pr[2].http.presence, P_NULL);
	CU_ASSERT_EQUAL_FATAL(pr[2].dns.n, 2);
	CU_ASSERT_STRING_EQUAL(pr[2].dns.v[0].match_pattern, "*");
	CU_ASSERT_PTR_NULL(pr[2].dns.v[0].match_name);
	CU_ASSERT_STRING_EQUAL(pr[2].dns.v[1].match_name, "a.example");

	CU_ASSERT_EQUAL(pr[3].l7_kind, L7_GENERIC);
	CU_ASSERT_STRING_EQUAL(pr[3].l7proto, "redis");
	CU_ASSERT_EQUAL_FATAL(pr[3].l7_generic.n, 1);
	CU_ASSERT_STRING_EQUAL(node_scalar(node_get(pr[3].l7_generic.v[0], "cmd")), "GET");

	CU_ASSERT_EQUAL(pr[4].l7_kind, L7_NONE);
	CU_ASSERT_TRUE(pr[4].terminating_tls.present);
	CU_ASSERT_STRING_EQUAL(pr[4].terminating_tls.secret_name, "t");
	CU_ASSERT_STRING_EQUAL(pr[4].terminating_tls.secret_namespace, "ns");
	CU_ASSERT_TRUE(pr[4].originating_tls.present);
	CU_ASSERT_PTR_NULL(pr[4].originating_tls.secret_namespace);
	CU_ASSERT_EQUAL_FATAL(pr[4].server_names.n, 1);
	CU_ASSERT_STRING_EQUAL(pr[4].server_names.v[0], "a.example.com");
	CU_ASSERT_FALSE(pr[4].has_listener);

	CU_ASSERT_TRUE(pr[5].has_listener);
	CU_ASSERT_STRING_EQUAL(pr[5].listener_kind, "CiliumEnvoyConfig");
	CU_ASSERT_STRING_EQUAL(pr[5].listener_config, "cec");
	CU_ASSERT_STRING_EQUAL(pr[5].listener_name, "l");
	CU_ASSERT_EQUAL(pr[5].listener_priority, 5);
	CU_ASSERT_FALSE(pr[5].terminating_tls.present);
	loaded_free(&l);
}

static void test_icmp(void)
{
	struct loaded l;
	load_ok(&l,
		CNP("  endpointSelector: {}\n"
		    "  ingress:\n"
		    "  - icmps:\n"
		    "    - fields:\n"
		    "      - type: 8\n" /* line 11 */
		    "      - {family: IPv6, type: EchoRequest}\n"
		    "    - fields: [{type: 0}]\n"
		    "    - {}\n"),
		1);
	struct rule_elem *e = &loaded_policy(&l, 0)->rules.v[0].ingress.v[0];
	CU_ASSERT_EQUAL(e->icmps.presence, P_PRESENT);
	CU_ASSERT_EQUAL_FATAL(e->icmps.n, 3);
	CU_ASSERT_EQUAL_FATAL(e->icmps.v[0].n, 2);
	struct icmp_field *f = e->icmps.v[0].v;
	CU_ASSERT_PTR_NULL(f[0].family);
	CU_ASSERT_STRING_EQUAL(f[0].type, "8");
	CU_ASSERT_EQUAL(f[0].at->line, 11);
	CU_ASSERT_EQUAL(f[0].at->col, 9);
	CU_ASSERT_STRING_EQUAL(f[1].family, "IPv6");
	CU_ASSERT_STRING_EQUAL(f[1].type, "EchoRequest");
	CU_ASSERT_EQUAL_FATAL(e->icmps.v[1].n, 1);
	CU_ASSERT_STRING_EQUAL(e->icmps.v[1].v[0].type, "0");
	CU_ASSERT_EQUAL(e->icmps.v[2].presence, P_ABSENT);
	CU_ASSERT_EQUAL(e->icmps.v[2].n, 0);
	CU_ASSERT_EQUAL(e->to_ports.presence, P_ABSENT);
	/* the names resolve per family */
	CU_ASSERT_EQUAL(icmp_type_number(NULL, "8"), 8);
	CU_ASSERT_EQUAL(icmp_type_number("IPv4", "EchoRequest"), 8);
	CU_ASSERT_EQUAL(icmp_type_number("IPv6", "EchoRequest"), 128);
	CU_ASSERT_EQUAL(icmp_type_number("IPv6", "Photuris"), -1);
	CU_ASSERT_EQUAL(icmp_type_number(NULL, "256"), -1);
	loaded_free(&l);
}

static void test_peers(void)
{
	struct loaded l;
	load_ok(&l,
		CNP("  endpointSelector: {}\n"
		    "  egress:\n"
		    "  - toCIDRSet:\n"
		    "    - {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}\n"
		    "    - {cidrGroupRef: office}\n"
		    "    - cidrGroupSelector: {matchLabels: {env: prod}}\n"
		    "  - toServices:\n"
		    "    - k8sService: {serviceName: db, namespace: data}\n"
		    "    - k8sServiceSelector: {selector: {matchLabels: {app: x}}}\n"
		    "  - toFQDNs: [{matchName: api.example.com}]\n"
		    "  - toCIDR: [192.0.2.1, 2001:db8::/32]\n"
		    "  - toEndpoints: [{matchLabels: {app: a}}]\n"
		    "    authentication: {mode: required}\n"),
		1);
	struct rule *r = &loaded_policy(&l, 0)->rules.v[0];
	CU_ASSERT_EQUAL_FATAL(r->egress.n, 5);
	struct rule_elem *e = r->egress.v;
	CU_ASSERT_EQUAL_FATAL(e[0].cidr_set.n, 3);
	CU_ASSERT_STRING_EQUAL(e[0].cidr_set.v[0].cidr, "10.0.0.0/8");
	CU_ASSERT_EQUAL_FATAL(e[0].cidr_set.v[0].except.n, 2);
	CU_ASSERT_STRING_EQUAL(e[0].cidr_set.v[0].except.v[1], "10.2.0.0/16");
	CU_ASSERT_PTR_NULL(e[0].cidr_set.v[1].cidr);
	CU_ASSERT_STRING_EQUAL(e[0].cidr_set.v[1].group_ref, "office");
	CU_ASSERT_EQUAL(e[0].cidr_set.v[1].except.presence, P_ABSENT);
	CU_ASSERT_EQUAL(e[0].cidr_set.v[2].group_selector.presence, P_PRESENT);
	CU_ASSERT_EQUAL(e[0].cidr_set.v[2].group_selector.n, 1);
	CU_ASSERT_EQUAL(e[0].cidr_set.v[0].group_selector.presence, P_ABSENT);
	CU_ASSERT_EQUAL_FATAL(e[1].services.n, 2);
	CU_ASSERT_FALSE(e[1].services.v[0].by_selector);
	CU_ASSERT_STRING_EQUAL(e[1].services.v[0].name, "db");
	CU_ASSERT_STRING_EQUAL(e[1].services.v[0].namespace, "data");
	CU_ASSERT_TRUE(e[1].services.v[1].by_selector);
	CU_ASSERT_PTR_NULL(e[1].services.v[1].namespace);
	CU_ASSERT_EQUAL(e[1].services.v[1].selector.n, 1);
	CU_ASSERT_EQUAL_FATAL(e[2].fqdns.n, 1);
	CU_ASSERT_STRING_EQUAL(e[2].fqdns.v[0].match_name, "api.example.com");
	CU_ASSERT_EQUAL_FATAL(e[3].cidr.n, 2);
	CU_ASSERT_STRING_EQUAL(e[3].cidr.v[0], "192.0.2.1");
	CU_ASSERT_STRING_EQUAL(e[3].cidr.v[1], "2001:db8::/32");
	CU_ASSERT_STRING_EQUAL(e[4].auth_mode, "required");
	CU_ASSERT_PTR_NULL(e[3].auth_mode);
	CU_ASSERT_STRING_EQUAL(peer_field_name(DIR_EGRESS, PEER_FQDNS), "toFQDNs");
	CU_ASSERT_STRING_EQUAL(peer_field_name(DIR_INGRESS, PEER_FQDNS), "");
	CU_ASSERT_STRING_EQUAL(peer_field_name(DIR_INGRESS, PEER_CIDR_SET), "fromCIDRSet");
	loaded_free(&l);
}

static void test_rule_fields(void)
{
	struct loaded l;
	load_ok(&l,
		CNP("  endpointSelector: {}\n  ingress: [{}]\n  description: \"what it does\"\n"
		    "  enableDefaultDeny: {egress: false}\n  log: {value: audit}\n"
		    "  labels: [{key: team, value: a, source: user}, {key: k}]\n"),
		1);
	struct rule *r = &loaded_policy(&l, 0)->rules.v[0];
	CU_ASSERT_STRING_EQUAL(r->description, "what it does");
	CU_ASSERT_STRING_EQUAL(r->log, "audit");
	CU_ASSERT_EQUAL(r->default_deny_ingress, TRI_UNSET);
	CU_ASSERT_EQUAL(r->default_deny_egress, TRI_FALSE);
	CU_ASSERT_EQUAL_FATAL(r->labels.n, 2);
	CU_ASSERT_STRING_EQUAL(r->labels.v[0].key, "team");
	CU_ASSERT_STRING_EQUAL(r->labels.v[0].value, "a");
	CU_ASSERT_STRING_EQUAL(r->labels.v[0].source, "user");
	CU_ASSERT_STRING_EQUAL(r->labels.v[1].key, "k");
	CU_ASSERT_PTR_NULL(r->labels.v[1].value);
	loaded_free(&l);

	load_ok(
	    &l,
	    CNP("  endpointSelector: {}\n  ingress: [{}]\n  enableDefaultDeny: {ingress: true}\n"),
	    1);
	r = &loaded_policy(&l, 0)->rules.v[0];
	CU_ASSERT_EQUAL(r->default_deny_ingress, TRI_TRUE);
	CU_ASSERT_EQUAL(r->default_deny_egress, TRI_UNSET);
	CU_ASSERT_PTR_NULL(r->description);
	CU_ASSERT_EQUAL(r->labels.presence, P_ABSENT);
	loaded_free(&l);
}

/* ---------------------------------------------------------------- kinds */

static void test_knp(void)
{
	struct loaded l;
	load_ok(&l,
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		"metadata: {name: k, namespace: shop}\n"
		"spec:\n"
		"  podSelector: {matchLabels: {app: api}}\n"
		"  policyTypes: [Ingress, Egress]\n"
		"  ingress:\n"
		"  - from:\n"
		"    - podSelector: {matchLabels: {app: web}}\n" /* line 9 */
		"      namespaceSelector: {}\n"
		"    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n"
		"    ports:\n"
		"    - {protocol: TCP, port: 8080, endPort: 8090}\n"
		"    - {port: http}\n"
		"    - {protocol: UDP}\n"
		"  - {}\n"
		"  egress: []\n",
		1);
	struct policy *p = loaded_policy(&l, 0);
	CU_ASSERT_EQUAL(p->kind, KIND_KNP);
	CU_ASSERT_STRING_EQUAL(policy_kind_name(p->kind), "NetworkPolicy");
	CU_ASSERT_STRING_EQUAL(p->namespace, "shop");
	CU_ASSERT_EQUAL(p->rules.n, 0);
	struct knp *k = &p->knp;
	CU_ASSERT_EQUAL_FATAL(k->pod_selector.n, 1);
	CU_ASSERT_STRING_EQUAL(k->pod_selector.reqs[0].key, "app");
	CU_ASSERT_EQUAL_FATAL(k->policy_types.n, 2);
	CU_ASSERT_STRING_EQUAL(k->policy_types.v[1], "Egress");
	CU_ASSERT_EQUAL_FATAL(k->ingress.n, 2);
	struct knp_rule *r = &k->ingress.v[0];
	CU_ASSERT_EQUAL_FATAL(r->peers.n, 2);
	CU_ASSERT_EQUAL(r->peers.v[0].at->line, 9);
	CU_ASSERT_EQUAL(r->peers.v[0].pod_selector.presence, P_PRESENT);
	CU_ASSERT_EQUAL(r->peers.v[0].pod_selector.n, 1);
	CU_ASSERT_EQUAL(r->peers.v[0].namespace_selector.presence, P_PRESENT);
	CU_ASSERT_EQUAL(r->peers.v[0].namespace_selector.n, 0);
	CU_ASSERT_PTR_NULL(r->peers.v[0].ip_cidr);
	CU_ASSERT_STRING_EQUAL(r->peers.v[1].ip_cidr, "10.0.0.0/8");
	CU_ASSERT_EQUAL_FATAL(r->peers.v[1].ip_except.n, 1);
	CU_ASSERT_STRING_EQUAL(r->peers.v[1].ip_except.v[0], "10.1.0.0/16");
	CU_ASSERT_EQUAL(r->peers.v[1].pod_selector.presence, P_ABSENT);
	CU_ASSERT_EQUAL_FATAL(r->ports.n, 3);
	CU_ASSERT_STRING_EQUAL(r->ports.v[0].protocol, "TCP");
	CU_ASSERT_STRING_EQUAL(r->ports.v[0].port, "8080");
	CU_ASSERT_FALSE(r->ports.v[0].named);
	CU_ASSERT_EQUAL(r->ports.v[0].end_port, 8090);
	CU_ASSERT_STRING_EQUAL(r->ports.v[1].port, "http");
	CU_ASSERT_TRUE(r->ports.v[1].named);
	CU_ASSERT_EQUAL(r->ports.v[1].end_port, -1);
	CU_ASSERT_PTR_NULL(r->ports.v[1].protocol);
	CU_ASSERT_PTR_NULL(r->ports.v[2].port);
	CU_ASSERT_FALSE(r->ports.v[2].named);
	CU_ASSERT_EQUAL(k->ingress.v[1].peers.presence, P_ABSENT);
	CU_ASSERT_EQUAL(k->ingress.v[1].ports.presence, P_ABSENT);
	CU_ASSERT_EQUAL(k->egress.presence, P_PRESENT);
	CU_ASSERT_EQUAL(k->egress.n, 0);
	loaded_free(&l);
}

static void test_namespaces(void)
{
	struct loaded l;
	load_ok(
	    &l,
	    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a}\n"
	    "spec: {endpointSelector: {}, ingress: [{}]}\n---\n"
	    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: b, namespace: "
	    "x}\n"
	    "spec: {endpointSelector: {}, ingress: [{}]}\n---\n"
	    "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\n"
	    "spec: {endpointSelector: {}, ingress: [{}]}\n---\n"
	    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d}\n"
	    "spec: {podSelector: {}}\n",
	    4);
	struct policy *p = loaded_policy(&l, 0);
	CU_ASSERT_STRING_EQUAL(p->namespace, "default");
	CU_ASSERT_FALSE(p->namespace_given);
	CU_ASSERT_EQUAL(p->at->line, 1);
	p = loaded_policy(&l, 1);
	CU_ASSERT_STRING_EQUAL(p->namespace, "x");
	CU_ASSERT_TRUE(p->namespace_given);
	CU_ASSERT_EQUAL(p->at->line, 6);
	p = loaded_policy(&l, 2);
	CU_ASSERT_EQUAL(p->kind, KIND_CCNP);
	CU_ASSERT_PTR_NULL(p->namespace);
	CU_ASSERT_STRING_EQUAL(p->name, "c");
	p = loaded_policy(&l, 3);
	CU_ASSERT_EQUAL(p->kind, KIND_KNP);
	CU_ASSERT_STRING_EQUAL(p->namespace, "default");
	CU_ASSERT_FALSE(p->namespace_given);
	loaded_free(&l);
}

static void test_disable_annotation(void)
{
	struct loaded l;
	const char *text =
	    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: w\n"
	    "  annotations:\n    lint.polc.io/disable: \"broad-exposure, "
	    "empty-section,no-such-id\"\n"
	    "spec:\n  endpointSelector: {}\n  egress: [{toEntities: [world]}]\n---\n"
	    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: v}\n"
	    "spec:\n  endpointSelector: {}\n  egress: [{toEntities: [world]}]\n";
	load_ok(&l, text, 2);
	struct policy *p = loaded_policy(&l, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->disabled_lints);
	CU_ASSERT_TRUE(p->disabled_lints[L_BROAD_EXPOSURE]);
	CU_ASSERT_TRUE(p->disabled_lints[L_EMPTY_SECTION]);
	CU_ASSERT_FALSE(p->disabled_lints[L_REDUNDANT_ALLOW]);
	CU_ASSERT_FALSE(p->disabled_lints[R_BAD_CIDR]);
	CU_ASSERT_PTR_NULL(loaded_policy(&l, 1)->disabled_lints);

	/* the lint fires on the second policy only */
	struct lint_options lo = {0};
	lint_corpus(&l.c, &lo, &l.d);
	CU_ASSERT_EQUAL(count_rule(&l.d, L_BROAD_EXPOSURE), 1);
	const struct diagnostic *g = find_rule(&l.d, L_BROAD_EXPOSURE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(g->line, 16);
	CU_ASSERT_EQUAL(g->col, 26);
	loaded_free(&l);
}

static void test_lists_and_groups(void)
{
	struct loaded l;
	/* kubectl's List is unwrapped; a CIDR group is read; other kinds are kept aside */
	load_ok(
	    &l,
	    "apiVersion: v1\nkind: List\nitems:\n"
	    "- apiVersion: cilium.io/v2\n  kind: CiliumNetworkPolicy\n  metadata: {name: in-list}\n"
	    "  spec: {endpointSelector: {}, ingress: [{}]}\n"
	    "- apiVersion: cilium.io/v2\n  kind: CiliumCIDRGroup\n  metadata: {name: office}\n"
	    "  spec: {externalCIDRs: [192.0.2.0/24, 198.51.100.0/24]}\n"
	    "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm}\n",
	    1);
	CU_ASSERT_STRING_EQUAL(loaded_policy(&l, 0)->name, "in-list");
	CU_ASSERT_EQUAL(loaded_policy(&l, 0)->at->line, 4);
	CU_ASSERT_EQUAL_FATAL(l.c.cidr_groups.n, 1);
	struct cidr_group *g = l.c.cidr_groups.v[0];
	CU_ASSERT_STRING_EQUAL(g->name, "office");
	CU_ASSERT_EQUAL_FATAL(g->cidrs.n, 2);
	CU_ASSERT_STRING_EQUAL(g->cidrs.v[1], "198.51.100.0/24");
	CU_ASSERT_EQUAL(l.c.other.n, 1);
	CU_ASSERT_EQUAL(l.c.sources.n, 1);
	CU_ASSERT_EQUAL(l.d.n, 0);
	loaded_free(&l);

	/* a document that fails the schema never reaches the IR */
	load_text(&l, S, CNP("  endpointSelector: {}\n  ingress: [{fromEndpoint: []}]\n"));
	ASSERT_ONLY_DIAG(&l.d, R_SCHEMA_UNKNOWN_FIELD, 8, 14);
	CU_ASSERT_EQUAL(l.c.policies.n, 0);
	loaded_free(&l);

	/* a document with no kind, and a policy kind polc does not know */
	load_text(&l, S,
		  "metadata: {name: x}\n---\napiVersion: cilium.io/v2alpha1\n"
		  "kind: CiliumNetworkPolicy\nmetadata: {name: y}\n");
	CU_ASSERT_EQUAL(l.d.n, 2);
	diag_sort(&l.d);
	CU_ASSERT_EQUAL(l.d.v[0].rule, R_KIND_MISSING);
	CU_ASSERT_EQUAL(l.d.v[0].line, 1);
	CU_ASSERT_EQUAL(l.d.v[1].rule, R_KIND_UNKNOWN);
	CU_ASSERT_EQUAL(l.d.v[1].line, 3);
	CU_ASSERT_EQUAL(l.d.v[1].severity, SEV_WARNING);
	CU_ASSERT_EQUAL(l.c.policies.n, 0);
	loaded_free(&l);
}

int main(void)
{
	static const struct test_case rules[] = {
	    {"spec and specs (spec first)", test_spec_and_specs},
	    {"absent, null, [] and [{}] kept apart", test_list_states},
	    {"selectors: matchLabels become In", test_selectors},
	    {"ports, endPort, protocol", test_ports},
	    {"L7 kinds", test_l7},
	    {"ICMP fields", test_icmp},
	    {"CIDR sets, services, FQDNs, auth", test_peers},
	    {"description, log, labels, enableDefaultDeny", test_rule_fields},
	    {NULL, NULL}};
	static const struct test_case kinds[] = {
	    {"NetworkPolicy fields", test_knp},
	    {"namespace defaulting", test_namespaces},
	    {"lint.polc.io/disable annotation", test_disable_annotation},
	    {"List, CIDR groups, refused documents", test_lists_and_groups},
	    {NULL, NULL}};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (!add_suite("ir: rules", rules, setup, teardown) ||
	    !add_suite("ir: kinds", kinds, setup, teardown)) {
		CU_cleanup_registry();
		return 1;
	}
	return run_tests();
}
