/* polc: the command line. A table of verbs in the manner of git and bpftool; each verb is a
 * do_<verb> in the file of the thing it acts on. */
#include "polc.h"
#include "config.h"
#include "imagefile.h"
#include "loader.h"
#include "../learner/learn.h"

#include <string.h>

static int do_help(int argc, char **argv);
static int do_version(int argc, char **argv);

static const struct cmd COMMANDS[] = {
	{"lint", do_lint, "check policies for errors and likely mistakes", LINT_USAGE},
	{"trace", do_trace, "decide one flow as Cilium would, and say why", TRACE_USAGE},
	{"test", do_test, "run policy unit tests", TEST_USAGE},
	{"compile", do_compile, "compile policies into verified per-node images", COMPILE_USAGE},
	{"verify", do_verify, "check an image's structure and verdicts", VERIFY_USAGE},
	{"inspect", do_inspect, "dump an image's policy entries", INSPECT_USAGE},
	{"diff", do_diff, "flows newly allowed or denied between two policy sets or images", DIFF_USAGE},
	{"load", do_load, "apply an image to this node's kernel", LOAD_USAGE},
	{"unload", do_unload, "remove everything polc load created", UNLOAD_USAGE},
	{"status", do_status, "show what is enforced on this node", STATUS_USAGE},
	{"observe", do_observe, "stream verdict events", OBSERVE_USAGE},
	{"learn", do_learn, "learn least-privilege policies from captured traffic", LEARN_USAGE},
	{"help", do_help, "show help for polc or for a verb", "polc help [VERB]"},
	{"version", do_version, "print the version", "polc --version"},
};
#define NCOMMANDS (sizeof(COMMANDS) / sizeof(*COMMANDS))

static void usage(FILE *out)
{
	fprintf(out, "usage: polc <verb> [options] [args]\n\nverbs:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
	fprintf(out, "\n'polc <verb> --help' shows a verb's options.\n"
		     "exit status: 0 clean, 1 findings or denied, 2 usage or input error\n");
}

static int do_help(int argc, char **argv)
{
	for (size_t i = 0; argc > 1 && i < NCOMMANDS; i++)
		if (!strcmp(argv[1], COMMANDS[i].name)) {
			fprintf(stdout, "%s\n", COMMANDS[i].usage);
			return EXIT_CLEAN;
		}
	if (argc > 1) {
		fprintf(stderr, "polc: unknown verb '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	usage(stdout);
	return EXIT_CLEAN;
}

static int do_version(int argc, char **argv)
{
	printf("polc %s\n", PACKAGE_VERSION);
	return EXIT_CLEAN;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return do_version(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return do_help(1, argv + 1);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], COMMANDS[i].name))
			return COMMANDS[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "polc: '%s' is not a polc verb\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
