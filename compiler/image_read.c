/* Image reader: structural verification before anything trusts a byte, and the datapath's
 * lookup simulated over the sorted entries (an LPM trie is "the longest stored prefix that
 * matches", which a sorted array answers with one binary search per prefix length). */
#include "polc.h"
#include "imagefile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct reader_ctx {
	struct image *img;
	struct diag_sink *d;
	int errors;
};

static void bad(struct reader_ctx *r, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bad(struct reader_ctx *r, const char *hint, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->errors++ < 20)
		diag_pos(r->d, R_IMAGE, NULL, r->img->path, 0, 0, hint, "%s", msg);
}

const char *image_string(const struct image *img, uint32_t off)
{
	return off < img->strings_len ? img->strings + off : "";
}

/* ---------------------------------------------------------------- header and sections */

static const uint32_t ENTRY_SIZE[POLC_SEC__MAX] = {
	[POLC_SEC_STRINGS] = 1,
	[POLC_SEC_IDENTITIES] = sizeof(struct polc_identity_rec),
	[POLC_SEC_IPCACHE_EXACT] = sizeof(struct polc_ipcache_exact),
	[POLC_SEC_IPCACHE_PREFIX] = sizeof(struct polc_ipcache_prefix),
	[POLC_SEC_ENDPOINTS] = sizeof(struct polc_endpoint_rec),
	[POLC_SEC_POLICY] = sizeof(struct polc_policy_entry),
	[POLC_SEC_L7] = sizeof(struct polc_l7_rec),
	[POLC_SEC_ORIGINS] = sizeof(struct polc_origin),
};

static int check_header(struct reader_ctx *r)
{
	struct image *img = r->img;
	const struct polc_image_header *h = (const void *)img->buf;
	if (img->size < sizeof(*h) + POLC_DIGEST_SIZE) {
		bad(r, "the file is truncated or not an image", "file is %zu bytes, too small for an image",
		    img->size);
		return -1;
	}
	if (h->magic != POLC_IMAGE_MAGIC) {
		bad(r, "compile one with polc compile", "not a polc image (bad magic)");
		return -1;
	}
	if (h->endian_mark != POLC_ENDIAN_MARK) {
		bad(r, NULL, "image byte order is not little-endian");
		return -1;
	}
	if (h->format_version != POLC_IMAGE_FORMAT || h->abi_version != POLC_IMAGE_ABI) {
		bad(r, "recompile the image with this version of polc",
		    "image format %u ABI %u; this polc reads format %u ABI %u", h->format_version,
		    h->abi_version, POLC_IMAGE_FORMAT, POLC_IMAGE_ABI);
		return -1;
	}
	if (h->header_size != sizeof(*h) || h->total_size != img->size) {
		bad(r, "the file was truncated or extended",
		    "image says it is %llu bytes with a %u-byte header; the file is %zu bytes",
		    (unsigned long long)h->total_size, h->header_size, img->size);
		return -1;
	}
	uint8_t digest[32];
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, img->buf, img->size - POLC_DIGEST_SIZE);
	sha256_final(&s, digest);
	if (memcmp(digest, img->buf + img->size - POLC_DIGEST_SIZE, POLC_DIGEST_SIZE)) {
		bad(r, "the image was damaged after it was written; recompile it",
		    "sha256 digest does not match the contents");
		return -1;
	}
	if (h->node_name[sizeof h->node_name - 1] || h->compiler_version[sizeof h->compiler_version - 1]) {
		bad(r, NULL, "node name or compiler version is not NUL-terminated");
		return -1;
	}
	img->hdr = h;
	return 0;
}

