/* The runtime's verbs: load, unload, status, observe. */
#include "loader.h"
#include "imagefile.h"
#include "runtime.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_BPFFS = 500, OPT_STATE, OPT_ATTACH, OPT_NODE, OPT_FORCE, OPT_FAIL_OPEN, OPT_DRY_RUN,
       OPT_CLSACT, OPT_WATCH, OPT_FOLLOW };

/* Options every runtime verb shares. Returns 1 if handled. */
static int common_option(int c, struct load_opts *o)
{
	if (c == OPT_BPFFS)
		o->bpffs = optarg;
	else if (c == OPT_STATE)
		o->state_dir = optarg;
	else
		return 0;
	return 1;
}

static void render(struct diag_sink *d)
{
	if (!d->n)
		return;
	diag_sort(d);
	diag_render(d, FORMAT_TEXT, stderr, -1);
}

int do_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bpffs", required_argument, NULL, OPT_BPFFS},
		{"state-dir", required_argument, NULL, OPT_STATE},
		{"attach", required_argument, NULL, OPT_ATTACH},
		{"node", required_argument, NULL, OPT_NODE},
		{"force", no_argument, NULL, OPT_FORCE},
		{"fail-open", no_argument, NULL, OPT_FAIL_OPEN},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"clsact", no_argument, NULL, OPT_CLSACT},
		{"watch", no_argument, NULL, OPT_WATCH},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct load_opts o;
	load_opts_defaults(&o);
	struct ptrvec ifaces = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (common_option(c, &o))
			continue;
		switch (c) {
		case OPT_ATTACH:
			ptrvec_push(&ifaces, optarg);
			break;
		case OPT_NODE:
			o.node = optarg;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_FAIL_OPEN:
			o.fail_open = true;
			break;
		case OPT_DRY_RUN:
			o.dry_run = true;
			break;
		case OPT_CLSACT:
			o.force_clsact = true;
			break;
		case OPT_WATCH:
			o.watch = true;
			break;
		default:
			puts(LOAD_USAGE);
			ptrvec_free(&ifaces);
			return c == 'h' ? EXIT_CLEAN : EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "polc load: give one image\n%s\n", LOAD_USAGE);
		ptrvec_free(&ifaces);
		return EXIT_USAGE;
	}
	o.ifaces = (const char **)ifaces.v;
	o.nifaces = ifaces.n;
	struct diag_sink d;
	diag_init(&d);
	int err = polc_load(argv[optind], &o, &d);
	render(&d);
	diag_free(&d);
	ptrvec_free(&ifaces);
	if (!err)
		return EXIT_CLEAN;
	bool refused = err == -EINVAL || err == -EEXIST || err == -EBUSY || err == -EPROTO;
	return refused ? EXIT_FINDINGS : EXIT_USAGE;
}

static int parse_common(int argc, char **argv, struct load_opts *o, bool *json, bool *follow,
			const char *usage)
{
	static const struct option opts[] = {{"bpffs", required_argument, NULL, OPT_BPFFS},
					     {"state-dir", required_argument, NULL, OPT_STATE},
					     {"json", no_argument, NULL, 'j'},
					     {"follow", no_argument, NULL, OPT_FOLLOW},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jfh", opts, NULL)) != -1) {
		if (common_option(c, o))
			continue;
		if (c == 'j' && json)
			*json = true;
		else if ((c == OPT_FOLLOW || c == 'f') && follow)
			*follow = true;
		else {
			puts(usage);
			return c == 'h' ? 0 : -1;
		}
	}
	return cli_no_operands(argv[0], argc, argv, optind, NULL) < 0 ? -1 : 1;
}

int do_unload(int argc, char **argv)
{
	struct load_opts o;
	load_opts_defaults(&o);
	int rc = parse_common(argc, argv, &o, NULL, NULL, UNLOAD_USAGE);
	if (rc <= 0)
		return rc == 0 ? EXIT_CLEAN : EXIT_USAGE;
	struct diag_sink d;
	diag_init(&d);
	int err = polc_unload(&o, &d);
	render(&d);
	diag_free(&d);
	return err ? EXIT_FINDINGS : EXIT_CLEAN;
}

