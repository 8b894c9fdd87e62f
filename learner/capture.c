/* Capture sources: pcap and pcapng files (merged by time) and live interfaces, and the link
 * layers node captures really contain: Ethernet with any stack of 802.1Q / 802.1ad tags,
 * Linux cooked v1 and v2 (what `-i any` gives), raw IP, BSD loopback, NFLOG, MPLS.
 * Tunnels (VXLAN, Geneve, GRE, IP-in-IP) are opened in decode.c, after the UDP/IP header.
 */
#include "learn.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---------------------------------------------------------------- link layers */

static uint16_t by_version(const uint8_t *p, uint32_t caplen)
{
	if (caplen < 1)
		return 0;
	return (p[0] >> 4) == 4 ? 0x0800 : (p[0] >> 4) == 6 ? 0x86dd : 0;
}

/* MPLS: pop labels to the bottom of the stack, then guess IPv4/IPv6 by the version nibble. */
static uint16_t mpls_decode(const uint8_t *p, uint32_t caplen, uint32_t *off)
{
	for (int i = 0; i < 8; i++) {
		if (*off + 4 > caplen)
			return 0;
		bool bottom = p[*off + 2] & 1;
		*off += 4;
		if (bottom)
			return by_version(p + *off, caplen - *off);
	}
	return 0;
}

uint16_t ether_decode(const uint8_t *p, uint32_t caplen, uint32_t *off)
{
	uint32_t o = *off + 12;
	for (int tags = 0;; tags++) {
		if (o + 2 > caplen || tags > 8)
			return 0;
		uint16_t type = be16(p + o);
		if (type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200) {
			o += 4; /* TCI and the next type */
			continue;
		}
		o += 2;
		if (type < 0x0600) { /* 802.3 length: LLC; only SNAP carries IP */
			if (o + 8 > caplen || p[o] != 0xaa || p[o + 1] != 0xaa || p[o + 2] != 0x03)
				return 0;
			type = be16(p + o + 6);
			o += 8;
		}
		*off = o;
		if (type == 0x8847 || type == 0x8848)
			return mpls_decode(p, caplen, off);
		return type;
	}
}

/* NFLOG: a 4-byte header (family, version, group), then TLVs in host order; the packet is
 * the NFULA_PAYLOAD (9) attribute. */
static uint16_t nflog_decode(const uint8_t *p, uint32_t caplen, uint32_t *off)
{
	if (caplen < 4)
		return 0;
	uint8_t family = p[0];
	uint32_t o = 4;
	while (o + 4 <= caplen) {
		uint16_t len, type;
		memcpy(&len, p + o, 2);
		memcpy(&type, p + o + 2, 2);
		if (len < 4 || o + len > caplen)
			return 0;
		if ((type & 0x7fff) == 9) {
			*off = o + 4;
			return family == 2 ? 0x0800 : family == 10 ? 0x86dd : by_version(p + o + 4, len - 4);
		}
		o += (uint32_t)((len + 3u) & ~3u);
	}
	return 0;
}

