/* Helpers shared by the CUnit test programs in tests/unit/.
 *
 * Every program is one main() that registers suites and runs them in CUnit's verbose basic
 * mode; it exits 1 when any assertion failed (or CUnit itself failed), so `make check` sees it.
 */
#ifndef POLC_TESTS_UNIT_H
#define POLC_TESTS_UNIT_H

#include "polc.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- reading inline text */

/* When set, parse() reads with libyaml alone, skipping the block-subset scanner: test_reader
 * runs its suites both ways, so that both front ends meet the same expectations. */
static bool unit_libyaml_only;

/* One YAML/JSON stream read from a string; everything lives in its own arena. */
struct parsed {
	struct arena arena;
	struct diag_sink d;
	struct source *src;
	struct ptrvec docs; /* struct document * */
	int rc;
};

static inline void parse_with(struct parsed *p, const char *text, size_t len,
			      const struct reader_limits *lim)
{
	memset(p, 0, sizeof(*p));
	diag_init(&p->d);
	struct reader_limits use;
	if (lim)
		use = *lim;
	else
		reader_default_limits(&use);
	use.libyaml_only = unit_libyaml_only;
	FILE *in = fmemopen((void *)text, len, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	p->rc = read_stream(&p->arena, "inline.yaml", in, &use, &p->d, &p->src, &p->docs);
	fclose(in);
}

static inline void parse(struct parsed *p, const char *text)
{
	parse_with(p, text, strlen(text), NULL);
}

static inline struct node *doc_root(const struct parsed *p, size_t i)
{
	return i < p->docs.n ? ((struct document *)p->docs.v[i])->root : NULL;
}

static inline void parsed_free(struct parsed *p)
{
	ptrvec_free(&p->docs);
	diag_free(&p->d);
	arena_free(&p->arena);
}

/* ---- looking at diagnostics */

static inline size_t count_rule(const struct diag_sink *d, enum rule_id r)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].rule == r;
	return n;
}

/* The first diagnostic with this rule, or NULL. */
static inline const struct diagnostic *find_rule(const struct diag_sink *d, enum rule_id r)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].rule == r)
			return &d->v[i];
	return NULL;
}

static inline bool contains(const char *haystack, const char *needle)
{
	return haystack && needle && strstr(haystack, needle) != NULL;
}

/* Prints the diagnostics of a failing case, so a failure says what polc said. */
static inline void dump_diags(const struct diag_sink *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "    diag %zu: %d:%d %s: %s%s%s\n", i, d->v[i].line, d->v[i].col,
			rule_table[d->v[i].rule].id, d->v[i].message,
			d->v[i].hint ? " | hint: " : "", d->v[i].hint ? d->v[i].hint : "");
}

/* Asserts the sink holds exactly one diagnostic, of rule r at line:col. */
#define ASSERT_ONLY_DIAG(d, r, l, c)                                                               \
	do {                                                                                       \
		CU_ASSERT_EQUAL((d)->n, 1);                                                        \
		if ((d)->n != 1)                                                                   \
			dump_diags(d);                                                             \
		if ((d)->n >= 1) {                                                                 \
			CU_ASSERT_EQUAL((d)->v[0].rule, (r));                                      \
			CU_ASSERT_EQUAL((d)->v[0].line, (l));                                      \
			CU_ASSERT_EQUAL((d)->v[0].col, (c));                                       \
		}                                                                                  \
	} while (0)

/* ---- loading whole documents through the pipeline (corpus_load) */

struct loaded {
	struct corpus c;
	struct diag_sink d;
	int rc;
};

/* Writes text to a temporary file (in $TMPDIR, else the working directory) and loads it. */
static inline void load_text(struct loaded *l, const struct schema_set *s, const char *text)
{
	memset(l, 0, sizeof(*l));
	corpus_init(&l->c);
	diag_init(&l->d);
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/polc-unit-XXXXXX", dir && *dir ? dir : ".");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	size_t len = strlen(text);
	CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
	close(fd);
	struct load_options o = {0};
	reader_default_limits(&o.limits);
	const char *args[] = {path};
	l->rc = corpus_load(&l->c, &o, s, args, 1, &l->d);
	unlink(path);
}

static inline struct policy *loaded_policy(const struct loaded *l, size_t i)
{
	return i < l->c.policies.n ? l->c.policies.v[i] : NULL;
}

static inline void loaded_free(struct loaded *l)
{
	corpus_free(&l->c);
	diag_free(&l->d);
}

/* ---- running */

struct test_case {
	const char *name;
	CU_TestFunc fn;
};

/* Registers one suite of tests (setup and teardown may be NULL); false if CUnit could not. */
static inline bool add_suite(const char *name, const struct test_case *tests,
			     CU_InitializeFunc setup, CU_CleanupFunc teardown)
{
	CU_pSuite s = CU_add_suite(name, setup, teardown);
	if (!s)
		return false;
	for (const struct test_case *t = tests; t->name; t++)
		if (!CU_add_test(s, t->name, t->fn))
			return false;
	return true;
}

/* Runs everything registered, verbosely; the exit status of the test program. */
static inline int run_tests(void)
{
	CU_set_fail_on_inactive(CU_FALSE);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_ErrorCode rc = CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	unsigned failed_suites = CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return rc != CUE_SUCCESS || failures || failed_suites ? 1 : 0;
}

#endif
