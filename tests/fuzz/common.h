/* Shared pieces of polc's fuzz targets (tests/fuzz/README.md).
 *
 * Every target defines LLVMFuzzerTestOneInput and may define LLVMFuzzerInitialize. The same
 * source is linked two ways: with libFuzzer (`make fuzz`, clang -fsanitize=fuzzer) and with
 * replay.c, a small main() that feeds files to the target (`make check` replays the
 * regression inputs and the seeds that way, with whatever sanitizers configure chose).
 *
 * A target calls fuzz_fail() for a broken invariant (an image that does not parse after
 * image_build wrote it, a verdict mismatch): it prints why and aborts, which libFuzzer and
 * the replay driver both report as a crash.
 */
#ifndef POLC_FUZZ_COMMON_H
#define POLC_FUZZ_COMMON_H

#include "polc.h"
#include "imagefile.h"
#include "resolve.h"
#include "trace.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Prints the message (and the diagnostics, if any) to stderr and aborts. */
void fuzz_fail(const struct diag_sink *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* A FILE on /dev/null for rendering output nobody reads. */
FILE *fuzz_devnull(void);

/* The source tree: $POLC_SRCDIR, else the one the target was built from. */
const char *fuzz_srcdir(void);

/* Reads one in-memory stream the way load_path() in load.c reads a file: read_stream, then
 * corpus_add_document for every document unless the stream failed. Returns 0 or -1. */
int fuzz_load_text(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		   const char *name, const void *data, size_t size, struct diag_sink *d);

/* Reads files or directories (relative to the source tree) into a corpus; aborts on an input
 * error, since these are the fixed, known-good halves of a target's input. */
void fuzz_load_fixed(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		     const char *const *rel_paths, size_t n);

/* An inventory from text (NULL after an input error). */
struct inventory *fuzz_inventory_text(const char *name, const void *data, size_t size,
				      struct diag_sink *d);

/* With a session whose inv and policies are set: session_build, then for every node
 * image_build -> image_parse (must succeed) -> image_verify_semantics (must verify) ->
 * image_decide on every endpoint of the image. max_nodes bounds the work. A failed invariant
 * is fuzz_fail(). Returns the number of images checked. */
size_t fuzz_images_roundtrip(struct session *s, size_t max_nodes);

/* Decides a handful of flows on a parsed image and reads every string they point at. */
void fuzz_probe_image(const struct image *img, uint32_t extra_identity, uint16_t extra_port);

/* A scratch file for targets that must go through a path-taking API: a name ending in
 * `suffix` in a private temporary directory (removed at exit), written with data. */
const char *fuzz_scratch_file(const char *suffix, const void *data, size_t size);

/* Does the sink hold an error? */
static inline bool fuzz_has_errors(const struct diag_sink *d)
{
	return d->counts[SEV_ERROR] != 0;
}

#endif
