/* bench-images: what `polc compile` costs, phase by phase (see bench/images/README.md).
 *
 *   bench-images compile -i INVENTORY -p POLICIES [--budget SECONDS] [--reference-budget N]
 *                        [--max-entries N] [--option NAME=VALUE]...
 *   bench-images cidr --out DIR --case egress|deny [--rules N]
 *
 * compile: the same library calls `polc compile --all-nodes` makes, timed one by one.
 *   Phase (a), the baseline: read the inputs (inventory_load + corpus_load).
 *   Phase (b): session_build (identities, flat rules) and the input digests, once.
 *   Phase (c), per node: image_build ("compile"), image_parse (structural verify) and
 *   image_verify_semantics (semantic verify), in that order, as compile_one does. Images are
 *   not written (`polc compile` also fsyncs each file; bench/images/run times that end to end).
 *   With --budget, nodes are done in an evenly spread order until the budget is spent, and the
 *   per-node sums are extrapolated to every node (the output says so).
 *   Output: "key value" lines; seconds, bytes, KiB (peak RSS).
 *
 * cidr: writes Cilium's CIDR benchmark policies (pkg/policy, generateCIDREgressRule and
 *   generateCIDREgressDenyRule) as YAML, with an inventory of one node and one pod labelled
 *   `foo` that every rule selects:
 *   egress: 1000 rules in one CNP "cidr" (Cilium's GenerateCIDRRules gives them one set of
 *           policy labels), each toCIDR one prefix with toPorts one TCP port;
 *   deny:   1000 CNPs "cidr-N", each with that egress rule for N and the deny rule for N+773.
 */
