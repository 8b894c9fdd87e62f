/* polc compile and polc verify: images from policies, and proof that they say the same. */
#include "polc.h"
#include "imagefile.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---------------------------------------------------------------- shared options */

/* Options every verb that loads a cluster understands. Returns 1 if handled, -1 on error. */
enum { OPT_OPTION = 400, OPT_ALLOC, OPT_NODE, OPT_ALL_NODES, OPT_GENERATION, OPT_MAX_ENTRIES,
       OPT_AUDIT, OPT_NO_VERIFY, OPT_BUDGET };

struct cluster_args {
	struct ptrvec inv, pol;
};

static int cluster_option(struct session *s, struct cluster_args *a, int c, const char *verb)
{
	char err[256];
	switch (c) {
	case 'i':
		ptrvec_push(&a->inv, optarg);
		return 1;
	case 'p':
		ptrvec_push(&a->pol, optarg);
		return 1;
	case OPT_OPTION:
		if (semantics_set(&s->sem, optarg, err, sizeof err) < 0) {
			fprintf(stderr, "polc %s: %s\n", verb, err);
			return -1;
		}
		return 1;
	case OPT_ALLOC:
		s->alloc_path = optarg;
		return 1;
	default:
		return 0;
	}
}

static int load_cluster(struct session *s, struct cluster_args *a)
{
	if (session_load(s, (const char *const *)a->inv.v, a->inv.n, (const char *const *)a->pol.v,
			 a->pol.n) < 0) {
		diag_sort(&s->diag);
		diag_render(&s->diag, FORMAT_TEXT, stderr, -1);
		return -1;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- compile */

struct compile_args {
	struct compile_options o;
	const char *outdir;
	bool all_nodes, verify, json;
	struct ptrvec nodes, audit;
};

static int parse_u64(const char *verb, const char *opt, const char *arg, unsigned long max,
		     unsigned long *out)
{
	if (parse_uint(arg, max, out))
		return 0;
	fprintf(stderr, "polc %s: %s wants a number up to %lu, got '%s'\n", verb, opt, max, arg);
	return -1;
}

/* 0, -1 for a finding (capacity, verification), -2 when the image cannot be written. */
static int compile_one(struct session *s, struct compile_args *a, const char *node,
		       struct json *j)
{
	struct diag_sink *d = &s->diag;
	a->o.node = node;
	struct strbuf img = {0};
	struct compile_stats st;
	double t0 = now();
	if (image_build(s, &a->o, &img, &st, d) < 0)
		return -1;
	double t_build = now() - t0;
	char path[4096], err[512];
	snprintf(path, sizeof path, "%s/%s.polc", a->outdir, node);
	struct verify_stats vs = {0};
	double t_verify = 0;
	if (a->verify) {
		/* Verify the bytes as they will be on disk, before they are on disk. */
		uint8_t *copy = aligned_alloc(8, (img.len + 7) & ~(size_t)7);
		memcpy(copy, img.s, img.len);
		struct image parsed;
		t0 = now();
		int rc = image_parse(copy, img.len, path, &parsed, d);
		if (rc == 0)
			rc = image_verify_semantics(&parsed, s, &vs, d, NULL);
		t_verify = now() - t0;
		image_free(&parsed);
		if (rc < 0) {
			sb_free(&img);
			fprintf(stderr, "polc compile: %s failed verification; nothing written\n", path);
			return -1;
		}
	}
	if (write_file_atomic(path, img.s, img.len, err, sizeof err) < 0) {
		fprintf(stderr, "polc compile: %s\n", err);
		sb_free(&img);
		return -2; /* not a finding about the policies: the output cannot be written */
	}
	sb_free(&img);
	if (j) {
		json_obj_open(j, NULL);
		json_str(j, "node", node);
		json_str(j, "image", path);
		json_int(j, "endpoints", (long long)st.endpoints);
		json_int(j, "identities", (long long)st.identities);
		json_int(j, "entries", (long long)st.entries);
		json_int(j, "max_entries_per_endpoint", (long long)st.max_entries);
		json_str(j, "max_endpoint", st.max_endpoint);
		json_int(j, "capacity_per_endpoint", a->o.max_per_endpoint);
		json_int(j, "bytes", (long long)st.bytes);
		json_bool(j, "verified", a->verify);
		json_int(j, "verify_checks", (long long)vs.checks);
		json_int(j, "reference_checks", (long long)vs.reference_checks);
		json_int(j, "build_ms", (long long)(t_build * 1000));
		json_int(j, "verify_ms", (long long)(t_verify * 1000));
		json_obj_close(j);
	} else {
		printf("%s: %zu endpoints, %zu identities, %zu entries (max %zu of %u per endpoint%s%s%s), "
		       "%zu bytes, built in %.2fs",
		       path, st.endpoints, st.identities, st.entries, st.max_entries,
		       a->o.max_per_endpoint, st.max_endpoint ? ": " : "",
		       st.max_endpoint ? st.max_endpoint : "", "", st.bytes, t_build);
		if (a->verify)
			printf(", verified in %.2fs (%zu flows, %zu by the reference%s)", t_verify,
			       vs.checks, vs.reference_checks, vs.reference_sampled ? ", sampled" : "");
		putchar('\n');
	}
	return 0;
}

static int parse_compile(int argc, char **argv, struct session *s, struct cluster_args *ca,
			 struct compile_args *a)
{
	static const struct option opts[] = {
		{"inventory", required_argument, NULL, 'i'},
		{"policies", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"node", required_argument, NULL, OPT_NODE},
		{"all-nodes", no_argument, NULL, OPT_ALL_NODES},
		{"generation", required_argument, NULL, OPT_GENERATION},
		{"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
		{"audit", required_argument, NULL, OPT_AUDIT},
		{"no-verify", no_argument, NULL, OPT_NO_VERIFY},
		{"reference-budget", required_argument, NULL, OPT_BUDGET},
		{"option", required_argument, NULL, OPT_OPTION},
		{"alloc", required_argument, NULL, OPT_ALLOC},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int c;
	unsigned long v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:p:o:jh", opts, NULL)) != -1) {
		int handled = cluster_option(s, ca, c, "compile");
		if (handled < 0)
			return -1;
		if (handled)
			continue;
		switch (c) {
		case 'o':
			a->outdir = optarg;
			break;
		case OPT_NODE:
			ptrvec_push(&a->nodes, optarg);
			break;
		case OPT_ALL_NODES:
			a->all_nodes = true;
			break;
		case OPT_GENERATION:
			if (parse_u64("compile", "--generation", optarg, (unsigned long)-1, &v) < 0)
				return -1;
			a->o.generation = v;
			break;
		case OPT_MAX_ENTRIES:
			if (parse_u64("compile", "--max-entries", optarg, 1u << 24, &v) < 0)
				return -1;
			if (!v) {
				fprintf(stderr, "polc compile: --max-entries wants a number from 1 to "
						"%u, got '%s'\n", 1u << 24, optarg);
				return -1;
			}
			a->o.max_per_endpoint = (uint32_t)v;
			break;
		case OPT_AUDIT:
			ptrvec_push(&a->audit, optarg);
			break;
		case OPT_NO_VERIFY:
			a->verify = false;
			break;
		case OPT_BUDGET:
			if (parse_u64("compile", "--reference-budget", optarg, 1ul << 40, &v) < 0)
				return -1;
			s->verify_budget = v;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			puts(COMPILE_USAGE);
			return 0;
		default:
			fprintf(stderr, "%s\n", COMPILE_USAGE);
			return -1;
		}
	}
	if (cli_no_operands("compile", argc, argv, optind, "policies go after -p") < 0)
		return -1;
	if (!ca->inv.n || !a->outdir || (!a->all_nodes && !a->nodes.n)) {
		fprintf(stderr, "polc compile: needs -i, -o and --node NAME or --all-nodes\n%s\n",
			COMPILE_USAGE);
		return -1;
	}
	return 1;
}

int do_compile(int argc, char **argv)
{
	struct session s;
	session_init(&s);
	struct cluster_args ca = {0};
	struct compile_args a = {.verify = true};
	/* compile spot-checks the reference; polc verify checks far more (--reference-budget) */
	s.verify_budget = REFERENCE_BUDGET_COMPILE;
	a.o.generation = 1;
	a.o.max_per_endpoint = 16384;
	int rc = EXIT_USAGE, parsed = parse_compile(argc, argv, &s, &ca, &a);
	if (parsed <= 0) {
		rc = parsed == 0 ? EXIT_CLEAN : EXIT_USAGE;
		goto out;
	}
	if (mkdir(a.outdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "polc compile: cannot create %s: %s\n", a.outdir, strerror(errno));
		goto out;
	}
	if (load_cluster(&s, &ca) < 0)
		goto out;
	a.o.audit = (const char *const *)a.audit.v;
	a.o.naudit = a.audit.n;
	digest_inputs(&s.policies, a.o.policies_digest);
	digest_inputs(s.inv->objects, a.o.inventory_digest);
	if (a.all_nodes)
		for (size_t i = 0; i < s.inv->nnodes; i++)
			ptrvec_push(&a.nodes, (void *)s.inv->nodes[i].name);
	struct json j;
	if (a.json) {
		json_begin(&j, stdout, true);
		json_arr_open(&j, NULL);
	}
	rc = EXIT_CLEAN;
	for (size_t i = 0; i < a.nodes.n; i++) {
		bool known = false;
		for (size_t k = 0; k < s.inv->nnodes; k++)
			known |= !strcmp(s.inv->nodes[k].name, a.nodes.v[i]);
		if (!known) {
			fprintf(stderr, "polc compile: node '%s' is not in the inventory\n",
				(char *)a.nodes.v[i]);
			rc = EXIT_USAGE;
			continue;
		}
		int one = compile_one(&s, &a, a.nodes.v[i], a.json ? &j : NULL);
		if (one == -2)
			rc = EXIT_USAGE;
		else if (one < 0 && rc == EXIT_CLEAN)
			rc = EXIT_FINDINGS;
	}
	if (a.json) {
		json_arr_close(&j);
		json_end(&j);
	}
	/* Carry the numbering forward: the next compile keeps every identity it can. */
	if (rc == EXIT_CLEAN && s.alloc_path) {
		int err = identity_write_alloc(s.cluster, s.alloc_path);
		if (err < 0) {
			fprintf(stderr, "polc compile: cannot write %s: %s\n", s.alloc_path,
				strerror(-err));
			rc = EXIT_USAGE;
		}
	}
	if (s.diag.n) {
		diag_sort(&s.diag);
		diag_render(&s.diag, FORMAT_TEXT, stderr, -1);
	}
out:
	ptrvec_free(&ca.inv);
	ptrvec_free(&ca.pol);
	ptrvec_free(&a.nodes);
	ptrvec_free(&a.audit);
	session_free(&s);
	return rc;
}

/* ---------------------------------------------------------------- verify */

int do_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"inventory", required_argument, NULL, 'i'},
		{"policies", required_argument, NULL, 'p'},
		{"option", required_argument, NULL, OPT_OPTION},
		{"alloc", required_argument, NULL, OPT_ALLOC},
		{"reference-budget", required_argument, NULL, OPT_BUDGET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct session s;
	session_init(&s);
	struct cluster_args ca = {0};
	int c, rc = EXIT_USAGE;
	unsigned long v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:p:h", opts, NULL)) != -1) {
		int handled = cluster_option(&s, &ca, c, "verify");
		if (handled < 0)
			goto out;
		if (handled)
			continue;
		if (c == OPT_BUDGET && parse_u64("verify", "--reference-budget", optarg, 1ul << 40, &v) == 0) {
			s.verify_budget = v;
			continue;
		}
		puts(VERIFY_USAGE);
		rc = c == 'h' ? EXIT_CLEAN : EXIT_USAGE;
		goto out;
	}
	if (optind >= argc) {
		fprintf(stderr, "polc verify: no image given\n%s\n", VERIFY_USAGE);
		goto out;
	}
	if (ca.inv.n && load_cluster(&s, &ca) < 0)
		goto out;
	rc = EXIT_CLEAN;
	for (int i = optind; i < argc; i++) {
		struct image img;
		struct verify_stats vs;
		if (image_load(argv[i], &img, &s.diag) < 0) {
			rc = EXIT_FINDINGS;
			image_free(&img);
			continue;
		}
		if (!ca.inv.n) {
			printf("%s: structure verified (node %s, generation %llu, %zu entries); give -i "
			       "and -p to verify its verdicts\n",
			       argv[i], img.hdr->node_name, (unsigned long long)img.hdr->generation,
			       img.nentries);
		} else if (image_verify_semantics(&img, &s, &vs, &s.diag, stdout) < 0) {
			rc = EXIT_FINDINGS;
		}
		image_free(&img);
	}
	if (s.diag.n) {
		diag_sort(&s.diag);
		diag_render(&s.diag, FORMAT_TEXT, stderr, -1);
	}
out:
	ptrvec_free(&ca.inv);
	ptrvec_free(&ca.pol);
	session_free(&s);
	return rc;
}
