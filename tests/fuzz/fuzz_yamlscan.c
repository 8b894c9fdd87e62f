/* Fuzz target: the reader's block-subset scanner against libyaml (compiler/reader.h).
 *
 *   bytes -> yaml_scan_fast; when it accepts: yaml_scan_libyaml on the same bytes
 *
 * Invariant: whatever the scanner accepts, libyaml accepts too and reads as the same events,
 * with the same marks, values and styles. The scanner may refuse anything (libyaml then reads
 * the stream); it must never read a stream differently. Seeds: the yaml target's.
 */
#include "common.h"

#include "reader.h"

#include <stdlib.h>
#include <string.h>

static void describe(const char *who, const struct yevent_vec *ev, size_t i)
{
	if (i >= ev->n) {
		fprintf(stderr, "  %s: no event %zu (%zu in all)\n", who, i, ev->n);
		return;
	}
	const struct yevent *e = &ev->v[i];
	fprintf(stderr, "  %s: event %zu: type %d at %d:%d, %s \"%.*s\"\n", who, i, (int)e->type,
		e->line, e->col, e->quoted ? "quoted" : "plain", (int)e->len,
		e->value ? e->value : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yevent_vec fast = {0}, slow = {0};
	if (yaml_scan_fast((const char *)data, size, &fast) == 0) {
		if (yaml_scan_libyaml((const char *)data, size, &slow) < 0)
			fuzz_fail(NULL, "the scanner accepted a stream that libyaml refuses");
		size_t i = yevent_vec_mismatch(&fast, &slow);
		if (i != (size_t)-1) {
			describe("scanner", &fast, i);
			describe("libyaml", &slow, i);
			fuzz_fail(NULL, "the scanner and libyaml read the stream differently");
		}
	}
	yevent_vec_free(&fast);
	yevent_vec_free(&slow);
	return 0;
}
