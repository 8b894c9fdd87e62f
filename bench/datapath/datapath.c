/* bench-datapath: the runtime's benchmarks (see bench/datapath/README.md).
 *
 *   bench-datapath synth --out FILE --entries N [--endpoints E] [--node NAME] [--generation G]
 *                  [--server IP] [--client IP] [--allow PROTO/PORT]... [--filler-proto tcp|udp]
 *       Writes a synthetic image (the format of runtime-bpf/image.h, checked by image_parse):
 *       E endpoints (10.200.x.y, or --server for the first), N ingress entries spread evenly
 *       over them (remote identity i of R, TCP port 1000 + q), one ipcache address per remote
 *       identity (10.201.x.y), and, with --client, the client's identity allowed on each
 *       --allow port at the first endpoint. Egress is not enforced (no egress policy).
 *       --filler-proto udp makes the N entries UDP (for a UDP probe that must walk them).
 *
 *   bench-datapath pktcost --bpffs DIR --state-dir DIR [--sizes 10,1000,16384,65536]
 *                  [--rounds 5] [--iters 1048576] [--variants 16] [--cold 2000]
 *       Per-packet cost with BPF_PROG_TEST_RUN: for each size, a synthetic image is loaded
 *       with the loader (polc_load, pins under DIR, which must not be polc's default), the
 *       object is opened through the skeleton reusing those pinned maps, and each round runs,
 *       in turn: polc_empty, polc_parse_only, polc_to_pod on an established flow (conntrack
 *       hit), polc_to_pod on a new denied flow (conntrack miss, ipcache, policy lookup, drop:
 *       a denied flow never creates state, so every iteration is a miss), each over --variants
 *       packets with different endpoints, remote identities and ports, --iters iterations in
 *       all; then "cold" new allowed flows: --cold packets with distinct source ports, one
 *       iteration each (conntrack miss, policy, conntrack insert), against polc_empty and
 *       polc_parse_only run the same way. Prints "key value" lines (medians over rounds).
 *
 *   bench-datapath mapfill --entries N --type hash|lpm
 *       One BPF_MAP_UPDATE_BATCH of N entries with the policy map's key and value sizes
 *       (16 and 12 bytes) into a new map of that type; prints seconds (the loader baseline).
 *
 *   bench-datapath writefile --bytes N --out FILE
 *       Writes N bytes to FILE (a tmpfs path) and prints seconds (the other loader baseline).
 *
 *   bench-datapath rr server --port P [--idle SECONDS]
 *   bench-datapath rr client --to IP --port P --count N --sport-base S
 *       UDP request/response, a new flow per transaction (source port S, S+1, ...): prints the
 *       median, 10th and 90th percentile round trip in ns and the number lost.
 */
#include "polc.h"
#include "imagefile.h"
#include "loader.h"
#include "runtime.h"
#include "policy.skel.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench-datapath: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* ---------------------------------------------------------------- synthetic images */

#define ID_BASE 1000u	/* remote identities: ID_BASE + i */
#define EP_ID_BASE 500u /* endpoint identities */
#define CLIENT_ID 900u
#define PORT_BASE 1000u
#define MAX_ALLOW 8

struct synth {
	size_t entries, endpoints;
	const char *node;
	uint64_t generation;
	uint32_t server, client; /* network order; 0: none */
	struct {
		uint8_t proto;
		uint16_t port;
	} allow[MAX_ALLOW];
	size_t nallow;
	uint8_t filler_proto; /* 6 (TCP) unless --filler-proto udp */
};

static size_t per_ep(const struct synth *s)
{
	return (s->entries + s->endpoints - 1) / s->endpoints;
}

/* Remote identities: enough that ports stay few, at most 4096 (the ipcache stays small). */
static size_t nremote(const struct synth *s)
{
	size_t k = per_ep(s);
	return k < 4096 ? (k ? k : 1) : 4096;
}

static uint32_t ep_addr(const struct synth *s, size_t k) /* k from 1; network order */
{
	if (k == 1 && s->server)
		return s->server;
	return htonl(0x0AC80000u | (uint32_t)k); /* 10.200.x.y */
}

