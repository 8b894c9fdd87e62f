/* Unit tests of labels and selectors (compiler/labels.c) and IP prefixes (compiler/cidr.c). */
#include "unit.h"

#include <arpa/inet.h>

/* ---------------------------------------------------------------- identity label filter */

static void test_identity_filter(void)
{
	/* Cilium's default filter drops these */
	const char *dropped[] = {"pod-template-hash",
				 "pod-template-generation",
				 "controller-revision-hash",
				 "controller-uid",
				 "io.kubernetes.container.name",
				 "kubernetes.io/hostname",
				 "kubernetes.io/metadata.name",
				 "beta.kubernetes.io/arch",
				 "failure-domain.beta.kubernetes.io/zone",
				 "k8s.io/cluster-service",
				 "topology.kubernetes.io/zone",
				 "statefulset.kubernetes.io/pod-name",
				 "apps.kubernetes.io/pod-index",
				 "batch.kubernetes.io/job-completion-index",
				 "batch.kubernetes.io/controller-uid",
				 "annotation.kubernetes.io/config.seen",
				 "etcd_node",
				 NULL};
	for (const char **k = dropped; *k; k++) {
		CU_ASSERT_FALSE(label_is_identity_relevant(*k));
		if (label_is_identity_relevant(*k))
			fprintf(stderr, "    kept %s\n", *k);
	}
	/* ... and keeps these */
	const char *kept[] = {"app",
			      "tier",
			      "app.kubernetes.io/name",
			      "app.kubernetes.io/instance",
			      "app.kubernetes.io/part-of",
			      "io.kubernetes.pod.namespace",
			      "io.cilium.k8s.namespace.labels.team",
			      "io.cilium.k8s.policy.serviceaccount",
			      "io.cilium.k8s.policy.cluster",
			      "example.com/owner",
			      "version",
			      NULL};
	for (const char **k = kept; *k; k++) {
		CU_ASSERT_TRUE(label_is_identity_relevant(*k));
		if (!label_is_identity_relevant(*k))
			fprintf(stderr, "    dropped %s\n", *k);
	}
}

/* ---------------------------------------------------------------- selectors */

static struct label POD_LABELS[] = {
    {"k8s", "app", "web"},
    {"k8s", "io.kubernetes.pod.namespace", "shop"},
    {"container", "app", "legacy"},
    {"reserved", "host", ""},
};
static const struct label_set POD = {POD_LABELS, sizeof(POD_LABELS) / sizeof(*POD_LABELS)};

/* One requirement: key op values... (NULL-terminated). */
static bool match1(const char *key, enum selector_op op, const char *v1, const char *v2,
		   const struct label_set *ls)
{
	const char *values[2] = {v1, v2};
	struct label_req r = {.key = key,
			      .op = op,
			      .values = values,
			      .nvalues = v2   ? 2
					 : v1 ? 1
					      : 0};
	struct selector s = {.presence = P_PRESENT, .reqs = &r, .n = 1};
	return selector_matches(&s, ls);
}

