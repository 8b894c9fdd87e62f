/* Fuzz target: the image reader and its structural verification (image_parse), which is what
 * `polc load` runs before it touches the kernel, and what reads a parsed image afterwards.
 *
 * Each input is tried three ways, so the checks behind the digest are reached too (a digest is
 * not a signature: anyone can recompute it):
 *   1. as it is;
 *   2. with the trailing sha256 recomputed;
 *   3. with total_size set to the input's size and the sha256 recomputed.
 * An image that parses must then be usable: image_decide on every endpoint x direction x a few
 * identities, protocols and ports; every string it points at read; and one of `polc inspect`,
 * `polc inspect --json`, `polc diff` with the golden worker1 image either way (by the input).
 */
#include "common.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static char golden[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the verbs print to stdout; nobody reads it */
	if (!freopen("/dev/null", "w", stdout))
		fuzz_fail(NULL, "cannot redirect stdout");
	snprintf(golden, sizeof golden, "%s/tests/images/golden/worker1.polc", fuzz_srcdir());
	return 0;
}

/* The verbs cost far more than the parse: one of them per image, chosen by the input. */
static void run_verbs(const uint8_t *buf, size_t size, unsigned pick)
{
	char *fuzzed = (char *)fuzz_scratch_file(".polc", buf, size);
	char *inspect[] = {"inspect", fuzzed, NULL};
	char *inspect_json[] = {"inspect", "--json", fuzzed, NULL};
	char *diff_ab[] = {"diff", golden, fuzzed, NULL};
	char *diff_ba[] = {"diff", "--json", fuzzed, golden, NULL};
	switch (pick % 4) {
	case 0:
		do_inspect(2, inspect);
		break;
	case 1:
		do_inspect(3, inspect_json);
		break;
	case 2:
		do_diff(3, diff_ab);
		break;
	default:
		do_diff(4, diff_ba);
	}
	fflush(stdout);
}

/* Returns true if the image parsed. */
static bool try_image(const uint8_t *data, size_t size, int variant)
{
	/* aligned, exactly sized (rounded to 8 as image_load does), so reads past the end show */
	size_t alloc = (size + 7) & ~(size_t)7;
	uint8_t *buf = aligned_alloc(8, alloc ? alloc : 8);
	memcpy(buf, data, size);
	if (variant >= 2 && size >= sizeof(struct polc_image_header)) {
		struct polc_image_header h;
		memcpy(&h, buf, sizeof h);
		h.total_size = size;
		memcpy(buf, &h, sizeof h);
	}
	if (variant >= 1 && size >= POLC_DIGEST_SIZE) {
		struct sha256 s;
		sha256_init(&s);
		sha256_update(&s, buf, size - POLC_DIGEST_SIZE);
		sha256_final(&s, buf + size - POLC_DIGEST_SIZE);
	}
	struct diag_sink d;
	diag_init(&d);
	struct image img;
	int rc = image_parse(buf, size, "fuzz.polc", &img, &d);
	if (rc < 0 && !d.counts[SEV_ERROR])
		fuzz_fail(&d, "image_parse refused an image without saying why");
	diag_render(&d, FORMAT_TEXT, fuzz_devnull(), 0);
	if (rc == 0) {
		uint32_t extra_id = 0;
		uint16_t extra_port = 0;
		if (size >= 6) {
			memcpy(&extra_id, data + size - 6, 4);
			memcpy(&extra_port, data + size - 2, 2);
		}
		fuzz_probe_image(&img, extra_id, extra_port);
		run_verbs(img.buf, img.size, (unsigned)size + (size ? data[size / 2] : 0));
	}
	image_free(&img);
	diag_free(&d);
	return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!golden[0])
		LLVMFuzzerInitialize(NULL, NULL);
	if (try_image(data, size, 0))
		return 0; /* a valid image: the other variants would change nothing */
	if (try_image(data, size, 1))
		return 0;
	try_image(data, size, 2);
	return 0;
}
