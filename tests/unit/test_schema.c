/* Unit tests of the schema engine (compiler/schema.c) driven by the built-in schemas/. */
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

/* Six lines each, so that a test's own lines start at line 7. */
#define CNP_HEAD                                                                                   \
	"apiVersion: cilium.io/v2\n"                                                               \
	"kind: CiliumNetworkPolicy\n"                                                              \
	"metadata:\n"                                                                              \
	"  name: p\n"                                                                              \
	"spec:\n"                                                                                  \
	"  endpointSelector: {}\n"
#define KNP_HEAD                                                                                   \
	"apiVersion: networking.k8s.io/v1\n"                                                       \
	"kind: NetworkPolicy\n"                                                                    \
	"metadata:\n"                                                                              \
	"  name: k\n"                                                                              \
	"spec:\n"                                                                                  \
	"  podSelector: {}\n"

/* Parses one document and validates it against the root type of its apiVersion and kind.
 * Returns what schema_validate returns (the number of errors). */
static int validate_text(struct parsed *p, const char *text)
{
	parse(p, text);
	CU_ASSERT_EQUAL_FATAL(p->rc, 0);
	CU_ASSERT_EQUAL_FATAL(p->docs.n, 1);
	const struct node *root = doc_root(p, 0);
	const struct schema_type *t = schema_for_kind(S, node_scalar(node_get(root, "apiVersion")),
						      node_scalar(node_get(root, "kind")));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	int errors = schema_validate(S, t, root, &p->d);
	CU_ASSERT_EQUAL(errors, (int)p->d.counts[SEV_ERROR]);
	return errors;
}

/* Validates and expects exactly one diagnostic, of rule r at line:col. */
#define EXPECT_ONE(p, text, r, l, c)                                                               \
	do {                                                                                       \
		validate_text(p, text);                                                            \
		ASSERT_ONLY_DIAG(&(p)->d, r, l, c);                                                \
	} while (0)

static void expect_clean(const char *text)
{
	struct parsed p;
	int errors = validate_text(&p, text);
	CU_ASSERT_EQUAL(errors, 0);
	CU_ASSERT_EQUAL(p.d.n, 0);
	if (p.d.n)
		dump_diags(&p.d);
	parsed_free(&p);
}

/* ---------------------------------------------------------------- roots */

static void test_schema_for_kind(void)
{
	const struct schema_type *cnp = schema_for_kind(S, "cilium.io/v2", "CiliumNetworkPolicy");
	const struct schema_type *ccnp =
	    schema_for_kind(S, "cilium.io/v2", "CiliumClusterwideNetworkPolicy");
	CU_ASSERT_PTR_NOT_NULL(cnp);
	CU_ASSERT_PTR_NOT_NULL(ccnp);
	CU_ASSERT_PTR_NOT_EQUAL(cnp, ccnp);
	CU_ASSERT_PTR_NOT_NULL(schema_for_kind(S, "networking.k8s.io/v1", "NetworkPolicy"));
	const struct schema_type *g2 = schema_for_kind(S, "cilium.io/v2", "CiliumCIDRGroup");
	const struct schema_type *g1 = schema_for_kind(S, "cilium.io/v2alpha1", "CiliumCIDRGroup");
	CU_ASSERT_PTR_NOT_NULL(g2);
	CU_ASSERT_PTR_NOT_NULL(g1);
	CU_ASSERT_PTR_NOT_EQUAL(g1, g2);
	/* wrong version, unknown kinds, kinds that differ only in case */
	CU_ASSERT_PTR_NULL(schema_for_kind(S, "cilium.io/v2alpha1", "CiliumNetworkPolicy"));
	CU_ASSERT_PTR_NULL(schema_for_kind(S, "networking.k8s.io/v1beta1", "NetworkPolicy"));
	CU_ASSERT_PTR_NULL(schema_for_kind(S, "v1", "Pod"));
	CU_ASSERT_PTR_NULL(schema_for_kind(S, "cilium.io/v2", "ciliumnetworkpolicy"));
	CU_ASSERT_PTR_NULL(schema_for_kind(S, "cilium.io/v2", ""));
}

