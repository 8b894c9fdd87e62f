/* polc diff: the semantic difference between two policy sets or two images, as flows that
 * become allowed and flows that become denied, grouped so a pull request can read them.
 *
 * Both sides are "views" that decide (endpoint, direction, remote identity, protocol, port).
 * Endpoints are matched by name and identities by their label sets, so two images compiled
 * with different identity numbers still compare. Probes are the remote identities that either
 * side names plus one of each kind neither names, and both ends of every port interval.
 */
#include "polc.h"
#include "imagefile.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- views */

struct view {
	const char *label;
	/* policy set */
	const struct cluster *c;
	struct flat_policy flat;
	const struct corpus *policies;
	/* image */
	struct image img;
	bool is_image;
};

struct cut {
	uint8_t proto;
	long port;
};

struct probe_set {
	const char **keys; /* remote identity label sets */
	size_t nkeys, capkeys;
	struct cut *cuts;
	size_t ncuts, capcuts;
};

static void add_key(struct probe_set *p, const char *key)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (!strcmp(p->keys[i], key))
			return;
	if (p->nkeys == p->capkeys) {
		p->capkeys = p->capkeys ? p->capkeys * 2 : 32;
		p->keys = xrealloc(p->keys, p->capkeys * sizeof(char *));
	}
	p->keys[p->nkeys++] = key;
}

static void add_cut(struct probe_set *p, uint8_t proto, long port)
{
	long top = proto == 1 || proto == 58 ? 255 : 65535;
	if (port < 0 || port > top)
		return;
	for (size_t i = 0; i < p->ncuts; i++)
		if (p->cuts[i].proto == proto && p->cuts[i].port == port)
			return;
	if (p->ncuts == p->capcuts) {
		p->capcuts = p->capcuts ? p->capcuts * 2 : 64;
		p->cuts = xrealloc(p->cuts, p->capcuts * sizeof(*p->cuts));
	}
	p->cuts[p->ncuts++] = (struct cut){proto, port};
}

static int cmp_cut(const void *a, const void *b)
{
	const struct cut *x = a, *y = b;
	return x->proto != y->proto ? x->proto - y->proto : (x->port > y->port) - (x->port < y->port);
}

/* What one side knows about an endpoint and direction: its identities and port boundaries. */
static void collect_session(struct view *v, const struct endpoint *ep, int dir, struct probe_set *p)
{
	struct mapstate ms;
	resolve_endpoint(v->c, &v->flat, ep, (enum direction)dir, &ms);
	for (size_t i = 0; i < ms.n; i++) {
		const struct identity *id = identity_by_id(v->c, ms.v[i].identity);
		if (id && ms.v[i].identity)
			add_key(p, id->key);
		if (ms.v[i].proto) {
			add_cut(p, ms.v[i].proto, ms.v[i].lo);
			add_cut(p, ms.v[i].proto, (long)ms.v[i].hi + 1);
		}
	}
	mapstate_free(&ms);
}

static const char *image_key(const struct image *img, uint32_t id)
{
	for (size_t i = 0; i < img->nids; i++)
		if (img->ids[i].id == id)
			return image_string(img, img->ids[i].labels_off);
	return NULL;
}

static uint16_t image_ep(const struct image *img, const char *name, uint8_t mode[2])
{
	const struct polc_endpoint_rec *r = image_endpoint_by_name(img, name);
	if (!r)
		return 0;
	mode[0] = r->value.ingress_mode;
	mode[1] = r->value.egress_mode;
	return r->value.endpoint_id;
}

static void collect_image(struct view *v, const char *name, int dir, struct probe_set *p)
{
	uint8_t mode[2];
	uint16_t id = image_ep(&v->img, name, mode);
	for (size_t i = 0; id && i < v->img.nentries; i++) {
		const struct polc_policy_entry *e = &v->img.entries[i];
		if (__builtin_bswap16(e->key.endpoint) != id || e->key.egress != dir)
			continue;
		uint32_t ident = __builtin_bswap32(e->key.identity);
		const char *key = ident ? image_key(&v->img, ident) : NULL;
		if (key)
			add_key(p, key);
		if (!e->key.proto)
			continue;
		int bits = (int)e->key.prefixlen - POLC_POLICY_STATIC_PREFIX - 8;
		long lo = __builtin_bswap16(e->key.dport);
		add_cut(p, e->key.proto, lo);
		add_cut(p, e->key.proto, lo + (1L << (16 - bits)));
	}
}

