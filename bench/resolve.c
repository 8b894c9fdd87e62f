/* bench-resolve: the semantic core's benchmark (see bench/README.md).
 *
 *   bench-resolve [--budget SECONDS] [--option NAME=VALUE]... [--default-limits]
 *                 -i INVENTORY... -p POLICIES...
 *
 * Phase (a), the baseline: read and load the inputs (inventory_load + corpus_load).
 * Phase (b), the subject: cluster_build, translate, then resolve_endpoint for every endpoint
 * in both directions (each map state freed right away, as a consumer that writes it out would).
 *
 * With --budget, endpoints are resolved in an evenly spread order until the budget is spent;
 * the resolve time and entry total for all endpoints are then extrapolated (and say so).
 * A kubectl List of a large cluster is one YAML document far above the reader's default
 * 16 MiB document limit, so the limit is raised to the input limit unless --default-limits.
 *
 * Output: "key value" lines on stdout. Times in seconds, memory in KiB (peak RSS).
 */
#include "polc.h"
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
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
	fputs("usage: bench-resolve [--budget SECONDS] [--option NAME=VALUE]... [--default-limits]\n"
	      "                     -i INVENTORY... -p POLICIES...\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct ptrvec inv_paths = {0}, pol_paths = {0};
	struct semantics sem;
	semantics_defaults(&sem);
	struct load_options lo = {0};
	reader_default_limits(&lo.limits);
	bool raise_limits = true;
	double budget = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char err[256];
		if (!strcmp(a, "--default-limits")) {
			raise_limits = false;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "-i"))
			ptrvec_push(&inv_paths, (void *)v);
		else if (!strcmp(a, "-p"))
			ptrvec_push(&pol_paths, (void *)v);
		else if (!strcmp(a, "--budget"))
			budget = atof(v);
		else if (!strcmp(a, "--option")) {
			if (semantics_set(&sem, v, err, sizeof err) < 0) {
				fprintf(stderr, "bench-resolve: %s\n", err);
				return 2;
			}
		} else
			usage();
	}
	if (!inv_paths.n || !pol_paths.n)
		usage();
	if (raise_limits)
		lo.limits.max_document_bytes = lo.limits.max_input_bytes;

	/* ---- (a) baseline: read and load the inputs */
	struct diag_sink d;
	diag_init(&d);
	double t0 = now();
	struct schema_set *schemas = schema_builtin();
	struct inventory *inv = inventory_load((const char *const *)inv_paths.v, inv_paths.n,
					       &lo.limits, &d);
	struct corpus policies;
	corpus_init(&policies);
	int rc = inv ? corpus_load(&policies, &lo, schemas, (const char *const *)pol_paths.v,
				   pol_paths.n, &d)
		     : -1;
	double t1 = now();
	long rss_load = peak_rss_kb();
	if (rc < 0 || d.counts[SEV_ERROR]) {
		diag_sort(&d);
		diag_render(&d, FORMAT_TEXT, stderr, 0);
		fprintf(stderr, "bench-resolve: the inputs did not load cleanly\n");
		return 2;
	}

	/* ---- (b) subject: identities, flat rules, every endpoint both ways */
	struct cluster *c = cluster_build(inv, &policies, &sem, NULL, &d);
	double t2 = now();
	if (!c) {
		diag_render(&d, FORMAT_TEXT, stderr, 0);
		return 2;
	}
	long rss_build = peak_rss_kb();
	struct flat_policy fp;
	translate(c, &policies, &fp, &d);
	double t3 = now();
	long rss_translate = peak_rss_kb();

	size_t n = c->neps, step = n > 1 ? (size_t)((double)n * 0.6180339887) | 1 : 1;
	while (n > 1 && gcd(step, n) != 1)
		step += 2;
	size_t *per_ep = xcalloc(n + 1, sizeof(size_t));
	size_t done = 0, total = 0, max_dir = 0, over_limit = 0, enforced[2] = {0, 0}, max_ep = 0;
	const struct endpoint *worst = NULL;
	for (size_t k = 0; k < n; k++) {
		const struct endpoint *ep = &c->eps[(k * step) % n];
		size_t sum = 0;
		for (int dir = DIR_INGRESS; dir <= DIR_EGRESS; dir++) {
			struct mapstate ms;
			resolve_endpoint(c, &fp, ep, (enum direction)dir, &ms);
			sum += ms.n;
			enforced[dir] += ms.enforced;
			if (ms.n > max_dir)
				max_dir = ms.n;
			over_limit += ms.n > 16384;
			mapstate_free(&ms);
		}
		per_ep[done++] = sum;
		if (!worst || sum > max_ep) {
			max_ep = sum;
			worst = ep;
		}
		total += sum;
		if (budget > 0 && now() - t3 > budget)
			break;
	}
	double t4 = now();
	long rss_end = peak_rss_kb();
	qsort(per_ep, done, sizeof(size_t), cmp_size);

	double resolve_s = t4 - t3, scale = done ? (double)n / (double)done : 0;
	printf("pods %zu\n", inv->npods);
	printf("namespaces %zu\n", inv->nnamespaces);
	printf("policies %zu\n", policies.policies.n);
	printf("endpoints %zu\n", n);
	printf("identities %zu\n", c->nids);
	printf("flat_rules %zu\n", fp.nrules);
	printf("sections %zu\n", fp.nsections);
	printf("document_limit_raised %d\n", raise_limits);
	printf("load_s %.6f\n", t1 - t0);
	printf("build_s %.6f\n", t2 - t1);
	printf("translate_s %.6f\n", t3 - t2);
	printf("resolve_s %.6f\n", resolve_s);
	printf("resolved_endpoints %zu\n", done);
	printf("resolve_extrapolated %d\n", done < n);
	printf("resolve_all_s %.6f\n", resolve_s * scale);
	printf("resolve_per_endpoint_ms %.6f\n", done ? resolve_s * 1e3 / (double)done : 0);
	printf("load_rss_kb %ld\n", rss_load);
	printf("build_rss_kb %ld\n", rss_build);
	printf("translate_rss_kb %ld\n", rss_translate);
	printf("peak_rss_kb %ld\n", rss_end);
	printf("entries_total %zu\n", total);
	printf("entries_total_all %.0f\n", (double)total * scale);
	printf("entries_per_endpoint_median %zu\n", done ? per_ep[done / 2] : 0);
	printf("entries_per_endpoint_max %zu\n", done ? per_ep[done - 1] : 0);
	printf("entries_per_endpoint_max_at %s\n", worst ? worst->name : "-");
	printf("entries_per_direction_max %zu\n", max_dir);
	printf("directions_over_16384 %zu\n", over_limit);
	printf("enforced_ingress %zu\n", enforced[DIR_INGRESS]);
	printf("enforced_egress %zu\n", enforced[DIR_EGRESS]);
	printf("warnings %zu\n", d.counts[SEV_WARNING]);

	free(per_ep);
	flat_policy_free(&fp);
	cluster_free(c);
	corpus_free(&policies);
	inventory_free(inv);
	schema_free(schemas);
	diag_free(&d);
	ptrvec_free(&inv_paths);
	ptrvec_free(&pol_paths);
	return 0;
}
