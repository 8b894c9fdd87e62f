/* Schema engine: generic validation of node trees against the schema files in schemas/.
 *
 * The schemas are YAML written for this project (schemas/README.md has the language). They
 * are embedded into the binary at build time, loaded with our own reader, and compiled into a
 * graph of schema_type. Nothing here knows a single policy field by name.
 */
#include "polc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

enum stype { ST_ANY, ST_OBJECT, ST_MAP, ST_ARRAY, ST_STRING, ST_INTEGER, ST_BOOLEAN, ST_INT_OR_STRING };
static const char *STYPE_NAME[] = {"any",     "object",  "map",     "array",
				   "string",  "integer", "boolean", "int-or-string"};

struct field_group {
	char **names;
	size_t n;
};

struct schema_type {
	char *name; /* named types only */
	enum stype type;
	char *ref;
	struct schema_type *target;
	char **prop_names;
	struct schema_type **props;
	size_t nprops;
	char **required;
	size_t nrequired;
	struct field_group *exactly_one, *at_least_one;
	size_t nexactly_one, nat_least_one;
	struct schema_type *items, *values;
	bool has_min, has_max;
	long long minimum, maximum;
	long long min_len, max_len, min_items, max_items; /* -1: unset */
	char **enums;
	size_t nenums;
	pcre2_code *pattern;
	pcre2_match_data *match; /* reused: validation is single-threaded */
	char *pattern_src, *pattern_hint;
	char *format;
	char *deprecated;
	char *root_api, *root_kind;
};

struct schema_set {
	struct arena arena;
	struct ptrvec named; /* struct schema_type * */
	struct ptrvec patterns; /* struct schema_type * with a compiled pattern, to free */
};

/* The embedded schema files (generated from schemas/ by tools/embed). */
struct embedded_file {
	const char *name;
	const char *text;
};
extern const struct embedded_file embedded_schemas[];

/* ---------------------------------------------------------------- loading */

static void die_schema(const struct node *at, const char *what)
{
	fprintf(stderr, "polc: internal error: schema %s:%d:%d: %s\n", at && at->src ? at->src->path : "?",
		at ? at->line : 0, at ? at->col : 0, what);
	abort();
}

static char **string_list(struct arena *a, const struct node *seq, size_t *n)
{
	if (!seq || seq->kind != NODE_SEQ)
		die_schema(seq, "expected a list of strings");
	char **v = arena_alloc(a, (seq->n + 1) * sizeof(char *));
	for (size_t i = 0; i < seq->n; i++) {
		if (seq->vals[i]->kind != NODE_SCALAR)
			die_schema(seq->vals[i], "expected a string");
		v[i] = seq->vals[i]->str;
	}
	*n = seq->n;
	return v;
}

static long long scalar_ll(const struct node *n)
{
	if (!n || n->kind != NODE_SCALAR)
		die_schema(n, "expected a number");
	char *end;
	long long v = strtoll(n->str, &end, 10);
	if (*end)
		die_schema(n, "expected a number");
	return v;
}

static enum stype parse_stype(const struct node *n)
{
	for (size_t i = 0; i < sizeof(STYPE_NAME) / sizeof(*STYPE_NAME); i++)
		if (!strcmp(n->str, STYPE_NAME[i]))
			return (enum stype)i;
	die_schema(n, "unknown type");
	return ST_ANY;
}

static struct schema_type *compile_type(struct schema_set *s, const struct node *spec);

static void compile_groups(struct schema_set *s, const struct node *list, struct field_group **out,
			   size_t *n)
{
	if (list->kind != NODE_SEQ)
		die_schema(list, "expected a list of field lists");
	*out = arena_alloc(&s->arena, (list->n + 1) * sizeof(**out));
	for (size_t i = 0; i < list->n; i++)
		(*out)[i].names = string_list(&s->arena, list->vals[i], &(*out)[i].n);
	*n = list->n;
}

