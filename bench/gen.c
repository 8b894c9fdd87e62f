/* bench-gen: deterministic synthetic inputs for the benchmarks (see bench/README.md).
 *
 *   bench-gen policies --out DIR [--count N] [--seed S]
 *       N policies (CNP, CCNP, KNP) for `polc lint`: one multi-document file per namespace,
 *       some single-document files, and one big kubectl List (cluster/all-policies.yaml).
 *   bench-gen cluster --out DIR [--namespaces N] [--pods N] [--nodes N] [--policies N] [--seed S]
 *       a cluster inventory in the shape of `kubectl get namespaces,nodes,pods,services,
 *       endpointslices -A -o yaml` (one List: inventory.yaml) and policies that select what
 *       is in it (policies/).
 *
 * The output is a pure function of the options: the generator has its own PRNG (splitmix64)
 * and never looks at the clock, the locale or the environment. DIR/MANIFEST records the
 * options and the counts (objects, bytes, files) that bench/run uses for its rates.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- basics */

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-gen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die("out of memory");
	return p;
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned rnd(struct rng *r, unsigned n)
{
	return n ? (unsigned)(rng_next(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned percent)
{
	return rnd(r, 100) < percent;
}

#define NELEM(a) (sizeof(a) / sizeof(*(a)))
#define PICK(r, a) ((a)[rnd((r), NELEM(a))])

static void mkdirs(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0777) && errno != EEXIST)
				die("mkdir %s: %s", buf, strerror(errno));
			*p = '/';
		}
	if (mkdir(buf, 0777) && errno != EEXIST)
		die("mkdir %s: %s", buf, strerror(errno));
}

static FILE *create(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	return f;
}

