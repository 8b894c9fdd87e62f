/* Replays inputs through a fuzz target without libFuzzer: `make check` links every target with
 * this main() (and the sanitizers configure chose) and runs it over the target's regression
 * inputs and seeds.
 *
 *   replay-TARGET FILE|DIR...
 *
 * Every regular file (directories are read recursively, in sorted order, skipping names that
 * start with '.' and README/SOURCES files) is passed to LLVMFuzzerTestOneInput once. A
 * crash is a crash: the sanitizer or abort() ends the process with its report, and the name of
 * the input being replayed was printed on stderr just before it. The last line is
 * "N inputs replayed". An input that runs longer than POLC_REPLAY_TIMEOUT seconds (default
 * 120) aborts the replay as a hang.
 */
#include "common.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static size_t replayed;
static int verbose;
static unsigned per_input_seconds = 120;

/* An input that takes longer than POLC_REPLAY_TIMEOUT seconds (default 120) is a hang. */
static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "replay: timeout: this input ran longer than the limit\n";
	ssize_t w = write(2, msg, sizeof msg - 1);
	(void)w;
	abort();
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	struct strbuf sb = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		sb_add(&sb, chunk, n);
	fclose(f);
	/* a copy of exactly the input's size, so that ASan sees any read past its end */
	size_t size = sb.len;
	uint8_t *copy = malloc(size ? size : 1);
	if (size)
		memcpy(copy, sb.s, size);
	sb_free(&sb);
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
	else
		fprintf(stderr, "replay: %s\n", path);
	alarm(per_input_seconds);
	LLVMFuzzerTestOneInput(copy, size);
	alarm(0);
	free(copy);
	replayed++;
}

static int skip_name(const char *name)
{
	return name[0] == '.' || !strncmp(name, "README", 6) || !strncmp(name, "SOURCES", 7);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *dh = opendir(path);
	if (!dh) {
		perror(path);
		exit(2);
	}
	struct ptrvec names = {0};
	struct dirent *de;
	while ((de = readdir(dh)))
		if (!skip_name(de->d_name))
			ptrvec_push(&names, xstrdup(de->d_name));
	closedir(dh);
	if (names.n)
		qsort(names.v, names.n, sizeof(void *), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		size_t len = strlen(path) + strlen(names.v[i]) + 2;
		char *p = xmalloc(len);
		snprintf(p, len, "%s/%s", path, (char *)names.v[i]);
		if (stat(p, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			run_path(p);
		free(p);
		free(names.v[i]);
	}
	ptrvec_free(&names);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	verbose = getenv("POLC_REPLAY_VERBOSE") != NULL;
	const char *t = getenv("POLC_REPLAY_TIMEOUT");
	if (t && atoi(t) > 0)
		per_input_seconds = (unsigned)atoi(t);
	signal(SIGALRM, on_alarm);
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	fprintf(stderr, "\n%zu inputs replayed\n", replayed);
	return 0;
}