static void compile_pattern(struct schema_set *s, struct schema_type *t, const struct node *n)
{
	int err;
	PCRE2_SIZE off;
	t->pattern_src = n->str;
	t->pattern = pcre2_compile((PCRE2_SPTR)n->str, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off,
				   NULL);
	if (!t->pattern)
		die_schema(n, "pattern does not compile");
	pcre2_jit_compile(t->pattern, PCRE2_JIT_COMPLETE);
	t->match = pcre2_match_data_create_from_pattern(t->pattern, NULL);
	ptrvec_push(&s->patterns, t);
}

/* One key of a type spec. */
static void compile_key(struct schema_set *s, struct schema_type *t, const char *k,
			const struct node *v)
{
	struct arena *a = &s->arena;
	if (!strcmp(k, "type"))
		t->type = parse_stype(v);
	else if (!strcmp(k, "ref"))
		t->ref = v->str;
	else if (!strcmp(k, "properties")) {
		t->nprops = v->n;
		t->prop_names = arena_alloc(a, (v->n + 1) * sizeof(char *));
		t->props = arena_alloc(a, (v->n + 1) * sizeof(*t->props));
		for (size_t i = 0; i < v->n; i++) {
			t->prop_names[i] = v->keys[i]->str;
			t->props[i] = compile_type(s, v->vals[i]);
		}
	} else if (!strcmp(k, "required"))
		t->required = string_list(a, v, &t->nrequired);
	else if (!strcmp(k, "exactlyOne"))
		compile_groups(s, v, &t->exactly_one, &t->nexactly_one);
	else if (!strcmp(k, "atLeastOne"))
		compile_groups(s, v, &t->at_least_one, &t->nat_least_one);
	else if (!strcmp(k, "items"))
		t->items = compile_type(s, v);
	else if (!strcmp(k, "values"))
		t->values = compile_type(s, v);
	else if (!strcmp(k, "minimum"))
		t->has_min = true, t->minimum = scalar_ll(v);
	else if (!strcmp(k, "maximum"))
		t->has_max = true, t->maximum = scalar_ll(v);
	else if (!strcmp(k, "minLength"))
		t->min_len = scalar_ll(v);
	else if (!strcmp(k, "maxLength"))
		t->max_len = scalar_ll(v);
	else if (!strcmp(k, "minItems"))
		t->min_items = scalar_ll(v);
	else if (!strcmp(k, "maxItems"))
		t->max_items = scalar_ll(v);
	else if (!strcmp(k, "enum"))
		t->enums = string_list(a, v, &t->nenums);
	else if (!strcmp(k, "pattern"))
		compile_pattern(s, t, v);
	else if (!strcmp(k, "patternHint"))
		t->pattern_hint = v->str;
	else if (!strcmp(k, "format"))
		t->format = v->str;
	else if (!strcmp(k, "deprecated"))
		t->deprecated = v->str;
	else if (!strcmp(k, "apiVersion"))
		t->root_api = v->str;
	else if (!strcmp(k, "kind"))
		t->root_kind = v->str;
	else if (strcmp(k, "description") != 0)
		die_schema(v, "unknown schema keyword");
}

static struct schema_type *compile_type(struct schema_set *s, const struct node *spec)
{
	if (spec->kind != NODE_MAP)
		die_schema(spec, "a type must be a mapping");
	struct schema_type *t = arena_alloc(&s->arena, sizeof(*t));
	t->min_len = t->max_len = t->min_items = t->max_items = -1;
	t->type = ST_ANY;
	for (size_t i = 0; i < spec->n; i++)
		compile_key(s, t, spec->keys[i]->str, spec->vals[i]);
	return t;
}

static struct schema_type *find_named(const struct schema_set *s, const char *name)
{
	for (size_t i = 0; i < s->named.n; i++) {
		struct schema_type *t = s->named.v[i];
		if (!strcmp(t->name, name))
			return t;
	}
	return NULL;
}

/* Resolves every ref once all files are loaded; a dangling ref is a build defect. */
static void link_refs(struct schema_set *s, struct schema_type *t, int depth)
{
	if (!t || depth > 64)
		return;
	if (t->ref && !t->target) {
		t->target = find_named(s, t->ref);
		if (!t->target) {
			fprintf(stderr, "polc: internal error: schema ref %s not defined\n", t->ref);
			abort();
		}
		return;
	}
	for (size_t i = 0; i < t->nprops; i++)
		link_refs(s, t->props[i], depth + 1);
	link_refs(s, t->items, depth + 1);
	link_refs(s, t->values, depth + 1);
}