/* Indented line: P(f, depth, fmt, ...) writes `depth` spaces, the text and a newline. */
static void P(FILE *f, int depth, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void P(FILE *f, int depth, const char *fmt, ...)
{
	va_list ap;
	fprintf(f, "%*s", depth, "");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* ---------------------------------------------------------------- vocabularies */

static const char *const PRODUCTS[] = {
	"payments",  "checkout",	"catalog",     "search",   "identity",	     "billing",
	"orders",    "inventory",	"shipping",    "notifications", "analytics", "reporting",
	"recommend", "reviews",		"media",       "messaging", "ledger",	     "fraud",
	"loyalty",   "pricing",		"accounts",    "gateway",  "logistics",	     "warehouse",
	"support",   "marketing",	"crm",	       "data-platform", "ml-serving", "observability"};
static const char *const ENVS[] = {"prod", "staging", "dev", "qa", "perf", "sandbox"};
static const char *const TEAMS[] = {
	"team-atlas", "team-borealis", "team-cobalt", "team-delta",  "team-ember", "team-falcon",
	"team-granite", "team-harbor", "team-iris",   "team-juniper", "team-kestrel", "team-lumen",
	"team-meridian", "team-nimbus", "team-onyx",  "team-pulsar", "team-quartz", "team-raven"};
static const char *const ZONES[] = {"eu-west-1a", "eu-west-1b", "eu-west-1c"};
static const char *const INSTANCE_TYPES[] = {"m6i.2xlarge", "m6i.4xlarge", "c6i.4xlarge",
					     "r6i.2xlarge"};
static const char *const RESOURCES[] = {"orders", "users", "items", "carts", "invoices",
					"sessions", "events", "reports", "accounts", "products"};
static const char *const PARTNERS[] = {"api.stripe.example", "hooks.slack.example",
				       "api.partner.example", "auth.idp.example",
				       "s3.storage.example", "registry.images.example",
				       "api.maps.example", "smtp.mail.example"};
static const char *const HASH_CHARS = "bcdfghjklmnpqrstvwxz2456789";

struct app_kind {
	const char *name, *component, *tier, *port_name;
	int port;
	const char *proto;
	bool stateful;
	int weight; /* how likely a namespace runs it */
};

static const struct app_kind APPS[] = {
	{"frontend", "web", "web", "http", 8080, "TCP", false, 10},
	{"api", "backend", "backend", "http", 8080, "TCP", false, 12},
	{"grpc-api", "backend", "backend", "grpc", 9090, "TCP", false, 6},
	{"worker", "worker", "backend", "metrics", 9100, "TCP", false, 9},
	{"scheduler", "worker", "backend", "http", 8080, "TCP", false, 3},
	{"auth", "backend", "backend", "https", 8443, "TCP", false, 3},
	{"notifier", "worker", "backend", "http", 8080, "TCP", false, 3},
	{"nginx", "proxy", "web", "http", 80, "TCP", false, 4},
	{"redis", "cache", "data", "redis", 6379, "TCP", true, 7},
	{"memcached", "cache", "data", "memcache", 11211, "TCP", false, 2},
	{"postgres", "database", "data", "postgres", 5432, "TCP", true, 7},
	{"mysql", "database", "data", "mysql", 3306, "TCP", true, 3},
	{"kafka", "queue", "data", "kafka", 9092, "TCP", true, 3},
	{"rabbitmq", "queue", "data", "amqp", 5672, "TCP", true, 2},
	{"elasticsearch", "search", "data", "http", 9200, "TCP", true, 2},
	{"statsd", "monitoring", "backend", "statsd", 8125, "UDP", false, 2},
};

/* Workloads of the shared namespaces that policies everywhere refer to. */
static const struct app_kind SYS_APPS[] = {
	{"coredns", "dns", "system", "dns", 53, "UDP", false, 0},
	{"cilium-operator", "operator", "system", "metrics", 9963, "TCP", false, 0},
	{"prometheus", "monitoring", "system", "web", 9090, "TCP", true, 0},
	{"grafana", "monitoring", "system", "http", 3000, "TCP", false, 0},
	{"alertmanager", "monitoring", "system", "web", 9093, "TCP", true, 0},
	{"ingress-nginx", "controller", "system", "http", 80, "TCP", false, 0},
	{"fluent-bit", "logging", "system", "http", 2020, "TCP", false, 0},
	{"loki", "logging", "system", "http", 3100, "TCP", true, 0},
};

/* ---------------------------------------------------------------- the world */

struct workload {
	const struct app_kind *app;
	char version[16], version2[16]; /* version2: a rollout in progress (second ReplicaSet) */
	char hash[11], hash2[11];
	const char *sa; /* service account */
	bool k8s_app;  /* coredns: labelled k8s-app: kube-dns */
	int replicas, replicas2;
	bool service;
};

struct ns {
	char name[64];
	const char *product, *env, *team;
	int cost_center;
	bool pci, istio, system;
	struct workload *w;
	int nw;
	int policies; /* counter for unique names */
};

struct world {
	struct rng rng;
	struct ns *ns;
	int nns;
	int first_regular; /* namespaces before this are the shared system ones */
	char (*cidrs)[24]; /* partner prefixes, overlapping on purpose */
	int ncidrs;
};

static void make_hash(struct rng *r, char *out, int len)
{
	for (int i = 0; i < len; i++)
		out[i] = HASH_CHARS[rnd(r, (unsigned)strlen(HASH_CHARS))];
	out[len] = 0;
}

static void make_version(struct rng *r, char *out, size_t size)
{
	snprintf(out, size, "v%u.%u.%u", 1 + rnd(r, 3), rnd(r, 20), rnd(r, 10));
}

static void init_workload(struct rng *r, struct workload *w, const struct app_kind *a)
{
	w->app = a;
	make_version(r, w->version, sizeof w->version);
	make_hash(r, w->hash, a->stateful ? 10 : 9);
	if (!a->stateful && chance(r, 12)) {
		make_version(r, w->version2, sizeof w->version2);
		if (!strcmp(w->version2, w->version))
			w->version2[0] = 0;
		make_hash(r, w->hash2, 9);
	}
	w->sa = chance(r, 30) ? "default" : a->name;
	w->service = chance(r, 85);
}

static void system_namespace(struct world *wd, struct ns *n, const char *name, const int *apps,
			     int napps)
{
	snprintf(n->name, sizeof n->name, "%s", name);
	n->product = "platform";
	n->env = "prod";
	n->team = "team-platform";
	n->system = true;
	n->cost_center = 1000;
	n->w = xcalloc((size_t)napps, sizeof(*n->w));
	for (int i = 0; i < napps; i++) {
		init_workload(&wd->rng, &n->w[i], &SYS_APPS[apps[i]]);
		n->w[i].version2[0] = 0;
		n->w[i].sa = SYS_APPS[apps[i]].name;
		n->w[i].k8s_app = apps[i] == 0;
		n->w[i].service = true;
	}
	n->nw = napps;
}

static void partner_cidrs(struct world *wd)
{
	static const int first[] = {3, 13, 18, 34, 35, 52, 54, 104, 140, 151, 185};
	static const int lens[] = {16, 20, 24, 24, 24, 28, 32, 32};
	wd->ncidrs = 300;
	wd->cidrs = xcalloc((size_t)wd->ncidrs, sizeof(*wd->cidrs));
	for (int i = 0; i < wd->ncidrs; i++) {
		int a = PICK(&wd->rng, first), b = (int)rnd(&wd->rng, 8) * 16, len = PICK(&wd->rng, lens);
		int c = (int)rnd(&wd->rng, 256), d = (int)rnd(&wd->rng, 256);
		uint32_t addr = ((uint32_t)a << 24) | ((uint32_t)b << 16) | ((uint32_t)c << 8) | (uint32_t)d;
		addr &= len ? ~0u << (32 - len) : 0;
		snprintf(wd->cidrs[i], sizeof wd->cidrs[i], "%u.%u.%u.%u/%d", addr >> 24,
			 (addr >> 16) & 255, (addr >> 8) & 255, addr & 255, len);
	}
}

/* Namespaces and their workloads (no pods yet). */
static void world_init(struct world *wd, int nns, uint64_t seed)
{
	memset(wd, 0, sizeof(*wd));
	wd->rng.s = seed;
	wd->nns = nns;
	wd->ns = xcalloc((size_t)nns, sizeof(*wd->ns));
	int i = 0;
	if (nns >= 8) {
		static const int kube[] = {0, 1}, mon[] = {2, 3, 4}, ingress[] = {5}, logging[] = {6, 7};
		system_namespace(wd, &wd->ns[i++], "kube-system", kube, 2);
		system_namespace(wd, &wd->ns[i++], "monitoring", mon, 3);
		system_namespace(wd, &wd->ns[i++], "ingress-nginx", ingress, 1);
		system_namespace(wd, &wd->ns[i++], "logging", logging, 2);
	}
	wd->first_regular = i;
	int total_weight = 0;
	for (size_t a = 0; a < NELEM(APPS); a++)
		total_weight += APPS[a].weight;
	for (int k = 0; i < nns; i++, k++) {
		struct ns *n = &wd->ns[i];
		int np = (int)NELEM(PRODUCTS), ne = (int)NELEM(ENVS);
		n->product = PRODUCTS[k % np];
		n->env = ENVS[(k / np) % ne];
		if (k < np * ne)
			snprintf(n->name, sizeof n->name, "%s-%s", n->product, n->env);
		else
			snprintf(n->name, sizeof n->name, "%s-%s-%d", n->product, n->env, k / (np * ne));
		n->team = TEAMS[(k * 7 + k / np) % (int)NELEM(TEAMS)];
		n->cost_center = 1000 + (int)rnd(&wd->rng, 9000);
		n->pci = !strcmp(n->product, "payments") || !strcmp(n->product, "billing") ||
			 !strcmp(n->product, "ledger");
		n->istio = chance(&wd->rng, 20);
		int want = 3 + (int)rnd(&wd->rng, 6);
		n->w = xcalloc((size_t)want, sizeof(*n->w));
		bool used[NELEM(APPS)] = {0};
		for (int tries = 0; n->nw < want && tries < 100; tries++) {
			int x = (int)rnd(&wd->rng, (unsigned)total_weight), a = 0;
			while (x >= APPS[a].weight)
				x -= APPS[a++].weight;
			if (used[a])
				continue;
			used[a] = true;
			init_workload(&wd->rng, &n->w[n->nw++], &APPS[a]);
		}
	}
	partner_cidrs(wd);
}

/* Spreads `pods` over the workloads: one each, the rest skewed toward a few big ones. */
static void world_pods(struct world *wd, long pods)
{
	long nw = 0;
	for (int i = 0; i < wd->nns; i++)
		nw += wd->ns[i].nw;
	struct workload **all = xcalloc((size_t)nw, sizeof(*all));
	double *cum = xcalloc((size_t)nw, sizeof(*cum));
	long k = 0;
	double sum = 0;
	for (int i = 0; i < wd->nns; i++)
		for (int j = 0; j < wd->ns[i].nw; j++) {
			struct workload *w = &wd->ns[i].w[j];
			all[k] = w;
			/* a few heavy workloads (Zipf-like) and many small ones */
			sum += 1.0 / (1.0 + rnd(&wd->rng, 12)) + (w->app->stateful ? 0.0 : 0.3);
			cum[k++] = sum;
		}
	long given = 0;
	for (k = 0; k < nw && given < pods; k++, given++)
		all[k]->replicas = 1;
	for (; given < pods; given++) {
		double x = (double)(rng_next(&wd->rng) >> 11) / 9007199254740992.0 * sum;
		long lo = 0, hi = nw - 1;
		while (lo < hi) {
			long mid = (lo + hi) / 2;
			if (cum[mid] < x)
				lo = mid + 1;
			else
				hi = mid;
		}
		all[lo]->replicas++;
	}
	for (k = 0; k < nw; k++)
		if (all[k]->version2[0] && all[k]->replicas >= 2) {
			all[k]->replicas2 = all[k]->replicas / 4 + 1;
			all[k]->replicas -= all[k]->replicas2;
		}
	free(all);
	free(cum);
}

static struct ns *regular_ns(struct world *wd, struct rng *r)
{
	int n = wd->nns - wd->first_regular;
	return &wd->ns[wd->first_regular + (int)rnd(r, (unsigned)n)];
}

/* ---------------------------------------------------------------- policy fragments */

/* What a generated policy talks about. */
struct pctx {
	struct world *wd;
	struct rng *r;
	struct ns *ns;
	const struct workload *target;
	bool kubectl; /* metadata as `kubectl get -o yaml` prints it */
};

static const struct workload *other_workload(struct pctx *c, const struct ns *ns,
					     const struct workload *not)
{
	if (ns->nw == 1)
		return &ns->w[0];
	for (;;) {
		const struct workload *w = &ns->w[rnd(c->r, (unsigned)ns->nw)];
		if (w != not)
			return w;
	}
}

static const struct workload *backing_service(struct pctx *c)
{
	for (int tries = 0; tries < 8; tries++) {
		const struct workload *w = other_workload(c, c->ns, c->target);
		if (w->app->stateful || !strcmp(w->app->component, "cache"))
			return w;
	}
	return other_workload(c, c->ns, c->target);
}

static const char *cidr(struct pctx *c)
{
	return c->wd->cidrs[rnd(c->r, (unsigned)c->wd->ncidrs)];
}

static void metadata(struct pctx *c, FILE *f, const char *name, const char *ns)
{
	P(f, 0, "metadata:");
	if (c->kubectl) {
		P(f, 2, "creationTimestamp: \"2025-%02u-%02uT%02u:%02u:%02uZ\"", 1 + rnd(c->r, 12),
		  1 + rnd(c->r, 28), rnd(c->r, 24), rnd(c->r, 60), rnd(c->r, 60));
		P(f, 2, "generation: %u", 1 + rnd(c->r, 9));
	}
	if (chance(c->r, 40)) {
		P(f, 2, "labels:");
		P(f, 4, "app.kubernetes.io/managed-by: %s", chance(c->r, 50) ? "Helm" : "argocd");
		if (chance(c->r, 50))
			P(f, 4, "app.kubernetes.io/part-of: %s", c->ns->product);
	}
	P(f, 2, "name: %s", name);
	if (ns)
		P(f, 2, "namespace: %s", ns);
	if (c->kubectl) {
		P(f, 2, "resourceVersion: \"%u\"", 100000 + rnd(c->r, 90000000));
		P(f, 2, "uid: %08x-%04x-4%03x-a%03x-%06x%06x", (unsigned)rng_next(c->r),
		  rnd(c->r, 65536), rnd(c->r, 4096), rnd(c->r, 4096), rnd(c->r, 1 << 24),
		  rnd(c->r, 1 << 24));
	}
}

static void match_app(FILE *f, int d, const struct workload *w, const char *in_ns)
{
	P(f, d, "matchLabels:");
	if (in_ns)
		P(f, d + 2, "k8s:io.kubernetes.pod.namespace: %s", in_ns);
	if (w->k8s_app)
		P(f, d + 2, "k8s-app: kube-dns");
	else
		P(f, d + 2, "app.kubernetes.io/name: %s", w->app->name);
}

/* A port of the workload, by name (when it has one) or by number. */
static void port_of(struct pctx *c, FILE *f, int d, const struct workload *w, bool allow_name)
{
	if (allow_name && chance(c->r, 35))
		P(f, d, "- port: %s", w->app->port_name);
	else
		P(f, d, "- port: \"%d\"", w->app->port);
	P(f, d + 2, "protocol: %s", w->app->proto);
}

static void http_rules(struct pctx *c, FILE *f, int d)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "GET|HEAD"};
	P(f, d, "rules:");
	P(f, d + 2, "http:");
	int n = 1 + (int)rnd(c->r, 3);
	for (int i = 0; i < n; i++) {
		P(f, d + 2, "- method: %s", PICK(c->r, methods));
		P(f, d + 4, "path: \"/api/v%u/%s(/.*)?\"", 1 + rnd(c->r, 2), PICK(c->r, RESOURCES));
		if (chance(c->r, 15)) {
			P(f, d + 4, "headers:");
			P(f, d + 4, "- \"X-Tenant-Id: %s\"", c->ns->name);
		}
	}
}

