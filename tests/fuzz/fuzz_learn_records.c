/* Fuzz target: `polc learn` on flow records: Hubble (`hubble observe -o json`) and
 * `polc observe --json` lines (learner/learn.c records_read, its JSON reader, flows_record),
 * then attribution, synthesis and the emitted policies, which must read back without an error.
 */
#include "learner_synth.h"

#include <stdio.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_synth_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!synth_attr)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size > 1 << 20)
		return 0;
	const char *path = fuzz_scratch_file(".json", data, size);
	struct learn_opts o;
	struct learner L;
	fuzz_learner_init(&L, &o);
	L.attr = synth_attr;
	char err[512];
	(void)file_is_json_lines(path);
	if (records_read(&L, path, err, sizeof err) == 0) {
		flows_flush(&L);
		fuzz_synth(&L);
	}
	learner_free(&L);
	return 0;
}
