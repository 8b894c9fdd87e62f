/* polc trace: "can SRC reach DST on PORT?", answered both ways Cilium enforces it — egress at
 * the source, ingress at the destination — with the rule that decides each half.
 *
 * Each half is computed by the fast path (resolve.c) and by the reference evaluator; they must
 * agree, and a disagreement is reported as an internal error rather than hidden.
 */
#include "polc.h"
#include "resolve.h"
#include "imagefile.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- sessions */

void session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	reader_default_limits(&s->load.limits);
	semantics_defaults(&s->sem);
	diag_init(&s->diag);
	corpus_init(&s->policies);
}

/* Compiles and parses an image per node, so flows can be decided the datapath's way too. */
static int build_images(struct session *s)
{
	s->images = xcalloc(s->inv->nnodes + 1, sizeof(struct image));
	for (size_t i = 0; i < s->inv->nnodes; i++) {
		struct compile_options o = {.node = s->inv->nodes[i].name, .generation = 1,
					    .max_per_endpoint = 1u << 24};
		struct compile_stats st;
		struct strbuf buf = {0};
		if (image_build(s, &o, &buf, &st, &s->diag) < 0)
			return -1;
		uint8_t *copy = aligned_alloc(8, (buf.len + 7) & ~(size_t)7);
		memcpy(copy, buf.s, buf.len);
		int rc = image_parse(copy, buf.len, s->inv->nodes[i].name, &s->images[i], &s->diag);
		s->nimages = i + 1;
		sb_free(&buf);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int session_build(struct session *s)
{
	s->flat_ready = false;
	/* new identities, new rules: nothing verified before still counts */
	verify_memo_free(s->verify_memo);
	s->verify_memo = verify_memo_new();
	s->cluster = cluster_build(s->inv, &s->policies, &s->sem, s->alloc_path, &s->diag);
	if (!s->cluster)
		return -1;
	translate(s->cluster, &s->policies, &s->flat, &s->diag);
	s->flat_ready = true;
	return s->with_images ? build_images(s) : 0;
}

int session_load(struct session *s, const char *const *inv, size_t ninv,
		 const char *const *pol, size_t npol)
{
	s->schemas = schema_builtin();
	s->inv = inventory_load(inv, ninv, &s->load.limits, &s->diag);
	if (!s->inv)
		return -1;
	if (corpus_load(&s->policies, &s->load, s->schemas, pol, npol, &s->diag) < 0 ||
	    s->diag.counts[SEV_ERROR])
		return -1;
	/* CIDR groups may come with the inventory (kubectl get ciliumcidrgroups). */
	for (size_t i = 0; i < s->inv->objects->cidr_groups.n; i++)
		ptrvec_push(&s->policies.cidr_groups, s->inv->objects->cidr_groups.v[i]);
	return session_build(s);
}

void session_free(struct session *s)
{
	for (size_t i = 0; i < s->nimages; i++)
		image_free(&s->images[i]);
	free(s->images);
	verify_memo_free(s->verify_memo);
	if (s->flat_ready)
		flat_policy_free(&s->flat);
	cluster_free(s->cluster);
	inventory_free(s->inv);
	corpus_free(&s->policies);
	schema_free(s->schemas);
	diag_free(&s->diag);
}

/* ---------------------------------------------------------------- flows */

/* "8080/TCP", "53/udp", "8080" (TCP), "ICMP/8", "ICMPv6/128". */
int parse_flow_port(const char *text, uint8_t *proto, uint16_t *port)
{
	const char *slash = strchr(text, '/');
	unsigned long n;
	char left[32];
	if (!slash) {
		*proto = 6;
		return parse_uint(text, 65535, &n) ? (*port = (uint16_t)n, 0) : -1;
	}
	snprintf(left, sizeof left, "%.*s", (int)(slash - text), text);
	const char *right = slash + 1;
	if (!strcasecmp(left, "ICMP") || !strcasecmp(left, "ICMPv6")) {
		*proto = !strcasecmp(left, "ICMP") ? 1 : 58;
		return parse_uint(right, 255, &n) ? (*port = (uint16_t)n, 0) : -1;
	}
	if (!parse_uint(left, 65535, &n))
		return -1;
	*port = (uint16_t)n;
	*proto = !strcasecmp(right, "TCP") ? 6 : !strcasecmp(right, "UDP") ? 17
		 : !strcasecmp(right, "SCTP")				   ? 132
									   : 0;
	return *proto ? 0 : -1;
}

static const char *const ENTITY_IDS[][2] = {
	{"host", "1"},	   {"world", "2"},	   {"unmanaged", "3"},	   {"health", "4"},
	{"init", "5"},	   {"remote-node", "6"}, {"kube-apiserver", "7"}, {"ingress", "8"},
	{"world-ipv4", "9"}, {"world-ipv6", "10"}};

/* An endpoint name, a workload, an IP, or entity:NAME. */
static int resolve_party(const struct cluster *c, const char *text, struct party *out,
			 char *err, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	out->text = text;
	if (!strncmp(text, "entity:", 7)) {
		const char *name = text + 7;
		for (size_t i = 0; i < sizeof(ENTITY_IDS) / sizeof(*ENTITY_IDS); i++)
			if (!strcmp(name, ENTITY_IDS[i][0])) {
				uint32_t id = (uint32_t)atoi(ENTITY_IDS[i][1]);
				if (c->dual_stack && id == ID_WORLD)
					id = ID_WORLD_IPV4;
				out->id = identity_by_id(c, id);
				return 0;
			}
		snprintf(err, errsize, "unknown entity '%s' (host, world, remote-node, ...)", name);
		return -1;
	}
	out->ep = endpoint_by_name(c, text);
	if (out->ep) {
		out->id = out->ep->id;
		return 0;
	}
	/* A pod on the host network is its node's address. */
	for (size_t i = 0; i < c->inv->npods; i++) {
		const struct pod *p = &c->inv->pods[i];
		char name[512];
		snprintf(name, sizeof name, "%s/%s", p->namespace, p->name);
		if (p->host_network && p->nips && (!strcmp(name, text) ||
						   (p->workload && !strcmp(p->workload, text)))) {
			text = p->ips[0];
			break;
		}
	}
	struct prefix p;
	if (parse_prefix(text, &p, true) == 0) {
		out->ip = text;
		for (size_t i = 0; i < c->neps; i++)
			for (size_t k = 0; !c->eps[i].pod->host_network && k < c->eps[i].pod->nips; k++)
				if (!strcmp(c->eps[i].pod->ips[k], text))
					out->ep = &c->eps[i];
		out->id = out->ep ? out->ep->id : identity_for_ip(c, text, NULL);
		return 0;
	}
	snprintf(err, errsize,
		 "'%s' is not a pod (ns/name), a workload (ns/deployment), an IP or entity:NAME",
		 text);
	return -1;
}

/* The peer's identity as the local endpoint's node sees it (host vs remote-node). */
static const struct identity *seen_from(const struct cluster *c, const struct party *peer,
					const struct endpoint *local)
{
	if (peer->ip && !peer->ep)
		return identity_for_ip(c, peer->ip, local->node);
	return peer->id;
}

enum reason reason_of_decision(const struct polc_decision *dec)
{
	switch (dec->verdict) {
	case POLC_VERDICT_ALLOW:
		return REASON_ALLOWED;
	case POLC_VERDICT_REDIRECT:
		return REASON_L7;
	case POLC_VERDICT_AUTH:
		return REASON_AUTH;
	default:
		return dec->reason == POLC_DROP_POLICY_DENY ? REASON_POLICY_DENY : REASON_DEFAULT_DENY;
	}
}

/* The same half through the node's compiled image, when the endpoint is in one. */
static void decide_by_image(const struct session *s, struct half *h, const struct endpoint *local,
			    uint8_t proto, uint16_t port)
{
	for (size_t i = 0; local->node && i < s->nimages; i++) {
		const struct image *img = &s->images[i];
		if (strcmp(img->hdr->node_name, local->node))
			continue;
		const struct polc_endpoint_rec *r = image_endpoint_by_name(img, local->name);
		if (!r)
			return;
		uint8_t mode = h->dir == DIR_INGRESS ? r->value.ingress_mode : r->value.egress_mode;
		h->imaged = true;
		if (mode == POLC_MODE_OFF) {
			h->image_reason = REASON_NOT_ENFORCED;
		} else {
			struct polc_decision dec;
			image_decide(img, r->value.endpoint_id, (uint8_t)h->dir, h->remote->id, proto,
				     port, &dec);
			h->image_reason = reason_of_decision(&dec);
		}
		h->agree &= h->image_reason == h->fast.reason;
		return;
	}
}

static void decide_half(const struct session *s, struct half *h, const struct endpoint *local,
			const struct party *peer, enum direction dir, uint8_t proto, uint16_t port)
{
	h->present = true;
	h->dir = dir;
	h->local = local;
	h->remote = seen_from(s->cluster, peer, local);
	h->remote_name = peer->ep ? peer->ep->name : peer->text;
	struct mapstate ms;
	resolve_endpoint(s->cluster, &s->flat, local, dir, &ms);
	h->enforced = ms.enforced;
	h->fast = mapstate_lookup(&ms, h->remote->id, proto, port);
	mapstate_free(&ms);
	struct ref_query q = {local, dir, h->remote, peer->ep, proto, port};
	h->ref = ref_evaluate(s->cluster, &s->policies, &q);
	h->agree = h->fast.verdict == h->ref.verdict && h->fast.reason == h->ref.reason;
	decide_by_image(s, h, local, proto, port);
}

int trace_flow(const struct session *s, const char *from, const char *to, const char *port_text,
	       struct trace_result *r, char *err, size_t errsize)
{
	memset(r, 0, sizeof(*r));
	if (parse_flow_port(port_text, &r->proto, &r->port) < 0) {
		snprintf(err, errsize, "port '%s' is not PORT/PROTO (8080/TCP, 53/UDP) or ICMP/TYPE",
			 port_text);
		return -1;
	}
	if (resolve_party(s->cluster, from, &r->src, err, errsize) < 0 ||
	    resolve_party(s->cluster, to, &r->dst, err, errsize) < 0)
		return -1;
	if (!r->src.ep && !r->dst.ep) {
		snprintf(err, errsize, "neither '%s' nor '%s' is an endpoint of the inventory", from,
			 to);
		return -1;
	}
	r->verdict = VERDICT_ALLOW;
	if (r->src.ep) {
		decide_half(s, &r->egress, r->src.ep, &r->dst, DIR_EGRESS, r->proto, r->port);
		if (r->egress.fast.verdict == VERDICT_DENY)
			r->verdict = VERDICT_DENY;
	}
	if (r->dst.ep) {
		decide_half(s, &r->ingress, r->dst.ep, &r->src, DIR_INGRESS, r->proto, r->port);
		if (r->ingress.fast.verdict == VERDICT_DENY)
			r->verdict = VERDICT_DENY;
	}
	return 0;
}

/* ---------------------------------------------------------------- output */

void format_port(uint8_t proto, uint16_t port, char *buf, size_t size)
{
	const char *name = ip_proto_name(proto);
	if (!name || !proto)
		snprintf(buf, size, "IP protocol %u", proto);
	else if (proto == 1 || proto == 58)
		snprintf(buf, size, "%s/%u", name, port);
	else
		snprintf(buf, size, "%u/%s", port, name);
}

static const char *reason_text(enum reason r)
{
	switch (r) {
	case REASON_NOT_ENFORCED:
		return "no policy selects this endpoint in this direction";
	case REASON_ALLOWED:
		return "allowed by";
	case REASON_L7:
		return "allowed, redirected to the L7 proxy by";
	case REASON_AUTH:
		return "allowed after mutual authentication, by";
	case REASON_POLICY_DENY:
		return "denied by";
	default:
		return "default deny: no rule allows it";
	}
}

static void print_identity(FILE *out, const struct identity *id)
{
	fprintf(out, "identity %u", id->id);
	if (id->is_cidr) {
		char buf[64];
		format_prefix(&id->cidr, buf, sizeof buf);
		fprintf(out, " (cidr:%s)", buf);
	} else if (id->id < ID_FIRST_GLOBAL) {
		fprintf(out, " (reserved:%s)", id->labels.n ? id->labels.v[0].key : "?");
	}
}

static void print_half(FILE *out, const struct half *h)
{
	bool in = h->dir == DIR_INGRESS;
	fprintf(out, "%s %s %s %s (", in ? "Ingress to" : "Egress from", h->local->name,
		in ? "from" : "to", h->remote_name);
	print_identity(out, h->remote);
	fprintf(out, "):\n  %s: %s", h->fast.verdict == VERDICT_ALLOW ? "ALLOWED" : "DENIED",
		reason_text(h->fast.reason));
	if (h->ref.policy) {
		const struct node *at = h->ref.at;
		fprintf(out, " %s %s%s%s at %s:%d:%d", policy_kind_name(h->ref.policy->kind),
			h->ref.policy->namespace ? h->ref.policy->namespace : "",
			h->ref.policy->namespace ? "/" : "", h->ref.policy->name,
			at && at->src ? at->src->path : "?", at ? at->line : 0, at ? at->col : 0);
	} else if (h->fast.reason == REASON_ALLOWED) {
		fputs(in && h->remote->id == ID_HOST ? " allow-localhost (the node reaches its pods)"
						     : " enableDefaultDeny: false",
		      out);
	}
	fputc('\n', out);
	if (h->fast.verdict != h->ref.verdict || h->fast.reason != h->ref.reason)
		fprintf(out, "  internal error: the reference evaluator says %s (%s); please report\n",
			h->ref.verdict == VERDICT_ALLOW ? "ALLOWED" : "DENIED",
			reason_name(h->ref.reason));
	if (h->imaged && h->image_reason != h->fast.reason)
		fprintf(out, "  internal error: the compiled image says %s; please report\n",
			reason_name(h->image_reason));
}

void trace_print_text(FILE *out, const struct trace_result *r)
{
	char port[32];
	format_port(r->proto, r->port, port, sizeof port);
	fprintf(out, "Flow: %s -> %s %s\n", r->src.ep ? r->src.ep->name : r->src.text,
		r->dst.ep ? r->dst.ep->name : r->dst.text, port);
	if (r->egress.present)
		print_half(out, &r->egress);
	else
		fprintf(out, "Egress: %s is not a local endpoint; no egress policy applies\n",
			r->src.text);
	if (r->ingress.present)
		print_half(out, &r->ingress);
	else
		fprintf(out, "Ingress: %s is not a local endpoint; no ingress policy applies\n",
			r->dst.text);
	fprintf(out, "Final verdict: %s\n", r->verdict == VERDICT_ALLOW ? "ALLOWED" : "DENIED");
}

static void json_half(struct json *j, const char *key, const struct half *h)
{
	if (!h->present) {
		json_null(j, key);
		return;
	}
	json_obj_open(j, key);
	json_str(j, "endpoint", h->local->name);
	json_int(j, "local_identity", h->local->id->id);
	json_int(j, "remote_identity", h->remote->id);
	json_bool(j, "enforced", h->enforced);
	json_str(j, "verdict", h->fast.verdict == VERDICT_ALLOW ? "allowed" : "denied");
	json_str(j, "reason", reason_name(h->fast.reason));
	if (h->ref.policy) {
		json_obj_open(j, "rule");
		json_str(j, "kind", policy_kind_name(h->ref.policy->kind));
		json_str(j, "namespace", h->ref.policy->namespace);
		json_str(j, "name", h->ref.policy->name);
		json_str(j, "file", h->ref.at && h->ref.at->src ? h->ref.at->src->path : NULL);
		json_int(j, "line", h->ref.at ? h->ref.at->line : 0);
		json_int(j, "column", h->ref.at ? h->ref.at->col : 0);
		json_obj_close(j);
	} else {
		json_null(j, "rule");
	}
	json_bool(j, "reference_agrees", h->agree);
	json_obj_close(j);
}

void trace_print_json(struct json *j, const struct trace_result *r)
{
	char port[32];
	format_port(r->proto, r->port, port, sizeof port);
	json_obj_open(j, NULL);
	json_str(j, "verdict", r->verdict == VERDICT_ALLOW ? "allowed" : "denied");
	json_str(j, "from", r->src.ep ? r->src.ep->name : r->src.text);
	json_str(j, "to", r->dst.ep ? r->dst.ep->name : r->dst.text);
	json_str(j, "port", port);
	json_half(j, "egress", &r->egress);
	json_half(j, "ingress", &r->ingress);
	json_obj_close(j);
}

/* ---------------------------------------------------------------- polc trace */

enum { OPT_OPTION = 300, OPT_ALLOC };

int do_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{"inventory", required_argument, NULL, 'i'}, {"policies", required_argument, NULL, 'p'},
		{"from", required_argument, NULL, 'f'},      {"to", required_argument, NULL, 't'},
		{"port", required_argument, NULL, 'P'},	     {"json", no_argument, NULL, 'j'},
		{"option", required_argument, NULL, OPT_OPTION},
		{"alloc", required_argument, NULL, OPT_ALLOC},
		{"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0}};
	struct session s;
	session_init(&s);
	struct ptrvec inv = {0}, pol = {0};
	const char *from = NULL, *to = NULL, *port = NULL;
	bool json = false;
	int c, rc = EXIT_USAGE;
	char err[256];
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:p:f:t:P:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ptrvec_push(&inv, optarg);
			break;
		case 'p':
			ptrvec_push(&pol, optarg);
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'P':
			port = optarg;
			break;
		case 'j':
			json = true;
			break;
		case OPT_OPTION:
			if (semantics_set(&s.sem, optarg, err, sizeof err) < 0) {
				fprintf(stderr, "polc trace: %s\n", err);
				goto out;
			}
			break;
		case OPT_ALLOC:
			s.alloc_path = optarg;
			break;
		case 'h':
			puts(TRACE_USAGE);
			rc = EXIT_CLEAN;
			goto out;
		default:
			fprintf(stderr, "%s\n", TRACE_USAGE);
			goto out;
		}
	}
	if (cli_no_operands("trace", argc, argv, optind, "policies go after -p") < 0)
		goto out;
	if (!inv.n || !from || !to || !port) {
		fprintf(stderr, "polc trace: needs -i, --from, --to and --port\n%s\n", TRACE_USAGE);
		goto out;
	}
	if (session_load(&s, (const char *const *)inv.v, inv.n, (const char *const *)pol.v,
			 pol.n) < 0) {
		diag_sort(&s.diag);
		diag_render(&s.diag, FORMAT_TEXT, stderr, -1);
		goto out;
	}
	struct trace_result r;
	if (trace_flow(&s, from, to, port, &r, err, sizeof err) < 0) {
		fprintf(stderr, "polc trace: %s\n", err);
		goto out;
	}
	if (json) {
		struct json j;
		json_begin(&j, stdout, true);
		trace_print_json(&j, &r);
		json_end(&j);
	} else {
		trace_print_text(stdout, &r);
	}
	bool agree = (!r.egress.present || r.egress.agree) && (!r.ingress.present || r.ingress.agree);
	rc = !agree ? EXIT_USAGE : r.verdict == VERDICT_ALLOW ? EXIT_CLEAN : EXIT_FINDINGS;
out:
	ptrvec_free(&inv);
	ptrvec_free(&pol);
	session_free(&s);
	return rc;
}