/* Egress to kube-dns through the DNS proxy, the way the Cilium docs write it. */
static void dns_egress(FILE *f, int d, const char *pattern)
{
	P(f, d, "- toEndpoints:");
	P(f, d + 2, "- matchLabels:");
	P(f, d + 6, "k8s:io.kubernetes.pod.namespace: kube-system");
	P(f, d + 6, "k8s-app: kube-dns");
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	P(f, d + 4, "- port: \"53\"");
	P(f, d + 6, "protocol: ANY");
	P(f, d + 4, "rules:");
	P(f, d + 6, "dns:");
	P(f, d + 6, "- matchPattern: \"%s\"", pattern);
}

static void ports_one(FILE *f, int d, const char *port, const char *proto)
{
	P(f, d, "toPorts:");
	P(f, d, "- ports:");
	P(f, d + 2, "- port: \"%s\"", port);
	P(f, d + 4, "protocol: %s", proto);
}

/* ---------------------------------------------------------------- CNP templates */

typedef void (*rule_fn)(struct pctx *c, FILE *f, int d);

static void subject_app(struct pctx *c, FILE *f, int d)
{
	P(f, d, "endpointSelector:");
	match_app(f, d + 2, c->target, NULL);
}

static void t_ingress_from_peer(struct pctx *c, FILE *f, int d)
{
	const struct workload *peer = other_workload(c, c->ns, c->target);
	P(f, d, "description: \"%s: %s in\"", c->target->app->name, peer->app->name);
	subject_app(c, f, d);
	P(f, d, "ingress:");
	P(f, d, "- fromEndpoints:");
	P(f, d + 2, "- matchLabels:");
	P(f, d + 6, "app.kubernetes.io/name: %s", peer->app->name);
	if (chance(c->r, 30))
		P(f, d + 6, "app.kubernetes.io/part-of: %s", c->ns->product);
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	bool l7 = !strcmp(c->target->app->proto, "TCP") && chance(c->r, 30);
	port_of(c, f, d + 4, c->target, !l7);
	if (l7)
		http_rules(c, f, d + 4);
	if (chance(c->r, 35)) {
		struct ns *other = regular_ns(c->wd, c->r);
		const struct workload *w = other_workload(c, other, NULL);
		P(f, d, "- fromEndpoints:");
		P(f, d + 2, "- matchLabels:");
		P(f, d + 6, "k8s:io.kubernetes.pod.namespace: %s", other->name);
		P(f, d + 6, "app.kubernetes.io/name: %s", w->app->name);
		P(f, d + 2, "toPorts:");
		P(f, d + 2, "- ports:");
		port_of(c, f, d + 4, c->target, true);
	}
}

static void t_egress_to_deps(struct pctx *c, FILE *f, int d)
{
	const struct workload *dep = backing_service(c);
	P(f, d, "description: \"%s: %s out, DNS\"", c->target->app->name, dep->app->name);
	subject_app(c, f, d);
	P(f, d, "egress:");
	P(f, d, "- toEndpoints:");
	P(f, d + 2, "- matchLabels:");
	P(f, d + 6, "app.kubernetes.io/name: %s", dep->app->name);
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	port_of(c, f, d + 4, dep, true);
	if (chance(c->r, 40)) {
		const struct workload *dep2 = other_workload(c, c->ns, c->target);
		P(f, d, "- toEndpoints:");
		P(f, d + 2, "- matchLabels:");
		P(f, d + 6, "app.kubernetes.io/name: %s", dep2->app->name);
		P(f, d + 2, "toPorts:");
		P(f, d + 2, "- ports:");
		port_of(c, f, d + 4, dep2, false);
	}
	dns_egress(f, d, chance(c->r, 50) ? "*" : "*.cluster.local");
}

static void t_egress_world(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: partners out\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "egress:");
	if (chance(c->r, 50)) {
		P(f, d, "- toCIDRSet:");
		P(f, d + 2, "- cidr: 0.0.0.0/0");
		P(f, d + 4, "except:");
		P(f, d + 4, "- 10.0.0.0/8");
		P(f, d + 4, "- 172.16.0.0/12");
		P(f, d + 4, "- 192.168.0.0/16");
		if (chance(c->r, 30))
			P(f, d + 4, "- 169.254.0.0/16");
		ports_one(f, d + 2, "443", "TCP");
	} else {
		P(f, d, "- toCIDR:");
		int n = 1 + (int)rnd(c->r, 3);
		for (int i = 0; i < n; i++)
			P(f, d + 2, "- %s", cidr(c));
		P(f, d + 2, "toPorts:");
		P(f, d + 2, "- ports:");
		if (chance(c->r, 30)) {
			unsigned lo = 8000 + rnd(c->r, 10) * 100;
			P(f, d + 4, "- port: \"%u\"", lo);
			P(f, d + 6, "endPort: %u", lo + 99);
			P(f, d + 6, "protocol: TCP");
		} else {
			P(f, d + 4, "- port: \"443\"");
			P(f, d + 6, "protocol: TCP");
			if (chance(c->r, 40)) {
				P(f, d + 4, "- port: \"80\"");
				P(f, d + 6, "protocol: TCP");
			}
		}
	}
	if (chance(c->r, 50)) {
		P(f, d, "- toCIDRSet:");
		P(f, d + 2, "- cidr: %s", cidr(c));
		ports_one(f, d + 2, "5432", "TCP");
	}
}

static void t_fqdn(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: SaaS by DNS name\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "egress:");
	P(f, d, "- toFQDNs:");
	int n = 1 + (int)rnd(c->r, 2);
	for (int i = 0; i < n; i++)
		P(f, d + 2, "- matchName: %s", PICK(c->r, PARTNERS));
	if (chance(c->r, 30))
		P(f, d + 2, "- matchPattern: \"*.%s.example\"", c->ns->product);
	ports_one(f, d + 2, "443", "TCP");
	dns_egress(f, d, "*");
}

static void t_deny(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: guard rails\"", c->target->app->name);
	if (chance(c->r, 40)) {
		P(f, d, "endpointSelector: {}");
	} else {
		subject_app(c, f, d);
	}
	P(f, d, "egressDeny:");
	P(f, d, "- toCIDR:");
	P(f, d + 2, "- 169.254.169.254/32");
	if (chance(c->r, 40)) {
		P(f, d, "- toEntities:");
		P(f, d + 2, "- world");
		P(f, d + 2, "toPorts:");
		P(f, d + 2, "- ports:");
		P(f, d + 4, "- port: \"25\"");
		P(f, d + 6, "protocol: TCP");
		P(f, d + 4, "- port: \"6660\"");
		P(f, d + 6, "endPort: 6669");
		P(f, d + 6, "protocol: TCP");
	}
	if (chance(c->r, 50)) {
		P(f, d, "ingressDeny:");
		P(f, d, "- fromEndpoints:");
		P(f, d + 2, "- matchExpressions:");
		P(f, d + 4, "- key: k8s:io.kubernetes.pod.namespace");
		P(f, d + 6, "operator: In");
		P(f, d + 6, "values:");
		for (int i = 0; i < 2; i++)
			P(f, d + 6, "- %s", regular_ns(c->wd, c->r)->name);
		P(f, d + 4, "- key: track");
		P(f, d + 6, "operator: In");
		P(f, d + 6, "values:");
		P(f, d + 6, "- canary");
	}
}