static uint32_t remote_addr(size_t i)
{
	return htonl(0x0AC90000u | (uint32_t)(i + 1)); /* 10.201.x.y */
}

static void put_sections(struct strbuf *out, struct polc_section *sec, int type, size_t esize,
			 const void *data, size_t count)
{
	while (out->len % 8)
		sb_add(out, "", 1);
	sec[type - 1] = (struct polc_section){(uint32_t)type, (uint32_t)esize, out->len, count};
	if (count)
		sb_add(out, data, esize * count);
}

static int cmp_policy(const void *a, const void *b)
{
	const struct polc_policy_entry *x = a, *y = b;
	int c = memcmp((const char *)&x->key + 4, (const char *)&y->key + 4, 12);
	return c ? c : (int)x->key.prefixlen - (int)y->key.prefixlen;
}

static int cmp_key16(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct polc_ip_key));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static struct polc_policy_entry entry(uint16_t ep, uint32_t id, uint8_t proto, uint16_t port)
{
	struct polc_policy_entry e = {0};
	e.key.prefixlen = POLC_POLICY_FULL_PREFIX;
	e.key.endpoint = htons(ep);
	e.key.egress = 0;
	e.key.identity = htonl(id);
	e.key.proto = proto;
	e.key.dport = htons(port);
	e.value.flags = (uint8_t)((POLC_POLICY_FULL_PREFIX - POLC_POLICY_STATIC_PREFIX)
				  << POLC_POLICY_LPM_SHIFT);
	e.value.precedence = POLC_PRECEDENCE_ALLOW;
	e.value.cookie = 1;
	return e;
}