static void test_list_paths(void)
{
	struct arena a = {0};
	struct ptrvec paths = {0};
	schema_list_paths(S, "Rule", &paths, &a);
	const char *want[] = {"endpointSelector",
			      "endpointSelector.matchLabels",
			      "endpointSelector.matchExpressions.operator",
			      "ingress.fromEndpoints",
			      "ingress.toPorts.ports.endPort",
			      "egress.toPorts.rules.http.headerMatches.secret.name",
			      "egress.toFQDNs.matchPattern",
			      "egressDeny.toPorts.ports.protocol",
			      "enableDefaultDeny.ingress",
			      "log.value",
			      NULL};
	for (const char **w = want; *w; w++) {
		bool found = false;
		for (size_t i = 0; i < paths.n; i++)
			found |= !strcmp(paths.v[i], *w);
		CU_ASSERT_TRUE(found);
		if (!found)
			fprintf(stderr, "    missing path %s\n", *w);
	}
	/* deny rules have no L7; ingress has no toFQDNs */
	for (size_t i = 0; i < paths.n; i++) {
		CU_ASSERT_FALSE(!strcmp(paths.v[i], "egressDeny.toPorts.rules"));
		CU_ASSERT_FALSE(!strcmp(paths.v[i], "ingress.toFQDNs"));
	}
	ptrvec_free(&paths);
	schema_list_paths(S, "NoSuchType", &paths, &a);
	CU_ASSERT_EQUAL(paths.n, 0);
	schema_list_paths(S, "CIDRGroupSpec", &paths, &a);
	CU_ASSERT_EQUAL_FATAL(paths.n, 1);
	CU_ASSERT_STRING_EQUAL(paths.v[0], "externalCIDRs");
	ptrvec_free(&paths);
	arena_free(&a);
}

/* ---------------------------------------------------------------- fields */

static void test_unknown_field(void)
{
	struct parsed p;
	EXPECT_ONE(&p, CNP_HEAD "  ingress:\n  - fromEndpoint:\n    - {}\n", R_SCHEMA_UNKNOWN_FIELD,
		   8, 5);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "unknown field \"fromEndpoint\"");
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"fromEndpoints\"?");
	parsed_free(&p);

	/* a case slip is the nearest of all */
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\n  endpointselector: {}\n", R_SCHEMA_UNKNOWN_FIELD,
		   8, 3);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"endpointSelector\"?");
	parsed_free(&p);

	/* nothing close: the hint lists the fields there are */
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\n  frobnicate: 1\n", R_SCHEMA_UNKNOWN_FIELD, 8, 3);
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "known fields: endpointSelector, nodeSelector"));
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "egressDeny"));
	parsed_free(&p);

	/* at the top level too (a misplaced rule, as in Cilium's scalability docs) */
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\nfromEndpoints: []\n", R_SCHEMA_UNKNOWN_FIELD, 8,
		   1);
	parsed_free(&p);

	/* NetworkPolicy: fields of a peer */
	EXPECT_ONE(&p, KNP_HEAD "  ingress:\n  - from:\n    - podselector: {}\n",
		   R_SCHEMA_UNKNOWN_FIELD, 9, 7);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"podSelector\"?");
	parsed_free(&p);
}

static void test_required(void)
{
	struct parsed p;
	EXPECT_ONE(&p,
		   "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nspec:\n  "
		   "endpointSelector: {}\n  ingress: [{}]\n",
		   R_SCHEMA_REQUIRED, 1, 1);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "required field \"metadata\" is missing");
	parsed_free(&p);

	/* a null counts as missing */
	EXPECT_ONE(&p,
		   "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ~\n"
		   "  namespace: ns\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n",
		   R_SCHEMA_REQUIRED, 4, 3);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"name\""));
	parsed_free(&p);

	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - fromEndpoints:\n    - matchExpressions:\n"
			    "      - {key: app}\n",
		   R_SCHEMA_REQUIRED, 10, 9);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"operator\""));
	parsed_free(&p);

	EXPECT_ONE(&p, CNP_HEAD "  ingress:\n  - icmps:\n    - fields:\n      - family: IPv4\n",
		   R_SCHEMA_REQUIRED, 10, 9);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"type\""));
	parsed_free(&p);

	EXPECT_ONE(&p,
		   "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k}\n"
		   "spec:\n  policyTypes: [Ingress]\n",
		   R_SCHEMA_REQUIRED, 5, 3);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"podSelector\""));
	parsed_free(&p);

	EXPECT_ONE(&p,
		   "apiVersion: cilium.io/v2\nkind: CiliumCIDRGroup\nmetadata: {name: g}\n"
		   "spec: {}\n",
		   R_SCHEMA_REQUIRED, 4, 7);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"externalCIDRs\""));
	parsed_free(&p);
}