/* ---------------------------------------------------------------- status */

static int pinned(const struct load_opts *o, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", o->bpffs, name);
	return bpf_obj_get(path);
}

static const char *const DROP_NAMES[POLC_COUNT__MAX] = {
	[POLC_DROP_POLICY] = "policy-denied (default deny)",
	[POLC_DROP_POLICY_DENY] = "policy-denied (deny rule)",
	[POLC_DROP_PROXY] = "needs L7 proxy",
	[POLC_DROP_AUTH] = "needs authentication",
	[POLC_DROP_NO_IMAGE] = "no valid image",
	[POLC_DROP_FRAG] = "fragment without flow",
	[POLC_DROP_PARSE] = "malformed packet",
	[POLC_DROP_NO_ENDPOINT] = "unknown endpoint",
	[POLC_COUNT_FORWARDED] = "forwarded",
	[POLC_COUNT_AUDITED] = "audited (would deny)",
	[POLC_COUNT_REPLY] = "replies and related",
	[POLC_COUNT_EVENTS_DROPPED] = "events rate-limited",
};

static uint64_t counter(int fd, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(__u64)), sum = 0;
	if (v && bpf_map_lookup_elem(fd, &idx, v) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

static int active_inner(int outer, __u32 slot)
{
	__u32 id;
	if (bpf_map_lookup_elem(outer, &slot, &id) < 0)
		return -1;
	return bpf_map_get_fd_by_id(id);
}

static size_t count_keys(int fd, size_t key_size)
{
	char key[64], next[64];
	size_t n = 0;
	void *prev = NULL;
	while (fd >= 0 && key_size <= sizeof key && bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static void status_endpoints(struct json *j, int eps, int policy)
{
	struct polc_ip_key key, next, *prev = NULL;
	size_t entries = count_keys(policy, sizeof(struct polc_policy_key));
	if (j)
		json_int(j, "policy_entries", (long long)entries);
	else
		printf("policy entries: %zu\nendpoints:\n", entries);
	if (j)
		json_arr_open(j, "endpoints");
	static const char *modes[] = {"off", "enforce", "audit"};
	while (eps >= 0 && bpf_map_get_next_key(eps, prev, &next) == 0) {
		struct polc_endpoint_value v;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(eps, &key, &v) < 0)
			continue;
		char addr[INET6_ADDRSTRLEN];
		inet_ntop(key.family == POLC_FAMILY_IPV4 ? AF_INET : AF_INET6, key.addr, addr, sizeof addr);
		if (j) {
			json_obj_open(j, NULL);
			json_str(j, "address", addr);
			json_int(j, "endpoint", v.endpoint_id);
			json_int(j, "identity", v.identity);
			json_str(j, "ingress", modes[v.ingress_mode % 3]);
			json_str(j, "egress", modes[v.egress_mode % 3]);
			json_obj_close(j);
		} else {
			printf("  %-5u %-28s identity %-8u ingress %-7s egress %s\n", v.endpoint_id, addr,
			       v.identity, modes[v.ingress_mode % 3], modes[v.egress_mode % 3]);
		}
	}
	if (j)
		json_arr_close(j);
}

static void status_ifaces(struct json *j, int fd)
{
	__u32 key, next, *prev = NULL;
	if (j)
		json_arr_open(j, "attached");
	else
		printf("attached:\n");
	while (fd >= 0 && bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct polc_iface rec;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &rec) < 0)
			continue;
		char name[IF_NAMESIZE] = "";
		bool present = if_indextoname(key, name) != NULL;
		const char *mode = rec.mode == POLC_ATTACH_TCX ? "tcx" : "clsact";
		if (j) {
			json_obj_open(j, NULL);
			json_str(j, "interface", rec.name);
			json_str(j, "mode", mode);
			json_bool(j, "present", present);
			json_obj_close(j);
		} else {
			printf("  %-16s %-7s %s\n", rec.name, mode, present ? "attached" : "gone");
		}
	}
	if (j)
		json_arr_close(j);
}

