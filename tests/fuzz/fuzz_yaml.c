/* Fuzz target: the YAML -> IR front-end with its limits on, as `polc lint` runs it.
 *
 *   bytes -> read_stream (limits) -> corpus_add_document (schema, IR, Cilium's checks)
 *         -> lint_corpus (with and without the sample inventory) -> diag_render (text, JSON,
 *            SARIF)
 *   and, when the policies load without an error: identities, translation, resolution, an
 *   image per node of the sample inventory, parsed back and verified against the policies
 *   (a mismatch is a crash: the compiler would refuse to write that image).
 *
 * Limits: the defaults (depth 64, 16 MiB documents), except that one input in four (by its
 * size) gets tiny limits (depth 8, 512-byte documents, 4 KiB input) so the limit paths run too.
 */
#include "common.h"

#include <string.h>

static struct schema_set *schemas;
static struct inventory *shop; /* samples/inventory/shop.yaml */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	schemas = schema_builtin();
	struct diag_sink d;
	diag_init(&d);
	static const char *const inv[] = {"samples/inventory/shop.yaml"};
	struct corpus *objects = xcalloc(1, sizeof(*objects));
	corpus_init(objects);
	struct load_options o = {.inventory = true};
	reader_default_limits(&o.limits);
	fuzz_load_fixed(objects, &o, schemas, inv, 1);
	shop = inventory_build(objects);
	diag_free(&d);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!schemas)
		LLVMFuzzerInitialize(NULL, NULL);
	struct load_options o = {0};
	reader_default_limits(&o.limits);
	if (size % 4 == 3) {
		o.limits.max_depth = 8;
		o.limits.max_document_bytes = 512;
		o.limits.max_input_bytes = 4096;
	}
	struct diag_sink d;
	diag_init(&d);
	struct corpus c;
	corpus_init(&c);
	int rc = fuzz_load_text(&c, &o, schemas, "fuzz.yaml", data, size, &d);

	/* lint without, then with, an inventory (the selector lints need one) */
	struct lint_options lo = {.inv = NULL};
	lint_corpus(&c, &lo, &d);
	struct diag_sink d2;
	diag_init(&d2);
	lo.inv = shop;
	lint_corpus(&c, &lo, &d2);
	diag_sort(&d);
	diag_sort(&d2);
	/* the text renderer (source lines, carets, colour) always; JSON or SARIF by turns */
	FILE *null = fuzz_devnull();
	diag_render(&d, FORMAT_TEXT, null, 1);
	diag_render(&d2, size % 2 ? FORMAT_JSON : FORMAT_SARIF, null, 0);

	/* the semantic pipeline, on policies Cilium would accept */
	if (rc == 0 && !fuzz_has_errors(&d) && c.policies.n) {
		struct session s;
		session_init(&s);
		s.schemas = schemas;
		s.inv = shop;
		s.policies = c;
		s.verify_budget = 20000;
		for (size_t i = 0; i < shop->objects->cidr_groups.n; i++)
			ptrvec_push(&s.policies.cidr_groups, shop->objects->cidr_groups.v[i]);
		fuzz_images_roundtrip(&s, 2);
		/* the session borrowed these */
		c = s.policies;
		s.schemas = NULL;
		s.inv = NULL;
		corpus_init(&s.policies);
		session_free(&s);
	}
	corpus_free(&c);
	diag_free(&d);
	diag_free(&d2);
	return 0;
}