static int map_sections(struct reader_ctx *r)
{
	struct image *img = r->img;
	const struct polc_image_header *h = img->hdr;
	size_t table_end = sizeof(*h) + (size_t)h->nsections * sizeof(struct polc_section);
	size_t data_end = img->size - POLC_DIGEST_SIZE;
	if (h->nsections != POLC_SEC__MAX - 1 || table_end > data_end) {
		bad(r, NULL, "image has %u sections; expected %d", h->nsections, POLC_SEC__MAX - 1);
		return -1;
	}
	const struct polc_section *t = (const void *)(img->buf + sizeof(*h));
	size_t prev_end = table_end;
	const void *base[POLC_SEC__MAX] = {0};
	size_t count[POLC_SEC__MAX] = {0};
	for (uint32_t i = 0; i < h->nsections; i++) {
		const struct polc_section *s = &t[i];
		if (s->type != i + 1 || s->entry_size != ENTRY_SIZE[s->type]) {
			bad(r, NULL, "section %u has type %u and entry size %u; expected type %u size %u", i,
			    s->type, s->entry_size, i + 1, ENTRY_SIZE[i + 1]);
			return -1;
		}
		/* in this order, so that no sum can wrap around */
		if (s->offset % 8 || s->offset < prev_end || s->offset > data_end ||
		    s->count > data_end || s->count * s->entry_size > data_end - s->offset) {
			bad(r, NULL, "section %u (offset %llu, %llu entries) lies outside the file or overlaps",
			    s->type, (unsigned long long)s->offset, (unsigned long long)s->count);
			return -1;
		}
		prev_end = s->offset + s->count * s->entry_size;
		base[s->type] = img->buf + s->offset;
		count[s->type] = s->count;
	}
	img->strings = base[POLC_SEC_STRINGS];
	img->strings_len = count[POLC_SEC_STRINGS];
	img->ids = base[POLC_SEC_IDENTITIES];
	img->nids = count[POLC_SEC_IDENTITIES];
	img->exact = base[POLC_SEC_IPCACHE_EXACT];
	img->nexact = count[POLC_SEC_IPCACHE_EXACT];
	img->prefixes = base[POLC_SEC_IPCACHE_PREFIX];
	img->nprefixes = count[POLC_SEC_IPCACHE_PREFIX];
	img->eps = base[POLC_SEC_ENDPOINTS];
	img->neps = count[POLC_SEC_ENDPOINTS];
	img->entries = base[POLC_SEC_POLICY];
	img->nentries = count[POLC_SEC_POLICY];
	img->l7 = base[POLC_SEC_L7];
	img->nl7 = count[POLC_SEC_L7];
	img->origins = base[POLC_SEC_ORIGINS];
	img->norigins = count[POLC_SEC_ORIGINS];
	if (img->strings_len && img->strings[img->strings_len - 1]) {
		bad(r, NULL, "strings section does not end with NUL");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- records */

static bool identity_known(const struct image *img, uint32_t id)
{
	size_t lo = 0, hi = img->nids;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (img->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < img->nids && img->ids[lo].id == id;
}

const struct polc_origin *image_origin(const struct image *img, uint32_t cookie)
{
	size_t lo = 0, hi = img->norigins;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (img->origins[mid].cookie < cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < img->norigins && img->origins[lo].cookie == cookie ? &img->origins[lo] : NULL;
}

static bool str_ok(const struct image *img, uint32_t off)
{
	return off < img->strings_len;
}

static void check_identities(struct reader_ctx *r)
{
	const struct image *img = r->img;
	for (size_t i = 0; i < img->nids; i++) {
		const struct polc_identity_rec *id = &img->ids[i];
		if (i && id->id <= img->ids[i - 1].id)
			bad(r, NULL, "identity %u is out of order or repeated", id->id);
		if (!str_ok(img, id->labels_off) || (size_t)id->labels_off + id->labels_len >= img->strings_len)
			bad(r, NULL, "identity %u has labels outside the strings section", id->id);
	}
}

static bool family_ok(uint8_t f)
{
	return f == POLC_FAMILY_IPV4 || f == POLC_FAMILY_IPV6;
}

static void check_ipcache(struct reader_ctx *r)
{
	const struct image *img = r->img;
	for (size_t i = 0; i < img->nexact; i++) {
		const struct polc_ipcache_exact *e = &img->exact[i];
		if (i && memcmp(&e->key, &img->exact[i - 1].key, sizeof e->key) <= 0)
			bad(r, NULL, "ipcache address %zu is out of order or repeated", i);
		if (!family_ok(e->key.family) || !identity_known(img, e->value.identity))
			bad(r, NULL, "ipcache address %zu has a bad family or unknown identity %u", i,
			    e->value.identity);
	}
	for (size_t i = 0; i < img->nprefixes; i++) {
		const struct polc_ipcache_prefix *p = &img->prefixes[i];
		uint32_t max = POLC_IP_STATIC_PREFIX + (p->key.family == POLC_FAMILY_IPV4 ? 32 : 128);
		if (i && memcmp(&p->key, &img->prefixes[i - 1].key, sizeof p->key) <= 0)
			bad(r, NULL, "ipcache prefix %zu is out of order or repeated", i);
		if (!family_ok(p->key.family) || p->key.prefixlen < POLC_IP_STATIC_PREFIX ||
		    p->key.prefixlen > max || !identity_known(img, p->value.identity))
			bad(r, NULL, "ipcache prefix %zu is malformed", i);
	}
}

static bool endpoint_known(const struct image *img, uint16_t id)
{
	for (size_t i = 0; i < img->neps; i++)
		if (img->eps[i].value.endpoint_id == id)
			return true;
	return false;
}

static void check_endpoints(struct reader_ctx *r)
{
	const struct image *img = r->img;
	for (size_t i = 0; i < img->neps; i++) {
		const struct polc_endpoint_rec *e = &img->eps[i];
		if (i && memcmp(&e->key, &img->eps[i - 1].key, sizeof e->key) <= 0)
			bad(r, NULL, "endpoint address %zu is out of order or repeated", i);
		if (!family_ok(e->key.family) || !e->value.endpoint_id ||
		    e->value.ingress_mode > POLC_MODE_AUDIT || e->value.egress_mode > POLC_MODE_AUDIT ||
		    !identity_known(img, e->value.identity) || !str_ok(img, e->value.name_off))
			bad(r, NULL, "endpoint record %zu is malformed", i);
	}
}

static bool valid_prefix(uint32_t plen)
{
	return plen == POLC_POLICY_STATIC_PREFIX ||
	       (plen >= POLC_POLICY_STATIC_PREFIX + 8 && plen <= POLC_POLICY_FULL_PREFIX);
}

static void check_entry(struct reader_ctx *r, size_t i)
{
	const struct image *img = r->img;
	const struct polc_policy_entry *e = &img->entries[i];
	uint32_t plen = e->key.prefixlen;
	uint16_t port = __builtin_bswap16(e->key.dport);
	/* Only a valid prefix has a port mask; a hostile prefixlen must not reach the shift. */
	uint32_t port_bits = valid_prefix(plen) && plen > POLC_POLICY_STATIC_PREFIX + 8
				 ? plen - POLC_POLICY_STATIC_PREFIX - 8
				 : 0;
	uint16_t mask = port_bits ? (uint16_t)(0xFFFFu << (16 - port_bits)) : 0;
	bool deny = e->value.flags & POLC_POLICY_F_DENY;
	if (i && memcmp(&e->key, &img->entries[i - 1].key, sizeof e->key) <= 0 &&
	    e->key.prefixlen == img->entries[i - 1].key.prefixlen &&
	    !memcmp((const char *)&e->key + 4, (const char *)&img->entries[i - 1].key + 4, 12))
		bad(r, NULL, "policy entry %zu repeats a key", i);
	if (!valid_prefix(plen) || (plen == POLC_POLICY_STATIC_PREFIX) != (e->key.proto == 0) ||
	    (port & ~mask) || e->key.pad1 || e->key.pad2 || e->key.egress > 1)
		bad(r, NULL, "policy entry %zu has a malformed key (prefix %u)", i, plen);
	if ((e->value.flags >> POLC_POLICY_LPM_SHIFT) != plen - POLC_POLICY_STATIC_PREFIX ||
	    (deny && e->value.precedence != POLC_PRECEDENCE_DENY) ||
	    (!deny && e->value.precedence == POLC_PRECEDENCE_DENY))
		bad(r, NULL, "policy entry %zu has inconsistent flags or precedence", i);
	if (!endpoint_known(img, __builtin_bswap16(e->key.endpoint)) ||
	    (e->key.identity && !identity_known(img, __builtin_bswap32(e->key.identity))))
		bad(r, NULL, "policy entry %zu refers to an unknown endpoint or identity", i);
	if (!image_origin(img, e->value.cookie))
		bad(r, NULL, "policy entry %zu refers to unknown rule cookie %u", i, e->value.cookie);
	uint16_t l7 = __builtin_bswap16(e->value.proxy_port);
	if (l7 > img->nl7 || (l7 && deny))
		bad(r, NULL, "policy entry %zu refers to unknown L7 rules %u", i, l7);
}

/* Bytes 4-11 and 12-15 of a key (everything after prefixlen) as big-endian numbers: comparing
 * them compares the bytes, as memcmp would, in two steps. */
static uint64_t key_head(const struct polc_policy_key *k)
{
	uint64_t v;
	memcpy(&v, (const char *)k + 4, 8);
	return __builtin_bswap64(v);
}

static uint32_t key_tail(const struct polc_policy_key *k)
{
	uint32_t v;
	memcpy(&v, (const char *)k + 12, 4);
	return __builtin_bswap32(v);
}

#define CMP3(a, b) (((a) > (b)) - ((a) < (b)))

static int cmp_entry_order(const struct polc_policy_key *a, const struct polc_policy_key *b)
{
	uint64_t ha = key_head(a), hb = key_head(b);
	if (ha != hb)
		return CMP3(ha, hb);
	uint32_t ta = key_tail(a), tb = key_tail(b);
	return ta != tb ? CMP3(ta, tb) : CMP3(a->prefixlen, b->prefixlen);
}

static void check_policy_entries(struct reader_ctx *r)
{
	const struct image *img = r->img;
	const struct polc_capacity *cap = &img->hdr->capacity;
	size_t run = 0, max = 0;
	for (size_t i = 0; i < img->nentries; i++) {
		check_entry(r, i);
		if (i && cmp_entry_order(&img->entries[i - 1].key, &img->entries[i].key) >= 0)
			bad(r, NULL, "policy entries are not sorted at %zu", i);
		if (i && img->entries[i].key.endpoint == img->entries[i - 1].key.endpoint)
			run++;
		else
			run = 1;
		if (run > max)
			max = run;
	}
	if (max > cap->policy_max_per_endpoint)
		bad(r, NULL, "an endpoint has %zu entries, over the declared capacity %u", max,
		    cap->policy_max_per_endpoint);
}

static void check_tables(struct reader_ctx *r)
{
	const struct image *img = r->img;
	for (size_t i = 0; i < img->nl7; i++)
		if (img->l7[i].id != i + 1 || !str_ok(img, img->l7[i].text_off))
			bad(r, NULL, "L7 record %zu is malformed", i);
	for (size_t i = 0; i < img->norigins; i++) {
		const struct polc_origin *o = &img->origins[i];
		if ((i && o->cookie <= img->origins[i - 1].cookie) || !str_ok(img, o->name_off) ||
		    !str_ok(img, o->namespace_off) || !str_ok(img, o->file_off) ||
		    o->kind < POLC_ORIGIN_CNP || o->kind > POLC_ORIGIN_SYNTHETIC)
			bad(r, NULL, "rule origin %zu is malformed", i);
	}
	const struct polc_capacity *cap = &img->hdr->capacity;
	if (cap->identities != img->nids || cap->ipcache_exact != img->nexact ||
	    cap->ipcache_prefix != img->nprefixes || cap->endpoints != img->neps ||
	    cap->policy_entries != img->nentries || cap->l7_rules != img->nl7 ||
	    cap->origins != img->norigins)
		bad(r, NULL, "declared capacities do not match the section counts");
}

/* Where each endpoint's entries start: lookups then search one endpoint's run, not the image. */
static void index_endpoints(struct image *img)
{
	size_t top = 0; /* the last endpoint with entries: they sort by endpoint first */
	if (img->nentries)
		top = __builtin_bswap16(img->entries[img->nentries - 1].key.endpoint);
	img->nep_first = top + 2;
	img->ep_first = xcalloc(img->nep_first, sizeof(size_t));
	size_t at = 0;
	for (size_t e = 0; e < img->nep_first; e++) {
		while (at < img->nentries && __builtin_bswap16(img->entries[at].key.endpoint) < e)
			at++;
		img->ep_first[e] = at;
	}
}

int image_parse(uint8_t *buf, size_t size, const char *path, struct image *img,
		struct diag_sink *d)
{
	memset(img, 0, sizeof(*img));
	img->buf = buf;
	img->size = size;
	img->path = path;
	struct reader_ctx r = {img, d, 0};
	if (check_header(&r) < 0 || map_sections(&r) < 0)
		return -1;
	check_identities(&r);
	check_ipcache(&r);
	check_endpoints(&r);
	check_tables(&r);
	check_policy_entries(&r);
	if (r.errors)
		return -1;
	index_endpoints(img);
	return 0;
}

int image_load(const char *path, struct image *img, struct diag_sink *d)
{
	FILE *f = fopen(path, "rb");
	memset(img, 0, sizeof(*img));
	if (!f) {
		diag_pos(d, R_IO, NULL, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
		return -1;
	}
	struct strbuf sb = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		sb_add(&sb, chunk, n);
	bool err = ferror(f);
	fclose(f);
	if (err) {
		sb_free(&sb);
		diag_pos(d, R_IO, NULL, path, 0, 0, NULL, "read failed");
		return -1;
	}
	/* Own a copy with 8-byte alignment, so records can be read in place. */
	uint8_t *buf = aligned_alloc(8, (sb.len + 7) & ~(size_t)7 ? (sb.len + 7) & ~(size_t)7 : 8);
	if (!buf) {
		sb_free(&sb);
		return -1;
	}
	memcpy(buf, sb.s ? sb.s : "", sb.len);
	size_t len = sb.len;
	sb_free(&sb);
	return image_parse(buf, len, path, img, d);
}

void image_free(struct image *img)
{
	free(img->buf);
	free(img->ep_first);
	memset(img, 0, sizeof(*img));
}

const struct polc_endpoint_rec *image_endpoint_by_name(const struct image *img, const char *name)
{
	for (size_t i = 0; i < img->neps; i++)
		if (!strcmp(image_string(img, img->eps[i].value.name_off), name))
			return &img->eps[i];
	return NULL;
}

/* ---------------------------------------------------------------- lookup */

static int cmp_lookup(const struct polc_policy_key *k, const struct polc_policy_key *e)
{
	return cmp_entry_order(k, e);
}

/* Entries sort by the bytes after prefixlen, and every stored prefix covers the first 64 bits
 * (endpoint, direction, identity): all the candidates for a key sit in one run. */
static void candidate_run(const struct image *img, const struct polc_policy_key *k, size_t *first,
			  size_t *end)
{
	uint64_t head = key_head(k);
	size_t lo = 0, hi = img->nentries, ep = __builtin_bswap16(k->endpoint);
	if (img->ep_first) { /* image_parse's index: this endpoint's run (none past the last) */
		bool indexed = ep + 1 < img->nep_first;
		lo = indexed ? img->ep_first[ep] : img->nentries;
		hi = indexed ? img->ep_first[ep + 1] : img->nentries;
	}
	size_t top = hi;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (key_head(&img->entries[mid].key) < head)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	hi = top;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (key_head(&img->entries[mid].key) <= head)
			lo = mid + 1;
		else
			hi = mid;
	}
	*end = lo;
}

/* The LPM trie semantics over sorted entries: try each stored prefix length, longest first. */
static const struct polc_policy_value *lpm(const struct image *img, const struct polc_policy_key *k)
{
	static const uint8_t lens[] = {88, 87, 86, 85, 84, 83, 82, 81, 80,
				       79, 78, 77, 76, 75, 74, 73, 72, 64};
	size_t first, end;
	candidate_run(img, k, &first, &end);
	for (size_t i = 0; i < sizeof lens && first < end; i++) {
		struct polc_policy_key m = *k;
		m.prefixlen = lens[i];
		int port_bits = lens[i] > 72 ? lens[i] - 72 : 0;
		uint16_t port = __builtin_bswap16(k->dport);
		port = port_bits ? (uint16_t)(port & (0xFFFFu << (16 - port_bits))) : 0;
		m.dport = __builtin_bswap16(port);
		if (lens[i] == 64)
			m.proto = 0;
		size_t lo = first, hi = end;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_lookup(&img->entries[mid].key, &m) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < end && !cmp_lookup(&img->entries[lo].key, &m))
			return &img->entries[lo].value;
	}
	return NULL;
}

static inline const struct polc_policy_value *polc_policy_lookup(void *map,
								 const struct polc_policy_key *key)
{
	return lpm(map, key);
}

#include "lookup.h"

void image_decide(const struct image *img, uint16_t endpoint, uint8_t egress, uint32_t remote,
		  uint8_t proto, uint16_t port, struct polc_decision *out)
{
	struct polc_flow f = {endpoint, egress, proto, remote, port, 0};
	polc_policy_decide((void *)img, &f, out);
}