static void t_monitoring(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: scraped by prometheus\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "ingress:");
	P(f, d, "- fromEndpoints:");
	P(f, d + 2, "- matchLabels:");
	P(f, d + 6, "k8s:io.kubernetes.pod.namespace: monitoring");
	P(f, d + 6, "app.kubernetes.io/name: prometheus");
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	P(f, d + 4, "- port: \"9100\"");
	if (chance(c->r, 50))
		P(f, d + 6, "endPort: 9110");
	P(f, d + 6, "protocol: TCP");
	P(f, d, "- fromEntities:");
	P(f, d + 2, "- host");
	if (chance(c->r, 50))
		P(f, d + 2, "- remote-node");
}

static void t_match_expressions(struct pctx *c, FILE *f, int d)
{
	const struct workload *b = other_workload(c, c->ns, c->target);
	P(f, d, "description: \"%s and %s: backends\"", c->target->app->name, b->app->name);
	P(f, d, "endpointSelector:");
	P(f, d + 2, "matchExpressions:");
	P(f, d + 2, "- key: app.kubernetes.io/name");
	P(f, d + 4, "operator: In");
	P(f, d + 4, "values:");
	P(f, d + 4, "- %s", c->target->app->name);
	P(f, d + 4, "- %s", b->app->name);
	P(f, d + 2, "- key: tier");
	P(f, d + 4, "operator: NotIn");
	P(f, d + 4, "values:");
	P(f, d + 4, "- data");
	P(f, d, "ingress:");
	P(f, d, "- fromEndpoints:");
	P(f, d + 2, "- matchExpressions:");
	P(f, d + 4, "- key: app.kubernetes.io/component");
	if (chance(c->r, 50)) {
		P(f, d + 6, "operator: Exists");
	} else {
		P(f, d + 6, "operator: In");
		P(f, d + 6, "values:");
		P(f, d + 6, "- web");
		P(f, d + 6, "- proxy");
	}
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	P(f, d + 4, "- port: \"8080\"");
	P(f, d + 6, "protocol: TCP");
	P(f, d + 4, "- port: \"9090\"");
	P(f, d + 6, "protocol: TCP");
}

static void t_default_deny(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: default deny\"", c->ns->name);
	P(f, d, "endpointSelector: {}");
	P(f, d, "ingress:");
	P(f, d, "- {}");
	if (chance(c->r, 60)) {
		P(f, d, "egress:");
		P(f, d, "- {}");
	}
}

static void t_ingress_controller(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: from the ingress controller\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "ingress:");
	P(f, d, "- fromEndpoints:");
	P(f, d + 2, "- matchLabels:");
	P(f, d + 6, "k8s:io.kubernetes.pod.namespace: ingress-nginx");
	P(f, d + 6, "app.kubernetes.io/name: ingress-nginx");
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	P(f, d + 4, "- port: \"%d\"", c->target->app->port);
	P(f, d + 6, "protocol: TCP");
	if (!strcmp(c->target->app->proto, "TCP") && chance(c->r, 60)) {
		P(f, d + 4, "rules:");
		P(f, d + 6, "http:");
		P(f, d + 6, "- method: GET");
		P(f, d + 8, "path: \"/.*\"");
		P(f, d + 8, "host: \"%s.example.com\"", c->ns->product);
		P(f, d + 6, "- method: POST");
		P(f, d + 8, "path: \"/api/.*\"");
	}
}

static void t_icmp(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: ping from the cluster\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "ingress:");
	P(f, d, "- fromEntities:");
	P(f, d + 2, "- cluster");
	P(f, d + 2, "icmps:");
	P(f, d + 2, "- fields:");
	P(f, d + 4, "- type: 8");
	P(f, d + 6, "family: IPv4");
	P(f, d + 4, "- type: EchoRequest");
	P(f, d + 6, "family: IPv6");
}

static void t_port_ranges(struct pctx *c, FILE *f, int d)
{
	const struct workload *peer = other_workload(c, c->ns, c->target);
	P(f, d, "description: \"%s: port ranges\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "egress:");
	P(f, d, "- toEndpoints:");
	P(f, d + 2, "- matchLabels:");
	P(f, d + 6, "app.kubernetes.io/name: %s", peer->app->name);
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	P(f, d + 4, "- port: \"30000\"");
	P(f, d + 6, "endPort: 32767");
	P(f, d + 6, "protocol: TCP");
	P(f, d + 4, "- port: \"5000\"");
	P(f, d + 6, "endPort: %u", 5001 + rnd(c->r, 50));
	P(f, d + 6, "protocol: UDP");
}

static void t_services(struct pctx *c, FILE *f, int d)
{
	const struct workload *dep = backing_service(c);
	P(f, d, "description: \"%s: to the %s service\"", c->target->app->name, dep->app->name);
	subject_app(c, f, d);
	P(f, d, "egress:");
	P(f, d, "- toServices:");
	P(f, d + 2, "- k8sService:");
	P(f, d + 6, "serviceName: %s", dep->app->name);
	P(f, d + 6, "namespace: %s", c->ns->name);
	P(f, d + 2, "toPorts:");
	P(f, d + 2, "- ports:");
	port_of(c, f, d + 4, dep, false);
}

static void t_world_ingress(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: public\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "ingress:");
	P(f, d, "- fromEntities:");
	P(f, d + 2, "- world");
	ports_one(f, d + 2, "443", "TCP");
}

static void t_default_deny_off(struct pctx *c, FILE *f, int d)
{
	P(f, d, "description: \"%s: audit, no default deny\"", c->target->app->name);
	subject_app(c, f, d);
	P(f, d, "enableDefaultDeny:");
	P(f, d + 2, "ingress: false");
	P(f, d + 2, "egress: false");
	P(f, d, "egressDeny:");
	P(f, d, "- toEntities:");
	P(f, d + 2, "- world");
	ports_one(f, d + 2, "23", "TCP");
}

struct tmpl {
	const char *name;
	rule_fn fn;
	int weight;
};

static const struct tmpl CNP_TEMPLATES[] = {
	{"ingress", t_ingress_from_peer, 20}, {"egress", t_egress_to_deps, 15},
	{"partners", t_egress_world, 9},      {"saas", t_fqdn, 5},
	{"guard", t_deny, 7},		      {"metrics", t_monitoring, 8},
	{"backends", t_match_expressions, 7}, {"default-deny", t_default_deny, 5},
	{"public", t_ingress_controller, 6},  {"ping", t_icmp, 3},
	{"ranges", t_port_ranges, 4},	      {"services", t_services, 3},
	{"internet", t_world_ingress, 2},     {"audit", t_default_deny_off, 2},
};

static const struct tmpl *pick_template(struct rng *r, const struct tmpl *v, size_t n)
{
	int total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].weight;
	int x = (int)rnd(r, (unsigned)total);
	size_t i = 0;
	while (x >= v[i].weight)
		x -= v[i++].weight;
	return &v[i];
}

static void cnp(struct pctx *c, FILE *f)
{
	const struct tmpl *t = pick_template(c->r, CNP_TEMPLATES, NELEM(CNP_TEMPLATES));
	char name[128];
	snprintf(name, sizeof name, "%s-%s-%d", c->target->app->name, t->name, ++c->ns->policies);
	P(f, 0, "apiVersion: cilium.io/v2");
	P(f, 0, "kind: CiliumNetworkPolicy");
	metadata(c, f, name, c->ns->name);
	if (chance(c->r, 8)) {
		/* two rules in one object */
		P(f, 0, "specs:");
		for (int i = 0; i < 2; i++) {
			const struct tmpl *u = pick_template(c->r, CNP_TEMPLATES, NELEM(CNP_TEMPLATES));
			/* the rule is written at depth 0, then indented as a list item */
			char *buf = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&buf, &len);
			u->fn(c, m, 0);
			fclose(m);
			for (char *line = buf, *nl; *line; line = nl + 1) {
				nl = strchr(line, '\n');
				fprintf(f, "%s%.*s\n", line == buf ? "- " : "  ", (int)(nl - line), line);
			}
			free(buf);
		}
		return;
	}
	P(f, 0, "spec:");
	t->fn(c, f, 2);
}

/* ---------------------------------------------------------------- KNP and CCNP */

static void knp_selector_app(FILE *f, int d, const struct workload *w)
{
	P(f, d, "matchLabels:");
	if (w->k8s_app)
		P(f, d + 2, "k8s-app: kube-dns");
	else
		P(f, d + 2, "app.kubernetes.io/name: %s", w->app->name);
}

static void knp_port(struct pctx *c, FILE *f, int d, const struct workload *w)
{
	P(f, d, "- protocol: %s", w->app->proto);
	if (chance(c->r, 30))
		P(f, d + 2, "port: %s", w->app->port_name);
	else
		P(f, d + 2, "port: %d", w->app->port);
}