/* Builds the whole file into out. */
static void synth_build(const struct synth *s, struct strbuf *out)
{
	size_t E = s->endpoints, K = per_ep(s), R = nremote(s);
	/* strings: "" at 0, the labels and names after it */
	struct strbuf str = {0};
	sb_add(&str, "", 1);
	uint32_t off_label = (uint32_t)str.len;
	sb_add(&str, "k8s:bench=synthetic", strlen("k8s:bench=synthetic") + 1);
	uint32_t off_origin = (uint32_t)str.len;
	sb_add(&str, "synthetic", 10);

	/* identities: endpoints, the client, remotes */
	size_t nids = E + R + (s->client ? 1 : 0);
	struct polc_identity_rec *ids = xcalloc(nids, sizeof *ids);
	size_t n = 0;
	for (size_t k = 1; k <= E; k++)
		ids[n++] =
		    (struct polc_identity_rec){EP_ID_BASE + (uint32_t)k % 400, off_label, 19, 0};
	/* endpoint identities may repeat (k % 400): keep them unique */
	n = 0;
	uint32_t *idv = xcalloc(nids, sizeof *idv);
	for (size_t k = 1; k <= E && k <= 400; k++)
		idv[n++] = EP_ID_BASE + (uint32_t)k % 400;
	if (s->client)
		idv[n++] = CLIENT_ID;
	for (size_t i = 0; i < R; i++)
		idv[n++] = ID_BASE + (uint32_t)i;
	qsort(idv, n, sizeof *idv, cmp_u32);
	nids = n;
	for (size_t i = 0; i < n; i++)
		ids[i] = (struct polc_identity_rec){idv[i], off_label, 19, 0};
	free(idv);

	/* ipcache: one address per remote, and the client */
	size_t nexact = R + (s->client ? 1 : 0);
	struct polc_ipcache_exact *ex = xcalloc(nexact, sizeof *ex);
	for (size_t i = 0; i < R; i++) {
		ex[i].key.family = POLC_FAMILY_IPV4;
		uint32_t a = remote_addr(i);
		memcpy(ex[i].key.addr, &a, 4);
		ex[i].value.identity = ID_BASE + (uint32_t)i;
	}
	if (s->client) {
		ex[R].key.family = POLC_FAMILY_IPV4;
		memcpy(ex[R].key.addr, &s->client, 4);
		ex[R].value.identity = CLIENT_ID;
	}
	qsort(ex, nexact, sizeof *ex, cmp_key16);

	/* endpoints: ingress enforced, egress not */
	struct polc_endpoint_rec *eps = xcalloc(E, sizeof *eps);
	uint32_t *names = xcalloc(E, sizeof *names);
	for (size_t k = 1; k <= E; k++) {
		char name[64];
		snprintf(name, sizeof name, "bench/ep-%zu", k);
		names[k - 1] = (uint32_t)str.len;
		sb_add(&str, name, strlen(name) + 1);
	}
	for (size_t k = 1; k <= E; k++) {
		struct polc_endpoint_rec *e = &eps[k - 1];
		e->key.family = POLC_FAMILY_IPV4;
		uint32_t a = ep_addr(s, k);
		memcpy(e->key.addr, &a, 4);
		e->value.endpoint_id = (uint16_t)k;
		e->value.ingress_mode = POLC_MODE_ENFORCE;
		e->value.egress_mode = POLC_MODE_OFF;
		e->value.identity = EP_ID_BASE + (uint32_t)(k <= 400 ? k % 400 : 1);
		e->value.name_off = names[k - 1];
	}
	free(names);
	qsort(eps, E, sizeof *eps, cmp_key16);

	/* policy entries: entry j of endpoint k is remote j % R on TCP port 1000 + j / R */
	size_t cap = E * K + s->nallow;
	struct polc_policy_entry *pe = xcalloc(cap ? cap : 1, sizeof *pe);
	size_t np = 0, left = s->entries;
	size_t max_ep = 0;
	for (size_t k = 1; k <= E; k++) {
		size_t here = left < K ? left : K;
		left -= here;
		for (size_t j = 0; j < here; j++)
			pe[np++] = entry((uint16_t)k, ID_BASE + (uint32_t)(j % R),
					 s->filler_proto ? s->filler_proto : 6,
					 (uint16_t)(PORT_BASE + j / R));
		size_t total = here + (k == 1 && s->client ? s->nallow : 0);
		if (total > max_ep)
			max_ep = total;
	}
	if (s->client)
		for (size_t a = 0; a < s->nallow; a++)
			pe[np++] = entry(1, CLIENT_ID, s->allow[a].proto, s->allow[a].port);
	qsort(pe, np, sizeof *pe, cmp_policy);

	struct polc_origin origin = {.cookie = 1,
				     .kind = POLC_ORIGIN_SYNTHETIC,
				     .namespace_off = 0,
				     .name_off = off_origin,
				     .file_off = 0};

	struct polc_image_header h = {0};
	h.magic = POLC_IMAGE_MAGIC;
	h.format_version = POLC_IMAGE_FORMAT;
	h.abi_version = POLC_IMAGE_ABI;
	h.endian_mark = POLC_ENDIAN_MARK;
	h.header_size = sizeof h;
	h.generation = s->generation;
	snprintf(h.node_name, sizeof h.node_name, "%s", s->node);
	snprintf(h.compiler_version, sizeof h.compiler_version, "bench-synthetic");
	h.nsections = POLC_SEC__MAX - 1;
	h.capacity = (struct polc_capacity){(uint32_t)nids,
					    (uint32_t)nexact,
					    0,
					    (uint32_t)E,
					    (uint32_t)np,
					    (uint32_t)(max_ep ? max_ep : 1),
					    0,
					    1};
	struct polc_section sec[POLC_SEC__MAX - 1];
	memset(out, 0, sizeof *out);
	sb_add(out, (const char *)&h, sizeof h);
	size_t table = out->len;
	sb_add(out, (const char *)sec, sizeof sec);
	put_sections(out, sec, POLC_SEC_STRINGS, 1, str.s, str.len);
	put_sections(out, sec, POLC_SEC_IDENTITIES, sizeof *ids, ids, nids);
	put_sections(out, sec, POLC_SEC_IPCACHE_EXACT, sizeof *ex, ex, nexact);
	put_sections(out, sec, POLC_SEC_IPCACHE_PREFIX, sizeof(struct polc_ipcache_prefix), NULL,
		     0);
	put_sections(out, sec, POLC_SEC_ENDPOINTS, sizeof *eps, eps, E);
	put_sections(out, sec, POLC_SEC_POLICY, sizeof *pe, pe, np);
	put_sections(out, sec, POLC_SEC_L7, sizeof(struct polc_l7_rec), NULL, 0);
	put_sections(out, sec, POLC_SEC_ORIGINS, sizeof origin, &origin, 1);
	while (out->len % 8)
		sb_add(out, "", 1);
	memcpy(out->s + table, sec, sizeof sec);
	uint64_t total = out->len + POLC_DIGEST_SIZE;
	memcpy(out->s + offsetof(struct polc_image_header, total_size), &total, sizeof total);
	uint8_t digest[32];
	struct sha256 sh;
	sha256_init(&sh);
	sha256_update(&sh, out->s, out->len);
	sha256_final(&sh, digest);
	sb_add(out, (const char *)digest, sizeof digest);
	free(ids);
	free(ex);
	free(eps);
	free(pe);
	sb_free(&str);
}