/* The decision of one side, as a reason (allowed, l7-redirect, default-deny, ...). */
static enum reason decide(struct view *v, const char *name, int dir, const char *key,
			  uint8_t proto, uint16_t port)
{
	if (v->is_image) {
		uint8_t mode[2];
		uint16_t ep = image_ep(&v->img, name, mode);
		if (!ep || mode[dir] == POLC_MODE_OFF)
			return REASON_NOT_ENFORCED;
		uint32_t remote = ID_WORLD;
		for (size_t i = 0; i < v->img.nids; i++)
			if (!strcmp(image_string(&v->img, v->img.ids[i].labels_off), key))
				remote = v->img.ids[i].id;
		struct polc_decision dec;
		image_decide(&v->img, ep, (uint8_t)dir, remote, proto, port, &dec);
		return reason_of_decision(&dec);
	}
	const struct endpoint *ep = endpoint_by_name(v->c, name);
	if (!ep)
		return REASON_NOT_ENFORCED;
	const struct identity *id = identity_by_key(v->c, key);
	struct mapstate ms;
	resolve_endpoint(v->c, &v->flat, ep, (enum direction)dir, &ms);
	struct flow_result fr = mapstate_lookup(&ms, id ? id->id : ID_WORLD, proto, port);
	mapstate_free(&ms);
	return fr.reason;
}

static bool allows(enum reason r)
{
	return r != REASON_POLICY_DENY && r != REASON_DEFAULT_DENY;
}

/* ---------------------------------------------------------------- changes */

struct change {
	bool now_allowed;
	char *src, *dst;
	uint8_t proto;
	long lo, hi;
};

struct changes {
	struct change *v;
	size_t n, cap;
};

static void add_change(struct changes *cs, bool allowed, const char *src, const char *dst,
		       uint8_t proto, long lo, long hi)
{
	struct change *last = cs->n ? &cs->v[cs->n - 1] : NULL;
	if (last && last->now_allowed == allowed && !strcmp(last->src, src) &&
	    !strcmp(last->dst, dst) && last->proto == proto && last->hi + 1 == lo) {
		last->hi = hi;
		return;
	}
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 32;
		cs->v = xrealloc(cs->v, cs->cap * sizeof(*cs->v));
	}
	cs->v[cs->n++] = (struct change){allowed, xstrdup(src), xstrdup(dst), proto, lo, hi};
}

/* A readable name for a remote identity: a workload that has it, an entity, or a CIDR. */
static const char *remote_name(const struct cluster *c, const char *key, char *buf, size_t size)
{
	const struct identity *id = c ? identity_by_key(c, key) : NULL;
	for (size_t i = 0; id && c && i < c->neps; i++)
		if (c->eps[i].id == id)
			return c->eps[i].workload ? c->eps[i].workload : c->eps[i].name;
	const char *colon = strchr(key, ':'), *eq = strchr(key, '=');
	if (!strncmp(key, "reserved:", 9) && eq)
		snprintf(buf, size, "entity:%.*s", (int)(eq - colon - 1), colon + 1);
	else if (!strncmp(key, "cidr:", 5) && eq)
		snprintf(buf, size, "%.*s", (int)(eq - colon - 1), colon + 1);
	else
		snprintf(buf, size, "{%s}", key);
	return buf;
}

/* Protocol 47 is the probe for "every other IP protocol" (only L3 rules decide those). */
static const char *const PROTO_NAMES[256] = {[1] = "ICMP", [6] = "TCP", [17] = "UDP",
					     [47] = "other protocols", [58] = "ICMPv6",
					     [132] = "SCTP"};

