/* HTTP/2 in cleartext (h2c: prior knowledge, or an HTTP/1.1 Upgrade), for gRPC above all:
 * frames are read in both directions, header blocks (HEADERS + CONTINUATION) are decoded with
 * HPACK (static table, dynamic table, Huffman), and each request stream — :method, :path,
 * content-type — is learned once the server answers it with a :status. gRPC calls come out as
 * POST /package.Service/Method.
 */
#include "learn.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- Huffman (RFC 7541 B) */

/* Code lengths of symbols 0..256 (256 is EOS). The code is canonical: codes of one length
 * are consecutive in symbol order, each length's first code follows the previous length's
 * last, so the lengths alone define it. */
static const uint8_t HUFF_LEN[257] = {
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, /* 0 */
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	6,  10, 10, 12, 13, 6,  8,  11, 10, 10, 8,  11, 8,  6,  6,  6, /* 32 */
	5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8,  15, 6,  12, 10,
	13, 6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, /* 64 */
	7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8,  13, 19, 13, 14, 6,
	15, 5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, /* 96 */
	6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7,  15, 11, 14, 13, 28,
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, /* 128 */
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, /* 160 */
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, /* 192 */
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, /* 224 */
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
	30, /* EOS */
};

static struct {
	bool ready;
	uint32_t first[31]; /* first code of each length */
	uint16_t count[31];
	uint16_t offset[31]; /* index into sym of the first symbol of each length */
	uint16_t sym[257];
} huff;

static void huff_init(void)
{
	if (huff.ready)
		return;
	size_t k = 0;
	for (int len = 1; len <= 30; len++)
		for (int s = 0; s < 257; s++)
			if (HUFF_LEN[s] == len) {
				if (!huff.count[len])
					huff.offset[len] = (uint16_t)k;
				huff.count[len]++;
				huff.sym[k++] = (uint16_t)s;
			}
	uint32_t code = 0;
	for (int len = 1; len <= 30; len++) {
		huff.first[len] = code;
		code = (code + huff.count[len]) << 1;
	}
	huff.ready = true;
}

int hpack_huffman_decode(const uint8_t *p, size_t n, char *out, size_t outsize)
{
	huff_init();
	size_t o = 0;
	uint32_t code = 0;
	int len = 0;
	for (size_t i = 0; i < n; i++)
		for (int b = 7; b >= 0; b--) {
			code = code << 1 | ((p[i] >> b) & 1u);
			len++;
			if (len > 30)
				return -1;
			if (code - huff.first[len] < huff.count[len]) {
				uint16_t s = huff.sym[huff.offset[len] + code - huff.first[len]];
				if (s == 256)
					return -1; /* EOS inside a string is an error */
				if (o + 1 >= outsize)
					return -1;
				out[o++] = (char)s;
				code = 0;
				len = 0;
			}
		}
	/* padding: fewer than 8 bits, all ones (a prefix of EOS) */
	if (len > 7 || code != (1u << len) - 1)
		return -1;
	out[o] = 0;
	return (int)o;
}

/* ---------------------------------------------------------------- HPACK (RFC 7541) */

static const char *const STATIC_TABLE[62][2] = {
	{"", ""},
	{":authority", ""},
	{":method", "GET"},
	{":method", "POST"},
	{":path", "/"},
	{":path", "/index.html"},
	{":scheme", "http"},
	{":scheme", "https"},
	{":status", "200"},
	{":status", "204"},
	{":status", "206"},
	{":status", "304"},
	{":status", "400"},
	{":status", "404"},
	{":status", "500"},
	{"accept-charset", ""},
	{"accept-encoding", "gzip, deflate"},
	{"accept-language", ""},
	{"accept-ranges", ""},
	{"accept", ""},
	{"access-control-allow-origin", ""},
	{"age", ""},
	{"allow", ""},
	{"authorization", ""},
	{"cache-control", ""},
	{"content-disposition", ""},
	{"content-encoding", ""},
	{"content-language", ""},
	{"content-length", ""},
	{"content-location", ""},
	{"content-range", ""},
	{"content-type", ""},
	{"cookie", ""},
	{"date", ""},
	{"etag", ""},
	{"expect", ""},
	{"expires", ""},
	{"from", ""},
	{"host", ""},
	{"if-match", ""},
	{"if-modified-since", ""},
	{"if-none-match", ""},
	{"if-range", ""},
	{"if-unmodified-since", ""},
	{"last-modified", ""},
	{"link", ""},
	{"location", ""},
	{"max-forwards", ""},
	{"proxy-authenticate", ""},
	{"proxy-authorization", ""},
	{"range", ""},
	{"referer", ""},
	{"refresh", ""},
	{"retry-after", ""},
	{"server", ""},
	{"set-cookie", ""},
	{"strict-transport-security", ""},
	{"transfer-encoding", ""},
	{"user-agent", ""},
	{"vary", ""},
	{"via", ""},
	{"www-authenticate", ""},
};

