/* Images in polc's userspace: building (image_write.c), reading with structural checks
 * (image_read.c), and the verbs on them: compile, verify, inspect, diff. The layout itself is
 * runtime-bpf/image.h; the verdict logic is runtime-bpf/lookup.h. */
#ifndef POLC_IMAGEFILE_H
#define POLC_IMAGEFILE_H

#include "trace.h"
#include "image.h"


/* A parsed image; every pointer points into buf. */
struct image {
	uint8_t *buf;
	size_t size;
	const char *path;
	const struct polc_image_header *hdr;
	const char *strings;
	size_t strings_len;
	const struct polc_identity_rec *ids;
	size_t nids;
	const struct polc_ipcache_exact *exact;
	size_t nexact;
	const struct polc_ipcache_prefix *prefixes;
	size_t nprefixes;
	const struct polc_endpoint_rec *eps;
	size_t neps;
	const struct polc_policy_entry *entries;
	size_t nentries;
	const struct polc_l7_rec *l7;
	size_t nl7;
	const struct polc_origin *origins;
	size_t norigins;
	/* Endpoint e's entries are entries[ep_first[e]] up to entries[ep_first[e + 1]], for
	 * e + 1 < nep_first (made by image_parse once the entries are known to be sorted). */
	size_t *ep_first;
	size_t nep_first;
};

struct compile_options {
	const char *node;
	uint64_t generation;
	uint32_t max_per_endpoint; /* default 16384, as Cilium's bpf-policy-map-max */
	const char *const *audit;  /* endpoint names to put in audit mode */
	size_t naudit;
	uint8_t policies_digest[32], inventory_digest[32];
};

struct compile_stats {
	size_t endpoints, identities, entries, max_entries;
	const char *max_endpoint;
	size_t bytes;
};

/* Builds the image of one node into out (a complete file). Returns 0, or -1 after reporting
 * (capacity overflow names the endpoint and the policies that contribute most). */
int image_build(const struct session *s, const struct compile_options *o, struct strbuf *out,
		struct compile_stats *st, struct diag_sink *d);
/* Writes atomically: a temp file in the same directory, fsync, rename, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t n, char *err, size_t errsize);
/* Digest of a set of input files, independent of their order. */
void digest_inputs(const struct corpus *c, uint8_t out[32]);

/* Structural verification: magic, versions, sizes, digest, bounds, order, references.
 * Takes ownership of buf. Returns 0, or -1 after reporting what is wrong. */
int image_parse(uint8_t *buf, size_t size, const char *path, struct image *img,
		struct diag_sink *d);
int image_load(const char *path, struct image *img, struct diag_sink *d);
void image_free(struct image *img);
const char *image_string(const struct image *img, uint32_t off);
/* The datapath's decision, simulated over the image's sorted policy entries. */
void image_decide(const struct image *img, uint16_t endpoint, uint8_t egress, uint32_t remote,
		  uint8_t proto, uint16_t port, struct polc_decision *out);
const struct polc_endpoint_rec *image_endpoint_by_name(const struct image *img,
						       const char *name);
const struct polc_origin *image_origin(const struct image *img, uint32_t cookie);

/* A datapath decision as a polc reason (allowed, l7-redirect, policy-deny, ...). */
enum reason reason_of_decision(const struct polc_decision *dec);

/* The verbs. */
int do_compile(int argc, char **argv);
int do_verify(int argc, char **argv);
int do_inspect(int argc, char **argv);
int do_diff(int argc, char **argv);

/* Semantic verification of an image against its sources (verify.c). */
/* How many flows the reference evaluator checks per image before it samples: polc compile
 * spot-checks, polc verify checks far more. */
#define REFERENCE_BUDGET_COMPILE 2000
#define REFERENCE_BUDGET_VERIFY 200000

struct verify_stats {
	size_t endpoints, checks, reference_checks, mismatches;
	size_t twins; /* endpoints whose twin was verified before (verify.c) */
	bool reference_sampled;
};
/* What a session has verified already, so twins on other nodes are not verified again. */
struct verify_memo *verify_memo_new(void);
void verify_memo_free(struct verify_memo *m);
int image_verify_semantics(const struct image *img, const struct session *s,
			   struct verify_stats *st, struct diag_sink *d, FILE *report);