static void knp(struct pctx *c, FILE *f)
{
	static const char *const kinds[] = {"default-deny", "allow-peer", "allow-ns", "ipblock",
					    "dns", "tiers", "allow-peer", "allow-ns"};
	const char *k = PICK(c->r, kinds);
	char name[128];
	snprintf(name, sizeof name, "%s-%s-%d", c->target->app->name, k, ++c->ns->policies);
	P(f, 0, "apiVersion: networking.k8s.io/v1");
	P(f, 0, "kind: NetworkPolicy");
	metadata(c, f, name, c->ns->name);
	P(f, 0, "spec:");
	if (!strcmp(k, "default-deny")) {
		P(f, 2, "podSelector: {}");
		P(f, 2, "policyTypes:");
		P(f, 2, "- Ingress");
		if (chance(c->r, 50))
			P(f, 2, "- Egress");
		return;
	}
	if (!strcmp(k, "tiers")) {
		P(f, 2, "podSelector:");
		P(f, 4, "matchExpressions:");
		P(f, 4, "- key: tier");
		P(f, 6, "operator: In");
		P(f, 6, "values:");
		P(f, 6, "- web");
		P(f, 6, "- backend");
		P(f, 2, "ingress:");
		P(f, 2, "- from:");
		P(f, 4, "- podSelector: {}");
		P(f, 4, "ports:");
		P(f, 4, "- protocol: TCP");
		P(f, 6, "port: 8080");
		return;
	}
	P(f, 2, "podSelector:");
	knp_selector_app(f, 4, c->target);
	if (!strcmp(k, "dns")) {
		P(f, 2, "policyTypes:");
		P(f, 2, "- Egress");
		P(f, 2, "egress:");
		P(f, 2, "- to:");
		P(f, 4, "- namespaceSelector:");
		P(f, 8, "matchLabels:");
		P(f, 10, "kubernetes.io/metadata.name: kube-system");
		P(f, 6, "podSelector:");
		P(f, 8, "matchLabels:");
		P(f, 10, "k8s-app: kube-dns");
		P(f, 4, "ports:");
		P(f, 4, "- protocol: UDP");
		P(f, 6, "port: 53");
		P(f, 4, "- protocol: TCP");
		P(f, 6, "port: 53");
		return;
	}
	if (!strcmp(k, "ipblock")) {
		P(f, 2, "policyTypes:");
		P(f, 2, "- Egress");
		P(f, 2, "egress:");
		P(f, 2, "- to:");
		P(f, 4, "- ipBlock:");
		if (chance(c->r, 50)) {
			P(f, 8, "cidr: 10.0.0.0/8");
			P(f, 8, "except:");
			P(f, 8, "- 10.96.0.0/12");
		} else {
			P(f, 8, "cidr: %s", cidr(c));
		}
		P(f, 4, "ports:");
		P(f, 4, "- protocol: TCP");
		P(f, 6, "port: 5432");
		if (chance(c->r, 40))
			P(f, 6, "endPort: 5440");
		return;
	}
	const struct workload *peer;
	P(f, 2, "ingress:");
	P(f, 2, "- from:");
	if (!strcmp(k, "allow-ns")) {
		struct ns *other = regular_ns(c->wd, c->r);
		peer = other_workload(c, other, NULL);
		P(f, 4, "- namespaceSelector:");
		P(f, 8, "matchLabels:");
		if (chance(c->r, 60))
			P(f, 10, "kubernetes.io/metadata.name: %s", other->name);
		else
			P(f, 10, "team: %s", other->team);
		P(f, 6, "podSelector:");
		knp_selector_app(f, 8, peer);
	} else {
		peer = other_workload(c, c->ns, c->target);
		P(f, 4, "- podSelector:");
		knp_selector_app(f, 8, peer);
	}
	P(f, 4, "ports:");
	knp_port(c, f, 4, c->target);
}

static void ccnp(struct pctx *c, FILE *f, int serial)
{
	static const char *const kinds[] = {"team-metrics", "prod-isolation", "pci-egress",
					    "team-dns", "team-metrics", "node-ssh"};
	const char *k = PICK(c->r, kinds);
	const char *team = PICK(c->r, TEAMS);
	char name[128];
	snprintf(name, sizeof name, "%s-%s-%d", k, !strcmp(k, "team-metrics") || !strcmp(k, "team-dns") ? team : "all", serial);
	P(f, 0, "apiVersion: cilium.io/v2");
	P(f, 0, "kind: CiliumClusterwideNetworkPolicy");
	metadata(c, f, name, NULL);
	P(f, 0, "spec:");
	if (!strcmp(k, "node-ssh")) {
		P(f, 2, "description: \"nodes: ssh from the bastion only\"");
		P(f, 2, "nodeSelector:");
		P(f, 4, "matchLabels:");
		P(f, 6, "node.kubernetes.io/instance-type: %s", PICK(c->r, INSTANCE_TYPES));
		P(f, 2, "ingress:");
		P(f, 2, "- fromCIDR:");
		P(f, 4, "- 10.250.0.%u/32", 1 + rnd(c->r, 250));
		ports_one(f, 4, "22", "TCP");
		P(f, 2, "- fromEntities:");
		P(f, 4, "- cluster");
		return;
	}
	if (!strcmp(k, "prod-isolation")) {
		P(f, 2, "description: \"production is not reachable from %s\"", PICK(c->r, ENVS));
		P(f, 2, "endpointSelector:");
		P(f, 4, "matchLabels:");
		P(f, 6, "k8s:io.cilium.k8s.namespace.labels.env: prod");
		P(f, 6, "k8s:io.cilium.k8s.namespace.labels.team: %s", team);
		P(f, 2, "ingressDeny:");
		P(f, 2, "- fromEndpoints:");
		P(f, 4, "- matchExpressions:");
		P(f, 6, "- key: k8s:io.cilium.k8s.namespace.labels.env");
		P(f, 8, "operator: In");
		P(f, 8, "values:");
		P(f, 8, "- dev");
		P(f, 8, "- sandbox");
		return;
	}
	if (!strcmp(k, "pci-egress")) {
		P(f, 2, "description: \"PCI workloads reach the card processor only\"");
		P(f, 2, "endpointSelector:");
		P(f, 4, "matchLabels:");
		P(f, 6, "k8s:io.cilium.k8s.namespace.labels.compliance: pci");
		P(f, 6, "k8s:io.cilium.k8s.namespace.labels.team: %s", team);
		P(f, 2, "egress:");
		const char *net = cidr(c);
		char except[24];
		int len = 32;
		sscanf(strchr(net, '/') + 1, "%d", &len);
		snprintf(except, sizeof except, "%.*s/%d", (int)(strchr(net, '/') - net), net,
			 len < 32 ? len + 1 : 32);
		P(f, 2, "- toCIDRSet:");
		P(f, 4, "- cidr: %s", net);
		if (len < 32) {
			/* the lower half is the processor's old range */
			P(f, 6, "except:");
			P(f, 6, "- %s", except);
		}
		ports_one(f, 4, "443", "TCP");
		return;
	}
	P(f, 2, "description: \"%s: %s\"", team, k);
	P(f, 2, "endpointSelector:");
	P(f, 4, "matchLabels:");
	P(f, 6, "k8s:io.cilium.k8s.namespace.labels.team: %s", team);
	if (!strcmp(k, "team-dns")) {
		P(f, 2, "egress:");
		dns_egress(f, 2, "*");
		return;
	}
	P(f, 2, "ingress:");
	P(f, 2, "- fromEndpoints:");
	P(f, 4, "- matchLabels:");
	P(f, 8, "k8s:io.kubernetes.pod.namespace: monitoring");
	P(f, 8, "app.kubernetes.io/name: prometheus");
	P(f, 4, "toPorts:");
	P(f, 4, "- ports:");
	P(f, 6, "- port: \"9100\"");
	P(f, 8, "protocol: TCP");
	P(f, 6, "- port: metrics");
	P(f, 8, "protocol: TCP");
}

/* The few cluster-wide baselines every real cluster has, selecting every pod. */
static void ccnp_baseline(struct pctx *c, FILE *f, int which)
{
	P(f, 0, "apiVersion: cilium.io/v2");
	P(f, 0, "kind: CiliumClusterwideNetworkPolicy");
	metadata(c, f, which == 0 ? "baseline-dns" : which == 1 ? "baseline-metadata-deny"
								: "baseline-health",
		 NULL);
	P(f, 0, "spec:");
	P(f, 2, "endpointSelector: {}");
	if (which == 0) {
		P(f, 2, "egress:");
		dns_egress(f, 2, "*");
	} else if (which == 1) {
		P(f, 2, "egressDeny:");
		P(f, 2, "- toCIDRSet:");
		P(f, 4, "- cidr: 169.254.169.254/32");
	} else {
		P(f, 2, "ingress:");
		P(f, 2, "- fromEntities:");
		P(f, 4, "- health");
		P(f, 4, "- remote-node");
	}
}