/* The loader's copy of the active image (named by the digest the kernel holds), for names. */
static bool load_active_image(const struct load_opts *o, struct image *img)
{
	char path[4096], hex[65];
	snprintf(path, sizeof path, "%s/polc_meta", o->bpffs);
	int fd = bpf_obj_get(path);
	__u32 zero = 0;
	struct polc_meta meta;
	bool ok = fd >= 0 && bpf_map_lookup_elem(fd, &zero, &meta) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok)
		return false;
	sha256_hex(meta.digest, hex);
	snprintf(path, sizeof path, "%s/%s.polc", o->state_dir, hex);
	struct diag_sink d;
	diag_init(&d);
	ok = image_load(path, img, &d) == 0;
	diag_free(&d);
	if (!ok)
		image_free(img);
	return ok;
}

/* Packets per rule (summed over CPUs, endpoints and directions), with the rule's origin. */
static void status_rules(struct json *j, int stats, const struct load_opts *o)
{
	struct image img;
	bool have = load_active_image(o, &img);
	int ncpu = libbpf_num_possible_cpus();
	struct polc_stat_value *per_cpu = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*per_cpu));
	struct polc_stat_key key, next, *prev = NULL;
	if (j)
		json_arr_open(j, "rules");
	else
		printf("rules hit (packets, bytes):\n");
	while (stats >= 0 && per_cpu && bpf_map_get_next_key(stats, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(stats, &key, per_cpu) < 0)
			continue;
		uint64_t packets = 0, bytes = 0;
		for (int i = 0; i < ncpu; i++) {
			packets += per_cpu[i].packets;
			bytes += per_cpu[i].bytes;
		}
		const struct polc_origin *org = have ? image_origin(&img, key.cookie) : NULL;
		char name[256] = "?";
		if (org)
			snprintf(name, sizeof name, "%s%s%s", image_string(&img, org->namespace_off),
				 *image_string(&img, org->namespace_off) ? "/" : "",
				 image_string(&img, org->name_off));
		if (j) {
			json_obj_open(j, NULL);
			json_int(j, "cookie", key.cookie);
			json_int(j, "endpoint", key.endpoint);
			json_str(j, "direction", key.egress ? "egress" : "ingress");
			json_str(j, "rule", name);
			json_int(j, "packets", (long long)packets);
			json_int(j, "bytes", (long long)bytes);
			json_obj_close(j);
		} else {
			printf("  endpoint %-5u %-7s %-40s %llu, %llu\n", key.endpoint,
			       key.egress ? "egress" : "ingress", name, (unsigned long long)packets,
			       (unsigned long long)bytes);
		}
	}
	if (j)
		json_arr_close(j);
	free(per_cpu);
	if (have)
		image_free(&img);
}