static void load_file(struct schema_set *s, const struct embedded_file *f)
{
	struct diag_sink d;
	diag_init(&d);
	struct reader_limits lim;
	reader_default_limits(&lim);
	FILE *in = fmemopen((void *)f->text, strlen(f->text), "r");
	struct source *src;
	struct ptrvec docs = {0};
	if (!in || read_stream(&s->arena, f->name, in, &lim, &d, &src, &docs) < 0 || docs.n != 1) {
		diag_render(&d, FORMAT_TEXT, stderr, 0);
		fprintf(stderr, "polc: internal error: schema %s does not load\n", f->name);
		abort();
	}
	fclose(in);
	struct node *types = node_get(((struct document *)docs.v[0])->root, "types");
	if (!types || types->kind != NODE_MAP)
		die_schema(((struct document *)docs.v[0])->root, "needs a types: mapping");
	for (size_t i = 0; i < types->n; i++) {
		struct schema_type *t = compile_type(s, types->vals[i]);
		t->name = types->keys[i]->str;
		if (find_named(s, t->name))
			die_schema(types->keys[i], "type defined twice");
		ptrvec_push(&s->named, t);
	}
	ptrvec_free(&docs);
	diag_free(&d);
}

struct schema_set *schema_builtin(void)
{
	struct schema_set *s = xcalloc(1, sizeof(*s));
	for (const struct embedded_file *f = embedded_schemas; f->name; f++)
		load_file(s, f);
	for (size_t i = 0; i < s->named.n; i++)
		link_refs(s, s->named.v[i], 0);
	return s;
}

void schema_free(struct schema_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->patterns.n; i++) {
		struct schema_type *t = s->patterns.v[i];
		pcre2_match_data_free(t->match);
		pcre2_code_free(t->pattern);
	}
	ptrvec_free(&s->patterns);
	ptrvec_free(&s->named);
	arena_free(&s->arena);
	free(s);
}

const struct schema_type *schema_type_named(const struct schema_set *s, const char *name)
{
	return find_named(s, name);
}

const struct schema_type *schema_for_kind(const struct schema_set *s, const char *api_version,
					  const char *kind)
{
	for (size_t i = 0; i < s->named.n; i++) {
		const struct schema_type *t = s->named.v[i];
		if (t->root_kind && !strcmp(t->root_kind, kind) && !strcmp(t->root_api, api_version))
			return t;
	}
	return NULL;
}

/* ---------------------------------------------------------------- validation */

static const struct schema_type *resolve(const struct schema_type *t)
{
	while (t && t->target)
		t = t->target;
	return t;
}

/* YAML 1.1, which kubectl's loader speaks, reads these unquoted words as booleans. */
static bool is_yaml11_bool(const char *s)
{
	/* every string scalar passes here: most are ruled out by their first letter */
	if (!s[0] || !strchr("yYnNoOtTfF", s[0]) || strlen(s) > 5)
		return false;
	static const char *words[] = {"y",  "Y",   "yes", "Yes", "YES", "n",   "N",   "no",
				      "No", "NO",  "on",  "On",  "ON",  "off", "Off", "OFF",
				      "true", "True", "TRUE", "false", "False", "FALSE"};
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (!strcmp(s, words[i]))
			return true;
	return false;
}

static bool is_number_text(const char *s)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!*p)
		return false;
	bool digits = false, dot = false;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits = true;
		else if (*p == '.' && !dot)
			dot = true;
		else if ((*p == 'e' || *p == 'E') && digits)
			return is_number_text(p + 1) || false;
		else
			return false;
	}
	return digits;
}

