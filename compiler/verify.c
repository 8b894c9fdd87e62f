/* Semantic verification: does the image decide every flow the way its source policies do?
 *
 * For every endpoint and direction, every remote identity that the endpoint's policy names
 * (plus representatives of those it does not: they can only meet the wildcard entries), and
 * both ends of every port interval between range boundaries, for TCP, UDP, SCTP, ICMP, ICMPv6
 * and one other protocol, the image's datapath decision (lookup.h over the image) must equal:
 *   - the resolved policy (resolve.c), always, for every such flow; and
 *   - the reference evaluator (refeval.c), for every flow when there are at most
 *     --reference-budget of them, otherwise for an evenly spread, seeded sample.
 * A mismatch prints a counterexample flow with both answers and the rules involved.
 */
#include "polc.h"
#include "imagefile.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct vctx {
	const struct image *img;
	const struct session *s;
	struct verify_stats *st;
	struct diag_sink *d;
	size_t budget, stride, tick;
};


static void origin_text(const struct image *img, uint32_t cookie, char *buf, size_t size)
{
	const struct polc_origin *o = image_origin(img, cookie);
	if (!o || o->kind == POLC_ORIGIN_SYNTHETIC) {
		snprintf(buf, size, "no rule (cookie %u)", cookie);
		return;
	}
	snprintf(buf, size, "%s/%s at %s:%u", image_string(img, o->namespace_off),
		 image_string(img, o->name_off), image_string(img, o->file_off), o->line);
}

static void mismatch(struct vctx *v, const struct endpoint *ep, int dir, const struct identity *remote,
		     uint8_t proto, uint16_t port, const struct polc_decision *dec, enum reason want,
		     const char *who, const struct policy *why_p, const struct node *why_at)
{
	v->st->mismatches++;
	if (v->st->mismatches > 10)
		return;
	char portbuf[32], img_rule[256], hint[768];
	format_port(proto, port, portbuf, sizeof portbuf);
	origin_text(v->img, dec->cookie, img_rule, sizeof img_rule);
	if (why_p)
		snprintf(hint, sizeof hint, "image entry from %s; %s rule: %s%s%s at %s:%d", img_rule,
			 who, why_p->namespace ? why_p->namespace : "", why_p->namespace ? "/" : "",
			 why_p->name, why_at && why_at->src ? why_at->src->path : "?",
			 why_at ? why_at->line : 0);
	else
		snprintf(hint, sizeof hint, "image entry from %s", img_rule);
	diag_pos(v->d, R_VERIFY, NULL, v->img->path, 0, 0, hint,
		 "%s %s identity %u (%s) %s: the image says %s, the %s says %s", ep->name,
		 dir == DIR_INGRESS ? "ingress from" : "egress to", remote->id, remote->key, portbuf,
		 reason_name(reason_of_decision(dec)), who, reason_name(want));
}

/* ---------------------------------------------------------------- the flows to try */

struct probes {
	uint32_t *ids;
	size_t nids;
	struct probe_port {
		uint8_t proto;
		uint16_t port;
	} *ports;
	size_t nports, cap;
};

/* Repeats are dropped by unique_ports once all are in. */
static void add_port(struct probes *p, uint8_t proto, long port)
{
	if (port < 0 || port > 65535 || ((proto == 1 || proto == 58) && port > 255))
		return;
	if (p->nports == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->ports = xrealloc(p->ports, p->cap * sizeof(*p->ports));
	}
	p->ports[p->nports].proto = proto;
	p->ports[p->nports++].port = (uint16_t)port;
}