static void test_enum(void)
{
	struct parsed p;
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        protocol: UPD\n",
		   R_SCHEMA_ENUM, 11, 19);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"UPD\" is not a valid protocol");
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"UDP\"?");
	parsed_free(&p);

	/* enums are case-sensitive, and the hint says which case */
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        protocol: tcp\n",
		   R_SCHEMA_ENUM, 11, 19);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"TCP\"?");
	parsed_free(&p);
	EXPECT_ONE(&p, CNP_HEAD "  egress:\n  - toEntities: [World]\n", R_SCHEMA_ENUM, 8, 18);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"world\"?");
	parsed_free(&p);

	/* far from any value: the hint lists them */
	EXPECT_ONE(&p, CNP_HEAD "  egress:\n  - toEntities: [everything]\n", R_SCHEMA_ENUM, 8, 18);
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "one of: all, world, cluster"));
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "kube-apiserver"));
	parsed_free(&p);

	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - fromEndpoints:\n    - matchExpressions:\n"
			    "      - {key: app, operator: Exist}\n",
		   R_SCHEMA_ENUM, 10, 30);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"Exists\"?");
	parsed_free(&p);

	/* NetworkPolicy allows fewer protocols than Cilium */
	EXPECT_ONE(&p, KNP_HEAD "  ingress:\n  - ports:\n    - protocol: ANY\n", R_SCHEMA_ENUM, 9,
		   17);
	parsed_free(&p);
	EXPECT_ONE(&p, KNP_HEAD "  policyTypes: [Ingress, egres]\n", R_SCHEMA_ENUM, 7, 26);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"egres\" is not a valid policyTypes");
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"Egress\"?");
	parsed_free(&p);
}

static void test_pattern(void)
{
	struct parsed p;
	EXPECT_ONE(&p,
		   "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
		   "  name: My_Policy\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n",
		   R_SCHEMA_PATTERN, 4, 9);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"My_Policy\" is not a valid name");
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "DNS-1123"));
	parsed_free(&p);

	EXPECT_ONE(&p,
		   "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
		   "  name: p\n  namespace: kube.system\nspec:\n  endpointSelector: {}\n"
		   "  ingress: [{}]\n",
		   R_SCHEMA_PATTERN, 5, 14);
	parsed_free(&p);

	/* label values: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends */
	EXPECT_ONE(&p, CNP_HEAD "  ingress:\n  - fromEndpoints:\n    - matchLabels: {app: -web}\n",
		   R_SCHEMA_PATTERN, 9, 26);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"-web\" is not a valid app");
	parsed_free(&p);
	expect_clean(CNP_HEAD "  ingress:\n  - fromEndpoints:\n    - matchLabels: {app: \"\", "
			      "k8s:io.kubernetes.pod.namespace: kube-system, a.b_c: A.1-z}\n");

	/* CNP ports are strings: numbers up to 65535 or IANA-style names */
	EXPECT_ONE(&p, CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"65536\"\n",
		   R_SCHEMA_PATTERN, 10, 15);
	parsed_free(&p);
	EXPECT_ONE(&p, CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: http_alt\n",
		   R_SCHEMA_PATTERN, 10, 15);
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "port number from 0 to 65535"));
	parsed_free(&p);
	expect_clean(CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"65535\"\n"
			      "      - port: \"0\"\n      - port: http-alt\n");

	/* DNS names */
	EXPECT_ONE(&p, CNP_HEAD "  egress:\n  - toFQDNs:\n    - matchName: \"bad name\"\n",
		   R_SCHEMA_PATTERN, 9, 18);
	parsed_free(&p);
	expect_clean(CNP_HEAD "  egress:\n  - toFQDNs:\n    - matchName: api.example.com\n"
			      "    - matchPattern: \"*.example.com\"\n    - matchPattern: \"*\"\n");

	/* an ICMP type given as a string must be a name */
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - icmps:\n    - fields:\n      - type: echo-request\n",
		   R_SCHEMA_PATTERN, 10, 15);
	parsed_free(&p);

	/* NetworkPolicy port names */
	EXPECT_ONE(&p, KNP_HEAD "  ingress:\n  - ports:\n    - port: Http\n", R_SCHEMA_PATTERN, 9,
		   13);
	parsed_free(&p);
}