int do_status(int argc, char **argv)
{
	struct load_opts o;
	load_opts_defaults(&o);
	bool json = false;
	int rc = parse_common(argc, argv, &o, &json, NULL, STATUS_USAGE);
	if (rc <= 0)
		return rc == 0 ? EXIT_CLEAN : EXIT_USAGE;
	int control = pinned(&o, "polc_control"), meta = pinned(&o, "polc_meta");
	if (control < 0 || meta < 0) {
		fprintf(stderr, "polc status: nothing is loaded (no pinned maps in %s)\n", o.bpffs);
		return EXIT_FINDINGS;
	}
	__u32 zero = 0;
	__u64 ctl = 0;
	struct polc_meta m = {0};
	bpf_map_lookup_elem(control, &zero, &ctl);
	bpf_map_lookup_elem(meta, &zero, &m);
	char digest[65];
	sha256_hex(m.digest, digest);
	__u32 slot = ctl & POLC_CTL_SLOT;
	int policy = active_inner(pinned(&o, "polc_policy"), slot);
	int eps = active_inner(pinned(&o, "polc_endpoints"), slot);
	bool has = ctl & POLC_CTL_HAS_IMAGE, open = ctl & POLC_CTL_FAIL_OPEN;
	const char *state = has ? "enforcing" : open ? "NO IMAGE, RUNNING OPEN (--fail-open)"
						      : "NO IMAGE: enforced interfaces drop everything";
	struct json j;
	if (json) {
		json_begin(&j, stdout, true);
		json_obj_open(&j, NULL);
		json_str(&j, "state", has ? "enforcing" : open ? "fail-open" : "fail-closed");
		json_int(&j, "generation", (long long)(has ? ctl >> POLC_CTL_GEN_SHIFT : 0));
		json_str(&j, "sha256", has ? digest : NULL);
		json_str(&j, "node", has ? m.node_name : NULL);
		json_int(&j, "slot", slot);
	} else {
		printf("state: %s\n", state);
		if (has)
			printf("node %s, generation %llu, slot %u, sha256 %s\n", m.node_name,
			       (unsigned long long)(ctl >> POLC_CTL_GEN_SHIFT), slot, digest);
	}
	if (has)
		status_endpoints(json ? &j : NULL, eps, policy);
	int counters = pinned(&o, "polc_counters");
	if (json)
		json_obj_open(&j, "counters");
	else
		printf("counters:\n");
	for (__u32 i = 1; i < POLC_COUNT__MAX; i++) {
		uint64_t v = counter(counters, i);
		if (json)
			json_int(&j, DROP_NAMES[i], (long long)v);
		else if (v)
			printf("  %-30s %llu\n", DROP_NAMES[i], (unsigned long long)v);
	}
	if (json)
		json_obj_close(&j);
	status_rules(json ? &j : NULL, pinned(&o, "polc_stats"), &o);
	status_ifaces(json ? &j : NULL, pinned(&o, "polc_ifaces"));
	if (json) {
		json_obj_close(&j);
		json_end(&j);
	}
	return has || open ? EXIT_CLEAN : EXIT_FINDINGS;
}

/* ---------------------------------------------------------------- observe */