static void compare_flows(struct view *a, struct view *b, const char *name, const char *local,
			  int dir, struct changes *out)
{
	struct probe_set p = {0};
	static const uint8_t protos[] = {6, 17, 132, 1, 58, 47};
	for (size_t k = 0; k < sizeof protos; k++)
		add_cut(&p, protos[k], 0);
	struct view *views[] = {a, b};
	for (int i = 0; i < 2; i++) {
		if (views[i]->is_image) {
			collect_image(views[i], name, dir, &p);
			continue;
		}
		const struct endpoint *ep = endpoint_by_name(views[i]->c, name);
		if (ep)
			collect_session(views[i], ep, dir, &p);
	}
	/* One identity of each kind that no entry names stands for all the others. */
	const struct cluster *c = a->is_image ? b->c : a->c;
	for (size_t i = 0; c && i < c->nids; i++)
		if (c->ids[i]->id < ID_FIRST_GLOBAL || i + 1 == c->nids)
			add_key(&p, c->ids[i]->key);
	sort_items(p.cuts, p.ncuts, sizeof(*p.cuts), cmp_cut);
	char buf[256];
	for (size_t k = 0; k < p.nkeys; k++) {
		const char *remote = remote_name(c, p.keys[k], buf, sizeof buf);
		for (size_t i = 0; i < p.ncuts; i++) {
			uint8_t proto = p.cuts[i].proto;
			long lo = p.cuts[i].port;
			long top = proto == 1 || proto == 58 ? 255 : 65535;
			long hi = i + 1 < p.ncuts && p.cuts[i + 1].proto == proto ? p.cuts[i + 1].port - 1
										  : top;
			bool before = allows(decide(a, name, dir, p.keys[k], proto, (uint16_t)lo));
			bool after = allows(decide(b, name, dir, p.keys[k], proto, (uint16_t)lo));
			if (before == after)
				continue;
			add_change(out, after, dir == DIR_EGRESS ? local : remote,
				   dir == DIR_EGRESS ? remote : local, proto, lo, hi);
		}
	}
	free(p.keys);
	free(p.cuts);
}

static void port_range_text(const struct change *ch, char *buf, size_t size)
{
	const char *proto = PROTO_NAMES[ch->proto] ? PROTO_NAMES[ch->proto] : "?";
	long top = ch->proto == 1 || ch->proto == 58 ? 255 : 65535;
	if (ch->lo == 0 && ch->hi == top)
		snprintf(buf, size, "%s (all)", proto);
	else if (ch->proto == 1 || ch->proto == 58)
		snprintf(buf, size, ch->lo == ch->hi ? "%s/%ld" : "%s/%ld-%ld", proto, ch->lo, ch->hi);
	else if (ch->lo == ch->hi)
		snprintf(buf, size, "%ld/%s", ch->lo, proto);
	else
		snprintf(buf, size, "%ld-%ld/%s", ch->lo, ch->hi, proto);
}

static int cmp_change(const void *x, const void *y)
{
	const struct change *a = x, *b = y;
	if (a->now_allowed != b->now_allowed)
		return a->now_allowed ? -1 : 1;
	int c = strcmp(a->src, b->src);
	if (!c)
		c = strcmp(a->dst, b->dst);
	if (!c)
		c = a->proto - b->proto;
	return c ? c : (a->lo > b->lo) - (a->lo < b->lo);
}

static bool whole_protocol(const struct change *ch)
{
	return ch->lo == 0 && ch->hi == (ch->proto == 1 || ch->proto == 58 ? 255 : 65535);
}

static size_t group_end(const struct changes *cs, size_t i);

/* One line per (source, destination): its port ranges, or "all traffic" when every protocol
 * changed whole. Returns the index after the group. */