static bool has_octal_trap(const char *s)
{
	const char *p = (*s == '-' || *s == '+') ? s + 1 : s;
	if (p[0] != '0' || !p[1])
		return false;
	if (p[1] == 'o' || p[1] == 'x')
		return true;
	for (p++; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

struct vctx {
	const struct schema_set *s;
	struct diag_sink *d;
	int errors;
};

static void err(struct vctx *c, enum rule_id r, const struct node *at, const char *hint,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void err(struct vctx *c, enum rule_id r, const struct node *at, const char *hint,
		const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diag_at(c->d, r, at, hint, "%s", msg);
	if (rule_table[r].severity == SEV_ERROR)
		c->errors++;
}

static void validate(struct vctx *c, const struct schema_type *t, const struct node *n,
		     const char *field);

static const char *closest_name(const struct schema_type *t, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < t->nprops; i++) {
		size_t dist = strcasecmp(t->prop_names[i], key) == 0
				      ? 0
				      : edit_distance(t->prop_names[i], key);
		if (dist < best_d || (dist == best_d && best == NULL && dist <= 2)) {
			best = t->prop_names[i];
			best_d = dist;
		}
	}
	return best_d <= 2 ? best : NULL;
}

static void hint_fields(char *hint, size_t size, const struct schema_type *t, const char *key)
{
	const char *near = closest_name(t, key);
	if (near) {
		snprintf(hint, size, "did you mean \"%s\"?", near);
		return;
	}
	size_t used = (size_t)snprintf(hint, size, "known fields:");
	for (size_t i = 0; i < t->nprops && used < size; i++)
		used += (size_t)snprintf(hint + used, size - used, "%s %s", i ? "," : "",
					 t->prop_names[i]);
}

static bool present(const struct node *map, const char *name)
{
	const struct node *v = node_get(map, name);
	return v && !node_is_null(v);
}

/* How many fields of a group are given, and the group as text ("a, b or c"). */
static size_t count_given(const struct node *n, const struct field_group *fg, const char *last_sep,
			  char *list, size_t size)
{
	size_t count = 0, used = 0;
	list[0] = 0;
	for (size_t i = 0; i < fg->n; i++) {
		count += present(n, fg->names[i]);
		used += (size_t)snprintf(list + used, size - used, "%s%s",
					 i ? (i + 1 == fg->n ? last_sep : ", ") : "", fg->names[i]);
		if (used >= size)
			break;
	}
	return count;
}

static void check_groups(struct vctx *c, const struct schema_type *t, const struct node *n)
{
	char list[256];
	for (size_t g = 0; g < t->nexactly_one; g++) {
		size_t count = count_given(n, &t->exactly_one[g], " or ", list, sizeof list);
		if (count != 1)
			err(c, R_SCHEMA_ONE_OF, n, "give exactly one of them",
			    "%s of %s given; exactly one is required", count ? "more than one" : "none",
			    list);
	}
	for (size_t g = 0; g < t->nat_least_one; g++)
		if (count_given(n, &t->at_least_one[g], ", ", list, sizeof list) == 0)
			err(c, R_SCHEMA_ANY_OF, n, "add at least one of them", "none of %s is given",
			    list);
}

static void validate_object(struct vctx *c, const struct schema_type *t, const struct node *n)
{
	for (size_t i = 0; i < n->n; i++) {
		const char *key = n->keys[i]->str;
		size_t p = 0;
		while (p < t->nprops &&
		       (t->prop_names[p][0] != key[0] || strcmp(t->prop_names[p], key) != 0))
			p++;
		if (p == t->nprops) {
			char hint[512];
			hint_fields(hint, sizeof hint, t, key);
			err(c, R_SCHEMA_UNKNOWN_FIELD, n->keys[i], hint, "unknown field \"%s\"", key);
			continue;
		}
		if (t->props[p]->deprecated)
			diag_at(c->d, L_DEPRECATED, n->keys[i], t->props[p]->deprecated,
				"\"%s\" is deprecated", key);
		validate(c, t->props[p], n->vals[i], key);
	}
	for (size_t r = 0; r < t->nrequired; r++)
		if (!present(n, t->required[r]))
			err(c, R_SCHEMA_REQUIRED, n, NULL, "required field \"%s\" is missing",
			    t->required[r]);
	check_groups(c, t, n);
}

static void validate_string(struct vctx *c, const struct schema_type *t, const struct node *n,
			    const char *field)
{
	if (!n->quoted) {
		if (is_yaml11_bool(n->str)) {
			char hint[128];
			snprintf(hint, sizeof hint, "quote it: \"%s\"", n->str);
			err(c, R_YAML_BOOL, n, hint,
			    "\"%s\" must be a string, but unquoted %s is a boolean to kubectl (YAML 1.1)",
			    field, n->str);
			return;
		}
		if (is_number_text(n->str)) {
			char hint[128];
			const char *digits = n->str;
			while (digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9')
				digits++; /* "080" would be no port at all: suggest "80" */
			snprintf(hint, sizeof hint, "the API wants a string here: write \"%s\"", digits);
			err(c, R_SCHEMA_TYPE, n, hint, "\"%s\" must be a string, not a number", field);
			return;
		}
	}
	size_t len = n->len;
	if (t->min_len >= 0 && (long long)len < t->min_len)
		err(c, R_SCHEMA_RANGE, n, NULL, "\"%s\" must be at least %lld characters", field,
		    t->min_len);
	if (t->max_len >= 0 && (long long)len > t->max_len)
		err(c, R_SCHEMA_RANGE, n, NULL, "\"%s\" is %zu characters; the limit is %lld", field,
		    len, t->max_len);
	if (t->nenums) {
		size_t i = 0;
		while (i < t->nenums && strcmp(t->enums[i], n->str) != 0)
			i++;
		if (i == t->nenums) {
			char hint[512];
			size_t used = (size_t)snprintf(hint, sizeof hint, "one of:");
			const char *near = NULL;
			size_t best = 3;
			for (size_t k = 0; k < t->nenums && used < sizeof hint; k++) {
				used += (size_t)snprintf(hint + used, sizeof hint - used, "%s %s",
							 k ? "," : "", t->enums[k]);
				size_t dist = !strcasecmp(t->enums[k], n->str)
						      ? 0
						      : edit_distance(t->enums[k], n->str);
				if (dist < best) {
					best = dist;
					near = t->enums[k];
				}
			}
			if (near)
				snprintf(hint, sizeof hint, "did you mean \"%s\"?", near);
			err(c, R_SCHEMA_ENUM, n, hint, "\"%s\" is not a valid %s", n->str, field);
		}
	}
	if (t->pattern) {
		int rc = pcre2_match(t->pattern, (PCRE2_SPTR)n->str, n->len, 0, 0, t->match, NULL);
		if (rc < 0)
			err(c, R_SCHEMA_PATTERN, n, t->pattern_hint, "\"%s\" is not a valid %s", n->str,
			    field);
	}
}

static void validate_integer(struct vctx *c, const struct schema_type *t, const struct node *n,
			     const char *field)
{
	if (n->quoted) {
		err(c, R_SCHEMA_TYPE, n, "remove the quotes", "\"%s\" must be an integer, not a string",
		    field);
		return;
	}
	if (has_octal_trap(n->str)) {
		err(c, R_YAML_OCTAL, n, "remove the leading zero",
		    "\"%s\" has a leading zero; YAML 1.1 (kubectl) reads it as octal or refuses it",
		    field);
		return;
	}
	char *end;
	errno = 0;
	long long v = strtoll(n->str, &end, 10);
	if (*end || !n->len || errno) {
		err(c, R_SCHEMA_TYPE, n, NULL, "\"%s\" must be an integer, got \"%s\"%s", field, n->str,
		    errno ? " (out of range)" : "");
		return;
	}
	if ((t->has_min && v < t->minimum) || (t->has_max && v > t->maximum)) {
		char hint[96];
		snprintf(hint, sizeof hint, "use a value from %lld to %lld", t->minimum, t->maximum);
		err(c, R_SCHEMA_RANGE, n, hint, "\"%s\" is %lld, outside its range", field, v);
	}
}

static void validate_scalar(struct vctx *c, const struct schema_type *t, const struct node *n,
			    const char *field)
{
	switch (t->type) {
	case ST_STRING:
		validate_string(c, t, n, field);
		break;
	case ST_INTEGER:
		validate_integer(c, t, n, field);
		break;
	case ST_INT_OR_STRING:
		if (!n->quoted && (is_number_text(n->str) || has_octal_trap(n->str)))
			validate_integer(c, t, n, field);
		else {
			struct node copy = *n;
			copy.quoted = true; /* a string form: only its pattern applies */
			validate_string(c, t, &copy, field);
		}
		break;
	case ST_BOOLEAN:
		if (!n->quoted && (!strcmp(n->str, "true") || !strcmp(n->str, "false")))
			break;
		if (!n->quoted && is_yaml11_bool(n->str))
			err(c, R_YAML_BOOL, n, "write true or false",
			    "\"%s\": %s is a YAML 1.1 boolean that other YAML readers take as a string",
			    field, n->str);
		else
			err(c, R_SCHEMA_TYPE, n, "write true or false",
			    "\"%s\" must be a boolean, got \"%s\"", field, n->str);
		break;
	default:
		break;
	}
}

static const char *kind_word(const struct node *n)
{
	return n->kind == NODE_MAP ? "a mapping" : n->kind == NODE_SEQ ? "a list" : "a scalar";
}

static void validate(struct vctx *c, const struct schema_type *t, const struct node *n,
		     const char *field)
{
	t = resolve(t);
	/* API servers prune nulls for non-nullable CRD fields: null means "not given". */
	if (!t || t->type == ST_ANY || node_is_null(n))
		return;
	bool want_map = t->type == ST_OBJECT || t->type == ST_MAP;
	bool want_seq = t->type == ST_ARRAY;
	bool want_scalar = !want_map && !want_seq;
	if ((want_map && n->kind != NODE_MAP) || (want_seq && n->kind != NODE_SEQ) ||
	    (want_scalar && n->kind != NODE_SCALAR)) {
		err(c, R_SCHEMA_TYPE, n, NULL, "\"%s\" must be %s, not %s", field,
		    t->type == ST_OBJECT || t->type == ST_MAP ? "a mapping"
		    : want_seq                                ? "a list"
		    : t->type == ST_STRING                    ? "a string"
		    : t->type == ST_INTEGER                   ? "an integer"
							      : "a scalar",
		    kind_word(n));
		return;
	}
	switch (t->type) {
	case ST_OBJECT:
		validate_object(c, t, n);
		break;
	case ST_MAP:
		for (size_t i = 0; i < n->n; i++)
			if (t->values)
				validate(c, t->values, n->vals[i], n->keys[i]->str);
		break;
	case ST_ARRAY:
		if (t->min_items >= 0 && (long long)n->n < t->min_items)
			err(c, R_SCHEMA_RANGE, n, NULL, "\"%s\" needs at least %lld item%s", field,
			    t->min_items, t->min_items == 1 ? "" : "s");
		if (t->max_items >= 0 && (long long)n->n > t->max_items)
			err(c, R_SCHEMA_RANGE, n, NULL, "\"%s\" has %zu items; the limit is %lld",
			    field, n->n, t->max_items);
		for (size_t i = 0; i < n->n; i++)
			validate(c, t->items, n->vals[i], field);
		break;
	default:
		validate_scalar(c, t, n, field);
	}
}

int schema_validate(const struct schema_set *s, const struct schema_type *t, const struct node *n,
		    struct diag_sink *d)
{
	struct vctx c = {.s = s, .d = d};
	validate(&c, t, n, t->root_kind ? t->root_kind : "document");
	return c.errors;
}

/* ---------------------------------------------------------------- introspection */

static void list_paths(const struct schema_type *t, const char *prefix, struct ptrvec *out,
		       struct arena *a, int depth)
{
	t = resolve(t);
	if (!t || depth > 24)
		return;
	if (t->type == ST_ARRAY) {
		list_paths(t->items, prefix, out, a, depth + 1);
		return;
	}
	if (t->type == ST_MAP) {
		list_paths(t->values, prefix, out, a, depth + 1);
		return;
	}
	for (size_t i = 0; i < t->nprops; i++) {
		char *p = arena_printf(a, "%s%s%s", prefix, *prefix ? "." : "", t->prop_names[i]);
		ptrvec_push(out, p);
		list_paths(t->props[i], p, out, a, depth + 1);
	}
}

void schema_list_paths(const struct schema_set *s, const char *root, struct ptrvec *out,
		       struct arena *a)
{
	const struct schema_type *t = find_named(s, root);
	if (t)
		list_paths(t, "", out, a, 0);
}
