/* bench-yaml-parse: the lint benchmark's baseline. Parses every YAML file under the given
 * paths with libyaml's event parser (yaml_parser_parse over every event, nothing else) and
 * prints what it saw. Files are found the way `polc lint` finds them: directories are walked
 * recursively in sorted order and only *.yaml, *.yml and *.json are read.
 *
 * Output, one line: files N bytes N documents N events N seconds S
 * Exit status: 0, or 1 if a file could not be read or parsed.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <yaml.h>

struct totals {
	unsigned long files, documents, events;
	unsigned long long bytes;
	int errors;
};

static bool wanted(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static void parse_file(const char *path, struct totals *t)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		t->errors++;
		return;
	}
	yaml_parser_t p;
	yaml_event_t e;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		if (!yaml_parser_parse(&p, &e)) {
			fprintf(stderr, "%s:%zu: %s\n", path, p.problem_mark.line + 1,
				p.problem ? p.problem : "parse error");
			t->errors++;
			break;
		}
		t->events++;
		t->documents += e.type == YAML_DOCUMENT_START_EVENT;
		bool end = e.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&e);
		if (end)
			break;
	}
	t->bytes += p.offset;
	t->files++;
	yaml_parser_delete(&p);
	fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *path, struct totals *t)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		t->errors++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		parse_file(path, t);
		return;
	}
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		t->errors++;
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *child = malloc(len);
		if (!child)
			abort();
		snprintf(child, len, "%s/%s", path, names[i]);
		if (stat(child, &st) == 0 && S_ISDIR(st.st_mode))
			walk(child, t);
		else if (wanted(names[i]))
			parse_file(child, t);
		free(child);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: bench-yaml-parse PATH...\n", stderr);
		return 2;
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct totals t = {0};
	for (int i = 1; i < argc; i++)
		walk(argv[i], &t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("files %lu bytes %llu documents %lu events %lu seconds %.6f\n", t.files, t.bytes,
	       t.documents, t.events, (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return t.errors ? 1 : 0;
}