static void test_ranges(void)
{
	struct parsed p;
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: 65536\n",
		   R_SCHEMA_RANGE, 11, 18);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"endPort\" is 65536, outside its range");
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "use a value from 0 to 65535");
	parsed_free(&p);
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: -1\n",
		   R_SCHEMA_RANGE, 11, 18);
	parsed_free(&p);

	/* NetworkPolicy ports start at 1 */
	EXPECT_ONE(&p, KNP_HEAD "  ingress:\n  - ports:\n    - port: 0\n", R_SCHEMA_RANGE, 9, 13);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "use a value from 1 to 65535");
	parsed_free(&p);
	EXPECT_ONE(&p, KNP_HEAD "  ingress:\n  - ports:\n    - port: 65536\n", R_SCHEMA_RANGE, 9,
		   13);
	parsed_free(&p);

	EXPECT_ONE(&p, CNP_HEAD "  ingress:\n  - icmps:\n    - fields:\n      - type: 256\n",
		   R_SCHEMA_RANGE, 10, 15);
	parsed_free(&p);

	/* lengths */
	struct strbuf sb = {0};
	sb_puts(&sb, "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ");
	for (int i = 0; i < 254; i++)
		sb_puts(&sb, "a");
	sb_puts(&sb, "\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n");
	EXPECT_ONE(&p, sb.s, R_SCHEMA_RANGE, 4, 9);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"name\" is 254 characters; the limit is 253");
	parsed_free(&p);
	sb_free(&sb);

	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress: [{}]\n  log:\n    value: "
			    "\"0123456789012345678901234567890123\"\n",
		   R_SCHEMA_RANGE, 9, 12);
	parsed_free(&p);

	/* the empty name breaks both the minimum length and the pattern */
	validate_text(&p, "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
			  "  name: \"\"\nspec:\n  endpointSelector: {}\n  ingress: [{}]\n");
	CU_ASSERT_EQUAL(p.d.n, 2);
	CU_ASSERT_EQUAL(count_rule(&p.d, R_SCHEMA_RANGE), 1);
	CU_ASSERT_EQUAL(count_rule(&p.d, R_SCHEMA_PATTERN), 1);
	parsed_free(&p);

	/* listener priority is 1..100 */
	EXPECT_ONE(&p,
		   CNP_HEAD "  egress:\n  - toPorts:\n    - listener:\n        envoyConfig: "
			    "{name: e}\n        name: l\n        priority: 0\n",
		   R_SCHEMA_RANGE, 12, 19);
	parsed_free(&p);
}

static void test_items(void)
{
	struct parsed p;
	EXPECT_ONE(&p,
		   CNP_HEAD "  egress:\n  - toPorts:\n    - ports: [{port: \"443\"}]\n"
			    "      serverNames: []\n",
		   R_SCHEMA_RANGE, 10, 20);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"serverNames\" needs at least 1 item");
	parsed_free(&p);

	struct strbuf sb = {0};
	sb_puts(&sb, CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n");
	for (int i = 1; i <= 41; i++)
		sb_printf(&sb, "      - port: \"%d\"\n", i);
	EXPECT_ONE(&p, sb.s, R_SCHEMA_RANGE, 10, 7);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"ports\" has 41 items; the limit is 40");
	parsed_free(&p);
	sb_free(&sb);

	sb_puts(&sb, CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n");
	for (int i = 1; i <= 40; i++)
		sb_printf(&sb, "      - port: \"%d\"\n", i);
	expect_clean(sb.s);
	sb_free(&sb);
}

