/* HTTP/1.x, both directions of one connection, as a streaming parser: request and status
 * lines, the headers that frame a message (Content-Length, Transfer-Encoding: chunked,
 * Upgrade), bodies skipped by length, chunk by chunk, or to the end of the connection.
 * Pipelined requests are answered in order, so responses are matched to requests FIFO; a
 * request is learned only once it has an answer (a 1xx other than 101 is not one).
 *
 * Privacy: the query string is never kept (only the fact that there was one), and no header
 * value is stored.
 */
#include "learn.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 8192
#define PATH_MAX_BYTES 2048
#define PENDING_MAX 16

enum hstate { S_START, S_HEADERS, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END, S_TRAILERS,
	      S_EOF, S_RESYNC, S_DEAD };

struct hdir {
	uint8_t st;
	uint64_t remain;
	char *buf; /* a line that spans segments */
	uint32_t blen, bcap;
	/* the message being read */
	bool chunked, has_len, upgrade_h2, upgrade, keep;
	uint64_t clen;
	int status;
	const char *method;
	uint32_t pflags;
	bool bad_path;
};

struct pending {
	const char *method;
	char *path; /* inl, or malloc'd when longer */
	char inl[56];
	uint32_t flags;
	uint64_t ts;
	bool head, connect, upgrade_h2;
};

struct l7_http {
	struct hdir d[2];
	uint32_t qh, qn;
	uint64_t lost; /* requests whose answers could not be matched (gaps) */
	bool to_h2;
	struct pending cur; /* the request being read */
	/* last: http_new() zeroes what comes before it */
	struct pending q[PENDING_MAX];
};

static void pending_free(struct pending *p)
{
	if (p->path != p->inl)
		free(p->path);
	p->path = NULL;
}

static void pending_set_path(struct pending *p, const char *path, size_t n)
{
	pending_free(p);
	if (n < sizeof p->inl) {
		memcpy(p->inl, path, n);
		p->inl[n] = 0;
		p->path = p->inl;
	} else {
		p->path = xmalloc(n + 1);
		memcpy(p->path, path, n);
		p->path[n] = 0;
	}
}

/* Moves a request (and its path) into a queue slot. */
static void pending_move(struct pending *to, struct pending *from)
{
	*to = *from;
	if (from->path == from->inl)
		to->path = to->inl;
	from->path = NULL;
}

/* ---------------------------------------------------------------- sniffing */

static const char *const METHODS[] = {"GET",    "POST",   "PUT",     "DELETE", "HEAD",
				      "OPTIONS", "PATCH", "CONNECT", "TRACE",  "PROPFIND",
				      "QUERY",  "MKCOL",  "COPY",    "MOVE",   "LOCK",
				      "UNLOCK", "PROPPATCH", "SEARCH", "REPORT", NULL};