uint16_t link_decode(int dlt, const uint8_t *p, uint32_t caplen, uint32_t *off,
		     struct learn_stats *st)
{
	*off = 0;
	switch (dlt) {
	case DLT_EN10MB:
		return ether_decode(p, caplen, off);
	case DLT_LINUX_SLL: /* 16 bytes; protocol at 14 */
		if (caplen < 16)
			break;
		*off = 16;
		if (be16(p + 14) == 0x8100 || be16(p + 14) == 0x88a8) {
			/* a VLAN tag kept in the payload: protocol follows the TCI */
			if (caplen < 20)
				break;
			*off = 20;
			return be16(p + 18);
		}
		return be16(p + 14);
	case DLT_LINUX_SLL2: /* 20 bytes; protocol first */
		if (caplen < 20)
			break;
		*off = 20;
		return be16(p);
	case DLT_RAW:
	case 101: /* LINKTYPE_RAW, should a file carry it unmapped */
	case DLT_IPV4:
	case DLT_IPV6:
		return by_version(p, caplen);
	case DLT_NULL:
	case DLT_LOOP: {
		if (caplen < 4)
			break;
		uint32_t fam_le = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				  (uint32_t)p[3] << 24;
		uint32_t fam_be = (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
				  (uint32_t)p[0] << 24;
		*off = 4;
		uint32_t f = fam_le < 256 ? fam_le : fam_be;
		if (f == 2)
			return 0x0800;
		if (f == 24 || f == 28 || f == 30 || f == 10)
			return 0x86dd;
		return 0;
	}
	case DLT_NFLOG:
		return nflog_decode(p, caplen, off);
	default:
		st->bad_link++;
		return 0;
	}
	st->malformed++;
	return 0;
}

/* ---------------------------------------------------------------- sources */

struct cap_source {
	char *name;
	pcap_t *p;
	int dlt;
	bool live, done, have;
	uint32_t ts_mult; /* 1 when timestamps are in ns, 1000 when in us */
	struct pcap_pkthdr hdr;
	const uint8_t *data;
	uint64_t ts;
	uint64_t size; /* file size, for progress */
	pcap_dumper_t *dump;
	/* classic pcap files are read in big blocks by polc itself: one copy, few system calls,
	 * a fixed 4 MiB buffer (libpcap reads record by record through stdio) */
	int fd;
	uint8_t *buf;
	size_t blen, bpos;  /* bytes in buf, next record in buf */
	uint64_t consumed;  /* file offset of buf[0] */
	bool direct, eof, swap;
	/* or the whole file mapped (no copy at all), pages let go of as they are passed */
	uint8_t *map;
	size_t map_len, dropped;
	struct bpf_program prog;
	bool have_prog;
};

struct dumper {
	int dlt;
	pcap_t *dead;
	pcap_dumper_t *d;
};

struct capture {
	struct learner *L;
	bool libpcap_only; /* read classic pcap files through libpcap too (benchmarks) */
	struct cap_source *v;
	size_t n;
	const char *write_path;
	struct dumper dumps[4];
	size_t ndumps;
	uint64_t delivered;
};

struct capture *capture_new(struct learner *L)
{
	struct capture *c = xcalloc(1, sizeof(*c));
	c->L = L;
	return c;
}

void capture_use_libpcap(struct capture *c)
{
	c->libpcap_only = true;
}

size_t capture_nsources(const struct capture *c)
{
	return c->n;
}

bool capture_file_is_pcap(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	uint8_t m[4] = {0};
	size_t got = fread(m, 1, 4, f);
	fclose(f);
	if (got < 4)
		return false;
	uint32_t le = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
	return le == 0xa1b2c3d4 || le == 0xd4c3b2a1 || le == 0xa1b23c4d || le == 0x4d3cb2a1 ||
	       le == 0x0a0d0d0a;
}

static struct cap_source *add_source(struct capture *c)
{
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	struct cap_source *s = &c->v[c->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

#define DIRECT_BUF (4u << 20)

/* A classic pcap file, read by polc. 1: taken; 0: not a classic pcap (libpcap reads it). */
static int direct_file(struct capture *c, const char *path)
{
	if (c->libpcap_only)
		return 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	struct stat st;
	uint8_t h[24];
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 24 ||
	    pread(fd, h, 24, 0) != 24) {
		close(fd);
		return 0;
	}
	uint32_t magic;
	memcpy(&magic, h, 4);
	bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	bool nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
	if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d && !swap) {
		close(fd);
		return 0;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct cap_source *s = add_source(c);
	s->name = xstrdup(path);
	s->direct = true;
	s->fd = fd;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
		s->map = m;
		s->map_len = (size_t)st.st_size;
		s->buf = s->map;
		s->blen = s->map_len;
		s->bpos = 24;
		s->consumed = 0;
		s->eof = true;
	} else {
		s->buf = xmalloc(DIRECT_BUF);
	}
	s->swap = swap;
	s->ts_mult = nano ? 1 : 1000;
	uint32_t lt = rd32(h + 20, swap) & 0xffff;
	s->dlt = lt == 101 ? DLT_RAW : (int)lt;
	s->size = (uint64_t)st.st_size;
	if (s->map)
		return 1;
	if (lseek(fd, 24, SEEK_SET) != 24) { /* records start after the file header */
		close(fd);
		free(s->buf);
		free(s->name);
		c->n--;
		return 0;
	}
	s->consumed = 24;
	return 1;
}

/* At least `need` bytes from bpos on in the buffer, unless the file ends first. */
#define DROP_WINDOW (8u << 20)

static bool have_bytes(struct cap_source *s, size_t need)
{
	if (s->map)
		return s->map_len - s->bpos >= need;
	if (s->blen - s->bpos >= need)
		return true;
	size_t keep = s->blen - s->bpos;
	memmove(s->buf, s->buf + s->bpos, keep);
	s->consumed += s->bpos;
	s->blen = keep;
	s->bpos = 0;
	while (!s->eof && s->blen < need) {
		ssize_t n = read(s->fd, s->buf + s->blen, DIRECT_BUF - s->blen);
		if (n <= 0) {
			s->eof = true;
			break;
		}
		s->blen += (size_t)n;
	}
	return s->blen >= need;
}

int capture_add_file(struct capture *c, const char *path, char *err, size_t errsize)
{
	if (direct_file(c, path))
		return 0;
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!p) {
		snprintf(err, errsize, "%s: %s", path, perr);
		return -1;
	}
	struct cap_source *s = add_source(c);
	s->name = xstrdup(path);
	s->p = p;
	s->dlt = pcap_datalink(p);
	s->ts_mult = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
	struct stat st;
	if (stat(path, &st) == 0)
		s->size = (uint64_t)st.st_size;
	return 0;
}