static void test_exactly_one_and_at_least_one(void)
{
	struct parsed p;
	/* a rule selects endpoints or nodes, never both */
	EXPECT_ONE(&p, CNP_HEAD "  nodeSelector: {}\n  ingress: [{}]\n", R_SCHEMA_ONE_OF, 6, 3);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message,
			       "more than one of endpointSelector or nodeSelector "
			       "given; exactly one is required");
	parsed_free(&p);
	EXPECT_ONE(&p,
		   "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\n"
		   "spec:\n  ingress: [{}]\n",
		   R_SCHEMA_ONE_OF, 5, 3);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "none of endpointSelector or nodeSelector"));
	parsed_free(&p);

	/* and it needs at least one list of rules; a null one does not count */
	EXPECT_ONE(&p, CNP_HEAD "  description: nothing\n  ingress: ~\n", R_SCHEMA_ANY_OF, 6, 3);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message,
			       "none of ingress, ingressDeny, egress, egressDeny is given");
	parsed_free(&p);
	expect_clean(CNP_HEAD "  egressDeny: []\n");

	/* a CIDR rule names one kind of CIDR source */
	EXPECT_ONE(&p,
		   CNP_HEAD "  egress:\n  - toCIDRSet:\n    - cidr: 10.0.0.0/8\n"
			    "      cidrGroupRef: group\n",
		   R_SCHEMA_ONE_OF, 9, 7);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "cidr, cidrGroupRef or cidrGroupSelector"));
	parsed_free(&p);

	/* one L7 protocol per port rule */
	EXPECT_ONE(&p,
		   CNP_HEAD "  egress:\n  - toPorts:\n    - ports: [{port: \"53\"}]\n"
			    "      rules:\n        dns: [{matchPattern: \"*\"}]\n"
			    "        http: [{}]\n",
		   R_SCHEMA_ONE_OF, 11, 9);
	parsed_free(&p);

	/* an FQDN selector needs matchName or matchPattern */
	EXPECT_ONE(&p, CNP_HEAD "  egress:\n  - toFQDNs: [{}]\n", R_SCHEMA_ONE_OF, 8, 15);
	parsed_free(&p);
}

/* ---------------------------------------------------------------- types */

static void test_yaml11_booleans(void)
{
	struct parsed p;
	/* a string field: unquoted yes/no/on/off are booleans to kubectl */
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - fromEndpoints:\n    - matchLabels: {enabled: yes}\n",
		   R_YAML_BOOL, 9, 30);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"enabled\" must be a string"));
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "quote it: \"yes\"");
	parsed_free(&p);
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\n  description: off\n", R_YAML_BOOL, 8, 16);
	parsed_free(&p);
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\n  description: true\n", R_YAML_BOOL, 8, 16);
	parsed_free(&p);
	expect_clean(CNP_HEAD "  ingress: [{}]\n  description: \"yes\"\n");
	expect_clean(CNP_HEAD "  ingress: [{}]\n  description: yesterday\n");

	/* a boolean field: only true and false */
	expect_clean(CNP_HEAD
		     "  ingress: [{}]\n  enableDefaultDeny: {ingress: false, egress: true}\n");
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\n  enableDefaultDeny:\n    ingress: yes\n",
		   R_YAML_BOOL, 9, 14);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "write true or false");
	parsed_free(&p);
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\n  enableDefaultDeny:\n    ingress: \"true\"\n",
		   R_SCHEMA_TYPE, 9, 14);
	parsed_free(&p);
	EXPECT_ONE(&p, CNP_HEAD "  ingress: [{}]\n  enableDefaultDeny:\n    ingress: 1\n",
		   R_SCHEMA_TYPE, 9, 14);
	parsed_free(&p);
}

static void test_octal_numbers(void)
{
	struct parsed p;
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: 0100\n",
		   R_YAML_OCTAL, 11, 18);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "remove the leading zero");
	parsed_free(&p);
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: 0o100\n",
		   R_YAML_OCTAL, 11, 18);
	parsed_free(&p);
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: 0x100\n",
		   R_YAML_OCTAL, 11, 18);
	parsed_free(&p);
	/* int-or-string: an unquoted number with a leading zero is the same trap */
	EXPECT_ONE(&p, KNP_HEAD "  ingress:\n  - ports:\n    - port: 080\n", R_YAML_OCTAL, 9, 13);
	parsed_free(&p);
	/* a lone zero is just zero */
	expect_clean(CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"0\"\n"
			      "        endPort: 0\n");
}