/* ---------------------------------------------------------------- document plumbing */

enum pkind { PK_CNP, PK_CCNP, PK_KNP };

struct doc {
	char *text;
	size_t len;
	enum pkind kind;
};

static struct doc make_doc(struct pctx *c, enum pkind kind, int serial, int baseline)
{
	struct doc d = {.kind = kind};
	FILE *m = open_memstream(&d.text, &d.len);
	if (baseline >= 0)
		ccnp_baseline(c, m, baseline);
	else if (kind == PK_CNP)
		cnp(c, m);
	else if (kind == PK_KNP)
		knp(c, m);
	else
		ccnp(c, m, serial);
	fclose(m);
	return d;
}

/* As an item of a List: "- " before the first line, two spaces before the others. */
static size_t write_item(FILE *f, const struct doc *d)
{
	size_t n = 0;
	for (char *line = d->text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		n += (size_t)fprintf(f, "%s%.*s\n", line == d->text ? "- " : "  ", (int)(nl - line), line);
	}
	return n;
}

static size_t write_doc(FILE *f, const struct doc *d, bool first)
{
	size_t n = 0;
	if (!first)
		n += (size_t)fprintf(f, "---\n");
	return n + fwrite(d->text, 1, d->len, f);
}

struct manifest {
	long objects, cnp, ccnp, knp, files, pods, namespaces, nodes, services;
	unsigned long long bytes, inventory_bytes, policy_bytes;
};

static void count(struct manifest *m, enum pkind k)
{
	m->objects++;
	if (k == PK_CNP)
		m->cnp++;
	else if (k == PK_CCNP)
		m->ccnp++;
	else
		m->knp++;
}

static enum pkind pick_kind(struct rng *r, unsigned ccnp_per_mille, unsigned knp_percent)
{
	unsigned x = rnd(r, 1000);
	if (x < ccnp_per_mille)
		return PK_CCNP;
	return x < ccnp_per_mille + knp_percent * 10 ? PK_KNP : PK_CNP;
}

/* ---------------------------------------------------------------- policies mode */

static void gen_policies(const char *out, long n, uint64_t seed, struct manifest *m)
{
	struct world wd;
	world_init(&wd, (int)(n / 10 > 8 ? n / 10 : 8), seed);
	struct rng r = {seed ^ 0x5eed5eed5eedull};
	mkdirs(out);
	char path[4096];
	snprintf(path, sizeof path, "%s/cluster", out);
	mkdirs(path);
	/* One big kubectl List with a fifth of the objects (all CCNPs among them). */
	FILE *big = create(path, "all-policies.yaml");
	m->bytes += (unsigned long long)fprintf(big, "apiVersion: v1\nitems:\n");
	m->files++;
	long in_big = n / 5, done = 0;
	struct pctx c = {.wd = &wd, .r = &r, .kubectl = true};
	for (int b = 0; b < 3 && done < n; b++, done++) {
		c.ns = &wd.ns[0];
		struct doc d = make_doc(&c, PK_CCNP, 0, b);
		m->bytes += write_item(big, &d);
		count(m, d.kind);
		free(d.text);
	}
	for (; done < in_big; done++) {
		c.ns = regular_ns(&wd, &r);
		c.target = &c.ns->w[rnd(&r, (unsigned)c.ns->nw)];
		struct doc d = make_doc(&c, pick_kind(&r, 200, 25), (int)done, -1);
		m->bytes += write_item(big, &d);
		count(m, d.kind);
		free(d.text);
	}
	m->bytes += (unsigned long long)fprintf(big, "kind: List\nmetadata:\n  resourceVersion: \"\"\n");
	fclose(big);
	/* The rest: per namespace, a multi-document file and a few single-document files. */
	c.kubectl = false;
	int first = wd.first_regular, nreg = wd.nns - first;
	long rest = n - done;
	for (int i = 0; i < nreg && done < n; i++) {
		struct ns *ns = &wd.ns[first + i];
		long want = rest / nreg + (i < rest % nreg);
		if (!want)
			continue;
		snprintf(path, sizeof path, "%s/namespaces/%s", out, ns->name);
		mkdirs(path);
		FILE *multi = create(path, "policies.yaml");
		m->files++;
		bool firstdoc = true;
		for (long k = 0; k < want; k++, done++) {
			c.ns = ns;
			c.target = &ns->w[rnd(&r, (unsigned)ns->nw)];
			struct doc d = make_doc(&c, pick_kind(&r, 10, 30), (int)done, -1);
			count(m, d.kind);
			if (chance(&r, 12)) {
				char name[64];
				snprintf(name, sizeof name, "policy-%ld.yaml", k);
				FILE *single = create(path, name);
				m->bytes += write_doc(single, &d, true);
				fclose(single);
				m->files++;
			} else {
				m->bytes += write_doc(multi, &d, firstdoc);
				firstdoc = false;
			}
			free(d.text);
		}
		fclose(multi);
	}
	m->namespaces = wd.nns;
}

/* ---------------------------------------------------------------- cluster mode */

static void labels_of_ns(FILE *f, int d, const struct ns *n)
{
	P(f, d, "labels:");
	if (n->istio)
		P(f, d + 2, "istio-injection: enabled");
	if (n->pci)
		P(f, d + 2, "compliance: pci");
	P(f, d + 2, "cost-center: cc-%d", n->cost_center);
	P(f, d + 2, "env: %s", n->env);
	P(f, d + 2, "kubernetes.io/metadata.name: %s", n->name);
	if (!n->system)
		P(f, d + 2, "pod-security.kubernetes.io/enforce: %s",
		  n->pci ? "restricted" : "baseline");
	P(f, d + 2, "team: %s", n->team);
}

static void write_namespace(FILE *f, const struct ns *n, struct rng *r)
{
	P(f, 0, "- apiVersion: v1");
	P(f, 2, "kind: Namespace");
	P(f, 2, "metadata:");
	P(f, 4, "creationTimestamp: \"2024-%02u-%02uT10:00:00Z\"", 1 + rnd(r, 12), 1 + rnd(r, 28));
	labels_of_ns(f, 4, n);
	P(f, 4, "name: %s", n->name);
	P(f, 4, "resourceVersion: \"%u\"", 1000 + rnd(r, 900000));
	P(f, 4, "uid: %08x-%04x-4%03x-8%03x-%012" PRIx64, (unsigned)rng_next(r), rnd(r, 65536),
	  rnd(r, 4096), rnd(r, 4096), (uint64_t)(rng_next(r) & 0xffffffffffffull));
	P(f, 2, "spec:");
	P(f, 4, "finalizers:");
	P(f, 4, "- kubernetes");
	P(f, 2, "status:");
	P(f, 4, "phase: Active");
}

static void node_ip(int k, char *buf, size_t size)
{
	snprintf(buf, size, "10.0.%d.%d", k / 250, k % 250 + 1);
}

static void write_node(FILE *f, int k, struct rng *r)
{
	char ip[32];
	node_ip(k, ip, sizeof ip);
	const char *zone = ZONES[k % (int)NELEM(ZONES)], *type = INSTANCE_TYPES[k % (int)NELEM(INSTANCE_TYPES)];
	P(f, 0, "- apiVersion: v1");
	P(f, 2, "kind: Node");
	P(f, 2, "metadata:");
	P(f, 4, "labels:");
	P(f, 6, "beta.kubernetes.io/arch: amd64");
	P(f, 6, "beta.kubernetes.io/os: linux");
	P(f, 6, "kubernetes.io/arch: amd64");
	P(f, 6, "kubernetes.io/hostname: worker-%04d", k);
	P(f, 6, "kubernetes.io/os: linux");
	P(f, 6, "node-role.kubernetes.io/worker: \"\"");
	P(f, 6, "node.kubernetes.io/instance-type: %s", type);
	P(f, 6, "topology.kubernetes.io/region: eu-west-1");
	P(f, 6, "topology.kubernetes.io/zone: %s", zone);
	P(f, 4, "name: worker-%04d", k);
	P(f, 4, "resourceVersion: \"%u\"", 1000 + rnd(r, 900000));
	P(f, 4, "uid: %08x-%04x-4%03x-9%03x-%012" PRIx64, (unsigned)rng_next(r), rnd(r, 65536),
	  rnd(r, 4096), rnd(r, 4096), (uint64_t)(rng_next(r) & 0xffffffffffffull));
	P(f, 2, "spec:");
	P(f, 4, "podCIDR: 10.%d.%d.0/24", 64 + k / 256, k % 256);
	P(f, 4, "providerID: aws:///%s/i-0%015" PRIx64, zone, (uint64_t)(rng_next(r) & 0xfffffffffffffull));
	P(f, 2, "status:");
	P(f, 4, "addresses:");
	P(f, 4, "- address: %s", ip);
	P(f, 6, "type: InternalIP");
	P(f, 4, "- address: worker-%04d", k);
	P(f, 6, "type: Hostname");
	P(f, 4, "allocatable:");
	P(f, 6, "cpu: 7910m");
	P(f, 6, "memory: 31507132Ki");
	P(f, 6, "pods: \"250\"");
	P(f, 4, "nodeInfo:");
	P(f, 6, "architecture: amd64");
	P(f, 6, "containerRuntimeVersion: containerd://1.7.22");
	P(f, 6, "kernelVersion: 6.1.0-28-cloud-amd64");
	P(f, 6, "kubeletVersion: v1.31.4");
	P(f, 6, "operatingSystem: linux");
}