static size_t print_group(const struct changes *cs, size_t i, struct json *j)
{
	size_t end = group_end(cs, i);
	bool all = end - i == 6; /* TCP, UDP, SCTP, ICMP, ICMPv6 and the rest */
	for (size_t k = i; k < end; k++)
		all &= whole_protocol(&cs->v[k]);
	struct strbuf ports = {0};
	for (size_t k = i; k < end && !all; k++) {
		char one[64];
		port_range_text(&cs->v[k], one, sizeof one);
		sb_printf(&ports, "%s%s", k > i ? ", " : "", one);
	}
	const char *text = all ? "all traffic" : ports.s;
	if (j) {
		json_obj_open(j, NULL);
		json_str(j, "from", cs->v[i].src);
		json_str(j, "to", cs->v[i].dst);
		json_str(j, "ports", text);
		json_obj_close(j);
	} else {
		printf("  %s -> %s  %s\n", cs->v[i].src, cs->v[i].dst, text);
	}
	sb_free(&ports);
	return end;
}

static size_t group_end(const struct changes *cs, size_t i)
{
	size_t end = i;
	while (end < cs->n && cs->v[end].now_allowed == cs->v[i].now_allowed &&
	       !strcmp(cs->v[end].src, cs->v[i].src) && !strcmp(cs->v[end].dst, cs->v[i].dst))
		end++;
	return end;
}

static void print_changes(struct changes *cs, bool json)
{
	sort_items(cs->v, cs->n, sizeof(*cs->v), cmp_change);
	size_t groups[2] = {0, 0}; /* [0] newly denied, [1] newly allowed */
	for (size_t i = 0; i < cs->n; i = group_end(cs, i))
		groups[cs->v[i].now_allowed]++;
	struct json j;
	if (json) {
		json_begin(&j, stdout, true);
		json_obj_open(&j, NULL);
	}
	for (int pass = 0; pass < 2; pass++) {
		bool want = pass == 0;
		if (json)
			json_arr_open(&j, want ? "newly_allowed" : "newly_denied");
		else
			printf("%s (%zu):\n", want ? "Newly allowed" : "Newly denied", groups[want]);
		for (size_t i = 0; i < cs->n;)
			i = cs->v[i].now_allowed == want ? print_group(cs, i, json ? &j : NULL)
							  : group_end(cs, i);
		if (json)
			json_arr_close(&j);
	}
	if (json) {
		json_int(&j, "newly_allowed_count", (long long)groups[1]);
		json_int(&j, "newly_denied_count", (long long)groups[0]);
		json_obj_close(&j);
		json_end(&j);
	}
}

/* Lines repeat per pod of a workload; keep one. */
static void dedupe(struct changes *cs)
{
	sort_items(cs->v, cs->n, sizeof(*cs->v), cmp_change);
	size_t out = 0;
	for (size_t i = 0; i < cs->n; i++) {
		if (out && !cmp_change(&cs->v[out - 1], &cs->v[i]) && cs->v[out - 1].hi == cs->v[i].hi) {
			free(cs->v[i].src);
			free(cs->v[i].dst);
			continue;
		}
		cs->v[out++] = cs->v[i];
	}
	cs->n = out;
}

/* ---------------------------------------------------------------- polc diff */