static void test_strings_vs_integers(void)
{
	struct parsed p;
	/* CNP port is a string: an unquoted number is refused */
	EXPECT_ONE(&p, CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: 80\n",
		   R_SCHEMA_TYPE, 10, 15);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"port\" must be a string, not a number");
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "the API wants a string here: write \"80\"");
	parsed_free(&p);
	expect_clean(CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: '80'\n");

	/* CNP endPort is an integer: a quoted one is refused, a float too */
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: \"90\"\n",
		   R_SCHEMA_TYPE, 11, 18);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"endPort\" must be an integer, not a string");
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "remove the quotes");
	parsed_free(&p);
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: 90.5\n",
		   R_SCHEMA_TYPE, 11, 18);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "must be an integer, got \"90.5\""));
	parsed_free(&p);
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        endPort: 99999999999999999999999\n",
		   R_SCHEMA_TYPE, 11, 18);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "out of range"));
	parsed_free(&p);

	/* NetworkPolicy port is int-or-string: a number, or a name with a letter in it; the
	 * string "80" is neither (the API server refuses it) */
	struct loaded l;
	load_text(&l, S, KNP_HEAD "  ingress:\n  - ports:\n    - port: \"80\"\n");
	ASSERT_ONLY_DIAG(&l.d, R_KNP, 9, 13);
	loaded_free(&l);
	/* NetworkPolicy port is int-or-string: both forms are fine */
	expect_clean(KNP_HEAD "  ingress:\n  - ports:\n    - port: 80\n    - port: http\n"
			      "    - port: 8080\n      endPort: 8090\n");
	/* ... and endPort is an integer */
	EXPECT_ONE(&p, KNP_HEAD "  ingress:\n  - ports:\n    - port: 80\n      endPort: \"90\"\n",
		   R_SCHEMA_TYPE, 10, 16);
	parsed_free(&p);

	/* ICMP type is int-or-string too */
	expect_clean(CNP_HEAD "  ingress:\n  - icmps:\n    - fields:\n      - type: 8\n"
			      "      - {family: IPv6, type: EchoRequest}\n");

	/* containers of the wrong kind */
	EXPECT_ONE(&p, CNP_HEAD "  ingress: {fromEndpoints: []}\n", R_SCHEMA_TYPE, 7, 12);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"ingress\" must be a list, not a mapping");
	parsed_free(&p);
	EXPECT_ONE(&p,
		   "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\n"
		   "spec:\n  nodeSelector: []\n  ingress: [{}]\n",
		   R_SCHEMA_TYPE, 5, 17);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"nodeSelector\" must be a mapping, not a list");
	parsed_free(&p);
	validate_text(&p, CNP_HEAD "  ingress: [{}]\n  description: [a]\n");
	CU_ASSERT_EQUAL(count_rule(&p.d, R_SCHEMA_TYPE), 1);
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "\"description\" must be"));
	CU_ASSERT_TRUE(contains(p.d.v[0].message, "not a list"));
	parsed_free(&p);
}

static void test_nulls(void)
{
	/* null stands for "not given" wherever the field is optional */
	expect_clean(CNP_HEAD "  ingress:\n  - fromEndpoints: ~\n    toPorts: null\n    icmps:\n"
			      "  egress: ~\n  description: ~\n  enableDefaultDeny: {ingress: ~}\n"
			      "  log: ~\n");
	expect_clean(KNP_HEAD "  policyTypes: ~\n  ingress:\n  - from: ~\n    ports:\n"
			      "    - port: ~\n      protocol: ~\n");
	expect_clean("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
		     "  name: p\n  namespace: ~\n  labels: ~\n  annotations: ~\n"
		     "spec:\n  endpointSelector: {matchLabels: ~, matchExpressions: ~}\n"
		     "  ingress: [{}]\nstatus: ~\n");
}

