/* HTTP regexes: Envoy matches method, path and host with RE2, anchored at both ends. We
 * compile with PCRE2 (a superset), then refuse what RE2 lacks, and use partial matching to
 * ask whether a regex can match anything a request could carry. */
#include "polc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

/* Envoy's full match: anchored at both ends. A prefix question anchors the start only. */
static pcre2_code *compile(const char *re, bool whole, char *err, size_t errsize, size_t *offset)
{
	int code;
	PCRE2_SIZE off = 0;
	uint32_t flags = PCRE2_UTF | PCRE2_ANCHORED | (whole ? PCRE2_ENDANCHORED : 0);
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, flags, &code, &off,
				      NULL);
	if (!c) {
		pcre2_get_error_message(code, (PCRE2_UCHAR *)err, errsize);
		*offset = off;
	}
	return c;
}

/* RE2 has no backreferences and no lookaround; Envoy refuses such a regex. */
static const char *re2_unsupported(const char *re, size_t *offset)
{
	static const char *const constructs[] = {"(?=", "(?!", "(?<=", "(?<!", "(?>", "\\1", "\\2",
						 "\\3", "\\k<", "(?P="};
	for (size_t i = 0; i < sizeof(constructs) / sizeof(*constructs); i++) {
		const char *p = strstr(re, constructs[i]);
		if (p) {
			*offset = (size_t)(p - re);
			return constructs[i][0] == '\\' || constructs[i][3] == '='
				       ? "a backreference"
				       : "lookaround or an atomic group";
		}
	}
	return NULL;
}

int http_regex_check(const char *re, char *err, size_t errsize, size_t *offset)
{
	pcre2_code *c = compile(re, true, err, errsize, offset);
	if (!c)
		return -1;
	pcre2_code_free(c);
	const char *what = re2_unsupported(re, offset);
	if (what) {
		snprintf(err, errsize, "%s, which RE2 (used by Envoy) does not support", what);
		return -1;
	}
	return 0;
}

/* Could the regex match some string that starts with `prefix`? Partial matching answers it
 * exactly: a partial or full match on the prefix means some completion may match. */
bool http_regex_can_start_with(const char *re, const char *prefix)
{
	char err[128];
	size_t off;
	pcre2_code *c = compile(re, false, err, sizeof err, &off);
	if (!c)
		return true;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
	int rc = pcre2_match(c, (PCRE2_SPTR)prefix, strlen(prefix), 0, PCRE2_PARTIAL_HARD, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	return rc >= 0 || rc == PCRE2_ERROR_PARTIAL;
}

bool http_regex_matches(const char *re, const char *subject)
{
	char err[128];
	size_t off;
	pcre2_code *c = compile(re, true, err, sizeof err, &off);
	if (!c)
		return false;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
	int rc = pcre2_match(c, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	return rc >= 0;
}
