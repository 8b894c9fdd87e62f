/* Fuzz target: `polc learn` on a capture file, end to end.
 *
 *   bytes -> a file -> capture_add_file (libpcap: pcap or pcapng) -> capture_run (link layers,
 *   decoder, flows, L7) -> flows_flush -> attribution and synthesis against the sample
 *   inventory -> the emitted policies, which must read back without an error.
 */
#include "learner_synth.h"

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
	const char *path = fuzz_scratch_file(".pcap", data, size);
	struct learn_opts o;
	struct learner L;
	fuzz_learner_init(&L, &o);
	L.attr = synth_attr;
	volatile int stop = 0;
	L.stop = &stop;
	struct capture *cap = capture_new(&L);
	char err[512];
	(void)capture_file_is_pcap(path);
	if (capture_add_file(cap, path, err, sizeof err) == 0) {
		capture_run(cap, NULL, NULL);
		capture_free(cap);
		flows_flush(&L);
		fuzz_synth(&L);
	} else {
		capture_free(cap);
	}
	learner_free(&L);
	return 0;
}