static void test_deprecated(void)
{
	struct parsed p;
	int errors = validate_text(&p, CNP_HEAD "  ingress:\n  - fromRequires: []\n");
	CU_ASSERT_EQUAL(errors, 0);
	ASSERT_ONLY_DIAG(&p.d, L_DEPRECATED, 8, 5); /* at the key */
	CU_ASSERT_EQUAL(p.d.v[0].severity, SEV_WARNING);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].message, "\"fromRequires\" is deprecated");
	CU_ASSERT_TRUE(contains(p.d.v[0].hint, "fromEndpoints"));
	parsed_free(&p);

	/* The 1.19+ CRD allows no items at all: the API server refuses one. */
	errors = validate_text(&p, CNP_HEAD "  egress:\n  - toRequires: [{}]\n");
	CU_ASSERT_EQUAL(errors, 1);
	CU_ASSERT_EQUAL(p.d.counts[SEV_ERROR], 1);
	CU_ASSERT_EQUAL(p.d.counts[SEV_WARNING], 1);
	parsed_free(&p);

	errors =
	    validate_text(&p, CNP_HEAD "  ingress:\n  - toPorts:\n    - ports: [{port: \"9092\", "
				       "protocol: TCP}]\n      rules:\n        kafka:\n"
				       "        - {role: produce, topic: t}\n");
	CU_ASSERT_EQUAL(errors, 0);
	ASSERT_ONLY_DIAG(&p.d, L_DEPRECATED, 11, 9);
	parsed_free(&p);

	/* a deprecated field with an error inside still reports the error (and its item) */
	errors = validate_text(&p, CNP_HEAD "  ingress:\n  - fromRequires:\n    - matchLabels: "
					    "{a: yes}\n");
	CU_ASSERT_EQUAL(errors, 2);
	CU_ASSERT_EQUAL(count_rule(&p.d, L_DEPRECATED), 1);
	CU_ASSERT_EQUAL(count_rule(&p.d, R_SCHEMA_RANGE), 1);
	CU_ASSERT_EQUAL(count_rule(&p.d, R_YAML_BOOL), 1);
	parsed_free(&p);
}

static void test_valid_documents(void)
{
	expect_clean(
	    "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\n"
	    "metadata: {name: host}\nspec:\n  nodeSelector: {matchLabels: {role: worker}}\n"
	    "  ingress:\n  - fromEntities: [cluster]\n    toPorts:\n"
	    "    - ports: [{port: \"22\", protocol: TCP}]\n");
	expect_clean("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: m}\n"
		     "specs:\n- endpointSelector: {}\n  egress: [{toEntities: [world]}]\n"
		     "- endpointSelector: {matchLabels: {app: a}}\n  ingressDeny:\n"
		     "  - fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]\n");
	expect_clean("apiVersion: cilium.io/v2alpha1\nkind: CiliumCIDRGroup\nmetadata: {name: g}\n"
		     "spec:\n  externalCIDRs: [192.0.2.0/24, \"2001:db8::/32\"]\n");
	expect_clean(KNP_HEAD
		     "  policyTypes: [Ingress, Egress]\n  egress:\n  - to:\n"
		     "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/16]}\n"
		     "    - namespaceSelector: {matchLabels: {team: a}}\n"
		     "      podSelector: {matchExpressions: [{key: app, operator: Exists}]}\n"
		     "    ports: [{protocol: UDP, port: 53}]\n");
	expect_clean(CNP_HEAD
		     "  egress:\n  - toEndpoints: [{}]\n    toPorts:\n"
		     "    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n"
		     "        http:\n        - method: GET\n          path: \"/v1/.*\"\n"
		     "          headerMatches:\n          - {name: X-Token, secret: {name: s}, "
		     "mismatch: LOG}\n");
}

/* ---------------------------------------------------------------- fixed bugs */

/* The enum hint takes the last value within edit distance 2, not the nearest one. */
static void test_enum_hint_nearest(void)
{
	struct parsed p;
	EXPECT_ONE(&p,
		   CNP_HEAD "  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n"
			    "        protocol: TCPP\n",
		   R_SCHEMA_ENUM, 11, 19);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"TCP\"?"); /* says SCTP */
	parsed_free(&p);
	EXPECT_ONE(&p, KNP_HEAD "  policyTypes: [ingress]\n", R_SCHEMA_ENUM, 7, 17);
	CU_ASSERT_STRING_EQUAL(p.d.v[0].hint, "did you mean \"Ingress\"?"); /* says Egress */
	parsed_free(&p);
}

/* NetworkPolicy port names follow IANA_SVC_NAME: at most 15 characters, at least one letter,
 * no "--". The API server refuses these two; polc accepts them. */