#define HPACK_MAX_TABLE 65536

struct hentry {
	char *name, *value;
	size_t nlen, vlen;
};

struct hpack {
	struct hentry *v; /* ring, newest at (head - 1) */
	size_t cap, n, head;
	size_t size, max;
};

struct hpack *hpack_new(void)
{
	struct hpack *t = xcalloc(1, sizeof(*t));
	t->max = 4096;
	return t;
}

static struct hentry *dyn_at(struct hpack *t, size_t i) /* 0 = newest */
{
	return &t->v[(t->head + t->cap - 1 - i) % t->cap];
}

static void evict(struct hpack *t)
{
	while (t->n && t->size > t->max) {
		struct hentry *e = dyn_at(t, t->n - 1);
		t->size -= e->nlen + e->vlen + 32;
		free(e->name);
		free(e->value);
		e->name = e->value = NULL;
		t->n--;
	}
}

void hpack_free(struct hpack *t)
{
	if (!t)
		return;
	t->max = 0;
	evict(t);
	free(t->v);
	free(t);
}

static void dyn_add(struct hpack *t, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t sz = nlen + vlen + 32;
	/* make room: evict the oldest entries until the new one fits */
	size_t keep = t->max;
	t->max = sz > keep ? 0 : keep - sz;
	evict(t);
	t->max = keep;
	if (sz > t->max)
		return; /* larger than the table: the table is now empty, nothing is added */
	t->size += sz;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct hentry *nv = xcalloc(ncap, sizeof(*nv));
		for (size_t i = 0; i < t->n; i++) /* oldest first */
			nv[i] = *dyn_at(t, t->n - 1 - i);
		free(t->v);
		t->v = nv;
		t->cap = ncap;
		t->head = t->n;
	}
	struct hentry *e = &t->v[t->head];
	e->name = xmalloc(nlen + 1);
	memcpy(e->name, name, nlen);
	e->name[nlen] = 0;
	e->value = xmalloc(vlen + 1);
	memcpy(e->value, value, vlen);
	e->value[vlen] = 0;
	e->nlen = nlen;
	e->vlen = vlen;
	t->head = (t->head + 1) % t->cap;
	t->n++;
}