int capture_add_live(struct capture *c, const char *iface, char *err, size_t errsize)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(iface, perr);
	if (!p) {
		snprintf(err, errsize, "%s: %s", iface, perr);
		return -1;
	}
	pcap_set_snaplen(p, (int)(c->L->o->snaplen ? c->L->o->snaplen : 262144));
	pcap_set_promisc(p, 0);
	pcap_set_timeout(p, 100);
	pcap_set_immediate_mode(p, 1);
	pcap_set_buffer_size(p, 16 << 20);
	pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
	int rc = pcap_activate(p);
	if (rc < 0) {
		snprintf(err, errsize, "%s: %s", iface, pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	if (pcap_setnonblock(p, 1, perr) < 0) {
		snprintf(err, errsize, "%s: %s", iface, perr);
		pcap_close(p);
		return -1;
	}
	struct cap_source *s = add_source(c);
	s->name = xstrdup(iface);
	s->p = p;
	s->live = true;
	s->dlt = pcap_datalink(p);
	s->ts_mult = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
	return 0;
}

int capture_set_filter(struct capture *c, const char *filter, char *err, size_t errsize)
{
	for (size_t i = 0; filter && i < c->n; i++) {
		if (c->v[i].direct) {
			pcap_t *dead = pcap_open_dead(c->v[i].dlt, 262144);
			int rc = pcap_compile(dead, &c->v[i].prog, filter, 1, PCAP_NETMASK_UNKNOWN);
			if (rc < 0)
				snprintf(err, errsize, "filter '%s' on %s: %s", filter, c->v[i].name,
					 pcap_geterr(dead));
			pcap_close(dead);
			if (rc < 0)
				return -1;
			c->v[i].have_prog = true;
			continue;
		}
		struct bpf_program prog;
		if (pcap_compile(c->v[i].p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
		    pcap_setfilter(c->v[i].p, &prog) < 0) {
			snprintf(err, errsize, "filter '%s' on %s: %s", filter, c->v[i].name,
				 pcap_geterr(c->v[i].p));
			return -1;
		}
		pcap_freecode(&prog);
	}
	return 0;
}

int capture_write_to(struct capture *c, const char *path, char *err, size_t errsize)
{
	(void)err;
	(void)errsize;
	c->write_path = path;
	return 0;
}

/* One output file per link type: PATH for the first, PATH.<dlt> for others (a classic pcap
 * file has one link type). */
static pcap_dumper_t *dumper_for(struct capture *c, int dlt)
{
	for (size_t i = 0; i < c->ndumps; i++)
		if (c->dumps[i].dlt == dlt)
			return c->dumps[i].d;
	if (c->ndumps == sizeof(c->dumps) / sizeof(*c->dumps))
		return NULL;
	struct dumper *d = &c->dumps[c->ndumps++];
	d->dlt = dlt;
	d->dead = pcap_open_dead_with_tstamp_precision(dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
	char *path = c->ndumps == 1 ? xstrdup(c->write_path) : NULL;
	if (!path) {
		size_t n = strlen(c->write_path) + 32;
		path = xmalloc(n);
		snprintf(path, n, "%s.%s", c->write_path, pcap_datalink_val_to_name(dlt)
								 ? pcap_datalink_val_to_name(dlt)
								 : "link");
		fprintf(stderr, "polc learn: link type %d differs from the first source's; its packets "
				"go to %s\n", dlt, path);
	}
	d->d = pcap_dump_open(d->dead, path);
	if (!d->d)
		fprintf(stderr, "polc learn: cannot write %s: %s\n", path, pcap_geterr(d->dead));
	free(path);
	return d->d;
}

static void deliver(struct capture *c, struct cap_source *s, const struct pcap_pkthdr *h,
		    const uint8_t *data, uint32_t index, uint64_t ts)
{
	struct learner *L = c->L;
	L->st.packets++;
	L->st.bytes += h->len;
	if (!L->st.ts_first || ts < L->st.ts_first)
		L->st.ts_first = ts;
	if (ts > L->st.ts_last)
		L->st.ts_last = ts;
	if (c->write_path) {
		pcap_dumper_t *d = dumper_for(c, s->dlt);
		if (d) {
			struct pcap_pkthdr nh = *h; /* the dumper writes nanoseconds */
			if (s->ts_mult == 1000)
				nh.ts.tv_usec *= 1000;
			pcap_dump((u_char *)d, &nh, data);
		}
	}
	uint32_t off = 0;
	uint32_t caplen = h->caplen < h->len ? h->caplen : h->len;
	if (h->caplen < h->len)
		L->st.truncated++;
	uint16_t et = link_decode(s->dlt, data, caplen, &off, &L->st);
	if (et == 0x0800 || et == 0x86dd) {
		uint32_t wire = h->len > off ? h->len - off : 0;
		decode_l3(L, et, data + off, caplen - off, wire, ts, index, 0);
	} else if (et) {
		L->st.non_ip++;
	}
	c->delivered++;
}

static bool next_direct(struct cap_source *s)
{
	if (s->map && s->bpos - s->dropped >= 2 * DROP_WINDOW) {
		/* what was read is not needed again: keep the resident set small */
		size_t upto = (s->bpos - DROP_WINDOW) & ~(size_t)4095;
		madvise(s->map + s->dropped, upto - s->dropped, MADV_DONTNEED);
		s->dropped = upto;
	}
	for (;;) {
		if (!have_bytes(s, 16)) {
			if (s->blen != s->bpos)
				fprintf(stderr, "polc learn: %s: the file ends in the middle of a record "
						"header (truncated capture); the rest is ignored\n",
					s->name);
			break;
		}
		const uint8_t *r = s->buf + s->bpos;
		uint32_t sec = rd32(r, s->swap), frac = rd32(r + 4, s->swap), incl = rd32(r + 8, s->swap),
			 orig = rd32(r + 12, s->swap);
		if (incl > 262144) {
			fprintf(stderr, "polc learn: %s: an impossibly large record at byte %llu; the "
					"rest of the file is ignored\n",
				s->name, (unsigned long long)(s->consumed + s->bpos));
			break;
		}
		if (!have_bytes(s, 16 + (size_t)incl)) {
			fprintf(stderr, "polc learn: %s: the last record is cut short (truncated "
					"capture); the rest is ignored\n",
				s->name);
			break;
		}
		r = s->buf + s->bpos;
		s->hdr.ts.tv_sec = sec;
		s->hdr.ts.tv_usec = frac;
		s->hdr.caplen = incl;
		s->hdr.len = orig < incl ? incl : orig;
		s->data = r + 16;
		s->bpos += 16 + (size_t)incl;
		/* The file is read once, front to back: ask for the next record's header and the
		 * bytes a little further on now, so they arrive while this packet is decoded. */
		__builtin_prefetch(s->buf + s->bpos);
		__builtin_prefetch(s->buf + s->bpos + 64);
		__builtin_prefetch(s->buf + s->bpos + 128);
		if (s->have_prog && !pcap_offline_filter(&s->prog, &s->hdr, s->data))
			continue;
		s->ts = (uint64_t)sec * 1000000000ull + (uint64_t)frac * s->ts_mult;
		s->have = true;
		return true;
	}
	s->have = false;
	s->done = true;
	return false;
}

static bool next_of(struct cap_source *s)
{
	if (s->direct)
		return next_direct(s);
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc = pcap_next_ex(s->p, &h, &d);
	if (rc == 1) {
		s->hdr = *h;
		s->data = d;
		s->ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * s->ts_mult;
		s->have = true;
		return true;
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "polc learn: %s: %s (the rest of the file is ignored)\n", s->name,
			pcap_geterr(s->p));
	s->have = false;
	s->done = true;
	return false;
}

static bool limit_reached(struct capture *c)
{
	struct learner *L = c->L;
	return (L->stop && *L->stop) || (L->o->count && c->delivered >= L->o->count);
}

static uint64_t files_position(struct capture *c)
{
	uint64_t pos = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].live)
			continue;
		if (c->v[i].done) {
			pos += c->v[i].size;
			continue;
		}
		if (c->v[i].direct) {
			pos += c->v[i].consumed + c->v[i].bpos;
			continue;
		}
		FILE *f = pcap_file(c->v[i].p);
		long at = f ? ftell(f) : -1;
		pos += at > 0 ? (uint64_t)at : 0;
	}
	return pos;
}