/* A method token (any case) followed by a space and a request target. */
static size_t method_len(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < 16 && isalpha(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return 0;
	return i;
}

bool http_looks_like_request(const uint8_t *p, size_t n)
{
	size_t m = method_len(p, n);
	if (!m)
		return false;
	for (const char *const *k = METHODS; *k; k++)
		if (strlen(*k) == m && !strncasecmp((const char *)p, *k, m))
			return m + 1 < n && (p[m + 1] == '/' || p[m + 1] == '*' || isalpha(p[m + 1]));
	return false;
}

bool http_looks_like_response(const uint8_t *p, size_t n)
{
	return n >= 12 && !strncasecmp((const char *)p, "HTTP/1.", 7) && p[8] == ' ' && isdigit(p[9]) && isdigit(p[10]) &&
	       isdigit(p[11]);
}

/* ---------------------------------------------------------------- lifetime */

struct l7_http *http_new(void)
{
	struct l7_http *h = xmalloc(sizeof(*h));
	memset(h, 0, offsetof(struct l7_http, q)); /* the queue needs no zeroing */
	return h;
}

static void drop_buf(struct learner *L, struct hdir *d)
{
	if (d->buf) {
		l7_release(L, d->bcap);
		free(d->buf);
		d->buf = NULL;
		d->blen = d->bcap = 0;
	}
}

void http_free(struct learner *L, struct l7_http *h)
{
	if (!h)
		return;
	for (int i = 0; i < 2; i++)
		drop_buf(L, &h->d[i]);
	for (uint32_t i = 0; i < h->qn; i++)
		pending_free(&h->q[(h->qh + i) % PENDING_MAX]);
	pending_free(&h->cur);
	free(h);
}

uint64_t http_pending(const struct l7_http *h)
{
	return h->qn;
}

bool http_switched_to_h2(const struct l7_http *h)
{
	return h->to_h2;
}

void http_gap(struct l7_http *h, int dir)
{
	struct hdir *d = &h->d[dir];
	if (d->st == S_DEAD)
		return;
	d->st = S_RESYNC;
	d->blen = 0;
	if (dir == 1) { /* answers lost: the queue no longer lines up */
		for (uint32_t i = 0; i < h->qn; i++)
			pending_free(&h->q[(h->qh + i) % PENDING_MAX]);
		h->lost += h->qn;
		h->qn = 0;
	}
}

/* ---------------------------------------------------------------- messages */

static void record(struct l7_sink *s, const char *method, const char *path, int status,
		   uint32_t flags, uint64_t ts)
{
	s->L->st.http_requests++;
	if (!s->edge)
		return;
	if (status >= 100 && status < 600)
		flags |= 1u << (status / 100);
	reqtab_add(s->L, &s->edge->http, method, path, ts, flags);
}

/* Request target to path: absolute-form loses scheme and authority; the query string and
 * fragment are dropped (REQ_QUERY says there was one). */
static bool set_path(struct l7_http *h, struct hdir *d, const char *t, size_t n)
{
	d->pflags = 0;
	if (n > 7 && (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8))) {
		const char *a = memchr(t, ':', n) + 3;
		const char *slash = memchr(a, '/', (size_t)(t + n - a));
		if (!slash) {
			pending_set_path(&h->cur, "/", 1);
			return true;
		}
		n -= (size_t)(slash - t);
		t = slash;
	}
	size_t len = 0;
	for (; len < n; len++) {
		unsigned char c = (unsigned char)t[len];
		if (c == '?' || c == '#')
			break;
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	if (len < n && t[len] == '?')
		d->pflags |= REQ_QUERY;
	if (len > PATH_MAX_BYTES)
		return false;
	if (!len)
		pending_set_path(&h->cur, "/", 1);
	else
		pending_set_path(&h->cur, t, len);
	return true;
}

static void reset_message(struct hdir *d)
{
	d->chunked = d->has_len = d->upgrade_h2 = d->upgrade = false;
	d->keep = true;
	d->clen = 0;
	d->status = 0;
	d->bad_path = false;
}

/* returns L7F_* flags; -1 in *fatal when the stream is not HTTP */
static uint32_t start_line(struct l7_http *h, struct l7_sink *s, int dir, const char *l, size_t n,
			   bool *fatal)
{
	struct hdir *d = &h->d[dir];
	reset_message(d);
	if (dir == 0) {
		size_t m = method_len((const uint8_t *)l, n);
		const char *sp2 = m ? memchr(l + m + 1, ' ', n - m - 1) : NULL;
		if (!m || !sp2 || (size_t)(l + n - sp2) < 9 || strncasecmp(sp2 + 1, "HTTP/", 5)) {
			*fatal = true;
			return L7F_OPAQUE;
		}
		/* the same method as last time on this connection: no lookup */
		if (!d->method || strlen(d->method) != m || memcmp(d->method, l, m))
			d->method = intern(s->L, l, m);
		if (!set_path(h, d, l + m + 1, (size_t)(sp2 - (l + m + 1))))
			d->bad_path = true;
		if (!strncmp(sp2 + 1, "HTTP/1.0", 8))
			d->keep = false;
	} else {
		if (n < 12 || strncasecmp(l, "HTTP/", 5) || l[8] != ' ' || !isdigit((unsigned char)l[9]) ||
		    !isdigit((unsigned char)l[10]) || !isdigit((unsigned char)l[11])) {
			*fatal = true;
			return L7F_OPAQUE;
		}
		d->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	}
	d->st = S_HEADERS;
	return 0;
}

static bool header_is(const char *l, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(l, name, k) || l[k] != ':')
		return false;
	const char *v = l + k + 1;
	const char *end = l + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*val = v;
	*vlen = (size_t)(end - v);
	return true;
}