static int read_int(const uint8_t **p, const uint8_t *end, int prefix, uint64_t *out)
{
	if (*p >= end)
		return -1;
	uint64_t mask = (1u << prefix) - 1, v = **p & mask;
	(*p)++;
	if (v < mask) {
		*out = v;
		return 0;
	}
	for (int shift = 0; shift < 35; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = **p;
		(*p)++;
		v += (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* A string literal into buf; returns its length or -1. */
static int read_str(const uint8_t **p, const uint8_t *end, char *buf, size_t size)
{
	if (*p >= end)
		return -1;
	bool huffman = **p & 0x80;
	uint64_t len;
	if (read_int(p, end, 7, &len) < 0 || len > (uint64_t)(end - *p))
		return -1;
	int n;
	if (huffman) {
		n = hpack_huffman_decode(*p, (size_t)len, buf, size);
	} else {
		if (len + 1 > size)
			return -1;
		memcpy(buf, *p, (size_t)len);
		buf[len] = 0;
		n = (int)len;
	}
	*p += len;
	return n;
}

static int lookup(struct hpack *t, uint64_t idx, const char **name, size_t *nlen,
		  const char **value, size_t *vlen)
{
	if (idx == 0)
		return -1;
	if (idx < 62) {
		*name = STATIC_TABLE[idx][0];
		*value = STATIC_TABLE[idx][1];
		*nlen = strlen(*name);
		*vlen = strlen(*value);
		return 0;
	}
	if (idx - 62 >= t->n)
		return -1;
	struct hentry *e = dyn_at(t, (size_t)(idx - 62));
	*name = e->name;
	*nlen = e->nlen;
	*value = e->value;
	*vlen = e->vlen;
	return 0;
}

#define HSTR_MAX 8192
#define PATH_LIMIT_H2 2048

int hpack_decode(struct hpack *t, const uint8_t *p, size_t n,
		 void (*cb)(void *, const char *, size_t, const char *, size_t), void *ctx)
{
	if (!n) /* an empty block (and perhaps no buffer behind it) */
		return 0;
	const uint8_t *end = p + n;
	char *nbuf = xmalloc(HSTR_MAX), *vbuf = xmalloc(HSTR_MAX);
	int rc = 0;
	while (p < end) {
		uint8_t b = *p;
		uint64_t idx;
		if (b & 0x80) { /* indexed field */
			const char *name, *value;
			size_t nl, vl;
			if (read_int(&p, end, 7, &idx) < 0 || lookup(t, idx, &name, &nl, &value, &vl) < 0)
				goto bad;
			cb(ctx, name, nl, value, vl);
			continue;
		}
		if ((b & 0xe0) == 0x20) { /* dynamic table size update */
			if (read_int(&p, end, 5, &idx) < 0 || idx > HPACK_MAX_TABLE)
				goto bad;
			t->max = (size_t)idx;
			evict(t);
			continue;
		}
		bool incremental = (b & 0xc0) == 0x40;
		int prefix = incremental ? 6 : 4;
		if (read_int(&p, end, prefix, &idx) < 0)
			goto bad;
		const char *name;
		size_t nl;
		if (idx) {
			const char *v;
			size_t vl;
			if (lookup(t, idx, &name, &nl, &v, &vl) < 0)
				goto bad;
			if (nl + 1 > HSTR_MAX)
				goto bad;
			memcpy(nbuf, name, nl + 1);
		} else {
			int k = read_str(&p, end, nbuf, HSTR_MAX);
			if (k < 0)
				goto bad;
			nl = (size_t)k;
		}
		int vk = read_str(&p, end, vbuf, HSTR_MAX);
		if (vk < 0)
			goto bad;
		cb(ctx, nbuf, nl, vbuf, (size_t)vk);
		if (incremental)
			dyn_add(t, nbuf, nl, vbuf, (size_t)vk);
	}
	goto out;
bad:
	rc = -1;
out:
	free(nbuf);
	free(vbuf);
	return rc;
}

/* ---------------------------------------------------------------- frames */

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN 24
#define BLOCK_MAX (64u << 10)
#define STREAMS_MAX 128

bool h2_is_preface(const uint8_t *p, size_t n)
{
	size_t k = n < PREFACE_LEN ? n : PREFACE_LEN;
	return k >= 16 && !memcmp(p, PREFACE, k);
}

struct h2dir {
	uint32_t preface; /* bytes of the preface still expected */
	uint8_t hdr[9];
	uint32_t hlen;
	uint32_t remain; /* of the current frame's payload */
	uint8_t type, flags;
	uint32_t stream;
	uint8_t *frame; /* HEADERS / CONTINUATION payload being collected */
	uint32_t flen, fcap;
	uint8_t *block; /* the header block across CONTINUATIONs */
	uint32_t blen, bcap;
	uint32_t block_stream;
	bool in_block, block_end_stream;
	bool dead;
	struct hpack *hp;
};

struct h2stream {
	uint32_t id;
	const char *method;
	char *path;
	uint32_t flags;
	uint64_t ts;
};

struct l7_h2 {
	struct h2dir d[2];
	struct h2stream s[STREAMS_MAX];
	size_t ns;
	uint64_t lost;
};

struct l7_h2 *h2_new(bool after_upgrade)
{
	struct l7_h2 *h = xcalloc(1, sizeof(*h));
	h->d[0].preface = PREFACE_LEN;
	h->d[0].hp = hpack_new();
	h->d[1].hp = hpack_new();
	(void)after_upgrade; /* the client sends the preface after an upgrade too */
	return h;
}

static void dir_free(struct learner *L, struct h2dir *d)
{
	if (d->frame)
		l7_release(L, d->fcap);
	if (d->block)
		l7_release(L, d->bcap);
	free(d->frame);
	free(d->block);
	hpack_free(d->hp);
	memset(d, 0, sizeof(*d));
}

void h2_free(struct learner *L, struct l7_h2 *h)
{
	if (!h)
		return;
	dir_free(L, &h->d[0]);
	dir_free(L, &h->d[1]);
	for (size_t i = 0; i < h->ns; i++)
		free(h->s[i].path);
	free(h);
}

uint64_t h2_pending(const struct l7_h2 *h)
{
	return h->ns;
}

void h2_gap(struct l7_h2 *h, int dir)
{
	/* HPACK state is lost with the bytes: nothing after a gap can be decoded */
	h->d[dir].dead = true;
}

static bool grow(struct learner *L, uint8_t **buf, uint32_t *cap, uint32_t need)
{
	if (need <= *cap)
		return true;
	if (need > BLOCK_MAX)
		return false;
	uint32_t ncap = *cap ? *cap : 1024;
	while (ncap < need)
		ncap *= 2;
	if (!l7_charge(L, ncap - *cap))
		return false;
	*buf = xrealloc(*buf, ncap);
	*cap = ncap;
	return true;
}

struct fields {
	char method[32], path[PATH_LIMIT_H2 + 1], ctype[64];
	int status;
	bool have_method, have_path, path_too_long;
};

static void on_field(void *ctx, const char *name, size_t nl, const char *value, size_t vl)
{
	struct fields *f = ctx;
	if (nl == 7 && !memcmp(name, ":method", 7) && vl < sizeof f->method) {
		memcpy(f->method, value, vl);
		f->method[vl] = 0;
		f->have_method = true;
	} else if (nl == 5 && !memcmp(name, ":path", 5)) {
		if (vl > PATH_LIMIT_H2) {
			f->path_too_long = true;
			return;
		}
		memcpy(f->path, value, vl);
		f->path[vl] = 0;
		f->have_path = true;
	} else if (nl == 7 && !memcmp(name, ":status", 7) && vl == 3) {
		f->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
	} else if (nl == 12 && !memcmp(name, "content-type", 12) && vl < sizeof f->ctype) {
		memcpy(f->ctype, value, vl);
		f->ctype[vl] = 0;
	}
}

static struct h2stream *find_stream(struct l7_h2 *h, uint32_t id)
{
	for (size_t i = 0; i < h->ns; i++)
		if (h->s[i].id == id)
			return &h->s[i];
	return NULL;
}

static void drop_stream(struct l7_h2 *h, struct h2stream *s)
{
	free(s->path);
	*s = h->s[--h->ns];
}

static uint32_t header_block(struct l7_h2 *h, struct l7_sink *s, int dir)
{
	struct h2dir *d = &h->d[dir];
	struct fields f;
	memset(&f, 0, sizeof(f));
	if (hpack_decode(d->hp, d->block, d->blen, on_field, &f) < 0) {
		d->dead = true; /* the table is now out of step */
		return L7F_INCOMPLETE;
	}
	if (dir == 0) {
		if (f.path_too_long)
			return L7F_OPAQUE;
		if (!f.have_method || !f.have_path)
			return 0; /* trailers */
		if (h->ns == STREAMS_MAX) {
			drop_stream(h, &h->s[0]);
			h->lost++;
		}
		struct h2stream *st = &h->s[h->ns++];
		st->id = d->block_stream;
		st->method = intern(s->L, f.method, strlen(f.method));
		char *q = strchr(f.path, '?');
		st->flags = REQ_H2;
		if (q) {
			*q = 0;
			st->flags |= REQ_QUERY;
		}
		st->path = xstrdup(f.path[0] ? f.path : "/");
		if (!strncmp(f.ctype, "application/grpc", 16))
			st->flags |= REQ_GRPC;
		st->ts = s->ts;
		s->L->st.h2_requests++;
		return L7F_H2 | ((st->flags & REQ_GRPC) ? L7F_GRPC : 0);
	}
	if (!f.status || (f.status >= 100 && f.status < 200))
		return 0; /* trailers, or informational */
	struct h2stream *st = find_stream(h, d->block_stream);
	if (!st)
		return 0;
	s->L->st.http_requests++;
	if (s->edge)
		reqtab_add(s->L, &s->edge->http, st->method, st->path, st->ts,
			   st->flags | (1u << (f.status / 100)));
	drop_stream(h, st);
	return L7F_H2;
}

static uint32_t frame_done(struct l7_h2 *h, struct l7_sink *s, int dir)
{
	struct h2dir *d = &h->d[dir];
	uint32_t fl = 0;
	if (d->type == 1 || d->type == 9) { /* HEADERS, CONTINUATION */
		const uint8_t *p = d->frame;
		uint32_t n = d->flen;
		if (d->type == 1) {
			uint32_t pad = 0;
			if (d->flags & 0x08) {
				if (!n)
					return L7F_INCOMPLETE;
				pad = p[0];
				p++, n--;
			}
			if (d->flags & 0x20) {
				if (n < 5)
					return L7F_INCOMPLETE;
				p += 5, n -= 5;
			}
			if (pad > n)
				return L7F_INCOMPLETE;
			n -= pad;
			d->blen = 0;
			d->block_stream = d->stream;
			d->in_block = true;
		} else if (!d->in_block || d->stream != d->block_stream) {
			d->dead = true;
			return L7F_INCOMPLETE;
		}
		if (!grow(s->L, &d->block, &d->bcap, d->blen + n)) {
			d->dead = true;
			return L7F_INCOMPLETE;
		}
		if (n) /* no block is allocated before its first byte */
			memcpy(d->block + d->blen, p, n);
		d->blen += n;
		if (d->flags & 0x04) { /* END_HEADERS */
			d->in_block = false;
			fl |= header_block(h, s, dir);
		}
	} else if (d->type == 3 && dir == 1) { /* RST_STREAM from the server: refused */
		struct h2stream *st = find_stream(h, d->stream);
		if (st) {
			drop_stream(h, st);
			h->lost++;
		}
	}
	return fl;
}

uint32_t h2_feed(struct l7_h2 *h, struct l7_sink *s, int dir, const uint8_t *p, size_t n)
{
	struct h2dir *d = &h->d[dir];
	uint32_t fl = L7F_H2;
	while (n && !d->dead) {
		if (d->preface) {
			uint32_t off = PREFACE_LEN - d->preface;
			size_t k = n < d->preface ? n : d->preface;
			if (memcmp(p, PREFACE + off, k)) {
				d->dead = true;
				return fl | L7F_OPAQUE;
			}
			d->preface -= (uint32_t)k;
			p += k;
			n -= k;
			continue;
		}
		if (d->hlen < 9) {
			size_t k = 9 - d->hlen < n ? 9 - d->hlen : n;
			memcpy(d->hdr + d->hlen, p, k);
			d->hlen += (uint32_t)k;
			p += k;
			n -= k;
			if (d->hlen < 9)
				break;
			d->remain = (uint32_t)d->hdr[0] << 16 | (uint32_t)d->hdr[1] << 8 | d->hdr[2];
			d->type = d->hdr[3];
			d->flags = d->hdr[4];
			d->stream = ((uint32_t)d->hdr[5] << 24 | (uint32_t)d->hdr[6] << 16 |
				     (uint32_t)d->hdr[7] << 8 | d->hdr[8]) & 0x7fffffffu;
			d->flen = 0;
			if (d->remain > (1u << 24) || d->type > 0x20) {
				d->dead = true;
				return fl | L7F_OPAQUE;
			}
			if ((d->type == 1 || d->type == 9) &&
			    !grow(s->L, &d->frame, &d->fcap, d->remain)) {
				d->dead = true;
				return fl | L7F_INCOMPLETE;
			}
		}
		size_t k = d->remain < n ? d->remain : n;
		if (k && (d->type == 1 || d->type == 9)) {
			memcpy(d->frame + d->flen, p, k);
			d->flen += (uint32_t)k;
		}
		d->remain -= (uint32_t)k;
		p += k;
		n -= k;
		if (!d->remain) {
			fl |= frame_done(h, s, dir);
			d->hlen = 0;
		}
	}
	return fl;
}