/* Files: a k-way merge by timestamp, so flows captured on several nodes interleave as they
 * happened (direction, dedupe and DNS-before-connect depend on order). */
static void run_files(struct capture *c, void (*progress)(void *, uint64_t, uint64_t), void *ctx)
{
	uint64_t total = 0;
	for (size_t i = 0; i < c->n; i++) {
		total += c->v[i].size;
		if (!c->v[i].live)
			next_of(&c->v[i]);
	}
	uint64_t tick = 0;
	for (;;) {
		struct cap_source *best = NULL;
		uint32_t bi = 0;
		for (size_t i = 0; i < c->n; i++)
			if (!c->v[i].live && c->v[i].have && (!best || c->v[i].ts < best->ts)) {
				best = &c->v[i];
				bi = (uint32_t)i;
			}
		if (!best || limit_reached(c))
			break;
		deliver(c, best, &best->hdr, best->data, bi, best->ts);
		next_of(best);
		if (progress && ++tick % 65536 == 0)
			progress(ctx, files_position(c), total);
	}
	if (progress)
		progress(ctx, total, total);
}

struct live_ctx {
	struct capture *c;
	struct cap_source *s;
	uint32_t index;
};

static void on_live(u_char *u, const struct pcap_pkthdr *h, const u_char *data)
{
	struct live_ctx *x = (struct live_ctx *)u;
	if (!limit_reached(x->c))
		deliver(x->c, x->s, h, data, x->index,
			(uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * x->s->ts_mult);
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void run_live(struct capture *c, void (*progress)(void *, uint64_t, uint64_t), void *ctx)
{
	size_t nlive = 0;
	for (size_t i = 0; i < c->n; i++)
		nlive += c->v[i].live;
	if (!nlive)
		return;
	struct pollfd *fds = xcalloc(nlive, sizeof(*fds));
	struct live_ctx *xs = xcalloc(nlive, sizeof(*xs));
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].live) {
			fds[k].fd = pcap_get_selectable_fd(c->v[i].p);
			fds[k].events = POLLIN;
			xs[k] = (struct live_ctx){c, &c->v[i], (uint32_t)i};
			k++;
		}
	uint64_t start = mono_ns();
	uint64_t limit = c->L->o->duration > 0 ? (uint64_t)(c->L->o->duration * 1e9) : 0;
	while (!limit_reached(c)) {
		uint64_t now = mono_ns();
		if (limit && now - start >= limit)
			break;
		int rc = poll(fds, nlive, 100);
		if (rc < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < nlive; i++)
			pcap_dispatch(xs[i].s->p, -1, on_live, (u_char *)&xs[i]);
		if (progress)
			progress(ctx, limit ? (now - start) / 1000000 : c->delivered,
				 limit ? limit / 1000000 : 0);
	}
	/* what the kernel still holds */
	for (size_t i = 0; i < nlive; i++) {
		pcap_dispatch(xs[i].s->p, -1, on_live, (u_char *)&xs[i]);
		struct pcap_stat ps;
		if (pcap_stats(xs[i].s->p, &ps) == 0 && ps.ps_drop)
			fprintf(stderr, "polc learn: %s: the kernel dropped %u packets (capture too slow)\n",
				xs[i].s->name, ps.ps_drop);
	}
	free(fds);
	free(xs);
}

int capture_run(struct capture *c, void (*progress)(void *, uint64_t, uint64_t), void *ctx)
{
	bool any_file = false;
	for (size_t i = 0; i < c->n; i++)
		any_file |= !c->v[i].live;
	if (any_file)
		run_files(c, progress, ctx);
	run_live(c, progress, ctx);
	for (size_t i = 0; i < c->ndumps; i++)
		if (c->dumps[i].d)
			pcap_dump_flush(c->dumps[i].d);
	return 0;
}

void capture_free(struct capture *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].p)
			pcap_close(c->v[i].p);
		if (c->v[i].direct) {
			close(c->v[i].fd);
			if (c->v[i].map)
				munmap(c->v[i].map, c->v[i].map_len);
			else
				free(c->v[i].buf);
		}
		if (c->v[i].have_prog)
			pcap_freecode(&c->v[i].prog);
		free(c->v[i].name);
	}
	for (size_t i = 0; i < c->ndumps; i++) {
		if (c->dumps[i].d)
			pcap_dump_close(c->dumps[i].d);
		pcap_close(c->dumps[i].dead);
	}
	free(c->v);
	free(c);
}