/* Writes the image and checks it the way the loader will (image_load's structural checks). */
static int synth_write(const struct synth *s, const char *path)
{
	struct strbuf img;
	synth_build(s, &img);
	char err[512];
	if (write_file_atomic(path, img.s, img.len, err, sizeof err) < 0) {
		fprintf(stderr, "bench-datapath: %s\n", err);
		return -1;
	}
	sb_free(&img);
	struct image parsed;
	struct diag_sink d;
	diag_init(&d);
	int rc = image_load(path, &parsed, &d);
	if (rc < 0 || d.n) {
		diag_render(&d, FORMAT_TEXT, stderr, 0);
		rc = -1;
	}
	image_free(&parsed);
	diag_free(&d);
	return rc;
}

static int parse_allow(struct synth *s, const char *arg)
{
	char proto[16];
	unsigned port;
	if (s->nallow == MAX_ALLOW || sscanf(arg, "%15[^/]/%u", proto, &port) != 2 || port > 65535)
		return -1;
	s->allow[s->nallow].proto = !strcasecmp(proto, "udp") ? 17 : 6;
	s->allow[s->nallow++].port = (uint16_t)port;
	return 0;
}

static int run_synth(int argc, char **argv)
{
	struct synth s = {.endpoints = 0, .node = "bench", .generation = 1};
	const char *out = NULL;
	for (int i = 0; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		struct in_addr ia;
		if (!strcmp(a, "--out"))
			out = v;
		else if (!strcmp(a, "--entries"))
			s.entries = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--endpoints"))
			s.endpoints = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--node"))
			s.node = v;
		else if (!strcmp(a, "--generation"))
			s.generation = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--server") && inet_pton(AF_INET, v, &ia) == 1)
			s.server = ia.s_addr;
		else if (!strcmp(a, "--client") && inet_pton(AF_INET, v, &ia) == 1)
			s.client = ia.s_addr;
		else if (!strcmp(a, "--allow") && parse_allow(&s, v) == 0)
			continue;
		else if (!strcmp(a, "--filler-proto"))
			s.filler_proto = !strcasecmp(v, "udp") ? 17 : 6;
		else
			die("synth: bad option %s", a);
	}
	if (!out || argc % 2)
		die("synth: needs --out FILE and --entries N%s", "");
	if (!s.endpoints)
		s.endpoints = s.entries > 16384 ? (s.entries + 16383) / 16384 : 1;
	if (s.endpoints > 60000)
		die("synth: too many endpoints%s", "");
	if (synth_write(&s, out) < 0)
		return 1;
	printf("entries %zu\nendpoints %zu\nremotes %zu\n", s.entries + (s.client ? s.nallow : 0),
	       s.endpoints, nremote(&s));
	return 0;
}

/* ---------------------------------------------------------------- packets */

struct frame {
	uint8_t b[64];
};