static bool is_image_path(const char *p)
{
	size_t n = strlen(p);
	struct stat st;
	return n > 5 && !strcmp(p + n - 5, ".polc") && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Loads both policy sets over one inventory with one identity table. */
static int load_policy_views(struct session *s, const char *old_path, const char *new_path,
			     struct corpus *old_c, struct corpus *new_c, struct view *a,
			     struct view *b)
{
	corpus_init(old_c);
	corpus_init(new_c);
	const char *o[] = {old_path}, *n[] = {new_path};
	if (corpus_load(old_c, &s->load, s->schemas, o, 1, &s->diag) < 0 ||
	    corpus_load(new_c, &s->load, s->schemas, n, 1, &s->diag) < 0 || s->diag.counts[SEV_ERROR])
		return -1;
	struct corpus both;
	corpus_init(&both);
	for (size_t i = 0; i < old_c->policies.n; i++)
		ptrvec_push(&both.policies, old_c->policies.v[i]);
	for (size_t i = 0; i < new_c->policies.n; i++)
		ptrvec_push(&both.policies, new_c->policies.v[i]);
	for (size_t i = 0; i < old_c->cidr_groups.n; i++)
		ptrvec_push(&both.cidr_groups, old_c->cidr_groups.v[i]);
	for (size_t i = 0; i < new_c->cidr_groups.n; i++)
		ptrvec_push(&both.cidr_groups, new_c->cidr_groups.v[i]);
	s->cluster = cluster_build(s->inv, &both, &s->sem, s->alloc_path, &s->diag);
	corpus_free(&both);
	if (!s->cluster)
		return -1;
	a->c = b->c = s->cluster;
	a->policies = old_c;
	b->policies = new_c;
	translate(s->cluster, old_c, &a->flat, &s->diag);
	translate(s->cluster, new_c, &b->flat, &s->diag);
	return 0;
}

int do_diff(int argc, char **argv)
{
	static const struct option opts[] = {{"inventory", required_argument, NULL, 'i'},
					     {"json", no_argument, NULL, 'j'},
					     {"fail-on-new-allow", no_argument, NULL, 'F'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct session s;
	session_init(&s);
	struct ptrvec inv = {0};
	bool json = false, fail_on_allow = false;
	int c, rc = EXIT_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:jh", opts, NULL)) != -1) {
		if (c == 'i')
			ptrvec_push(&inv, optarg);
		else if (c == 'j')
			json = true;
		else if (c == 'F')
			fail_on_allow = true;
		else {
			puts(DIFF_USAGE);
			rc = c == 'h' ? EXIT_CLEAN : EXIT_USAGE;
			goto out;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "polc diff: give OLD and NEW\n%s\n", DIFF_USAGE);
		goto out;
	}
	struct view a = {.label = argv[optind]}, b = {.label = argv[optind + 1]};
	struct corpus old_c, new_c;
	bool images = is_image_path(a.label) && is_image_path(b.label);
	corpus_init(&old_c);
	corpus_init(&new_c);
	s.schemas = schema_builtin();
	if (images) {
		a.is_image = b.is_image = true;
		if (image_load(a.label, &a.img, &s.diag) < 0 || image_load(b.label, &b.img, &s.diag) < 0)
			goto render;
	} else {
		if (!inv.n) {
			fprintf(stderr, "polc diff: comparing policy sets needs -i INVENTORY\n");
			goto cleanup;
		}
		s.inv = inventory_load((const char *const *)inv.v, inv.n, &s.load.limits, &s.diag);
		if (!s.inv || load_policy_views(&s, a.label, b.label, &old_c, &new_c, &a, &b) < 0)
			goto render;
	}
	struct changes cs = {0};
	if (images) {
		for (size_t i = 0; i < b.img.neps; i++) {
			const char *name = image_string(&b.img, b.img.eps[i].value.name_off);
			if (i && b.img.eps[i].value.endpoint_id == b.img.eps[i - 1].value.endpoint_id)
				continue;
			for (int dir = 0; dir < 2; dir++)
				compare_flows(&a, &b, name, name, dir, &cs);
		}
	} else {
		for (size_t i = 0; i < s.cluster->neps; i++) {
			const struct endpoint *ep = &s.cluster->eps[i];
			const char *local = ep->workload ? ep->workload : ep->name;
			for (int dir = 0; dir < 2; dir++)
				compare_flows(&a, &b, ep->name, local, dir, &cs);
		}
	}
	dedupe(&cs);
	print_changes(&cs, json);
	size_t allowed = 0;
	for (size_t i = 0; i < cs.n; i++) {
		allowed += cs.v[i].now_allowed;
		free(cs.v[i].src);
		free(cs.v[i].dst);
	}
	free(cs.v);
	rc = fail_on_allow && allowed ? EXIT_FINDINGS : EXIT_CLEAN;
render:
	if (s.diag.n) {
		diag_sort(&s.diag);
		diag_render(&s.diag, FORMAT_TEXT, stderr, -1);
	}
cleanup:
	if (a.is_image || b.is_image) {
		image_free(&a.img);
		image_free(&b.img);
	}
	if (a.flat.index || a.flat.rules)
		flat_policy_free(&a.flat);
	if (b.flat.index || b.flat.rules)
		flat_policy_free(&b.flat);
	corpus_free(&old_c);
	corpus_free(&new_c);
out:
	ptrvec_free(&inv);
	session_free(&s);
	return rc;
}