static void test_knp_port_names(void)
{
	struct schema_set *s = S;
	const char *ports[] = {"a-very-long-port-name", "a--b"};
	for (size_t i = 0; i < 2; i++) {
		char text[512];
		snprintf(text, sizeof text, KNP_HEAD "  ingress:\n  - ports:\n    - port: %s\n",
			 ports[i]);
		struct loaded l;
		load_text(&l, s, text);
		CU_ASSERT_EQUAL(l.d.counts[SEV_ERROR], 1);
		if (l.d.counts[SEV_ERROR] != 1)
			fprintf(stderr, "    port %s: %zu errors\n", ports[i],
				l.d.counts[SEV_ERROR]);
		loaded_free(&l);
	}
}

/* The CRD's ICMP type is int-or-string with pattern ^([0-9]|...|25[0-5]|EchoReply|...)$, and
 * the agent reads a string "8" as type 8: a quoted number is valid. polc refuses it. */
static void test_icmp_type_quoted_number(void)
{
	expect_clean(CNP_HEAD "  ingress:\n  - icmps:\n    - fields:\n      - type: \"8\"\n"
			      "      - {family: IPv6, type: \"128\"}\n      - type: \"0\"\n");
}

/* A NetworkPolicy peer's selectors are label selectors too: In without values is refused by
 * the API server. polc checks the policy's podSelector but not the peers'. */
static void test_knp_peer_selector_checked(void)
{
	struct loaded l;
	load_text(&l, S,
		  KNP_HEAD "  ingress:\n  - from:\n    - podSelector:\n"
			   "        matchExpressions: [{key: a, operator: In}]\n");
	CU_ASSERT_EQUAL(l.d.counts[SEV_ERROR], 1);
	loaded_free(&l);
}

/* Cilium refuses L7 rules in host policies ("host policies do not support L7 rules yet"). */
static void test_host_policy_l7(void)
{
	struct loaded l;
	load_text(&l, S,
		  "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\n"
		  "metadata: {name: h}\nspec:\n  nodeSelector: {}\n  egress:\n"
		  "  - toEntities: [world]\n    toPorts:\n"
		  "    - ports: [{port: \"80\", protocol: TCP}]\n      rules:\n"
		  "        http: [{method: GET}]\n");
	CU_ASSERT_EQUAL(l.d.counts[SEV_ERROR], 1);
	CU_ASSERT_EQUAL(count_rule(&l.d, R_L7), 1);
	loaded_free(&l);
}

int main(void)
{
	static const struct test_case roots[] = {{"schema_for_kind", test_schema_for_kind},
						 {"schema_list_paths", test_list_paths},
						 {"valid documents pass", test_valid_documents},
						 {NULL, NULL}};
	static const struct test_case fields[] = {
	    {"unknown field with did-you-mean", test_unknown_field},
	    {"required fields", test_required},
	    {"enum values", test_enum},
	    {"patterns", test_pattern},
	    {"ranges and lengths", test_ranges},
	    {"minItems and maxItems", test_items},
	    {"exactlyOne and atLeastOne", test_exactly_one_and_at_least_one},
	    {"nulls accepted as not given", test_nulls},
	    {"deprecated fields warn", test_deprecated},
	    {NULL, NULL}};
	static const struct test_case types[] = {
	    {"YAML 1.1 booleans", test_yaml11_booleans},
	    {"octal-looking numbers", test_octal_numbers},
	    {"strings vs integers, wrong container kinds", test_strings_vs_integers},
	    {NULL, NULL}};
	static const struct test_case fixed[] = {
	    {"enum hint names the nearest value", test_enum_hint_nearest},
	    {"NetworkPolicy port names are IANA service names", test_knp_port_names},
	    {"ICMP type may be a quoted number", test_icmp_type_quoted_number},
	    {"NetworkPolicy peer selectors are checked", test_knp_peer_selector_checked},
	    {"host policies refuse L7 rules", test_host_policy_l7},
	    {NULL, NULL}};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (!add_suite("schema: roots", roots, setup, teardown) ||
	    !add_suite("schema: fields", fields, setup, teardown) ||
	    !add_suite("schema: types", types, setup, teardown) ||
	    !add_suite("schema: fixed bugs", fixed, setup, teardown)) {
		CU_cleanup_registry();
		return 1;
	}
	return run_tests();
}