struct podgen {
	struct rng *r;
	int nodes;
	int *next_host; /* per node: last host octet used */
	long serial;
};

static void write_pod(FILE *f, struct podgen *g, const struct ns *n, const struct workload *w,
		      int ordinal, bool second)
{
	struct rng *r = g->r;
	const struct app_kind *a = w->app;
	const char *version = second ? w->version2 : w->version, *hash = second ? w->hash2 : w->hash;
	char name[128], owner[128];
	if (a->stateful) {
		snprintf(owner, sizeof owner, "%s", a->name);
		snprintf(name, sizeof name, "%s-%d", a->name, ordinal);
	} else {
		char suffix[6];
		make_hash(r, suffix, 5);
		snprintf(owner, sizeof owner, "%s-%s", a->name, hash);
		snprintf(name, sizeof name, "%s-%s-%s", a->name, hash, suffix);
	}
	/* Nodes fill up evenly; every node owns a /24 of pod addresses. */
	int node = (int)(g->serial++ % g->nodes);
	int host = ++g->next_host[node];
	char nip[32];
	node_ip(node, nip, sizeof nip);
	P(f, 0, "- apiVersion: v1");
	P(f, 2, "kind: Pod");
	P(f, 2, "metadata:");
	P(f, 4, "creationTimestamp: \"2025-%02u-%02uT%02u:%02u:%02uZ\"", 1 + rnd(r, 12),
	  1 + rnd(r, 28), rnd(r, 24), rnd(r, 60), rnd(r, 60));
	if (!a->stateful)
		P(f, 4, "generateName: %s-", owner);
	P(f, 4, "labels:");
	if (w->k8s_app) {
		P(f, 6, "k8s-app: kube-dns");
	} else {
		P(f, 6, "app.kubernetes.io/component: %s", a->component);
		P(f, 6, "app.kubernetes.io/instance: %s", a->name);
		P(f, 6, "app.kubernetes.io/name: %s", a->name);
		P(f, 6, "app.kubernetes.io/part-of: %s", n->product);
		P(f, 6, "app.kubernetes.io/version: %s", version);
	}
	if (a->stateful) {
		P(f, 6, "controller-revision-hash: %s-%s", a->name, hash);
		P(f, 6, "statefulset.kubernetes.io/pod-name: %s", name);
	} else {
		P(f, 6, "pod-template-hash: %s", hash);
	}
	if (n->istio)
		P(f, 6, "security.istio.io/tlsMode: istio");
	P(f, 6, "tier: %s", a->tier);
	if (second)
		P(f, 6, "track: canary");
	P(f, 4, "name: %s", name);
	P(f, 4, "namespace: %s", n->name);
	P(f, 4, "ownerReferences:");
	P(f, 4, "- apiVersion: apps/v1");
	P(f, 6, "blockOwnerDeletion: true");
	P(f, 6, "controller: true");
	P(f, 6, "kind: %s", a->stateful ? "StatefulSet" : "ReplicaSet");
	P(f, 6, "name: %s", owner);
	P(f, 6, "uid: %08x-%04x-4%03x-a%03x-%012" PRIx64, (unsigned)rng_next(r), rnd(r, 65536),
	  rnd(r, 4096), rnd(r, 4096), (uint64_t)(rng_next(r) & 0xffffffffffffull));
	P(f, 4, "resourceVersion: \"%u\"", 100000 + rnd(r, 90000000));
	P(f, 4, "uid: %08x-%04x-4%03x-b%03x-%012" PRIx64, (unsigned)rng_next(r), rnd(r, 65536),
	  rnd(r, 4096), rnd(r, 4096), (uint64_t)(rng_next(r) & 0xffffffffffffull));
	P(f, 2, "spec:");
	P(f, 4, "containers:");
	P(f, 4, "- image: registry.example.com/%s/%s:%s", n->product, a->name, version);
	P(f, 6, "imagePullPolicy: IfNotPresent");
	P(f, 6, "name: %s", a->name);
	P(f, 6, "ports:");
	P(f, 6, "- containerPort: %d", a->port);
	P(f, 8, "name: %s", a->port_name);
	P(f, 8, "protocol: %s", a->proto);
	if (a->port != 9100 && strcmp(a->component, "dns")) {
		P(f, 6, "- containerPort: 9100");
		P(f, 8, "name: metrics");
		P(f, 8, "protocol: TCP");
	}
	P(f, 6, "resources:");
	P(f, 8, "limits:");
	P(f, 10, "memory: %uMi", 256u << rnd(r, 4));
	P(f, 8, "requests:");
	P(f, 10, "cpu: %um", 50 + 50 * rnd(r, 10));
	P(f, 10, "memory: %uMi", 128u << rnd(r, 4));
	P(f, 6, "terminationMessagePath: /dev/termination-log");
	P(f, 6, "terminationMessagePolicy: File");
	if (n->istio) {
		P(f, 4, "- image: docker.io/istio/proxyv2:1.24.2");
		P(f, 6, "name: istio-proxy");
		P(f, 6, "ports:");
		P(f, 6, "- containerPort: 15090");
		P(f, 8, "name: http-envoy-prom");
		P(f, 8, "protocol: TCP");
	}
	P(f, 4, "dnsPolicy: ClusterFirst");
	P(f, 4, "nodeName: worker-%04d", node);
	P(f, 4, "restartPolicy: Always");
	P(f, 4, "schedulerName: default-scheduler");
	P(f, 4, "serviceAccountName: %s", w->sa);
	P(f, 4, "terminationGracePeriodSeconds: 30");
	P(f, 2, "status:");
	P(f, 4, "conditions:");
	P(f, 4, "- lastTransitionTime: \"2025-01-01T00:00:00Z\"");
	P(f, 6, "status: \"True\"");
	P(f, 6, "type: Ready");
	P(f, 4, "hostIP: %s", nip);
	P(f, 4, "phase: Running");
	P(f, 4, "podIP: 10.%d.%d.%d", 64 + node / 256, node % 256, host);
	P(f, 4, "podIPs:");
	P(f, 4, "- ip: 10.%d.%d.%d", 64 + node / 256, node % 256, host);
	P(f, 4, "qosClass: Burstable");
	P(f, 4, "startTime: \"2025-01-01T00:00:00Z\"");
}

static void write_service(FILE *f, const struct ns *n, const struct workload *w, unsigned ip)
{
	const struct app_kind *a = w->app;
	const char *name = w->k8s_app ? "kube-dns" : a->name;
	P(f, 0, "- apiVersion: v1");
	P(f, 2, "kind: Service");
	P(f, 2, "metadata:");
	P(f, 4, "name: %s", name);
	P(f, 4, "namespace: %s", n->name);
	P(f, 2, "spec:");
	P(f, 4, "clusterIP: 172.20.%u.%u", (ip >> 8) & 255, ip & 255);
	P(f, 4, "clusterIPs:");
	P(f, 4, "- 172.20.%u.%u", (ip >> 8) & 255, ip & 255);
	P(f, 4, "internalTrafficPolicy: Cluster");
	P(f, 4, "ipFamilies:");
	P(f, 4, "- IPv4");
	P(f, 4, "ports:");
	P(f, 4, "- name: %s", a->port_name);
	P(f, 6, "port: %d", a->port == 8080 ? 80 : a->port);
	P(f, 6, "protocol: %s", a->proto);
	P(f, 6, "targetPort: %s", a->port_name);
	P(f, 4, "selector:");
	if (w->k8s_app)
		P(f, 6, "k8s-app: kube-dns");
	else
		P(f, 6, "app.kubernetes.io/name: %s", a->name);
	P(f, 4, "sessionAffinity: None");
	P(f, 4, "type: ClusterIP");
}