/* Ethernet + IPv4 + TCP, padded to 64 bytes. Addresses in network order. */
static struct frame tcp_frame(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			      uint8_t flags)
{
	struct frame f;
	memset(&f, 0, sizeof f);
	uint8_t *p = f.b;
	memcpy(p, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	p[12] = 0x08;
	p[13] = 0x00;
	uint8_t *ip = p + 14;
	ip[0] = 0x45;
	uint16_t tot = htons(40);
	memcpy(ip + 2, &tot, 2);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	uint8_t *tcp = ip + 20;
	uint16_t sp = htons(sport), dp = htons(dport);
	memcpy(tcp, &sp, 2);
	memcpy(tcp + 2, &dp, 2);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	return f;
}

#define TCP_SYN_ 0x02
#define TCP_ACK_ 0x10

/* One test run; returns ns per iteration, or -1. */
static double test_run(int prog, const struct frame *f, uint32_t repeat, int *retval)
{
	struct __sk_buff ctx;
	memset(&ctx, 0, sizeof ctx);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = sizeof f->b,
		    .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = repeat);
	if (bpf_prog_test_run_opts(prog, &o) < 0)
		return -1;
	if (retval)
		*retval = (int)o.retval;
	return (double)o.duration;
}

/* ---------------------------------------------------------------- pktcost */

static void set_pins(struct polc_bpf *skel, const char *dir)
{
	struct bpf_map *m;
	char path[4096];
	bpf_object__for_each_map(m, skel->obj)
	{
		const char *name = bpf_map__name(m);
		if (!strncmp(name, "polc_tmpl_", 10) || strchr(name, '.'))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, name);
		bpf_map__set_pin_path(m, path);
	}
}

enum { P_EMPTY, P_PARSE, P_EST, P_DENY, P__N };
static const char *const PNAME[P__N] = {"empty", "parse_only", "established", "new_denied"};

struct variant {
	struct frame est, deny, cold_tmpl;
	uint32_t saddr, daddr;
};