static int cmp_probe_port(const void *a, const void *b)
{
	const struct probe_port *x = a, *y = b;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

static void unique_ports(struct probes *p)
{
	sort_items(p->ports, p->nports, sizeof(*p->ports), cmp_probe_port);
	size_t w = 0;
	for (size_t i = 0; i < p->nports; i++)
		if (!w || cmp_probe_port(&p->ports[w - 1], &p->ports[i]))
			p->ports[w++] = p->ports[i];
	p->nports = w;
}

static void build_probes(const struct cluster *c, const struct mapstate *ms, struct probes *p)
{
	static const uint8_t protos[] = {6, 17, 132, 1, 58, 47};
	for (size_t k = 0; k < sizeof protos; k++) {
		long top = protos[k] == 1 || protos[k] == 58 ? 255 : 65535;
		add_port(p, protos[k], 0);
		add_port(p, protos[k], top);
		for (size_t i = 0; i < ms->n; i++) {
			if (ms->v[i].proto != protos[k])
				continue;
			add_port(p, protos[k], ms->v[i].lo - 1);
			add_port(p, protos[k], ms->v[i].lo);
			add_port(p, protos[k], ms->v[i].hi);
			add_port(p, protos[k], (long)ms->v[i].hi + 1);
		}
	}
	unique_ports(p);
	/* Remote identities: those the entries name, and one of each kind they do not. */
	struct idset in_entries = {0};
	for (size_t k = 0; k < ms->n; k++)
		idset_add(&in_entries, ms->v[k].identity);
	idset_sort(&in_entries);
	p->ids = xcalloc(c->nids + 1, sizeof(uint32_t));
	bool seen_pod = false, seen_cidr = false;
	for (size_t i = 0; i < c->nids; i++) {
		const struct identity *id = c->ids[i];
		bool named = idset_has(&in_entries, id->id);
		bool reserved = id->id < ID_FIRST_GLOBAL;
		bool first_pod = !id->is_cidr && !reserved && !seen_pod;
		bool first_cidr = id->is_cidr && !seen_cidr;
		if (named || reserved || first_pod || first_cidr || c->nids <= 256)
			p->ids[p->nids++] = id->id;
		seen_pod |= first_pod && !named;
		seen_cidr |= first_cidr && !named;
	}
	idset_free(&in_entries);
}

/* ---------------------------------------------------------------- one endpoint */

static uint16_t image_endpoint_id(const struct image *img, const struct endpoint *ep,
				  uint8_t *mode_in, uint8_t *mode_out)
{
	const struct polc_endpoint_rec *r = image_endpoint_by_name(img, ep->name);
	if (!r)
		return 0;
	*mode_in = r->value.ingress_mode;
	*mode_out = r->value.egress_mode;
	return r->value.endpoint_id;
}

/* Every stride-th flow goes to the reference too, and never more than the budget: the
 * estimate of the flow count is rough, the budget is not. */
static bool reference_turn(struct vctx *v)
{
	v->tick++;
	if (v->st->reference_checks >= v->budget) {
		v->st->reference_sampled = true;
		return false;
	}
	return v->stride <= 1 || v->tick % v->stride == 0;
}

static void verify_direction(struct vctx *v, const struct endpoint *ep,
			     const struct ref_subject *subj, uint16_t epid, int dir, uint8_t mode)
{
	const struct cluster *c = v->s->cluster;
	struct mapstate ms;
	resolve_endpoint(c, &v->s->flat, ep, (enum direction)dir, &ms);
	if (ms.enforced != (mode != POLC_MODE_OFF)) {
		diag_pos(v->d, R_VERIFY, NULL, v->img->path, 0, 0, "recompile the image",
			 "%s: %s is %s in the image but %s by the policies", ep->name,
			 dir == DIR_INGRESS ? "ingress" : "egress", mode ? "enforced" : "not enforced",
			 ms.enforced ? "enforced" : "not enforced");
		v->st->mismatches++;
		mapstate_free(&ms);
		return;
	}
	if (!ms.enforced) {
		mapstate_free(&ms);
		return;
	}
	struct probes p = {0};
	build_probes(c, &ms, &p);
	for (size_t i = 0; i < p.nids; i++) {
		const struct identity *remote = identity_by_id(c, p.ids[i]);
		for (size_t k = 0; k < p.nports; k++) {
			uint8_t proto = p.ports[k].proto;
			uint16_t port = p.ports[k].port;
			struct polc_decision dec;
			image_decide(v->img, epid, (uint8_t)dir, remote->id, proto, port, &dec);
			enum reason got = reason_of_decision(&dec);
			struct flow_result fr = mapstate_lookup(&ms, remote->id, proto, port);
			v->st->checks++;
			if (fr.reason != got)
				mismatch(v, ep, dir, remote, proto, port, &dec, fr.reason,
					 "resolved policy", NULL, NULL);
			if (!reference_turn(v))
				continue;
			struct ref_query q = {ep, (enum direction)dir, remote, NULL, proto, port};
			struct ref_result rr = ref_evaluate_subject(c, &v->s->policies, subj, &q);
			v->st->reference_checks++;
			if (rr.reason != got)
				mismatch(v, ep, dir, remote, proto, port, &dec, rr.reason,
					 "reference evaluator", rr.policy, rr.at);
		}
	}
	free(p.ids);
	free(p.ports);
	mapstate_free(&ms);
}

/* A rough count of the flows to try, to decide whether the reference sees all of them. */
static size_t estimate(const struct vctx *v, const struct endpoint *const *eps, size_t n)
{
	size_t ids = v->s->cluster->nids < 256 ? v->s->cluster->nids : 64;
	return n * 2 * ids * 24;
}

/* ---------------------------------------------------------------- twins */

/* Endpoints with the same identity and the same named ports resolve to the same policy
 * (resolve.c depends on nothing else, not even the node), and the lookup never reads another
 * endpoint's entries. So once one endpoint is verified flow by flow, another with the same key,
 * the same enforcement modes and the same entries (on this node or on another one verified in
 * the same session) is verified too. The memo keeps a digest of those per key; an endpoint
 * whose digest differs is checked flow by flow, like any other. */
struct verified_twin {
	char *key;
	uint8_t digest[32];
	UT_hash_handle hh;
};

struct verify_memo {
	struct verified_twin *by_key;
};

struct verify_memo *verify_memo_new(void)
{
	return xcalloc(1, sizeof(struct verify_memo));
}

void verify_memo_free(struct verify_memo *m)
{
	struct verified_twin *t, *tmp;
	if (!m)
		return;
	HASH_ITER(hh, m->by_key, t, tmp) {
		HASH_DEL(m->by_key, t);
		free(t->key);
		free(t);
	}
	free(m);
}

static char *twin_key(const struct endpoint *ep)
{
	struct strbuf sb = {0};
	sb_printf(&sb, "%u", ep->id->id);
	for (size_t i = 0; i < ep->pod->nports; i++)
		sb_printf(&sb, "|%s/%s/%d", ep->pod->ports[i].name ? ep->pod->ports[i].name : "",
			  ep->pod->ports[i].protocol, ep->pod->ports[i].port);
	return sb.s;
}

/* The run of policy entries of one endpoint (entries sort by endpoint first). */
static void entry_run(const struct image *img, uint16_t ep, size_t *first, size_t *n)
{
	size_t lo = 0, hi = img->nentries;
	uint16_t be = __builtin_bswap16(ep);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (memcmp(&img->entries[mid].key.endpoint, &be, 2) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < img->nentries && img->entries[end].key.endpoint == be)
		end++;
	*first = lo;
	*n = end - lo;
}

/* The modes and the entries of one endpoint, with the endpoint number left out. */
static void twin_digest(const struct image *img, uint16_t id, const uint8_t modes[2],
			uint8_t out[32])
{
	struct polc_policy_entry batch[128];
	size_t first, n;
	entry_run(img, id, &first, &n);
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, modes, 2);
	for (size_t done = 0; done < n;) {
		size_t k = n - done < 128 ? n - done : 128;
		memcpy(batch, &img->entries[first + done], k * sizeof(*batch));
		for (size_t i = 0; i < k; i++)
			batch[i].key.endpoint = 0;
		sha256_update(&h, batch, k * sizeof(*batch));
		done += k;
	}
	sha256_final(&h, out);
}

