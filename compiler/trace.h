/* Flows: deciding one flow both ways (trace.c), and the verbs built on it (trace, test). */
#ifndef POLC_TRACE_H
#define POLC_TRACE_H

#include "resolve.h"

/* Everything a flow question needs, loaded once. */
struct session {
	struct load_options load;
	struct semantics sem;
	struct diag_sink diag;
	struct schema_set *schemas;
	struct inventory *inv;
	struct corpus policies;
	struct cluster *cluster;
	struct flat_policy flat;
	bool flat_ready;
	const char *alloc_path;
	size_t verify_budget; /* reference evaluations before verify samples; 0: default */
	struct verify_memo *verify_memo; /* endpoints verified so far (made by session_build) */
	bool with_images;     /* also decide flows through compiled images (polc test) */
	struct image *images; /* one per node, when with_images */
	size_t nimages;
};
void session_init(struct session *s);
int session_load(struct session *s, const char *const *inv, size_t ninv,
		 const char *const *pol, size_t npol);
/* (Re)computes identities and flat rules from s->inv and s->policies. */
int session_build(struct session *s);
void session_free(struct session *s);

struct image;

/* One side of a flow as the user named it. */
struct party {
	const char *text;
	const struct endpoint *ep; /* a local endpoint, or NULL */
	const struct identity *id;
	const char *ip;
};

struct half {
	bool present;
	enum direction dir;
	const struct endpoint *local;
	const struct identity *remote;
	const char *remote_name;
	bool enforced;
	struct flow_result fast;
	struct ref_result ref;
	bool agree;
	bool imaged;          /* decided through the node's image too */
	enum reason image_reason;
};

struct trace_result {
	struct party src, dst;
	uint8_t proto;
	uint16_t port;
	struct half egress, ingress;
	enum verdict verdict;
};

int parse_flow_port(const char *text, uint8_t *proto, uint16_t *port);
void format_port(uint8_t proto, uint16_t port, char *buf, size_t size);
int trace_flow(const struct session *s, const char *from, const char *to, const char *port,
	       struct trace_result *r, char *err, size_t errsize);
void trace_print_text(FILE *out, const struct trace_result *r);
void trace_print_json(struct json *j, const struct trace_result *r);

int do_trace(int argc, char **argv);
int do_test(int argc, char **argv);

#define TRACE_USAGE                                                                               \
	"usage: polc trace -i INVENTORY [-p POLICIES] --from SRC --to DST --port PORT [--json]\n" \
	"\n"                                                                                      \
	"Decides one flow the way Cilium would: egress at the source, ingress at the\n"          \
	"destination, each with the rule that decides it.\n"                                    \
	"\n"                                                                                      \
	"  -i, --inventory FILE   kubectl get pods,namespaces,nodes,services,endpointslices -A\n" \
	"                         -o yaml (or json); repeatable\n"                               \
	"  -p, --policies PATH    policy files or directories; repeatable\n"                     \
	"  -f, --from SRC         ns/pod, ns/workload, an IP, or entity:NAME (world, host, ...)\n" \
	"  -t, --to DST           the same forms\n"                                              \
	"  -P, --port PORT        8080/TCP, 53/UDP, 8080 (TCP), ICMP/8, ICMPv6/128\n"            \
	"      --option NAME=VAL  a Cilium agent option (see docs/semantics.md); repeatable\n"    \
	"      --alloc FILE       keep identity numbers from an allocation file\n"               \
	"  -j, --json             machine-readable output\n"                                     \
	"\n"                                                                                      \
	"Exit status: 0 allowed, 1 denied, 2 usage or input error."

#define TEST_USAGE                                                                                \
	"usage: polc test [--json] [--verbose] FILE|DIR...\n"                                     \
	"\n"                                                                                      \
	"Runs policy unit tests (docs/policy-tests.md): each file names an inventory, policies,\n" \
	"agent options and expected verdicts {from, to, port, verdict, reason}, with optional\n"  \
	"steps that add or remove objects. Failures print the trace explanation; the last line\n" \
	"is 'N passed, N failed'.\n"                                                             \
	"\n"                                                                                      \
	"Exit status: 0 all passed, 1 a test failed, 2 usage or input error."

#endif