/* A database outside the cluster, reached through a Service without a selector. */
static void write_external(FILE *f, const struct ns *n, int k, unsigned ip)
{
	P(f, 0, "- apiVersion: v1");
	P(f, 2, "kind: Service");
	P(f, 2, "metadata:");
	P(f, 4, "name: external-db");
	P(f, 4, "namespace: %s", n->name);
	P(f, 2, "spec:");
	P(f, 4, "clusterIP: 172.20.%u.%u", (ip >> 8) & 255, ip & 255);
	P(f, 4, "ports:");
	P(f, 4, "- name: postgres");
	P(f, 6, "port: 5432");
	P(f, 6, "protocol: TCP");
	P(f, 4, "type: ClusterIP");
	P(f, 0, "- addressType: IPv4");
	P(f, 2, "apiVersion: discovery.k8s.io/v1");
	P(f, 2, "endpoints:");
	P(f, 2, "- addresses:");
	P(f, 4, "- 192.168.%d.10", k % 256);
	P(f, 2, "- addresses:");
	P(f, 4, "- 192.168.%d.11", k % 256);
	P(f, 2, "kind: EndpointSlice");
	P(f, 2, "metadata:");
	P(f, 4, "labels:");
	P(f, 6, "kubernetes.io/service-name: external-db");
	P(f, 4, "name: external-db-1");
	P(f, 4, "namespace: %s", n->name);
	P(f, 2, "ports:");
	P(f, 2, "- name: postgres");
	P(f, 4, "port: 5432");
	P(f, 4, "protocol: TCP");
}

static unsigned long long file_size(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

static void gen_cluster(const char *out, int nns, long pods, int nodes, long npolicies,
			uint64_t seed, struct manifest *m)
{
	struct world wd;
	world_init(&wd, nns, seed);
	world_pods(&wd, pods);
	struct rng r = {seed ^ 0xc1a55e5ull};
	mkdirs(out);
	FILE *f = create(out, "inventory.yaml");
	char *buf = malloc(1 << 20);
	setvbuf(f, buf, _IOFBF, 1 << 20);
	fputs("apiVersion: v1\nitems:\n", f);
	for (int i = 0; i < wd.nns; i++)
		write_namespace(f, &wd.ns[i], &r);
	for (int k = 0; k < nodes; k++)
		write_node(f, k, &r);
	unsigned ip = 10;
	for (int i = 0; i < wd.nns; i++) {
		const struct ns *n = &wd.ns[i];
		for (int j = 0; j < n->nw; j++)
			if (n->w[j].service && n->w[j].replicas > 0) {
				write_service(f, n, &n->w[j], ip++);
				m->services++;
			}
		if (!n->system && i % 20 == 7) {
			write_external(f, n, i, ip++);
			m->services++;
		}
	}
	struct podgen g = {.r = &r, .nodes = nodes, .next_host = xcalloc((size_t)nodes, sizeof(int))};
	for (int i = 0; i < wd.nns; i++) {
		const struct ns *n = &wd.ns[i];
		for (int j = 0; j < n->nw; j++) {
			const struct workload *w = &n->w[j];
			for (int k = 0; k < w->replicas; k++)
				write_pod(f, &g, n, w, k, false);
			for (int k = 0; k < w->replicas2; k++)
				write_pod(f, &g, n, w, w->replicas + k, true);
			m->pods += w->replicas + w->replicas2;
		}
	}
	for (int k = 0; k < nodes; k++)
		if (g.next_host[k] > 254)
			die("%d pods on node %d: give more --nodes", g.next_host[k], k);
	fputs("kind: List\nmetadata:\n  resourceVersion: \"\"\n", f);
	fclose(f);
	free(buf);
	free(g.next_host);
	m->inventory_bytes = file_size(out, "inventory.yaml");
	m->namespaces = wd.nns;
	m->nodes = nodes;
	m->files = 1;

	/* Policies: a file per namespace with that namespace's policies, and one clusterwide. */
	char pdir[4096];
	snprintf(pdir, sizeof pdir, "%s/policies", out);
	mkdirs(pdir);
	struct pctx c = {.wd = &wd, .r = &r};
	FILE *cw = create(pdir, "clusterwide.yaml");
	m->files++;
	bool cw_first = true;
	long done = 0;
	for (int b = 0; b < 3 && done < npolicies; b++, done++) {
		c.ns = &wd.ns[0];
		struct doc d = make_doc(&c, PK_CCNP, 0, b);
		m->policy_bytes += write_doc(cw, &d, cw_first);
		cw_first = false;
		count(m, d.kind);
		free(d.text);
	}
	int first = wd.first_regular, nreg = wd.nns - first;
	long rest = npolicies - done;
	for (int i = 0; i < nreg; i++) {
		struct ns *ns = &wd.ns[first + i];
		long want = rest / nreg + (i < rest % nreg);
		if (!want)
			continue;
		char name[128];
		snprintf(name, sizeof name, "%s.yaml", ns->name);
		FILE *pf = create(pdir, name);
		m->files++;
		bool pf_first = true;
		for (long k = 0; k < want; k++, done++) {
			c.ns = ns;
			c.target = &ns->w[rnd(&r, (unsigned)ns->nw)];
			enum pkind kind = pick_kind(&r, 20, 25);
			struct doc d = make_doc(&c, kind, (int)done, -1);
			if (kind == PK_CCNP) {
				m->policy_bytes += write_doc(cw, &d, cw_first);
				cw_first = false;
			} else {
				m->policy_bytes += write_doc(pf, &d, pf_first);
				pf_first = false;
			}
			count(m, d.kind);
			free(d.text);
		}
		fclose(pf);
	}
	fclose(cw);
	m->bytes = m->inventory_bytes + m->policy_bytes;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
	fputs("usage: bench-gen policies --out DIR [--count N] [--seed S]\n"
	      "       bench-gen cluster --out DIR [--namespaces N] [--pods N] [--nodes N]\n"
	      "                 [--policies N] [--seed S]\n",
	      stderr);
	exit(2);
}

static long num(const char *opt, const char *v, long min)
{
	char *end;
	errno = 0;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || errno || *end || n < min)
		die("%s wants a number >= %ld", opt, min);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1], *out = NULL;
	long count_ = 20000, nns = 2000, pods = 50000, nodes = -1, npol = 10000;
	uint64_t seed = 1;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--out") && v)
			out = v;
		else if (!strcmp(o, "--count"))
			count_ = num(o, v, 1);
		else if (!strcmp(o, "--namespaces"))
			nns = num(o, v, 1);
		else if (!strcmp(o, "--pods"))
			pods = num(o, v, 1);
		else if (!strcmp(o, "--nodes"))
			nodes = num(o, v, 1);
		else if (!strcmp(o, "--policies"))
			npol = num(o, v, 1);
		else if (!strcmp(o, "--seed"))
			seed = (uint64_t)num(o, v, 0);
		else
			usage();
		i++;
	}
	if (!out)
		usage();
	struct manifest m = {0};
	if (!strcmp(mode, "policies")) {
		gen_policies(out, count_, seed, &m);
	} else if (!strcmp(mode, "cluster")) {
		if (nns < 9)
			die("--namespaces: at least 9 (four are shared system namespaces)");
		if (nodes < 0)
			nodes = pods / 100 > 3 ? pods / 100 : 3;
		gen_cluster(out, (int)nns, pods, (int)nodes, npol, seed, &m);
	} else {
		usage();
	}
	FILE *f = create(out, "MANIFEST");
	fprintf(f, "# written by bench-gen; bench/run reads it\n");
	fprintf(f, "mode %s\nseed %" PRIu64 "\n", mode, seed);
	fprintf(f, "objects %ld\ncnp %ld\nccnp %ld\nknp %ld\nfiles %ld\nbytes %llu\n", m.objects,
		m.cnp, m.ccnp, m.knp, m.files, m.bytes);
	if (!strcmp(mode, "cluster"))
		fprintf(f,
			"namespaces %ld\npods %ld\nnodes %ld\nservices %ld\ninventory_bytes %llu\n"
			"policy_bytes %llu\n",
			m.namespaces, m.pods, m.nodes, m.services, m.inventory_bytes, m.policy_bytes);
	else
		fprintf(f, "namespaces %ld\n", m.namespaces);
	fclose(f);
	return 0;
}