#include "polc.h"
#include "imagefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static size_t gcd(size_t a, size_t b)
{
	while (b) {
		size_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static void usage(void)
{
	fputs("usage: bench-images compile -i INVENTORY -p POLICIES [--budget SECONDS]\n"
	      "                    [--reference-budget N] [--max-entries N] [--option "
	      "NAME=VALUE]...\n"
	      "       bench-images cidr --out DIR --case egress|deny [--rules N]\n",
	      stderr);
	exit(2);
}

/* ---------------------------------------------------------------- compile */

static int run_compile(int argc, char **argv)
{
	struct ptrvec inv = {0}, pol = {0};
	double budget = 0;
	uint32_t max_entries_opt = 16384;
	struct session s;
	session_init(&s);
	s.verify_budget = REFERENCE_BUDGET_COMPILE; /* as polc compile */
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char err[256];
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "-i"))
			ptrvec_push(&inv, (void *)v);
		else if (!strcmp(a, "-p"))
			ptrvec_push(&pol, (void *)v);
		else if (!strcmp(a, "--budget"))
			budget = atof(v);
		else if (!strcmp(a, "--max-entries"))
			max_entries_opt = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--reference-budget"))
			s.verify_budget = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--option")) {
			if (semantics_set(&s.sem, v, err, sizeof err) < 0) {
				fprintf(stderr, "bench-images: %s\n", err);
				return 2;
			}
		} else
			usage();
	}
	if (!inv.n || !pol.n)
		usage();

	/* ---- (a) baseline: read the inputs, as session_load does before session_build */
	double t0 = now(), c0 = cpu_now();
	s.schemas = schema_builtin();
	s.inv = inventory_load((const char *const *)inv.v, inv.n, &s.load.limits, &s.diag);
	int rc = s.inv ? corpus_load(&s.policies, &s.load, s.schemas, (const char *const *)pol.v,
				     pol.n, &s.diag)
		       : -1;
	if (rc < 0 || s.diag.counts[SEV_ERROR]) {
		diag_sort(&s.diag);
		diag_render(&s.diag, FORMAT_TEXT, stderr, 0);
		fprintf(stderr, "bench-images: the inputs did not load cleanly\n");
		return 2;
	}
	for (size_t i = 0; i < s.inv->objects->cidr_groups.n; i++)
		ptrvec_push(&s.policies.cidr_groups, s.inv->objects->cidr_groups.v[i]);
	double t1 = now(), c1 = cpu_now();
	long rss_load = peak_rss_kb();

	/* ---- (b) identities and flat rules, and the digests compile stamps into every image */
	if (session_build(&s) < 0) {
		diag_render(&s.diag, FORMAT_TEXT, stderr, 0);
		return 2;
	}
	struct compile_options o = {.generation = 1, .max_per_endpoint = max_entries_opt};
	digest_inputs(&s.policies, o.policies_digest);
	digest_inputs(s.inv->objects, o.inventory_digest);
	double t2 = now(), c2 = cpu_now();
	long rss_build = peak_rss_kb();

	/* ---- (c) per node: compile, structural verify, semantic verify */
	size_t n = s.inv->nnodes, step = n > 1 ? (size_t)((double)n * 0.6180339887) | 1 : 1;
	while (n > 1 && gcd(step, n) != 1)
		step += 2;
	double t_build = 0, t_parse = 0, t_sem = 0, c_build = 0, c_verify = 0;
	size_t done = 0, bytes = 0, entries = 0, max_entries = 0, endpoints = 0, checks = 0,
	       refchecks = 0, sampled = 0, failed = 0, failed_capacity = 0, ids = 0, over = 0;
	double t_nodes0 = now();
	for (size_t k = 0; k < n; k++) {
		const char *node = s.inv->nodes[(k * step) % n].name;
		o.node = node;
		struct strbuf img = {0};
		struct compile_stats st;
		double a = now(), ca = cpu_now();
		if (image_build(&s, &o, &img, &st, &s.diag) < 0) {
			failed_capacity++;
			sb_free(&img);
			if (budget > 0 && now() - t_nodes0 > budget && done)
				break;
			continue;
		}
		over += st.max_entries > 16384;
		double b = now(), cb = cpu_now();
		uint8_t *copy = aligned_alloc(8, (img.len + 7) & ~(size_t)7);
		memcpy(copy, img.s, img.len);
		struct image parsed;
		int prc = image_parse(copy, img.len, node, &parsed, &s.diag);
		double c = now();
		struct verify_stats vs = {0};
		if (prc == 0 && image_verify_semantics(&parsed, &s, &vs, &s.diag, NULL) < 0)
			prc = -1;
		double e = now(), ce = cpu_now();
		image_free(&parsed);
		failed += prc < 0;
		t_build += b - a;
		t_parse += c - b;
		t_sem += e - c;
		c_build += cb - ca;
		c_verify += ce - cb;
		bytes += img.len;
		entries += st.entries;
		endpoints += st.endpoints;
		ids = st.identities;
		if (st.max_entries > max_entries)
			max_entries = st.max_entries;
		checks += vs.checks;
		refchecks += vs.reference_checks;
		sampled += vs.reference_sampled;
		sb_free(&img);
		done++;
		if (budget > 0 && now() - t_nodes0 > budget)
			break;
	}
	double f = done ? (double)n / (double)done : 1;
	long rss_peak = peak_rss_kb();

	printf("nodes %zu\n", n);
	printf("nodes_done %zu\n", done);
	printf("extrapolated %d\n", done < n);
	printf("pods %zu\n", s.inv->npods);
	printf("policies %zu\n", s.policies.policies.n);
	printf("identities %zu\n", ids);
	printf("load_s %.6f\n", t1 - t0);
	printf("load_cpu_s %.6f\n", c1 - c0);
	printf("session_build_s %.6f\n", t2 - t1);
	printf("session_build_cpu_s %.6f\n", c2 - c1);
	printf("compile_s %.6f\n", t_build * f);
	printf("compile_cpu_s %.6f\n", c_build * f);
	printf("verify_parse_s %.6f\n", t_parse * f);
	printf("verify_semantic_s %.6f\n", t_sem * f);
	printf("verify_s %.6f\n", (t_parse + t_sem) * f);
	printf("verify_cpu_s %.6f\n", c_verify * f);
	printf("image_bytes %.0f\n", (double)bytes * f);
	printf("entries %.0f\n", (double)entries * f);
	printf("endpoints %.0f\n", (double)endpoints * f);
	printf("max_entries_per_endpoint %zu\n", max_entries);
	printf("verify_checks %.0f\n", (double)checks * f);
	printf("reference_checks %.0f\n", (double)refchecks * f);
	printf("reference_sampled_nodes %zu\n", sampled);
	printf("failed_nodes %zu\n", failed);
	printf("failed_capacity_nodes %zu\n", failed_capacity);
	printf("nodes_over_16384 %zu\n", over);
	printf("load_rss_kb %ld\n", rss_load);
	printf("build_rss_kb %ld\n", rss_build);
	printf("peak_rss_kb %ld\n", rss_peak);
	if (failed || failed_capacity) {
		diag_sort(&s.diag);
		diag_render(&s.diag, FORMAT_TEXT, stderr, 0);
	}
	ptrvec_free(&inv);
	ptrvec_free(&pol);
	session_free(&s);
	return failed || failed_capacity ? 1 : 0;
}

/* ---------------------------------------------------------------- Cilium's CIDR rules */

/* generateCIDREgressRule(i): port 80+i%97, prefix /8 /16 /24 /28 /32 by i%5, nets 10/192/244. */
static void egress_cidr(int i, char *cidr, size_t size, int *port)
{
	static const int nets[] = {10, 192, 244};
	static const int lens[] = {8, 16, 24, 28, 32};
	int a = nets[i % 3], len = lens[i % 5];
	*port = 80 + i % 97;
	switch (len) {
	case 8:
		snprintf(cidr, size, "%d.0.0.0/8", a);
		break;
	case 16:
		snprintf(cidr, size, "%d.%d.0.0/16", a, i % 17);
		break;
	case 24:
		snprintf(cidr, size, "%d.%d.%d.0/24", a, i % 17, i % 121);
		break;
	case 28:
		snprintf(cidr, size, "%d.%d.%d.%d/28", a, i % 17, i % 121, (i % 16) << 4);
		break;
	default:
		snprintf(cidr, size, "%d.%d.%d.%d/32", a, i % 17, i % 121, i % 255);
		break;
	}
}