static bool contains_token(const char *v, size_t n, const char *tok)
{
	size_t k = strlen(tok);
	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(v + i, tok, k))
			return true;
	return false;
}

static void header(struct hdir *d, const char *l, size_t n)
{
	const char *v;
	size_t vn;
	char c0 = n ? (char)(l[0] | 0x20) : 0;
	if (c0 != 'c' && c0 != 't' && c0 != 'u')
		return; /* none of the headers below */
	if (header_is(l, n, "content-length", &v, &vn)) {
		uint64_t x = 0;
		size_t i = 0;
		for (; i < vn && isdigit((unsigned char)v[i]) && x < (1ull << 50); i++)
			x = x * 10 + (uint64_t)(v[i] - '0');
		if (i == vn && vn) {
			d->clen = x;
			d->has_len = true;
		}
	} else if (header_is(l, n, "transfer-encoding", &v, &vn)) {
		d->chunked = contains_token(v, vn, "chunked");
	} else if (header_is(l, n, "upgrade", &v, &vn)) {
		d->upgrade = true;
		d->upgrade_h2 = contains_token(v, vn, "h2c");
	} else if (header_is(l, n, "connection", &v, &vn)) {
		if (contains_token(v, vn, "close"))
			d->keep = false;
	}
}

static uint32_t end_of_headers(struct l7_http *h, struct l7_sink *s, int dir)
{
	struct hdir *d = &h->d[dir];
	if (dir == 0) {
		if (d->bad_path) {
			d->st = S_DEAD; /* a request we cannot write down: no L7 rule may rely on it */
			return L7F_OPAQUE;
		}
		if (h->qn == PENDING_MAX) { /* too many unanswered: forget the oldest */
			pending_free(&h->q[h->qh]);
			h->qh = (h->qh + 1) % PENDING_MAX;
			h->qn--;
			h->lost++;
		}
		struct pending *p = &h->q[(h->qh + h->qn++) % PENDING_MAX];
		h->cur.method = d->method;
		pending_move(p, &h->cur);
		p->flags = d->pflags;
		p->ts = s->ts;
		p->head = d->method && !strcasecmp(d->method, "HEAD");
		p->connect = d->method && !strcasecmp(d->method, "CONNECT");
		p->upgrade_h2 = d->upgrade_h2;
		if (p->connect) {
			d->st = S_START; /* the tunnel starts once the answer says so */
			return L7F_HTTP;
		}
		d->st = d->chunked ? S_CHUNK_SIZE : d->has_len && d->clen ? S_BODY : S_START;
		d->remain = d->clen;
		return L7F_HTTP;
	}
	/* a response */
	if (d->status >= 100 && d->status < 200 && d->status != 101) {
		d->st = S_START; /* 100 Continue and friends: the real answer follows */
		return L7F_HTTP;
	}
	struct pending p = {0};
	bool have = h->qn > 0;
	if (have) {
		struct pending *q = &h->q[h->qh];
		h->qh = (h->qh + 1) % PENDING_MAX;
		h->qn--;
		record(s, q->method, q->path, d->status, q->flags, q->ts);
		p.upgrade_h2 = q->upgrade_h2;
		p.connect = q->connect;
		p.head = q->head;
		pending_free(q);
	}
	if (d->status == 101) {
		if (have && p.upgrade_h2) {
			h->to_h2 = true;
			return L7F_HTTP | L7F_H2;
		}
		h->d[0].st = h->d[1].st = S_DEAD;
		return L7F_HTTP | L7F_UPGRADE;
	}
	if (have && p.connect && d->status >= 200 && d->status < 300) {
		h->d[0].st = h->d[1].st = S_DEAD;
		return L7F_HTTP | L7F_UPGRADE;
	}
	bool no_body = (have && p.head) || d->status == 204 || d->status == 304;
	if (no_body)
		d->st = S_START;
	else if (d->chunked)
		d->st = S_CHUNK_SIZE;
	else if (d->has_len)
		d->st = d->clen ? S_BODY : S_START;
	else
		d->st = S_EOF;
	d->remain = d->clen;
	return L7F_HTTP;
}