static int run_pktcost(int argc, char **argv)
{
	const char *bpffs = NULL, *state = NULL;
	char sizes_arg[256] = "10,1000,16384,65536";
	int rounds = 5, nvar = 16, cold = 2000;
	uint32_t iters = 1u << 20;
	for (int i = 0; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--bpffs"))
			bpffs = v;
		else if (!strcmp(a, "--state-dir"))
			state = v;
		else if (!strcmp(a, "--sizes"))
			snprintf(sizes_arg, sizeof sizes_arg, "%s", v);
		else if (!strcmp(a, "--rounds"))
			rounds = atoi(v);
		else if (!strcmp(a, "--iters"))
			iters = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--variants"))
			nvar = atoi(v);
		else if (!strcmp(a, "--cold"))
			cold = atoi(v);
		else
			die("pktcost: bad option %s", a);
	}
	if (!bpffs || !state || rounds < 1 || nvar < 1 || nvar > 256 || cold < 1)
		die("pktcost: needs --bpffs DIR --state-dir DIR%s", "");
	if (!strcmp(bpffs, "/sys/fs/bpf/polc"))
		die("pktcost: %s is polc's default pin directory; use a private one", bpffs);
	mkdir(state, 0700);
	char image_path[4096];
	snprintf(image_path, sizeof image_path, "%s/bench.polc", state);
	uint32_t per_var = iters / (uint32_t)nvar;
	if (!per_var)
		per_var = 1;
	printf("iters_per_figure %u\nvariants %d\nrounds %d\ncold_packets %d\n", per_var * nvar,
	       nvar, rounds, cold);

	uint64_t generation = 1;
	char *save = NULL;
	for (char *tok = strtok_r(sizes_arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct synth s = {.entries = strtoull(tok, NULL, 10),
				  .node = "bench",
				  .generation = generation++};
		s.endpoints = s.entries > 16384 ? (s.entries + 16383) / 16384 : 1;
		if (synth_write(&s, image_path) < 0)
			return 1;
		struct load_opts lo;
		load_opts_defaults(&lo);
		lo.bpffs = bpffs;
		lo.state_dir = state;
		lo.node = "bench";
		lo.force = true;
		lo.events_per_sec = 1000;
		struct diag_sink d;
		diag_init(&d);
		fflush(stdout);
		int saved = dup(1); /* the loader reports on stdout: keep it for key-value lines */
		dup2(2, 1);
		double l0 = now();
		int err = polc_load(image_path, &lo, &d);
		double l1 = now();
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		if (err) {
			diag_render(&d, FORMAT_TEXT, stderr, 0);
			fprintf(stderr, "bench-datapath: polc_load failed: %s\n", strerror(-err));
			return 1;
		}
		diag_free(&d);
		libbpf_set_print(NULL);
		struct polc_bpf *skel = polc_bpf__open();
		if (!skel)
			die("cannot open the BPF object%s", "");
		set_pins(skel, bpffs);
		if (polc_bpf__load(skel))
			die("cannot load the BPF object (root? BPF?)%s", "");
		int progs[P__N] = {bpf_program__fd(skel->progs.polc_empty),
				   bpf_program__fd(skel->progs.polc_parse_only),
				   bpf_program__fd(skel->progs.polc_to_pod),
				   bpf_program__fd(skel->progs.polc_to_pod)};

		/* Packet variants: endpoint, remote identity and port differ between them. */
		size_t E = s.endpoints, K = per_ep(&s), R = nremote(&s);
		struct variant *var = xcalloc((size_t)nvar, sizeof *var);
		for (int v = 0; v < nvar; v++) {
			size_t k = (size_t)(v * 7) % E + 1;
			size_t here = k < E ? K : s.entries - (E - 1) * K;
			size_t j = ((size_t)v * 2654435761u) % here; /* an entry that exists */
			uint32_t saddr = remote_addr(j % R), daddr = ep_addr(&s, k);
			uint16_t port = (uint16_t)(PORT_BASE + j / R);
			var[v].saddr = saddr;
			var[v].daddr = daddr;
			var[v].est = tcp_frame(saddr, daddr, (uint16_t)(40000 + v), port, TCP_ACK_);
			var[v].deny =
			    tcp_frame(saddr, daddr, (uint16_t)(41000 + v), PORT_BASE - 1, TCP_SYN_);
			var[v].cold_tmpl = tcp_frame(saddr, daddr, 0, port, TCP_SYN_);
			/* open the established flows (the first packet is a new allowed flow) */
			int rv = -1;
			struct frame syn =
			    tcp_frame(saddr, daddr, (uint16_t)(40000 + v), port, TCP_SYN_);
			if (test_run(progs[P_EST], &syn, 1, &rv) < 0 || rv != TC_ACT_OK)
				die("the established-flow packet was not allowed (%s)",
				    rv < 0 ? "error" : "dropped");
			if (test_run(progs[P_EST], &var[v].est, 1, &rv) < 0 || rv != TC_ACT_OK)
				die("the established-flow packet was not allowed%s", "");
			if (test_run(progs[P_DENY], &var[v].deny, 1, &rv) < 0 || rv != TC_ACT_SHOT)
				die("the new-denied-flow packet was not dropped%s", "");
		}

		double *res[P__N], *cold_res[3];
		for (int p = 0; p < P__N; p++)
			res[p] = xcalloc((size_t)rounds, sizeof(double));
		for (int c = 0; c < 3; c++)
			cold_res[c] = xcalloc((size_t)rounds, sizeof(double));
		uint32_t sport = 1024;
		for (int r = 0; r < rounds; r++) {
			/* rotate the order each round so drift hits every program alike */
			for (int q = 0; q < P__N; q++) {
				int p = (q + r) % P__N;
				double sum = 0;
				for (int v = 0; v < nvar; v++) {
					const struct frame *f =
					    p == P_DENY ? &var[v].deny : &var[v].est;
					double ns = test_run(progs[p], f, per_var, NULL);
					if (ns < 0)
						die("BPF_PROG_TEST_RUN failed: %s",
						    strerror(errno));
					sum += ns;
				}
				res[p][r] = sum / nvar;
			}
			/* cold: one iteration per packet, each a new allowed flow (distinct source
			 * port) */
			double sum[3] = {0, 0, 0};
			int cprog[3] = {progs[P_EMPTY], progs[P_PARSE], progs[P_EST]};
			for (int i = 0; i < cold; i++) {
				struct variant *vv = &var[i % nvar];
				struct frame f = vv->cold_tmpl;
				uint16_t sp = htons((uint16_t)(sport++ % 60000 + 1024));
				memcpy(f.b + 34, &sp, 2);
				for (int c = 0; c < 3; c++) {
					int rv;
					double ns = test_run(cprog[(c + i) % 3], &f, 1, &rv);
					if (ns < 0)
						die("BPF_PROG_TEST_RUN failed: %s",
						    strerror(errno));
					sum[(c + i) % 3] += ns;
				}
			}
			for (int c = 0; c < 3; c++)
				cold_res[c][r] = sum[c] / cold;
		}
		size_t n = s.entries;
		printf("size %zu endpoints %zu remotes %zu load_s %.6f\n", n, E, R, l1 - l0);
		for (int p = 0; p < P__N; p++)
			printf("size %zu figure %s ns %.2f\n", n, PNAME[p],
			       median(res[p], (size_t)rounds));
		static const char *const CNAME[3] = {"cold_empty", "cold_parse_only",
						     "cold_new_allowed"};
		for (int c = 0; c < 3; c++)
			printf("size %zu figure %s ns %.2f\n", n, CNAME[c],
			       median(cold_res[c], (size_t)rounds));
		fflush(stdout);
		for (int p = 0; p < P__N; p++)
			free(res[p]);
		for (int c = 0; c < 3; c++)
			free(cold_res[c]);
		free(var);
		polc_bpf__destroy(skel);
	}
	struct load_opts lo;
	load_opts_defaults(&lo);
	lo.bpffs = bpffs;
	lo.state_dir = state;
	struct diag_sink d;
	diag_init(&d);
	int fd = dup(1); /* polc_unload prints a line; keep stdout for key-value lines */
	fflush(stdout);
	int devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 1);
	polc_unload(&lo, &d);
	fflush(stdout);
	dup2(fd, 1);
	close(devnull);
	close(fd);
	diag_free(&d);
	return 0;
}