#define COMPILE_USAGE                                                                             \
	"usage: polc compile -i INVENTORY -p POLICIES -o OUTDIR (--node NAME | --all-nodes)\n"    \
	"                    [--generation N] [--max-entries N] [--audit ENDPOINT] [--no-verify]\n" \
	"                    [--option NAME=VALUE] [--alloc FILE] [--json]\n"                    \
	"\n"                                                                                      \
	"Writes OUTDIR/NODE.polc for each node: the node's endpoints and their policy entries\n"  \
	"plus the cluster-wide ipcache, deterministic and checksummed. Each image is verified\n"  \
	"before it is written (atomically); one that fails verification is never left behind.\n" \
	"\n"                                                                                      \
	"  -i, --inventory FILE  kubectl get ... -o yaml (or json); repeatable\n"                 \
	"  -p, --policies PATH   policy files or directories; repeatable\n"                       \
	"  -o, --output DIR      where NODE.polc goes (created if missing)\n"                     \
	"      --node NAME       compile this node's image; repeatable\n"                         \
	"      --all-nodes       one image per node of the inventory\n"                           \
	"      --no-verify       skip verification (not recommended)\n"                           \
	"      --option NAME=VAL a Cilium agent option (docs/semantics.md); repeatable\n"        \
	"  -j, --json            statistics as JSON\n"                                            \
	"      --generation N    stamped into the image; a loader only replaces a lower one\n"     \
	"      --alloc FILE      keep identity numbers from FILE, and write the numbering back\n"  \
	"      --max-entries N   policy entries per endpoint (default 16384, like Cilium)\n"       \
	"      --audit ENDPOINT  ns/pod to put in audit mode (verdicts reported, traffic passes)\n" \
	"      --reference-budget N  flows also checked by the reference evaluator (2000;\n"    \
	"                        every flow class is always checked against the resolved policy)\n"    \
	"\n"                                                                                      \
	"Exit status: 0 written and verified, 1 capacity or verification failure, 2 usage or\n"  \
	"input error."

#define VERIFY_USAGE                                                                              \
	"usage: polc verify IMAGE... [-i INVENTORY -p POLICIES] [--option NAME=VALUE]\n"          \
	"                   [--alloc FILE] [--reference-budget N]\n"                             \
	"\n"                                                                                      \
	"Checks an image's structure (magic, versions, digest, bounds, order, references,\n"     \
	"capacity) and, given its sources, that it decides every flow class as they do. A\n"     \
	"mismatch prints a counterexample flow with both answers and the rules involved.\n"      \
	"\n"                                                                                      \
	"  --reference-budget N  flows also checked by the reference evaluator (200000)\n"       \
	"\n"                                                                                      \
	"Exit status: 0 verified, 1 damaged or mismatched, 2 usage or input error."

#define INSPECT_USAGE                                                                             \
	"usage: polc inspect IMAGE [--endpoint ns/pod] [--json]\n"                                \
	"\n"                                                                                      \
	"Dumps an image's policy entries like `cilium bpf policy get`: direction, identity and\n" \
	"labels, port/protocol (ranges as ranges), verdict, proxy, auth, prefix, origin rule.\n" \
	"\n"                                                                                      \
	"Exit status: 0 shown, 1 the image is damaged, 2 usage error."

#define DIFF_USAGE                                                                                \
	"usage: polc diff OLD NEW [-i INVENTORY] [--json] [--fail-on-new-allow]\n"                \
	"\n"                                                                                      \
	"  -i, --inventory FILE  needed to compare policy sets; repeatable\n"                    \
	"\n"                                                                                      \
	"OLD and NEW are two images (*.polc) or two policy sets (files or directories, which\n"  \
	"need -i). Prints the flows that become allowed and those that become denied, grouped\n" \
	"by source, destination and ports.\n"                                                    \
	"\n"                                                                                      \
	"Exit status: 0, or 1 with --fail-on-new-allow when something is newly allowed; 2 usage\n" \
	"or input error."

#endif