static uint32_t line(struct l7_http *h, struct l7_sink *s, int dir, const char *l, size_t n,
		     bool *fatal)
{
	struct hdir *d = &h->d[dir];
	if (n && l[n - 1] == '\r')
		n--;
	switch (d->st) {
	case S_START:
		if (n == 0)
			return 0; /* stray CRLF between messages */
		return start_line(h, s, dir, l, n, fatal);
	case S_HEADERS:
		if (n == 0)
			return end_of_headers(h, s, dir);
		header(d, l, n);
		return 0;
	case S_CHUNK_SIZE: {
		uint64_t x = 0;
		size_t i = 0;
		for (; i < n && isxdigit((unsigned char)l[i]) && x < (1ull << 50); i++)
			x = x * 16 + (uint64_t)(isdigit((unsigned char)l[i]) ? l[i] - '0'
									     : (tolower(l[i]) - 'a' + 10));
		if (i == 0) {
			*fatal = true;
			return L7F_INCOMPLETE;
		}
		d->remain = x;
		d->st = x ? S_CHUNK_DATA : S_TRAILERS;
		return 0;
	}
	case S_CHUNK_END:
		d->st = S_CHUNK_SIZE;
		return 0;
	case S_TRAILERS:
		if (n == 0)
			d->st = S_START;
		return 0;
	}
	return 0;
}

/* Appends to the direction's line buffer; false when the line is too long or memory is out. */
static bool buffer(struct learner *L, struct hdir *d, const uint8_t *p, size_t n)
{
	if (d->blen + n > LINE_MAX_BYTES)
		return false;
	if (d->blen + n > d->bcap) {
		uint32_t ncap = d->bcap ? d->bcap : 256;
		while (ncap < d->blen + n)
			ncap *= 2;
		if (!l7_charge(L, ncap - d->bcap))
			return false;
		d->buf = xrealloc(d->buf, ncap);
		d->bcap = ncap;
	}
	if (n) /* nothing is allocated before the first byte */
		memcpy(d->buf + d->blen, p, n);
	d->blen += (uint32_t)n;
	return true;
}

uint32_t http_feed(struct l7_http *h, struct l7_sink *s, int dir, const uint8_t *p, size_t n)
{
	struct hdir *d = &h->d[dir];
	uint32_t fl = 0;
	while (n && d->st != S_DEAD && !h->to_h2) {
		switch (d->st) {
		case S_RESYNC: {
			bool ok = dir == 0 ? http_looks_like_request(p, n) : http_looks_like_response(p, n);
			if (!ok)
				return fl; /* wait for a segment that starts a message */
			d->st = S_START;
			continue;
		}
		case S_BODY:
		case S_CHUNK_DATA: {
			uint64_t take = d->remain < n ? d->remain : n;
			d->remain -= take;
			p += take;
			n -= take;
			if (!d->remain)
				d->st = d->st == S_BODY ? S_START : S_CHUNK_END;
			continue;
		}
		case S_EOF:
			return fl; /* the body runs to the end of the connection */
		default:
			break;
		}
		const uint8_t *nl = memchr(p, '\n', n);
		if (!nl) {
			if (!buffer(s->L, d, p, n)) {
				d->st = S_DEAD;
				drop_buf(s->L, d);
				return fl | L7F_INCOMPLETE | L7F_OPAQUE;
			}
			return fl;
		}
		size_t len = (size_t)(nl - p);
		bool fatal = false;
		if (d->blen) {
			if (!buffer(s->L, d, p, len)) {
				d->st = S_DEAD;
				drop_buf(s->L, d);
				return fl | L7F_INCOMPLETE | L7F_OPAQUE;
			}
			fl |= line(h, s, dir, d->buf, d->blen, &fatal);
			d->blen = 0;
		} else {
			fl |= line(h, s, dir, (const char *)p, len, &fatal);
		}
		p += len + 1;
		n -= len + 1;
		if (fatal) {
			d->st = S_DEAD;
			drop_buf(s->L, d);
			return fl;
		}
	}
	return fl;
}
