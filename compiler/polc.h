/* polc: the whole front-end pipeline in one header.
 *
 *   files ──► reader (positioned YAML node tree, limits) ──► schema (generic, data-driven)
 *         ──► ir (typed CNP / CCNP / KNP / CIDR groups) ──► check (Cilium's own sanitize rules)
 *         ──► lint (warnings beyond Cilium) ──► diag (text / json / sarif)
 *   kubectl output ──► inventory ──► labels + selectors (used by lints now, resolve later)
 *
 * Data flows one way. Every message a user sees goes through diag.
 */
#ifndef POLC_H
#define POLC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- util.c */

/* Bump allocator: everything parsed from one input lives in one arena. */
struct arena {
	struct arena_chunk *head;
};
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

/* Growable array of pointers. */
struct ptrvec {
	void **v;
	size_t n, cap;
};
void ptrvec_push(struct ptrvec *pv, void *p);
void ptrvec_free(struct ptrvec *pv);

/* Growable byte buffer. */
struct strbuf {
	char *s;
	size_t len, cap;
};
void sb_add(struct strbuf *sb, const char *s, size_t len);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct strbuf *sb);

void *xmalloc(size_t n);
void sort_items(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* For verbs that take options only: a stray word (a path given without its option, say) is
 * a usage error, never silently ignored. 0, or -1 once the message is out. */
int cli_no_operands(const char *verb, int argc, char *const argv[], int first, const char *hint);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
size_t edit_distance(const char *a, const char *b);
/* "TCP", "UDP", "SCTP", "ICMP", "ICMPv6", "ANY" (0), or NULL for another IP protocol. */
const char *ip_proto_name(uint8_t proto);
bool parse_uint(const char *s, unsigned long max, unsigned long *out);
bool cilium_port_number(const char *s, unsigned long *out);
/* Is s well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF)? */
bool utf8_valid(const char *s);
/* ... and without control characters (C0, DEL)? What YAML can carry as is. */
bool utf8_printable(const char *s);

/* ---------------------------------------------------------------- json.c */

/* Streaming JSON writer with stable formatting; used by every --format json. */
struct json {
	FILE *out;
	int depth;
	bool need_comma[64];
	bool pretty;
};
void json_begin(struct json *j, FILE *out, bool pretty);
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_int(struct json *j, const char *key, long long val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
void json_end(struct json *j);

/* ---------------------------------------------------------------- reader.c */

enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ };

struct source {
	char *path;    /* as the user named it; "-" is stdin */
	char *text;    /* what was read (bounded by the limits) */
	size_t len;
	bool braces;   /* the text has a "{{" somewhere: it may be a template */
};

/* The small fields first, so the struct packs into 64 bytes: a policy corpus has a node for
 * every scalar, map and sequence, and lint keeps them all. */
struct node {
	enum node_kind kind;
	int line, col; /* 1-based */
	bool quoted;   /* scalars: any non-plain style: a string, never an int/bool/null */
	const struct source *src;
	/* scalars */
	char *str;
	size_t len;
	/* maps: keys[i] -> vals[i]; sequences: vals[i] */
	struct node **keys, **vals;
	size_t n;
};
_Static_assert(sizeof(struct node) <= 64, "struct node grew past one cache line");

struct reader_limits {
	size_t max_document_bytes; /* default 16 MiB */
	size_t max_input_bytes;    /* whole stream; default 1 GiB */
	int max_depth;             /* default 64 */
	bool libyaml_only;         /* tests: skip the block-subset scanner */
};
void reader_default_limits(struct reader_limits *lim);

struct document {
	struct node *root;
	int index; /* 0-based position in its stream */
};

struct diag_sink;
/* Reads one YAML or JSON stream. Returns 0, or -1 after reporting why through diag. */
int read_stream(struct arena *a, const char *path, FILE *in, const struct reader_limits *lim,
		struct diag_sink *d, struct source **src_out, struct ptrvec *docs_out);
/* Expands FILE, DIR (recursive, sorted) or "-" into a sorted list of input paths. */
int collect_inputs(const char *arg, struct ptrvec *paths, struct diag_sink *d);

bool node_is_null(const struct node *n);
struct node *node_get(const struct node *map, const char *key);
struct node *node_key(const struct node *map, const char *key); /* the key node itself */
const char *node_scalar(const struct node *n); /* NULL unless a scalar */

/* ---------------------------------------------------------------- diag.c */

enum severity { SEV_NOTE, SEV_WARNING, SEV_ERROR };

/* Every diagnostic polc can emit, with its id and default severity. */
enum rule_id {
#define RULE(sym, id, sev, summary) sym,
#include "rules.def"
#undef RULE
	RULE__COUNT
};
struct rule_info {
	const char *id;
	enum severity severity;
	const char *summary;
};
extern const struct rule_info rule_table[RULE__COUNT];
int rule_by_id(const char *id); /* -1 if unknown */

struct diagnostic {
	enum rule_id rule;
	enum severity severity;
	const struct source *src; /* NULL: not tied to a file */
	char *path;
	int line, col, span;
	char *message;
	char *hint;
	char *line_text; /* the source line, copied when reported: sources may be gone by then */
};

enum diag_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF };

struct diag_sink {
	struct diagnostic *v;
	size_t n, cap;
	bool disabled[RULE__COUNT];   /* --disable */
	const bool *object_disabled; /* annotation on the object being checked, or NULL */
	size_t counts[3];
	/* where each line of the last source reported on starts, so that quoting a line does
	 * not scan the file from its top for every diagnostic */
	const struct source *lines_of;
	const char *lines_text;
	size_t *line_start, nlines, lines_cap, lines_scanned;
};
void diag_init(struct diag_sink *d);
void diag_free(struct diag_sink *d);
/* Reports at a node (NULL: no location). hint may be NULL. */
void diag_at(struct diag_sink *d, enum rule_id r, const struct node *at, const char *hint,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Reports at an explicit file position (line 0: the file as a whole). */
void diag_pos(struct diag_sink *d, enum rule_id r, const struct source *src, const char *path,
	      int line, int col, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
void diag_sort(struct diag_sink *d);
/* color: -1 auto (TTY), 0 never, 1 always */
void diag_render(const struct diag_sink *d, enum diag_format f, FILE *out, int color);

/* ---------------------------------------------------------------- schema.c */

struct schema_set;
/* Loads the built-in schemas (embedded from schemas/ at build time). */
struct schema_set *schema_builtin(void);
void schema_free(struct schema_set *s);
/* Root type for an object's apiVersion/kind, or NULL when polc has no schema for it. */
const struct schema_type *schema_for_kind(const struct schema_set *s, const char *api_version,
					  const char *kind);
const struct schema_type *schema_type_named(const struct schema_set *s, const char *name);
/* Validates a document against a root type; returns the number of errors reported. */
int schema_validate(const struct schema_set *s, const struct schema_type *t, const struct node *n,
		    struct diag_sink *d);
/* Every property path the schemas know, for the CRD coverage test ("Rule.ingress.toPorts"). */
void schema_list_paths(const struct schema_set *s, const char *root, struct ptrvec *out,
		       struct arena *a);

/* ---------------------------------------------------------------- ir.h */
#include "ir.h"

/* ---------------------------------------------------------------- load.c */

/* The policies and inventory objects polc was given. */
struct corpus {
	struct arena arena;
	struct ptrvec sources;
	struct ptrvec policies;  /* struct policy * */
	struct ptrvec cidr_groups; /* struct cidr_group * */
	struct ptrvec other;     /* documents of kinds polc does not check (struct node *) */
};
struct load_options {
	struct reader_limits limits;
	bool inventory; /* reading an inventory: kinds other than policies are expected */
};
void corpus_init(struct corpus *c);
void corpus_free(struct corpus *c);
/* Reads, validates and converts every input. Returns 0, or -1 if an input could not be read. */
int corpus_load(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		const char *const *args, size_t nargs, struct diag_sink *d);
/* Adds one parsed document (a List is unwrapped). */
int corpus_add_document(struct corpus *c, const struct load_options *o,
			const struct schema_set *s, const struct node *root, struct diag_sink *d);

/* ---------------------------------------------------------------- cidr.c, regex.c */

struct prefix {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	int len;
};
/* 0 ok, -1 not an address or prefix, -2 a bare address where a prefix is required */
int parse_prefix(const char *text, struct prefix *out, bool allow_bare_ip);
bool prefix_contains(const struct prefix *outer, const struct prefix *inner);
bool prefix_is_default_route(const struct prefix *p);
void format_prefix(const struct prefix *p, char *buf, size_t size);

/* 0 if Envoy would accept it, else -1 with a message and the byte offset of the problem. */
int http_regex_check(const char *re, char *err, size_t errsize, size_t *offset);
bool http_regex_can_start_with(const char *re, const char *prefix);
bool http_regex_matches(const char *re, const char *subject);

/* ---------------------------------------------------------------- sha256.c */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[32]);
void sha256_hex(const uint8_t digest[32], char out[65]);

/* ---------------------------------------------------------------- check.c */

/* Cilium's agent-side sanitize rules (cilium-semantics.md section 5.5): errors. */
void check_policy(const struct policy *p, struct diag_sink *d);
/* ICMP type from a number or a name of the family ("IPv4" when NULL); -1 if unknown. */
int icmp_type_number(const char *family, const char *type);

/* ---------------------------------------------------------------- inventory.c, labels.c */
#include "inventory.h"

/* ---------------------------------------------------------------- lint.c */

struct lint_options {
	const struct inventory *inv; /* NULL: lints that need one are skipped */
};
void lint_corpus(const struct corpus *c, const struct lint_options *o, struct diag_sink *d);

/* ---------------------------------------------------------------- main.c, verbs */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;
};
int do_lint(int argc, char **argv);
#define LINT_USAGE                                                                                \
	"usage: polc lint [options] PATH...\n"                                                   \
	"\n"                                                                                     \
	"Checks CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, CiliumCIDRGroup and\n"      \
	"NetworkPolicy documents (YAML or JSON; files, directories, or - for stdin).\n"         \
	"\n"                                                                                     \
	"  -i, --inventory FILE       kubectl get -o yaml output; enables selector lints\n"    \
	"  -f, --format FMT           text (default), json or sarif\n"                          \
	"  -o, --output FILE          write the report to FILE instead of stdout\n"            \
	"  -d, --disable ID[,ID]      silence lints by id (errors cannot be silenced)\n"        \
	"      --color WHEN           auto (default), always or never\n"                        \
	"      --max-document-size N  refuse larger YAML documents (bytes; default 16777216)\n" \
	"      --max-input-size N     refuse larger inputs (bytes; default 1073741824)\n"      \
	"      --max-depth N          refuse deeper nesting (default 64)\n"                     \
	"      --yaml-reader R        auto (default: polc's scanner, libyaml where it stops)\n" \
	"                             or libyaml (every file)\n"                                 \
	"      --list-rules           print every diagnostic id with its severity\n"            \
	"\n"                                                                                     \
	"Annotate a policy with lint.polc.io/disable: \"ID,ID\" to silence lints in it.\n"      \
	"Exit status: 0 clean, 1 findings, 2 usage or input error."

/* Exit codes, documented in polc(1). */
enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 };

#endif