/* ---------------------------------------------------------------- loader baselines */

static int run_mapfill(int argc, char **argv)
{
	size_t n = 0;
	const char *type = "hash";
	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--entries"))
			n = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--type"))
			type = argv[i + 1];
		else
			die("mapfill: bad option %s", argv[i]);
	}
	bool lpm = !strcmp(type, "lpm");
	if (!n || (!lpm && strcmp(type, "hash")))
		die("mapfill: needs --entries N --type hash|lpm%s", "");
	size_t ks = sizeof(struct polc_policy_key), vs = sizeof(struct polc_policy_value);
	char *keys = xcalloc(n, ks), *vals = xcalloc(n, vs);
	for (size_t i = 0; i < n; i++) {
		struct polc_policy_entry e =
		    entry((uint16_t)(i / 16384 + 1), ID_BASE + (uint32_t)(i % 4096), 6,
			  (uint16_t)(PORT_BASE + (i % 16384) / 4096));
		memcpy(keys + i * ks, &e.key, ks);
		memcpy(vals + i * vs, &e.value, vs);
	}
	double t0 = now();
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = lpm ? BPF_F_NO_PREALLOC : 0);
	int fd = bpf_map_create(lpm ? BPF_MAP_TYPE_LPM_TRIE : BPF_MAP_TYPE_HASH, "bench_fill",
				(uint32_t)ks, (uint32_t)vs, (uint32_t)n, &o);
	if (fd < 0)
		die("mapfill: map create failed: %s", strerror(errno));
	double t1 = now();
	__u32 count = (__u32)n;
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL) < 0)
		die("mapfill: batch update failed: %s", strerror(errno));
	double t2 = now();
	close(fd);
	double t3 = now();
	printf("create_s %.6f\nfill_s %.6f\nfree_s %.6f\nentries %zu\n", t1 - t0, t2 - t1, t3 - t2,
	       n);
	free(keys);
	free(vals);
	return 0;
}