/* generateCIDREgressDenyRule(i): port 80+i%131, prefix by (i+21)%5, moduli 23/119/15/253. */
static void deny_cidr(int i, char *cidr, size_t size, int *port)
{
	static const int nets[] = {10, 192, 244};
	static const int lens[] = {8, 16, 24, 28, 32};
	int a = nets[i % 3], len = lens[(i + 21) % 5];
	*port = 80 + i % 131;
	switch (len) {
	case 8:
		snprintf(cidr, size, "%d.0.0.0/8", a);
		break;
	case 16:
		snprintf(cidr, size, "%d.%d.0.0/16", a, i % 23);
		break;
	case 24:
		snprintf(cidr, size, "%d.%d.%d.0/24", a, i % 23, i % 119);
		break;
	case 28:
		snprintf(cidr, size, "%d.%d.%d.%d/28", a, i % 23, i % 119, (i % 15) << 4);
		break;
	default:
		snprintf(cidr, size, "%d.%d.%d.%d/32", a, i % 23, i % 119, i % 253);
		break;
	}
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench-images: cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return f;
}

static void write_inventory(const char *dir)
{
	FILE *f = open_out(dir, "inventory.yaml");
	fputs("apiVersion: v1\n"
	      "kind: List\n"
	      "items:\n"
	      "- apiVersion: v1\n"
	      "  kind: Namespace\n"
	      "  metadata:\n"
	      "    name: default\n"
	      "    labels:\n"
	      "      kubernetes.io/metadata.name: default\n"
	      "- apiVersion: v1\n"
	      "  kind: Node\n"
	      "  metadata:\n"
	      "    name: node1\n"
	      "    labels:\n"
	      "      kubernetes.io/hostname: node1\n"
	      "  status:\n"
	      "    addresses:\n"
	      "    - type: InternalIP\n"
	      "      address: 172.18.0.11\n"
	      "- apiVersion: v1\n"
	      "  kind: Pod\n"
	      "  metadata:\n"
	      "    name: foo\n"
	      "    namespace: default\n"
	      "    labels:\n"
	      "      foo: \"\"\n"
	      "  spec:\n"
	      "    nodeName: node1\n"
	      "    serviceAccountName: default\n"
	      "    containers:\n"
	      "    - name: foo\n"
	      "      image: registry.example/foo:1\n"
	      "  status:\n"
	      "    phase: Running\n"
	      "    podIP: 10.244.0.10\n"
	      "    podIPs:\n"
	      "    - ip: 10.244.0.10\n",
	      f);
	fclose(f);
}

static void rule_yaml(FILE *f, const char *indent, const char *key, const char *cidr, int port)
{
	fprintf(f, "%s%s:\n", indent, key);
	fprintf(f, "%s- toCIDR:\n%s  - %s\n", indent, indent, cidr);
	fprintf(f, "%s  toPorts:\n%s  - ports:\n%s    - port: \"%d\"\n%s      protocol: TCP\n",
		indent, indent, indent, port, indent);
}

static int run_cidr(int argc, char **argv)
{
	const char *out = NULL, *which = NULL;
	int rules = 1000;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--case"))
			which = argv[i + 1];
		else if (!strcmp(argv[i], "--rules"))
			rules = atoi(argv[i + 1]);
		else
			usage();
	}
	if (argc % 2 || !out || !which || rules < 1 ||
	    (strcmp(which, "egress") && strcmp(which, "deny")))
		usage();
	char dir[4096];
	mkdir(out, 0755);
	snprintf(dir, sizeof dir, "%s/policies", out);
	mkdir(dir, 0755);
	write_inventory(out);
	FILE *f = open_out(dir, "cidr.yaml");
	char cidr[64];
	int port;
	if (!strcmp(which, "egress")) {
		fputs("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
		      "  name: cidr\n  namespace: default\nspecs:\n",
		      f);
		for (int i = 1; i <= rules; i++) {
			egress_cidr(i, cidr, sizeof cidr, &port);
			fputs("- endpointSelector:\n    matchLabels:\n      foo: \"\"\n", f);
			rule_yaml(f, "  ", "egress", cidr, port);
		}
	} else {
		for (int i = 1; i <= rules; i++) {
			fprintf(f,
				"%sapiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
				"  name: cidr-%d\n  namespace: default\nspec:\n"
				"  endpointSelector:\n    matchLabels:\n      foo: \"\"\n",
				i > 1 ? "---\n" : "", i);
			egress_cidr(i, cidr, sizeof cidr, &port);
			rule_yaml(f, "  ", "egress", cidr, port);
			deny_cidr(i + 773, cidr, sizeof cidr, &port);
			rule_yaml(f, "  ", "egressDeny", cidr, port);
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "compile"))
		return run_compile(argc - 2, argv + 2);
	if (!strcmp(argv[1], "cidr"))
		return run_cidr(argc - 2, argv + 2);
	usage();
}