/* Whether an endpoint's twin was verified already; *key and *digest are for remember(). */
static bool verified_before(struct verify_memo *m, const struct image *img,
			    const struct endpoint *ep, uint16_t id, const uint8_t modes[2],
			    char **key, uint8_t digest[32])
{
	*key = twin_key(ep);
	twin_digest(img, id, modes, digest);
	struct verified_twin *t;
	HASH_FIND_STR(m->by_key, *key, t);
	return t && !memcmp(t->digest, digest, 32);
}

/* Keeps the first verified digest of a key; takes the key. */
static void remember(struct verify_memo *m, char *key, const uint8_t digest[32])
{
	struct verified_twin *t;
	HASH_FIND_STR(m->by_key, key, t);
	if (t) {
		free(key);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->key = key;
	memcpy(t->digest, digest, 32);
	HASH_ADD_KEYPTR(hh, m->by_key, t->key, strlen(t->key), t);
}

int image_verify_semantics(const struct image *img, const struct session *s,
			   struct verify_stats *st, struct diag_sink *d, FILE *report)
{
	struct vctx v = {img, s, st, d, 0, 1, 0};
	memset(st, 0, sizeof(*st));
	const struct cluster *c = s->cluster;
	const struct endpoint **eps = xcalloc(c->neps + 1, sizeof(*eps));
	size_t n = 0;
	for (size_t i = 0; i < c->neps; i++) {
		const struct endpoint *ep = &c->eps[i];
		if (ep->node && !strcmp(ep->node, img->hdr->node_name) && !ep->pod->host_network &&
		    ep->pod->nips)
			eps[n++] = ep;
	}
	/* And nothing in the image that the cluster does not have on this node. */
	for (size_t i = 0; i < img->neps; i++) {
		const char *name = image_string(img, img->eps[i].value.name_off);
		const struct endpoint *ep = endpoint_by_name(c, name);
		if (!ep || !ep->node || strcmp(ep->node, img->hdr->node_name)) {
			diag_pos(d, R_VERIFY, NULL, img->path, 0, 0, "recompile the image",
				 "the image has endpoint %s, which node %s does not have", name,
				 img->hdr->node_name);
			st->mismatches++;
		}
	}
	v.budget = s->verify_budget ? s->verify_budget : REFERENCE_BUDGET_VERIFY;
	size_t total = estimate(&v, eps, n);
	v.stride = total > v.budget ? total / v.budget + 1 : 1;
	st->reference_sampled = v.stride > 1;
	struct verify_memo *memo = s->verify_memo ? s->verify_memo : verify_memo_new();
	for (size_t i = 0; i < n; i++) {
		const struct endpoint *ep = eps[i];
		uint8_t modes[2] = {0, 0};
		uint16_t id = image_endpoint_id(img, ep, &modes[0], &modes[1]);
		if (!id) {
			diag_pos(d, R_VERIFY, NULL, img->path, 0, 0, "recompile the image",
				 "endpoint %s of node %s is missing from the image", ep->name,
				 img->hdr->node_name);
			st->mismatches++;
			continue;
		}
		st->endpoints++;
		char *key;
		uint8_t digest[32];
		if (verified_before(memo, img, ep, id, modes, &key, digest)) {
			st->twins++;
			free(key);
			continue;
		}
		size_t before = st->mismatches;
		struct ref_subject subj;
		ref_subject_build(c, &s->policies, ep, &subj);
		verify_direction(&v, ep, &subj, id, DIR_INGRESS, modes[0]);
		verify_direction(&v, ep, &subj, id, DIR_EGRESS, modes[1]);
		ref_subject_free(&subj);
		if (st->mismatches == before)
			remember(memo, key, digest);
		else
			free(key);
	}
	if (memo != s->verify_memo)
		verify_memo_free(memo);
	free(eps);
	if (report)
		fprintf(report,
			"%s: %zu endpoints (%zu as twins of endpoints verified before), %zu flows "
			"checked against the resolved policy, %zu against the reference "
			"evaluator%s: %s\n",
			img->path, st->endpoints, st->twins, st->checks, st->reference_checks,
			st->reference_sampled ? " (sampled)" : "",
			st->mismatches ? "MISMATCH" : "verified");
	return st->mismatches ? -1 : 0;
}