struct observe_ctx {
	struct image img;
	bool have_image;
	bool json;
	size_t seen;
	int64_t boot_to_wall_ns; /* events carry CLOCK_MONOTONIC; people read wall-clock time */
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A workload-like name for an identity: from its labels in the active image. */
static void identity_name(const struct observe_ctx *x, uint32_t id, char *buf, size_t size)
{
	snprintf(buf, size, "identity %u", id);
	for (size_t i = 0; x->have_image && i < x->img.nids; i++) {
		if (x->img.ids[i].id != id)
			continue;
		const char *labels = image_string(&x->img, x->img.ids[i].labels_off);
		const char *ns = strstr(labels, "io.kubernetes.pod.namespace=");
		const char *app = strstr(labels, "app.kubernetes.io/name=");
		const char *res = strncmp(labels, "reserved:", 9) ? NULL : labels + 9;
		const char *cidr = strncmp(labels, "cidr:", 5) ? NULL : labels + 5;
		if (ns && app)
			snprintf(buf, size, "%.*s/%.*s", (int)strcspn(ns + 28, ";"), ns + 28,
				 (int)strcspn(app + 23, ";"), app + 23);
		else if (res)
			snprintf(buf, size, "%.*s", (int)strcspn(res, "=;"), res);
		else if (cidr)
			snprintf(buf, size, "%.*s", (int)strcspn(cidr, "=;"), cidr);
	}
}

static void endpoint_name(const struct observe_ctx *x, uint16_t ep, char *buf, size_t size)
{
	snprintf(buf, size, "endpoint %u", ep);
	for (size_t i = 0; x->have_image && i < x->img.neps; i++)
		if (x->img.eps[i].value.endpoint_id == ep)
			snprintf(buf, size, "%s", image_string(&x->img, x->img.eps[i].value.name_off));
}

static const char *verdict_word(const struct polc_event *e)
{
	if (e->verdict == POLC_VERDICT_DENY)
		return e->audited ? "AUDIT" : "DROPPED";
	return "FORWARDED";
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct observe_ctx *x = ctx;
	const struct polc_event *e = data;
	if (size < sizeof(*e))
		return 0;
	char local[128], remote[128], src_ip[INET6_ADDRSTRLEN], dst_ip[INET6_ADDRSTRLEN], rule[256] = "";
	endpoint_name(x, e->endpoint, local, sizeof local);
	identity_name(x, e->identity, remote, sizeof remote);
	int af = e->family == POLC_FAMILY_IPV4 ? AF_INET : AF_INET6;
	inet_ntop(af, e->saddr, src_ip, sizeof src_ip);
	inet_ntop(af, e->daddr, dst_ip, sizeof dst_ip);
	const struct polc_origin *o = x->have_image ? image_origin(&x->img, e->cookie) : NULL;
	if (o && o->kind != POLC_ORIGIN_SYNTHETIC)
		snprintf(rule, sizeof rule, "%s/%s", image_string(&x->img, o->namespace_off),
			 image_string(&x->img, o->name_off));
	const char *src = e->egress ? local : remote, *dst = e->egress ? remote : local;
	static const char *reasons[POLC_DROP__MAX] = {"",	 "default-deny", "policy-deny",
						      "needs-proxy", "needs-auth",   "no-image",
						      "fragment", "malformed",    "unknown-endpoint"};
	const char *reason = e->reason < POLC_DROP__MAX ? reasons[e->reason] : "?";
	char port[32], when[64];
	format_port(e->proto, (e->proto == 1 || e->proto == 58) ? 0 : e->dport, port, sizeof port);
	int64_t wall = (int64_t)e->ts_ns + x->boot_to_wall_ns;
	time_t secs = (time_t)(wall / 1000000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t len = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + len, sizeof when - len, ".%06lldZ", (long long)(wall % 1000000000 / 1000));
	if (x->json) {
		struct json j;
		json_begin(&j, stdout, false);
		json_obj_open(&j, NULL);
		json_str(&j, "time", when);
		json_str(&j, "verdict", verdict_word(e));
		json_str(&j, "reason", reason);
		json_str(&j, "direction", e->egress ? "egress" : "ingress");
		json_str(&j, "source", src);
		json_str(&j, "destination", dst);
		json_str(&j, "source_ip", src_ip);
		json_str(&j, "destination_ip", dst_ip);
		json_int(&j, "source_port", e->sport);
		json_int(&j, "destination_port", e->dport);
		json_int(&j, "protocol", e->proto);
		json_int(&j, "remote_identity", e->identity);
		json_str(&j, "rule", rule);
		json_obj_close(&j);
		json_end(&j);
	} else {
		printf("%s %-9s %s:%u -> %s:%u %s %s%s%s\n", when, verdict_word(e), src, e->sport, dst,
		       e->dport, port, reason, *rule ? " by " : "", rule);
	}
	fflush(stdout);
	x->seen++;
	return 0;
}

int do_observe(int argc, char **argv)
{
	struct load_opts o;
	load_opts_defaults(&o);
	bool json = false, follow = false;
	int rc = parse_common(argc, argv, &o, &json, &follow, OBSERVE_USAGE);
	if (rc <= 0)
		return rc == 0 ? EXIT_CLEAN : EXIT_USAGE;
	int events = pinned(&o, "polc_events");
	if (events < 0) {
		fprintf(stderr, "polc observe: nothing is loaded (no pinned maps in %s)\n", o.bpffs);
		return EXIT_FINDINGS;
	}
	struct observe_ctx x = {.json = json,
				.boot_to_wall_ns = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC)};
	x.have_image = load_active_image(&o, &x.img);
	struct ring_buffer *rb = ring_buffer__new(events, on_event, &x, NULL);
	if (!rb) {
		fprintf(stderr, "polc observe: cannot read events: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (follow)
		while (!stop && ring_buffer__poll(rb, 200) >= 0)
			;
	else
		ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (x.have_image)
		image_free(&x.img);
	return EXIT_CLEAN;
}