static void test_selector_sources(void)
{
	/* "k8s:app" names the k8s source; a bare key matches a label of any source */
	CU_ASSERT_TRUE(match1("k8s:app", OP_IN, "web", NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:app", OP_IN, "legacy", NULL, &POD));
	CU_ASSERT_TRUE(match1("container:app", OP_IN, "legacy", NULL, &POD));
	CU_ASSERT_FALSE(match1("container:app", OP_IN, "web", NULL, &POD));
	CU_ASSERT_TRUE(match1("app", OP_IN, "web", NULL, &POD));
	CU_ASSERT_TRUE(match1("app", OP_IN, "legacy", NULL, &POD));
	CU_ASSERT_TRUE(match1("any:app", OP_IN, "web", NULL, &POD));
	CU_ASSERT_FALSE(match1("unspec:app", OP_IN, "web", NULL, &POD));
	CU_ASSERT_TRUE(match1("k8s:io.kubernetes.pod.namespace", OP_IN, "shop", NULL, &POD));
	CU_ASSERT_TRUE(match1("io.kubernetes.pod.namespace", OP_IN, "shop", NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:io.kubernetes.pod.namespace", OP_IN, "default", NULL, &POD));
	/* reserved labels: "reserved:host", or the "$host" shorthand */
	CU_ASSERT_TRUE(match1("reserved:host", OP_EXISTS, NULL, NULL, &POD));
	CU_ASSERT_TRUE(match1("reserved:host", OP_IN, "", NULL, &POD));
	CU_ASSERT_TRUE(match1("$host", OP_EXISTS, NULL, NULL, &POD));
	CU_ASSERT_FALSE(match1("reserved:world", OP_EXISTS, NULL, NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:host", OP_EXISTS, NULL, NULL, &POD));
	/* values compare exactly */
	CU_ASSERT_FALSE(match1("k8s:app", OP_IN, "Web", NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:app", OP_IN, "we", NULL, &POD));
}

static void test_selector_operators(void)
{
	CU_ASSERT_TRUE(match1("k8s:app", OP_IN, "db", "web", &POD));
	CU_ASSERT_FALSE(match1("k8s:app", OP_IN, "db", "api", &POD));
	/* NotIn matches a label with another value, and an absent key */
	CU_ASSERT_TRUE(match1("k8s:app", OP_NOT_IN, "db", NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:app", OP_NOT_IN, "web", NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:app", OP_NOT_IN, "db", "web", &POD));
	CU_ASSERT_TRUE(match1("k8s:tier", OP_NOT_IN, "db", NULL, &POD));
	CU_ASSERT_TRUE(match1("k8s:app", OP_EXISTS, NULL, NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:tier", OP_EXISTS, NULL, NULL, &POD));
	CU_ASSERT_TRUE(match1("k8s:tier", OP_DOES_NOT_EXIST, NULL, NULL, &POD));
	CU_ASSERT_FALSE(match1("k8s:app", OP_DOES_NOT_EXIST, NULL, NULL, &POD));
	/* the source counts for Exists too */
	CU_ASSERT_TRUE(match1("container:app", OP_EXISTS, NULL, NULL, &POD));
	CU_ASSERT_TRUE(match1("container:tier", OP_DOES_NOT_EXIST, NULL, NULL, &POD));

	/* requirements are ANDed; an empty selector matches everything, even no labels */
	const char *web[] = {"web"}, *shop[] = {"shop"}, *other[] = {"other"};
	struct label_req reqs[] = {
	    {.key = "k8s:app", .op = OP_IN, .values = web, .nvalues = 1},
	    {.key = "k8s:io.kubernetes.pod.namespace", .op = OP_IN, .values = shop, .nvalues = 1},
	    {.key = "k8s:io.kubernetes.pod.namespace", .op = OP_IN, .values = other, .nvalues = 1},
	};
	struct selector s = {.presence = P_PRESENT, .reqs = reqs, .n = 2};
	CU_ASSERT_TRUE(selector_matches(&s, &POD));
	s.n = 3;
	CU_ASSERT_FALSE(selector_matches(&s, &POD));
	s.n = 0;
	struct label_set none = {NULL, 0};
	CU_ASSERT_TRUE(selector_matches(&s, &POD));
	CU_ASSERT_TRUE(selector_matches(&s, &none));
	CU_ASSERT_FALSE(match1("app", OP_EXISTS, NULL, NULL, &none));
	CU_ASSERT_TRUE(match1("app", OP_NOT_IN, "web", NULL, &none));
}

static void test_selectors_from_yaml(void)
{
	/* the same through the IR: matchLabels become In, and all of it is ANDed */
	struct parsed p;
	parse(&p, "matchLabels: {\"k8s:app\": web}\n"
		  "matchExpressions:\n"
		  "- {key: tier, operator: NotIn, values: [db]}\n"
		  "- {key: \"reserved:host\", operator: DoesNotExist}\n");
	CU_ASSERT_EQUAL_FATAL(p.rc, 0);
	struct arena a = {0};
	struct selector s;
	ir_selector(&a, doc_root(&p, 0), &s);
	CU_ASSERT_EQUAL(s.n, 3);
	struct label without_host[] = {{"k8s", "app", "web"}};
	struct label_set ls = {without_host, 1};
	CU_ASSERT_TRUE(selector_matches(&s, &ls));
	CU_ASSERT_FALSE(selector_matches(&s, &POD)); /* POD has reserved:host */
	arena_free(&a);
	parsed_free(&p);
}

static void test_label_get(void)
{
	CU_ASSERT_STRING_EQUAL(label_get(&POD, "k8s", "app"), "web");
	CU_ASSERT_STRING_EQUAL(label_get(&POD, "container", "app"), "legacy");
	CU_ASSERT_STRING_EQUAL(label_get(&POD, "any", "app"), "web"); /* the first one */
	CU_ASSERT_STRING_EQUAL(label_get(&POD, "reserved", "host"), "");
	CU_ASSERT_PTR_NULL(label_get(&POD, "k8s", "tier"));
	CU_ASSERT_PTR_NULL(label_get(&POD, "reserved", "app"));
}

/* ---------------------------------------------------------------- prefixes */

static void assert_prefix(const char *text, bool bare, int family, const char *addr, int len)
{
	struct prefix p;
	int rc = parse_prefix(text, &p, bare);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "    parse_prefix(\"%s\") = %d\n", text, rc);
		return;
	}
	CU_ASSERT_EQUAL(p.family, family);
	CU_ASSERT_EQUAL(p.len, len);
	unsigned char want[16] = {0};
	CU_ASSERT_EQUAL_FATAL(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, want), 1);
	CU_ASSERT_EQUAL(memcmp(p.addr, want, family == 4 ? 4 : 16), 0);
	char buf[64];
	format_prefix(&p, buf, sizeof buf);
	char expect[80];
	snprintf(expect, sizeof expect, "%s/%d", addr, len);
	CU_ASSERT_STRING_EQUAL(buf, expect);
}

static void test_parse_prefix(void)
{
	assert_prefix("10.0.0.0/8", false, 4, "10.0.0.0", 8);
	assert_prefix("192.0.2.0/24", false, 4, "192.0.2.0", 24);
	assert_prefix("0.0.0.0/0", false, 4, "0.0.0.0", 0);
	assert_prefix("203.0.113.7/32", false, 4, "203.0.113.7", 32);
	/* host bits are cleared, as net.ParseCIDR does */
	assert_prefix("10.1.2.3/8", false, 4, "10.0.0.0", 8);
	assert_prefix("192.0.2.255/25", false, 4, "192.0.2.128", 25);
	assert_prefix("2001:db8::1/32", false, 6, "2001:db8::", 32);
	assert_prefix("2001:db8:ffff:ffff::/33", false, 6, "2001:db8:8000::", 33);
	assert_prefix("::/0", false, 6, "::", 0);
	assert_prefix("fd00::/8", false, 6, "fd00::", 8);
	/* bare addresses: host prefixes where allowed (toCIDR), refused where not (cidr:) */
	assert_prefix("192.0.2.1", true, 4, "192.0.2.1", 32);
	assert_prefix("2001:db8::1", true, 6, "2001:db8::1", 128);
	struct prefix p;
	CU_ASSERT_EQUAL(parse_prefix("192.0.2.1", &p, false), -2);
	CU_ASSERT_EQUAL(parse_prefix("::1", &p, false), -2);
	/* not prefixes at all */
	const char *bad[] = {"",
			     "/8",
			     "10.0.0.0/",
			     "10.0.0.0/33",
			     "10.0.0.0/-1",
			     "10.0.0.0/08",
			     "10.0.0.0/8 ",
			     " 10.0.0.0/8",
			     "300.0.0.0/8",
			     "10.0.0/8",
			     "010.0.0.0/8",
			     "abc",
			     "2001:db8::/129",
			     "2001:db8:::/32",
			     "NODE_WITHOUT_CILIUM_IP/32",
			     "10.0.0.0/8/8",
			     NULL};
	for (const char **b = bad; *b; b++) {
		int rc = parse_prefix(*b, &p, true);
		CU_ASSERT_EQUAL(rc, -1);
		if (rc != -1)
			fprintf(stderr, "    parse_prefix(\"%s\") = %d\n", *b, rc);
	}
}

static struct prefix P(const char *text) {
	struct prefix p;
	CU_ASSERT_EQUAL(parse_prefix(text, &p, true), 0);
	return p;
}

static void
test_prefix_contains(void)
{
	struct prefix a = P("10.0.0.0/8"), b = P("10.1.0.0/16"), c = P("11.0.0.0/16");
	CU_ASSERT_TRUE(prefix_contains(&a, &b));
	CU_ASSERT_FALSE(prefix_contains(&b, &a));
	CU_ASSERT_TRUE(prefix_contains(&a, &a));
	CU_ASSERT_FALSE(prefix_contains(&a, &c));
	struct prefix all4 = P("0.0.0.0/0"), all6 = P("::/0"), host = P("10.255.255.255");
	CU_ASSERT_TRUE(prefix_contains(&all4, &c));
	CU_ASSERT_TRUE(prefix_contains(&a, &host));
	CU_ASSERT_FALSE(prefix_contains(&all6, &a)); /* families never contain each other */
	CU_ASSERT_FALSE(prefix_contains(&all4, &all6));
	struct prefix d = P("2001:db8::/32"), e = P("2001:db8:1::/48"), f = P("2001:db9::/48");
	CU_ASSERT_TRUE(prefix_contains(&d, &e));
	CU_ASSERT_FALSE(prefix_contains(&d, &f));
	CU_ASSERT_TRUE(prefix_contains(&all6, &f));
	/* /31 vs /32 at the bit boundary inside a byte */
	struct prefix g = P("192.0.2.2/31"), h = P("192.0.2.3/32"), i = P("192.0.2.4/32");
	CU_ASSERT_TRUE(prefix_contains(&g, &h));
	CU_ASSERT_FALSE(prefix_contains(&g, &i));
	CU_ASSERT_TRUE(prefix_is_default_route(&all4));
	CU_ASSERT_TRUE(prefix_is_default_route(&all6));
	CU_ASSERT_FALSE(prefix_is_default_route(&a));
}

/* ---------------------------------------------------------------- fixed bugs */

/* Cilium's parseSource treats a key "reserved.host" (no colon) as source reserved, key host. */
static void test_reserved_dot_prefix(void)
{
	CU_ASSERT_TRUE(match1("reserved.host", OP_EXISTS, NULL, NULL, &POD));
}

int main(void)
{
	static const struct test_case labels[] = {
	    {"identity-relevant label filter", test_identity_filter},
	    {"selector sources (k8s:app, app, reserved:host)", test_selector_sources},
	    {"In, NotIn, Exists, DoesNotExist, AND", test_selector_operators},
	    {"selectors from YAML", test_selectors_from_yaml},
	    {"label_get", test_label_get},
	    {NULL, NULL}};
	static const struct test_case cidrs[] = {{"parse_prefix", test_parse_prefix},
						 {"prefix_contains", test_prefix_contains},
						 {NULL, NULL}};
	static const struct test_case fixed[] = {
	    {"\"reserved.\" key prefix means the reserved source", test_reserved_dot_prefix},
	    {NULL, NULL}};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (!add_suite("labels and selectors", labels, NULL, NULL) ||
	    !add_suite("cidr", cidrs, NULL, NULL) ||
	    !add_suite("labels: fixed bugs", fixed, NULL, NULL)) {
		CU_cleanup_registry();
		return 1;
	}
	return run_tests();
}
