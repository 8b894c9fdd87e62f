/* Fuzz target: the inventory reader (kubectl get pods,namespaces,nodes,services,endpointslices
 * -o yaml), and everything that reads an inventory.
 *
 *   bytes -> a file -> inventory_load (read_stream with the inventory limits,
 *            corpus_add_document, inventory_build) -> its diagnostics rendered
 *         -> lint of the sample policies with this inventory (selector lints)
 *         -> identities, named ports, services, translation, resolution, and an image per node
 *            (at most 3), parsed back and verified against the sample policies: a mismatch is
 *            a crash.
 * The policies are fixed: samples/testbed/policies and tests/images/cases/named-ports.yaml.
 */
#include "common.h"

#include <string.h>

static struct schema_set *schemas;
static struct corpus policies;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	schemas = schema_builtin();
	corpus_init(&policies);
	struct load_options o = {0};
	reader_default_limits(&o.limits);
	static const char *const pol[] = {"samples/testbed/policies",
					  "tests/images/cases/named-ports.yaml"};
	fuzz_load_fixed(&policies, &o, schemas, pol, 2);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!schemas)
		LLVMFuzzerInitialize(NULL, NULL);
	struct diag_sink d;
	diag_init(&d);
	const char *path = fuzz_scratch_file("-inventory.yaml", data, size);
	struct reader_limits lim;
	reader_default_limits(&lim);
	struct inventory *inv = inventory_load(&path, 1, &lim, &d);
	diag_render(&d, FORMAT_TEXT, fuzz_devnull(), 0);
	if (!inv) {
		diag_free(&d);
		return 0;
	}
	static const char *const probes[] = {"10.0.0.1", "fd00::1", "192.168.1.1", "", "::ffff:10.0.0.1"};
	volatile bool sink = false;
	for (size_t i = 0; i < sizeof probes / sizeof *probes; i++)
		sink |= inventory_is_apiserver(inv, probes[i]);
	for (size_t i = 0; i < inv->npods && i < 64; i++)
		sink |= inventory_is_apiserver(inv, inv->pods[i].nips ? inv->pods[i].ips[0] : "");
	(void)sink;

	struct lint_options lo = {.inv = inv};
	struct diag_sink d2;
	diag_init(&d2);
	lint_corpus(&policies, &lo, &d2);
	diag_sort(&d2);
	diag_render(&d2, FORMAT_JSON, fuzz_devnull(), 0);
	diag_free(&d2);

	struct session s;
	session_init(&s);
	s.schemas = schemas;
	s.inv = inv;
	s.policies = policies;
	s.verify_budget = 20000;
	size_t groups = s.policies.cidr_groups.n;
	for (size_t i = 0; i < inv->objects->cidr_groups.n; i++)
		ptrvec_push(&s.policies.cidr_groups, inv->objects->cidr_groups.v[i]);
	fuzz_images_roundtrip(&s, 3);
	s.policies.cidr_groups.n = groups;
	policies = s.policies; /* the vectors may have grown */
	corpus_init(&s.policies);
	s.schemas = NULL;
	session_free(&s); /* frees inv */
	diag_free(&d);
	return 0;
}
