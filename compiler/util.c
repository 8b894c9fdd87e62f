/* Small allocation and string helpers shared by every phase. */
#include "polc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("polc: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fputs("polc: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("polc: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

/* ---- arena: 16-byte aligned allocations from chunks that double from 64 KiB to 32 MiB */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

#define ARENA_FIRST_CHUNK (64u << 10)
#define ARENA_MAX_CHUNK (32u << 20)

/* Zeroed by calloc: for the large chunks that is fresh pages, so nothing is touched twice.
 * (Huge pages were tried for the large ones: fewer page faults, but with the kernel's default
 * defrag=madvise each fault may compact memory first, and on a busy machine that cost more
 * than it saved.) */
static struct arena_chunk *chunk_new(size_t cap)
{
	struct arena_chunk *c = xcalloc(1, sizeof(*c) + cap);
	c->size = cap;
	return c;
}

/* An arena never reuses memory, and its chunks come zeroed: allocations need no memset. */
void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		size_t cap = c ? (c->size < ARENA_MAX_CHUNK / 2 ? c->size * 2 : ARENA_MAX_CHUNK)
			       : ARENA_FIRST_CHUNK;
		if (cap < size)
			cap = size;
		c = chunk_new(cap);
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	if (len)
		memcpy(p, s, len);
	p[len] = 0;
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

/* ---- ptrvec, strbuf */

void ptrvec_push(struct ptrvec *pv, void *p)
{
	if (pv->n == pv->cap) {
		pv->cap = pv->cap ? pv->cap * 2 : 8;
		pv->v = xrealloc(pv->v, pv->cap * sizeof(void *));
	}
	pv->v[pv->n++] = p;
}

void ptrvec_free(struct ptrvec *pv)
{
	free(pv->v);
	pv->v = NULL;
	pv->n = pv->cap = 0;
}

void sb_add(struct strbuf *sb, const char *s, size_t len)
{
	if (!len && sb->s)
		return;
	if (sb->len + len + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 64;
		while (cap < sb->len + len + 1)
			cap *= 2;
		sb->s = xrealloc(sb->s, cap);
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, s, len);
	sb->len += len;
	sb->s[sb->len] = 0;
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < (int)sizeof(small)) {
		sb_add(sb, small, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_add(sb, big, (size_t)n);
	free(big);
}

void sb_free(struct strbuf *sb)
{
	free(sb->s);
	sb->s = NULL;
	sb->len = sb->cap = 0;
}

/* qsort, but nothing to do (and no NULL passed to qsort) for fewer than two items. */
void sort_items(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* Levenshtein distance, for "did you mean" hints; inputs are short field names. */
size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A port as Cilium's agent reads it: digits in Go's base-prefix syntax, so "010" is octal 8
 * and "080" is no number at all. */
bool cilium_port_number(const char *s, unsigned long *out)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return false;
	if (s[0] != '0' || !s[1])
		return parse_uint(s, 65535, out);
	unsigned long v = 0;
	for (const char *p = s + 1; *p; p++) {
		if (*p > '7')
			return false;
		v = v * 8 + (unsigned long)(*p - '0');
		if (v > 65535)
			return false;
	}
	*out = v;
	return true;
}

/* Decimal only: no sign, no base prefix, no leading zero (except "0"). */
bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	if (!s || !*s || (s[0] == '0' && s[1]))
		return false;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned long d = (unsigned long)(*p - '0');
		if (v > (ULONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* Length of the well-formed UTF-8 sequence at s, or 0 when there is none. */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
	if (!avail)
		return 0;
	unsigned c = s[0];
	size_t n = c < 0x80		    ? 1
		   : c >= 0xc2 && c <= 0xdf ? 2
		   : (c & 0xf0) == 0xe0	    ? 3
		   : c >= 0xf0 && c <= 0xf4 ? 4
					    : 0;
	if (!n || n > avail)
		return 0;
	uint32_t cp = n == 1 ? c : c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t left = strlen(s), n; left; p += n, left -= n)
		if (!(n = utf8_sequence(p, left)))
			return false;
	return true;
}

bool utf8_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return utf8_valid(s);
}

const char *ip_proto_name(uint8_t proto)
{
	switch (proto) {
	case 0:
		return "ANY";
	case 1:
		return "ICMP";
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 58:
		return "ICMPv6";
	case 132:
		return "SCTP";
	default:
		return NULL;
	}
}

int cli_no_operands(const char *verb, int argc, char *const argv[], int first, const char *hint)
{
	if (first >= argc)
		return 0;
	fprintf(stderr, "polc %s: unexpected argument '%s'%s%s (see polc %s --help)\n", verb,
		argv[first], hint ? ": " : "", hint ? hint : "", verb);
	return -1;
}