static int run_writefile(int argc, char **argv)
{
	size_t n = 0;
	const char *out = NULL;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--bytes"))
			n = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else
			die("writefile: bad option %s", argv[i]);
	}
	if (!n || !out)
		die("writefile: needs --bytes N --out FILE%s", "");
	char *buf = xmalloc(n);
	memset(buf, 0x5a, n);
	double t0 = now();
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("writefile: cannot open %s", out);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w <= 0)
			die("writefile: write failed%s", "");
		off += (size_t)w;
	}
	fsync(fd);
	close(fd);
	double t1 = now();
	unlink(out);
	free(buf);
	printf("write_s %.6f\nbytes %zu\n", t1 - t0, n);
	return 0;
}

/* ---------------------------------------------------------------- UDP request/response */

static int run_rr(int argc, char **argv)
{
	if (argc < 1)
		die("rr: server or client%s", "");
	bool server = !strcmp(argv[0], "server");
	const char *to = NULL;
	int port = 0, count = 0, sport = 20000;
	double idle = 60;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--port"))
			port = atoi(v);
		else if (!strcmp(a, "--to"))
			to = v;
		else if (!strcmp(a, "--count"))
			count = atoi(v);
		else if (!strcmp(a, "--sport-base"))
			sport = atoi(v);
		else if (!strcmp(a, "--idle"))
			idle = atof(v);
		else
			die("rr: bad option %s", a);
	}
	if (port <= 0 || port > 65535)
		die("rr: needs --port%s", "");
	if (server) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
			die("rr server: cannot bind: %s", strerror(errno));
		/* answer until idle for --idle seconds (the script also stops it) */
		for (;;) {
			struct pollfd pf = {fd, POLLIN, 0};
			if (poll(&pf, 1, (int)(idle * 1000)) <= 0)
				return 0;
			char buf[512];
			struct sockaddr_in from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
			if (n > 0)
				sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (!to || inet_pton(AF_INET, to, &dst.sin_addr) != 1 || count < 1 || sport < 1024 ||
	    sport + count > 65535)
		die("rr client: needs --to IP --count N --sport-base S (S+N <= 65535)%s", "");
	double *rtt = xcalloc((size_t)count, sizeof(double));
	int got = 0, lost = 0;
	for (int i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in src = {.sin_family = AF_INET,
					  .sin_port = htons((uint16_t)(sport + i))};
		if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof src) < 0 ||
		    connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0)
			die("rr client: socket: %s", strerror(errno));
		char buf[64] = "polc-bench";
		double t0 = now();
		if (send(fd, buf, 32, 0) != 32)
			die("rr client: send: %s", strerror(errno));
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, 1000) == 1 && recv(fd, buf, sizeof buf, 0) > 0)
			rtt[got++] = (now() - t0) * 1e9;
		else
			lost++;
		close(fd);
	}
	double p10 = 0, p50 = 0, p90 = 0;
	if (got) {
		qsort(rtt, (size_t)got, sizeof *rtt, cmp_double);
		p10 = rtt[got / 10];
		p50 = median(rtt, (size_t)got);
		p90 = rtt[got * 9 / 10];
	}
	printf("rtt_p50_ns %.0f rtt_p10_ns %.0f rtt_p90_ns %.0f got %d lost %d\n", p50, p10, p90,
	       got, lost);
	free(rtt);
	return got ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: bench-datapath synth|pktcost|mapfill|writefile|rr ...%s", "");
	if (!strcmp(argv[1], "synth"))
		return run_synth(argc - 2, argv + 2);
	if (!strcmp(argv[1], "pktcost"))
		return run_pktcost(argc - 2, argv + 2);
	if (!strcmp(argv[1], "mapfill"))
		return run_mapfill(argc - 2, argv + 2);
	if (!strcmp(argv[1], "writefile"))
		return run_writefile(argc - 2, argv + 2);
	if (!strcmp(argv[1], "rr"))
		return run_rr(argc - 2, argv + 2);
	die("unknown command %s", argv[1]);
}
