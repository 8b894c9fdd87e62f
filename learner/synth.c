/* From attributed edges to policies: one CiliumNetworkPolicy per workload.
 *
 *  - endpointSelector: the smallest set of stable labels that selects exactly the workload's
 *    pods in its namespace (and nothing else there), preferring the labels people name apps
 *    by; volatile labels (hashes, revisions, pod names, versions, chart) never appear.
 *  - peers: workloads by the same kind of selector (with the namespace key when they live
 *    elsewhere), nodes as host / remote-node, the API server as kube-apiserver, the world by
 *    the DNS names that led to it (toFQDNs) or by address (toCIDRSet, optionally aggregated
 *    up to a configured prefix when enough addresses support it).
 *  - ports: the exact port and protocol the server received, i.e. a service's target port.
 *  - L7: HTTP method and path, with id-like path segments generalised only when enough
 *    distinct values support it (every regex checked with PCRE2 against every path it stands
 *    for); DNS names on the egress to the DNS server, which toFQDNs needs.
 * Peers that share the same ports and L7 rules share one rule.
 */
#include "learn.h"
#include "trace.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* ---------------------------------------------------------------- labels and selectors */

/* Labels that change with a rollout, a restart or a release: a selector on them would stop
 * matching the workload's next pods. */
bool label_is_volatile(const char *key)
{
	static const char *const volatile_keys[] = {
		"pod-template-hash", "controller-revision-hash", "pod-template-generation",
		"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
		"batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/controller-uid",
		"controller-uid", "job-name", "batch.kubernetes.io/job-name", "helm.sh/chart",
		"chart", "app.kubernetes.io/version", "version", "app.kubernetes.io/managed-by",
		"heritage", "skaffold.dev/run-id", "security.istio.io/tlsMode",
		"service.istio.io/canonical-revision"};
	for (size_t i = 0; i < sizeof(volatile_keys) / sizeof(*volatile_keys); i++)
		if (!strcmp(key, volatile_keys[i]))
			return true;
	return false;
}

/* How people name an app, best first; other keys follow in alphabetical order. */
static int label_rank(const char *key)
{
	static const char *const order[] = {"app.kubernetes.io/name", "app", "k8s-app", "name",
					    "app.kubernetes.io/component", "component",
					    "app.kubernetes.io/instance", "tier", "role"};
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++)
		if (!strcmp(key, order[i]))
			return (int)i;
	return 100;
}

static const char *pod_workload(struct arena *a, const struct pod *p)
{
	return p->workload ? p->workload : arena_printf(a, "%s/%s", p->namespace, p->name);
}

static bool pod_of(const struct pod *p, const char *wl, struct arena *a)
{
	return !strcmp(pod_workload(a, p), wl);
}

static bool pod_has(const struct pod *p, const struct kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = label_get(&p->k8s_labels, "k8s", kv[i].k);
		if (!strcmp(kv[i].k, "io.cilium.k8s.policy.serviceaccount"))
			v = p->service_account;
		if (!v || strcmp(v, kv[i].v))
			return false;
	}
	return true;
}

static int cmp_cand(const void *x, const void *y)
{
	const struct kv *a = x, *b = y;
	int ra = label_rank(a->k), rb = label_rank(b->k);
	return ra != rb ? ra - rb : strcmp(a->k, b->k);
}

static int cmp_kv(const void *x, const void *y)
{
	return strcmp(((const struct kv *)x)->k, ((const struct kv *)y)->k);
}

/* Does the label set select a pod of the namespace outside the workload? */
static const struct pod *selects_other(const struct inventory *inv, const char *ns, const char *wl,
				       const struct kv *kv, size_t n, struct arena *a)
{
	for (size_t i = 0; i < inv->npods; i++) {
		const struct pod *p = &inv->pods[i];
		if (strcmp(p->namespace, ns) || pod_of(p, wl, a))
			continue;
		if (pod_has(p, kv, n))
			return p;
	}
	return NULL;
}

size_t synth_selector(const struct inventory *inv, const char *wl, struct arena *a,
		      struct kv **out, const char **note)
{
	const char *slash = strchr(wl, '/');
	const char *ns = arena_strndup(a, wl, (size_t)(slash - wl));
	const struct pod *first = NULL;
	size_t npods = 0;
	for (size_t i = 0; i < inv->npods; i++)
		if (pod_of(&inv->pods[i], wl, a)) {
			if (!first)
				first = &inv->pods[i];
			npods++;
		}
	*out = NULL;
	if (!first) {
		*note = "no pod of this workload is in the inventory";
		return 0;
	}
	/* candidates: stable identity labels every pod of the workload carries, same value */
	struct kv *cand = arena_alloc(a, (first->k8s_labels.n + 1) * sizeof(*cand));
	size_t nc = 0;
	struct strbuf dropped = {0};
	for (size_t i = 0; i < first->k8s_labels.n; i++) {
		const struct label *l = &first->k8s_labels.v[i];
		if (label_is_volatile(l->key) || !label_is_identity_relevant(l->key)) {
			sb_printf(&dropped, "%s%s", dropped.len ? ", " : "", l->key);
			continue;
		}
		bool everywhere = true;
		for (size_t k = 0; k < inv->npods && everywhere; k++) {
			const struct pod *p = &inv->pods[k];
			if (!pod_of(p, wl, a))
				continue;
			const char *v = label_get(&p->k8s_labels, "k8s", l->key);
			everywhere = v && !strcmp(v, l->value);
		}
		if (everywhere)
			cand[nc++] = (struct kv){l->key, l->value};
	}
	sort_items(cand, nc, sizeof(*cand), cmp_cand);
	struct kv pick[3];
	size_t npick = 0;
	/* smallest first: one label, then two, then three, in preference order */
	for (size_t size = 1; size <= 3 && !npick && size <= nc; size++) {
		size_t idx[3] = {0, 1, 2};
		for (;;) {
			struct kv trial[3];
			for (size_t k = 0; k < size; k++)
				trial[k] = cand[idx[k]];
			if (!selects_other(inv, ns, wl, trial, size, a)) {
				memcpy(pick, trial, size * sizeof(*trial));
				npick = size;
				break;
			}
			/* next combination */
			ssize_t k = (ssize_t)size - 1;
			while (k >= 0 && idx[k] == nc - size + (size_t)k)
				k--;
			if (k < 0)
				break;
			idx[k]++;
			for (size_t j = (size_t)k + 1; j < size; j++)
				idx[j] = idx[j - 1] + 1;
		}
	}
	struct strbuf why = {0};
	struct kv *res;
	size_t nres;
	if (npick) {
		nres = npick;
		res = arena_alloc(a, nres * sizeof(*res));
		memcpy(res, pick, nres * sizeof(*res));
		sb_printf(&why, "selects exactly the %zu pod%s of %s", npods, npods == 1 ? "" : "s",
			  wl);
	} else if (nc) {
		nres = nc;
		res = arena_alloc(a, nres * sizeof(*res));
		memcpy(res, cand, nres * sizeof(*res));
		const struct pod *o = selects_other(inv, ns, wl, res, nres, a);
		if (o)
			sb_printf(&why, "no stable labels tell %s apart: this also selects %s/%s", wl,
				  o->namespace, o->name);
		else
			sb_printf(&why, "all %zu stable labels are needed to select exactly %s", nc, wl);
	} else {
		/* no usable label: the service account, if it is the workload's own */
		struct kv sa = {"io.cilium.k8s.policy.serviceaccount", first->service_account};
		nres = 1;
		res = arena_alloc(a, sizeof(*res));
		res[0] = sa;
		if (selects_other(inv, ns, wl, &sa, 1, a))
			sb_printf(&why, "%s has no stable labels; its service account is shared, so "
					"this selects more than the workload",
				  wl);
		else
			sb_printf(&why, "%s has no stable labels; its service account is its own", wl);
	}
	if (dropped.len)
		sb_printf(&why, "; not used: %s (volatile or not part of the identity)", dropped.s);
	sort_items(res, nres, sizeof(*res), cmp_kv);
	*note = arena_strdup(a, why.s);
	sb_free(&why);
	sb_free(&dropped);
	*out = res;
	return nres;
}

/* ---------------------------------------------------------------- path generalisation */

enum segclass { SC_LITERAL, SC_INT, SC_UUID, SC_HEX };

/* A segment's shape: a class, and for numbers a literal name before them ("u" of "u25",
 * "v" of "v2") and an extension after them (".jpg" of "42.jpg"). */
struct shape {
	enum segclass cls;
	char pfx[17], ext[10];
};

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

static bool name_char(char c)
{
	return isalpha((unsigned char)c) || c == '-' || c == '_';
}

static struct shape seg_shape(const char *s, size_t n)
{
	struct shape sh;
	memset(&sh, 0, sizeof(sh));
	const char *ph = memchr(s, '\x01', n);
	if (ph) { /* a placeholder from the request table's compaction */
		if (n == 5 && !memcmp(s, SEG_UUID, 5))
			sh.cls = SC_UUID;
		else if (n == 4 && !memcmp(s, SEG_HEX, 4))
			sh.cls = SC_HEX;
		else if ((size_t)(s + n - ph) >= 4 && !memcmp(ph, SEG_INT, 4) &&
			 (size_t)(ph - s) < sizeof sh.pfx && (size_t)(s + n - ph - 4) < sizeof sh.ext) {
			sh.cls = SC_INT;
			memcpy(sh.pfx, s, (size_t)(ph - s));
			memcpy(sh.ext, ph + 4, (size_t)(s + n - ph - 4));
		}
		return sh;
	}
	if (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' &&
	    all_hex(s, 8) && all_hex(s + 9, 4) && all_hex(s + 14, 4) && all_hex(s + 19, 4) &&
	    all_hex(s + 24, 12)) {
		sh.cls = SC_UUID;
		return sh;
	}
	if (n >= 8 && all_hex(s, n)) {
		bool digit = false, alpha = false;
		for (size_t i = 0; i < n; i++)
			isdigit((unsigned char)s[i]) ? (digit = true) : (alpha = true);
		if ((digit && alpha) || n >= 16) {
			sh.cls = SC_HEX;
			return sh;
		}
	}
	size_t i = 0;
	while (i < n && i < sizeof sh.pfx - 1 && name_char(s[i]))
		i++;
	size_t d = i;
	while (d < n && isdigit((unsigned char)s[d]))
		d++;
	if (d == i || d - i > 20)
		return sh;
	if (d < n) {
		if (s[d] != '.' || n - d >= sizeof sh.ext || n - d < 2)
			return sh;
		for (size_t q = d + 1; q < n; q++)
			if (!isalnum((unsigned char)s[q]))
				return sh;
	}
	sh.cls = SC_INT;
	memcpy(sh.pfx, s, i);
	memcpy(sh.ext, s + d, n - d);
	return sh;
}

size_t path_shape_into(const char *path, char *out, size_t size)
{
	size_t o = 0;
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		struct shape sh = seg_shape(p, n);
		const char *parts[3] = {p, NULL, NULL};
		size_t lens[3] = {n, 0, 0};
		if (sh.cls == SC_INT) {
			parts[0] = sh.pfx, lens[0] = strlen(sh.pfx);
			parts[1] = SEG_INT, lens[1] = 4;
			parts[2] = sh.ext, lens[2] = strlen(sh.ext);
		} else if (sh.cls == SC_UUID) {
			parts[0] = SEG_UUID, lens[0] = 5;
		} else if (sh.cls == SC_HEX) {
			parts[0] = SEG_HEX, lens[0] = 4;
		}
		for (int k = 0; k < 3; k++) {
			if (o + lens[k] + 2 > size)
				return 0;
			if (lens[k])
				memcpy(out + o, parts[k], lens[k]);
			o += lens[k];
		}
		if (!slash)
			break;
		out[o++] = '/';
		p = slash + 1;
	}
	out[o] = 0;
	return o;
}

char *path_shape(const char *path)
{
	size_t n = strlen(path) * 2 + 64;
	char *out = xmalloc(n);
	if (!path_shape_into(path, out, n))
		snprintf(out, n, "%s", path);
	return out;
}

char *regex_escape(struct arena *a, const char *s)
{
	struct strbuf sb = {0};
	for (; *s; s++) {
		if (strchr("\\.+*?()|[]{}^$", *s))
			sb_add(&sb, "\\", 1);
		sb_add(&sb, s, 1);
	}
	char *r = arena_strdup(a, sb.s ? sb.s : "");
	sb_free(&sb);
	return r;
}

static const char *class_regex(enum segclass c)
{
	switch (c) {
	case SC_INT:
		return "[0-9]+";
	case SC_UUID:
		return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
	case SC_HEX:
		return "[0-9a-fA-F]+";
	default:
		return NULL;
	}
}

struct tnode {
	const char *seg;  /* literal text, or NULL for a class */
	struct shape sh;  /* a class node's shape */
	struct tnode **kids;
	size_t nkids, cap;
	uint64_t end_count;    /* requests that ended here */
	uint32_t end_distinct; /* distinct observed paths that ended here */
	bool query;
	bool generalised;
};

static struct tnode *tnew(struct arena *a, const char *seg, size_t n)
{
	struct tnode *t = arena_alloc(a, sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->seg = seg ? arena_strndup(a, seg, n) : NULL;
	return t;
}

static void tadd_kid(struct tnode *t, struct tnode *k)
{
	if (t->nkids == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4;
		t->kids = xrealloc(t->kids, t->cap * sizeof(*t->kids));
	}
	t->kids[t->nkids++] = k;
}

static bool same_shape(const struct shape *a, const struct shape *b)
{
	return a->cls == b->cls && !strcmp(a->pfx, b->pfx) && !strcmp(a->ext, b->ext);
}

static bool same_label(const struct tnode *x, const struct tnode *y)
{
	if (!x->seg || !y->seg)
		return !x->seg && !y->seg && same_shape(&x->sh, &y->sh);
	return !strcmp(x->seg, y->seg);
}

static void tmerge(struct tnode *into, struct tnode *from)
{
	into->end_count += from->end_count;
	into->end_distinct += from->end_distinct;
	into->query |= from->query;
	into->generalised |= from->generalised;
	for (size_t i = 0; i < from->nkids; i++) {
		struct tnode *k = from->kids[i], *hit = NULL;
		for (size_t j = 0; j < into->nkids && !hit; j++)
			if (same_label(into->kids[j], k))
				hit = into->kids[j];
		if (hit)
			tmerge(hit, k);
		else
			tadd_kid(into, k);
	}
	free(from->kids);
	from->kids = NULL;
	from->nkids = from->cap = 0;
}

static void tfree(struct tnode *t)
{
	for (size_t i = 0; i < t->nkids; i++)
		tfree(t->kids[i]);
	free(t->kids);
}

static bool class_of(const struct tnode *k, struct shape *sh)
{
	*sh = k->seg ? seg_shape(k->seg, strlen(k->seg)) : k->sh;
	return sh->cls != SC_LITERAL;
}

struct kidshape {
	struct tnode *node;
	struct shape sh;
};

static int cmp_kidshape(const void *x, const void *y)
{
	const struct kidshape *a = x, *b = y;
	if (a->sh.cls != b->sh.cls)
		return (int)a->sh.cls - (int)b->sh.cls;
	int c = strcmp(a->sh.pfx, b->sh.pfx);
	return c ? c : strcmp(a->sh.ext, b->sh.ext);
}

/* Folds id-like children into one class child where min_support distinct values say so
 * (a placeholder from the request table's compaction is evidence enough by itself).
 * Children are sorted by shape once, so a node with thousands of ids costs n log n. */
static void generalise(struct arena *a, struct tnode *t, unsigned min_support)
{
	if (t->nkids > 1 || (t->nkids == 1 && t->kids[0]->seg && strchr(t->kids[0]->seg, '\x01'))) {
		struct kidshape *ks = xcalloc(t->nkids, sizeof(*ks));
		for (size_t i = 0; i < t->nkids; i++) {
			ks[i].node = t->kids[i];
			class_of(t->kids[i], &ks[i].sh);
		}
		sort_items(ks, t->nkids, sizeof(*ks), cmp_kidshape);
		size_t w = 0;
		for (size_t i = 0; i < t->nkids;) {
			size_t j = i + 1;
			while (j < t->nkids && !cmp_kidshape(&ks[i], &ks[j]))
				j++;
			bool evidence = false;
			for (size_t k = i; k < j && !evidence; k++)
				evidence = !ks[k].node->seg || strchr(ks[k].node->seg, '\x01');
			if (ks[i].sh.cls == SC_LITERAL || (j - i < min_support && !evidence)) {
				for (size_t k = i; k < j; k++)
					t->kids[w++] = ks[k].node;
			} else {
				struct tnode *target = NULL;
				for (size_t k = i; k < j && !target; k++)
					if (!ks[k].node->seg)
						target = ks[k].node;
				if (!target) {
					target = tnew(a, NULL, 0);
					target->sh = ks[i].sh;
					target->generalised = true;
				}
				for (size_t k = i; k < j; k++)
					if (ks[k].node != target)
						tmerge(target, ks[k].node);
				t->kids[w++] = target;
			}
			i = j;
		}
		t->nkids = w;
		free(ks);
	}
	for (size_t i = 0; i < t->nkids; i++)
		generalise(a, t->kids[i], min_support);
}

static int cmp_node(const void *x, const void *y)
{
	const struct tnode *a = *(struct tnode *const *)x, *b = *(struct tnode *const *)y;
	if (!a->seg != !b->seg)
		return a->seg ? -1 : 1;
	if (a->seg)
		return strcmp(a->seg, b->seg);
	if (a->sh.cls != b->sh.cls)
		return (int)a->sh.cls - (int)b->sh.cls;
	int c = strcmp(a->sh.pfx, b->sh.pfx);
	return c ? c : strcmp(a->sh.ext, b->sh.ext);
}

struct emitctx {
	struct arena *a;
	struct shttp *v;
	size_t n, cap;
	const char *method;
};

static const char *node_regex(struct arena *a, const struct tnode *t)
{
	if (t->seg)
		return regex_escape(a, t->seg);
	return arena_printf(a, "%s%s%s", regex_escape(a, t->sh.pfx), class_regex(t->sh.cls),
			    regex_escape(a, t->sh.ext));
}

/* text: the regex for the path up to and including t */
static void emit_rules(struct emitctx *e, struct tnode *t, const char *text, bool gen)
{
	if (t->end_count) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 8;
			e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
		}
		struct shttp *r = &e->v[e->n++];
		r->method = e->method;
		r->path = t->query ? arena_printf(e->a, "%s(\\?.*)?", text) : text;
		r->support = t->end_count;
		r->distinct = t->end_distinct;
		r->generalised = gen;
	}
	sort_items(t->kids, t->nkids, sizeof(*t->kids), cmp_node);
	for (size_t i = 0; i < t->nkids; i++) {
		const struct tnode *k = t->kids[i];
		emit_rules(e, t->kids[i], arena_printf(e->a, "%s/%s", text, node_regex(e->a, k)),
			   gen || !k->seg);
	}
}

/* A placeholder path stands for ids: a representative value to check the regex against. */
char *path_concrete(const char *path)
{
	struct strbuf sb = {0};
	const char *p = path;
	for (;;) {
		const char *ph = strchr(p, '\x01');
		if (!ph) {
			sb_puts(&sb, p);
			break;
		}
		sb_add(&sb, p, (size_t)(ph - p));
		if (!strncmp(ph, SEG_UUID, 5)) {
			sb_puts(&sb, "123e4567-e89b-12d3-a456-426614174000");
			p = ph + 5;
		} else if (!strncmp(ph, SEG_INT, 4)) {
			sb_puts(&sb, "42");
			p = ph + 4;
		} else if (!strncmp(ph, SEG_HEX, 4)) {
			sb_puts(&sb, "0a1b2c3d4e5f");
			p = ph + 4;
		} else {
			sb_add(&sb, ph, 1);
			p = ph + 1;
		}
	}
	return sb.s ? sb.s : xstrdup("");
}

static const char *const *seg_sort_keys;

/* Segment order: the sort keys have '/' as \x01 (lowest of all) and the placeholders' \x01 as
 * \x02, so plain strcmp compares segment by segment. */
static int cmp_segwise(const void *x, const void *y)
{
	return strcmp(seg_sort_keys[*(const size_t *)x], seg_sort_keys[*(const size_t *)y]);
}

size_t synth_paths(struct arena *a, const char *const *paths, const uint64_t *counts, size_t n,
		   unsigned min_support, struct shttp **out, const char *method)
{
	struct tnode *root = tnew(a, "", 0);
	bool *query = xcalloc(n ? n : 1, sizeof(bool));
	/* insert in segment order ('/' sorts first), so that equal segments arrive together and a
	 * node's children are appended in order: finding a child is a look at the last one */
	size_t *order = xcalloc(n ? n : 1, sizeof(*order));
	char **bare = xcalloc(n ? n : 1, sizeof(*bare)); /* without the caller's query marker */
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		size_t len = strlen(paths[i]);
		if (len >= 7 && !strcmp(paths[i] + len - 7, "(\\?.*)?")) {
			query[i] = true;
			len -= 7;
		}
		bare[i] = xmalloc(len + 1);
		memcpy(bare[i], paths[i], len);
		bare[i][len] = 0;
	}
	char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		keys[i] = xstrdup(bare[i]);
		for (char *q = keys[i]; *q; q++)
			*q = *q == '/' ? '\x01' : *q == '\x01' ? '\x02' : *q;
	}
	seg_sort_keys = (const char *const *)keys;
	sort_items(order, n, sizeof(*order), cmp_segwise);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	for (size_t oi = 0; oi < n; oi++) {
		size_t i = order[oi];
		const char *p = bare[i];
		size_t len = strlen(p);
		/* segments: "/a/b" is "", "a", "b"; the root's children are first segments */
		struct tnode *t = root;
		const char *seg = p, *end = p + len;
		for (;;) {
			const char *slash = memchr(seg, '/', (size_t)(end - seg));
			size_t sl = slash ? (size_t)(slash - seg) : (size_t)(end - seg);
			struct tnode *last = t->nkids ? t->kids[t->nkids - 1] : NULL, *hit = NULL;
			if (last && strlen(last->seg) == sl && !memcmp(last->seg, seg, sl))
				hit = last;
			if (!hit) {
				hit = tnew(a, seg, sl);
				tadd_kid(t, hit);
			}
			t = hit;
			if (!slash)
				break;
			seg = slash + 1;
		}
		t->end_count += counts ? counts[i] : 1;
		t->end_distinct++;
		t->query |= query[i];
	}
	generalise(a, root, min_support);
	struct emitctx e = {a, NULL, 0, 0, method};
	/* the root's children are first segments: their text has no leading slash */
	sort_items(root->kids, root->nkids, sizeof(*root->kids), cmp_node);
	for (size_t i = 0; i < root->nkids; i++)
		emit_rules(&e, root->kids[i], node_regex(a, root->kids[i]), !root->kids[i]->seg);
	/* every observed path must match a rule (PCRE2, anchored both ends); a path that does not
	 * (which would be a bug here) gets an exact rule of its own */
	size_t nrules = e.n;
	pcre2_code **code = xcalloc(nrules ? nrules : 1, sizeof(*code));
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	for (size_t k = 0; k < nrules; k++) {
		int err;
		PCRE2_SIZE off;
		code[k] = pcre2_compile((PCRE2_SPTR)e.v[k].path, PCRE2_ZERO_TERMINATED,
					PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &err, &off, NULL);
	}
	size_t hint = 0;
	for (size_t i = 0; i < n; i++) {
		char *subject = path_concrete(paths[i]);
		size_t len = strlen(subject);
		if (query[i] && len >= 7)
			subject[len - 7] = 0;
		bool ok = false;
		for (size_t q = 0; q < nrules && !ok; q++) {
			size_t k = (hint + q) % nrules; /* neighbours usually share a rule */
			ok = code[k] && pcre2_match(code[k], (PCRE2_SPTR)subject, strlen(subject), 0, 0, md,
						    NULL) >= 0;
			if (ok)
				hint = k;
		}
		if (!ok) {
			if (e.n == e.cap) {
				e.cap = e.cap ? e.cap * 2 : 8;
				e.v = xrealloc(e.v, e.cap * sizeof(*e.v));
			}
			e.v[e.n++] = (struct shttp){method, regex_escape(a, subject), 1, 1, false};
		}
		free(subject);
	}
	for (size_t k = 0; k < nrules; k++)
		pcre2_code_free(code[k]);
	free(code);
	pcre2_match_data_free(md);
	tfree(root);
	free(query);
	free(order);
	for (size_t i = 0; i < n; i++)
		free(bare[i]);
	free(bare);
	*out = arena_alloc(a, (e.n ? e.n : 1) * sizeof(**out));
	if (e.n)
		memcpy(*out, e.v, e.n * sizeof(*e.v));
	free(e.v);
	return e.n;
}

/* ---------------------------------------------------------------- facts */

struct fact {
	const char *wl; /* local workload */
	enum direction dir;
	struct speer peer;
	uint8_t proto;
	uint16_t port;
	const struct edge *edge;
	bool http_here, dns_here;
};

struct wlinfo {
	const char *key, *ns, *name;
	struct kv *sel;
	size_t nsel;
	const char *note;
	size_t npods;
	bool wanted;
};

struct sctx {
	struct synth *s;
	struct learner *L;
	const struct inventory *inv;
	struct arena *a;
	struct fact *f;
	size_t nf, capf;
	struct wlinfo *wl;
	size_t nwl, capwl;
	const struct session *existing;
};

static bool wanted(const struct learn_opts *o, const char *wl)
{
	if (!o->want.n)
		return true;
	for (size_t i = 0; i < o->want.n; i++) {
		const char *w = o->want.v[i];
		if (!strcmp(w, wl))
			return true;
		size_t n = strlen(w);
		if (!strchr(w, '/') && !strncmp(wl, w, n) && wl[n] == '/')
			return true;
	}
	return false;
}

static struct wlinfo *wlinfo(struct sctx *x, const char *key)
{
	for (size_t i = 0; i < x->nwl; i++)
		if (!strcmp(x->wl[i].key, key))
			return &x->wl[i];
	if (x->nwl == x->capwl) {
		x->capwl = x->capwl ? x->capwl * 2 : 16;
		x->wl = xrealloc(x->wl, x->capwl * sizeof(*x->wl));
	}
	struct wlinfo *w = &x->wl[x->nwl++];
	memset(w, 0, sizeof(*w));
	w->key = arena_strdup(x->a, key);
	const char *slash = strchr(key, '/');
	w->ns = arena_strndup(x->a, key, (size_t)(slash - key));
	w->name = arena_strdup(x->a, slash + 1);
	w->nsel = synth_selector(x->inv, key, x->a, &w->sel, &w->note);
	for (size_t i = 0; i < x->inv->npods; i++)
		w->npods += pod_of(&x->inv->pods[i], key, x->a);
	w->wanted = wanted(x->L->o, key);
	return w;
}

static void add_fact(struct sctx *x, const struct fact *f)
{
	if (x->nf == x->capf) {
		x->capf = x->capf ? x->capf * 2 : 64;
		x->f = xrealloc(x->f, x->capf * sizeof(*x->f));
	}
	x->f[x->nf++] = *f;
}

static void peer_endpoint(struct sctx *x, const struct pod *p, const char *local_ns,
			  struct speer *out)
{
	struct wlinfo *w = wlinfo(x, pod_workload(x->a, p));
	memset(out, 0, sizeof(*out));
	out->kind = SP_ENDPOINT;
	out->workload = w->key;
	bool cross = strcmp(w->ns, local_ns) != 0;
	out->ns = cross ? w->ns : NULL;
	out->nlabels = w->nsel + (cross ? 1 : 0);
	out->labels = arena_alloc(x->a, (out->nlabels + 1) * sizeof(*out->labels));
	size_t k = 0;
	if (cross)
		out->labels[k++] = (struct kv){"k8s:io.kubernetes.pod.namespace", w->ns};
	for (size_t i = 0; i < w->nsel; i++)
		out->labels[k++] = w->sel[i];
	out->key = arena_printf(x->a, "1ep:%s", w->key);
}

static void peer_entity(struct sctx *x, const char *entity, struct speer *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = SP_ENTITY;
	out->text = entity;
	out->key = arena_printf(x->a, "2en:%s", entity);
}

static void peer_cidr(struct sctx *x, const struct ip *ip, struct speer *out)
{
	char buf[64];
	ip_format(ip, buf, sizeof buf);
	memset(out, 0, sizeof(*out));
	out->kind = SP_CIDR;
	out->text = arena_printf(x->a, "%s/%d", buf, ip_is_v4(ip) ? 32 : 128);
	/* sort by address, not text: zero-padded family and bytes */
	struct strbuf k = {0};
	sb_printf(&k, "3ci:%d:", ip_is_v4(ip) ? 4 : 6);
	for (int i = 0; i < 16; i++)
		sb_printf(&k, "%02x", ip->b[i]);
	out->key = arena_strdup(x->a, k.s);
	sb_free(&k);
}

static void peer_fqdn(struct sctx *x, const char *name, struct speer *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = SP_FQDN;
	out->text = name;
	out->key = arena_printf(x->a, "4fq:%s", name);
}

/* The parent of a DNS name ("b.example.com" for "a.b.example.com"), when it has at least two
 * labels itself: "*.example.com" can be earned, "*.com" never. */
static const char *name_parent(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot && strchr(dot + 1, '.') ? dot + 1 : NULL;
}

static int cmp_by_parent(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	const char *px = name_parent(x), *py = name_parent(y);
	int c = strcmp(px ? px : "", py ? py : "");
	return c ? c : strcmp(x, y);
}

/* Evidence-based name generalisation, as for paths: when at least --min-support distinct names
 * share a parent (one label each below it), they become the matchPattern "*.parent", which
 * Cilium reads as one label of letters, digits, '-' and '_' below it. Names in, names and
 * patterns out (sorted); members[i] gets the names a pattern stands for (NULL for a name). */
static size_t generalise_names(struct sctx *x, const char **names, size_t n,
			       const char ***members, size_t *nmembers)
{
	const char **v = xmalloc((n ? n : 1) * sizeof(*v));
	memcpy(v, names, n * sizeof(*v));
	sort_items(v, n, sizeof(*v), cmp_by_parent);
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		const char *parent = name_parent(v[i]);
		size_t j = i + 1;
		while (parent && j < n && name_parent(v[j]) && !strcmp(name_parent(v[j]), parent))
			j++;
		if (parent && j - i >= x->L->o->min_support) {
			names[w] = arena_printf(x->a, "*.%s", parent);
			members[w] = arena_alloc(x->a, (j - i) * sizeof(char *));
			memcpy(members[w], v + i, (j - i) * sizeof(char *));
			nmembers[w++] = j - i;
			i = j;
			continue;
		}
		for (; i < j; i++) {
			names[w] = v[i];
			members[w] = NULL;
			nmembers[w++] = 0;
		}
	}
	free(v);
	return w;
}

/* toFQDNs peers of one rule, generalised (their keys follow their text). */
static size_t generalise_fqdns(struct sctx *x, struct speer *peers, size_t n)
{
	const char **names = xmalloc((n ? n : 1) * sizeof(char *));
	const char ***members = xmalloc((n ? n : 1) * sizeof(*members));
	size_t *nmembers = xmalloc((n ? n : 1) * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		names[i] = peers[i].text;
	size_t w = generalise_names(x, names, n, members, nmembers);
	for (size_t i = 0; i < w; i++) {
		peer_fqdn(x, names[i], &peers[i]);
		peers[i].members = members[i];
		peers[i].nmembers = nmembers[i];
	}
	free(names);
	free(members);
	free(nmembers);
	return w;
}

static const char *party(struct sctx *x, const struct addr_info *ai, const struct ip *ip)
{
	if (ai->cls == PC_POD)
		return arena_printf(x->a, "%s/%s", ai->pod->namespace, ai->pod->name);
	char buf[64];
	ip_format(ip, buf, sizeof buf);
	return arena_strdup(x->a, buf);
}

static void skip(struct synth *s, const struct edge *e, const char *why)
{
	if (s->nskipped == s->skipped_cap) {
		s->skipped_cap = s->skipped_cap ? s->skipped_cap * 2 : 32;
		s->skipped = xrealloc(s->skipped, s->skipped_cap * sizeof(*s->skipped));
	}
	s->skipped[s->nskipped++] = (struct skipped){e, why};
}

static struct oflow *add_flow(struct synth *s)
{
	if (s->nflows == s->flows_cap) {
		s->flows_cap = s->flows_cap ? s->flows_cap * 2 : 64;
		s->flows = xrealloc(s->flows, s->flows_cap * sizeof(*s->flows));
	}
	struct oflow *f = &s->flows[s->nflows++];
	memset(f, 0, sizeof(*f));
	return f;
}

/* Does the existing policy set already allow this half? */
static void existing_covers(struct sctx *x, const struct oflow *of, bool *egress, bool *ingress)
{
	*egress = *ingress = false;
	if (!x->existing)
		return;
	char port[32], err[256];
	format_port(of->proto, of->port, port, sizeof port);
	struct trace_result r;
	if (trace_flow(x->existing, of->src, of->dst, port, &r, err, sizeof err) < 0)
		return;
	/* Allowed already (by a rule, or because nothing enforces that direction): not missing.
	 * Only denied halves get rules, so merging never starts enforcing a new direction of a
	 * workload nobody asked about. A workload named with --for is being onboarded: a half
	 * that passes only because nothing enforces it yet is missing, so it gets its rules. */
	bool named = x->L->o->want.n > 0;
	bool src_named = named && of->src_ep && wlinfo(x, of->src_ep)->wanted;
	bool dst_named = named && of->dst_ep && wlinfo(x, of->dst_ep)->wanted;
	*egress = r.egress.present && r.egress.fast.verdict == VERDICT_ALLOW &&
		  !(src_named && r.egress.fast.reason == REASON_NOT_ENFORCED);
	*ingress = r.ingress.present && r.ingress.fast.verdict == VERDICT_ALLOW &&
		   !(dst_named && r.ingress.fast.reason == REASON_NOT_ENFORCED);
}

static const char *node_entity(const struct k8s_node *n, const struct pod *local)
{
	return local->node && !strcmp(local->node, n->name) ? "host" : "remote-node";
}

/* One edge between a client and one concrete server pod (or a non-pod server). */
static void facts_for(struct sctx *x, const struct edge *e, const struct addr_info *c,
		      const struct addr_info *sv, const struct pod *server_pod, uint16_t port,
		      const char *via)
{
	struct synth *s = x->s;
	struct oflow *of = add_flow(s);
	of->src = party(x, c, &e->k.client);
	if (server_pod) {
		struct addr_info pi = {PC_POD, server_pod, NULL, NULL};
		of->dst = party(x, &pi, &e->k.server);
	} else {
		of->dst = party(x, sv, &e->k.server);
	}
	of->proto = e->k.proto;
	of->port = port;
	of->edge = e;
	of->via_service = via;
	of->learned = true;
	if (c->cls == PC_POD)
		of->src_ep = wlinfo(x, pod_workload(x->a, c->pod))->key;
	if (server_pod)
		of->dst_ep = wlinfo(x, pod_workload(x->a, server_pod))->key;
	if (e->fqdn.n && sv->cls == PC_WORLD) {
		for (uint32_t i = 0; i < e->fqdn.cap; i++)
			if (e->fqdn.v[i].s && (!of->fqdn || strcmp(e->fqdn.v[i].s, of->fqdn) < 0))
				of->fqdn = e->fqdn.v[i].s;
	}
	bool cov_e, cov_i;
	existing_covers(x, of, &cov_e, &cov_i);
	bool dns = (e->l7 & L7F_DNS) && (port == 53) && (e->k.proto == 17 || e->k.proto == 6);
	/* egress of the client pod */
	if (c->cls == PC_POD && !cov_e) {
		struct wlinfo *cw = wlinfo(x, pod_workload(x->a, c->pod));
		if (cw->wanted) {
			struct fact f = {.wl = cw->key, .dir = DIR_EGRESS, .proto = e->k.proto,
					 .port = port, .edge = e};
			bool server_selected = false;
			if (server_pod) {
				peer_endpoint(x, server_pod, cw->ns, &f.peer);
				server_selected = wlinfo(x, pod_workload(x->a, server_pod))->wanted;
			} else if (sv->cls == PC_NODE) {
				peer_entity(x, node_entity(sv->node, c->pod), &f.peer);
			} else if (sv->cls == PC_APISERVER) {
				peer_entity(x, "kube-apiserver", &f.peer);
			} else if (e->fqdn.n && !x->L->o->l4_only) {
				/* one fact per name that led here */
				for (uint32_t i = 0; i < e->fqdn.cap; i++) {
					if (!e->fqdn.v[i].s)
						continue;
					struct fact g = f;
					peer_fqdn(x, e->fqdn.v[i].s, &g.peer);
					g.http_here = true;
					add_fact(x, &g);
				}
				goto ingress;
			} else {
				peer_cidr(x, &e->k.server, &f.peer);
			}
			f.http_here = !server_selected;
			f.dns_here = dns;
			add_fact(x, &f);
		}
	}
ingress:
	/* ingress of the server pod */
	if (server_pod && !cov_i) {
		struct wlinfo *sw = wlinfo(x, pod_workload(x->a, server_pod));
		if (sw->wanted) {
			struct fact f = {.wl = sw->key, .dir = DIR_INGRESS, .proto = e->k.proto,
					 .port = port, .edge = e, .http_here = true};
			if (c->cls == PC_POD)
				peer_endpoint(x, c->pod, sw->ns, &f.peer);
			else if (c->cls == PC_NODE)
				peer_entity(x, node_entity(c->node, server_pod), &f.peer);
			else if (c->cls == PC_APISERVER)
				peer_entity(x, "kube-apiserver", &f.peer);
			else
				peer_cidr(x, &e->k.client, &f.peer);
			add_fact(x, &f);
		}
	}
}

/* The protocols a CiliumNetworkPolicy names: TCP, UDP and SCTP ports, ICMP and ICMPv6 types. */
static bool policy_protocol(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
}

static const char *skip_reason(const struct edge *e)
{
	if (e->dropped)
		return "dropped (a flow record's verdict; only FORWARDED and AUDIT are learned)";
	if (e->refused)
		return "refused (the server answered the SYN with a reset)";
	if (e->failed)
		return "failed (ICMP destination unreachable)";
	if (e->unanswered && e->k.proto == 17)
		return "no reply (a datagram that nothing answered)";
	if (e->unanswered)
		return "no reply (a SYN or request that nothing answered)";
	return "no complete connection";
}

static void collect(struct sctx *x)
{
	struct learner *L = x->L;
	struct synth *s = x->s;
	for (uint32_t i = 0; i < L->nedges; i++) {
		const struct edge *e = &L->edges[i];
		struct addr_info c, sv;
		attr_lookup(s->attr, &e->k.client, &c);
		attr_lookup(s->attr, &e->k.server, &sv);
		/* a node address on a service's nodePort leads to that service's backends */
		bool node_port = false;
		const struct k8s_service *np;
		if (sv.cls == PC_NODE && (np = attr_node_port(s->attr, e->k.proto, e->k.port))) {
			sv = (struct addr_info){.cls = PC_SERVICE, .svc = np};
			node_port = true;
		}
		if (c.cls != PC_POD && sv.cls != PC_POD && sv.cls != PC_SERVICE) {
			if (e->ok)
				skip(s, e, "no pod of the inventory on either side");
			continue;
		}
		if (!e->ok) {
			skip(s, e, skip_reason(e));
			continue;
		}
		if (!policy_protocol(e->k.proto)) {
			skip(s, e, "an IP protocol no port rule can name: only an L3 rule, which "
				   "opens every port, would allow it (write it by hand if wanted)");
			continue;
		}
		if (!e->k.port) {
			skip(s, e, "port 0, which no policy can name");
			continue;
		}
		if (c.cls == PC_CLUSTER || sv.cls == PC_CLUSTER) {
			skip(s, e, "an address inside a pod CIDR that no pod of the inventory has "
				   "(is the inventory older than the capture?)");
			continue;
		}
		if (sv.cls == PC_SERVICE) {
			const struct pod *b[256];
			size_t nb = attr_backends(s->attr, sv.svc, b, 256);
			const char *via = arena_printf(x->a, "%s/%s%s", sv.svc->namespace, sv.svc->name,
						       node_port ? " (NodePort)" : "");
			size_t used = 0;
			for (size_t k = 0; k < nb; k++) {
				int tp = attr_target_port(sv.svc, b[k], e->k.proto, e->k.port,
							  node_port, NULL);
				if (tp <= 0)
					continue;
				facts_for(x, e, &c, &sv, b[k], (uint16_t)tp, via);
				used++;
			}
			if (!used)
				skip(s, e, "a service address with no backend pod for that port in the "
					   "inventory");
			continue;
		}
		facts_for(x, e, &c, &sv, sv.cls == PC_POD ? sv.pod : NULL, e->k.port, NULL);
	}
}

/* ---------------------------------------------------------------- rules */

static int cmp_fact(const void *a, const void *b)
{
	const struct fact *x = a, *y = b;
	int c = strcmp(x->wl, y->wl);
	if (c)
		return c;
	if (x->dir != y->dir)
		return (int)x->dir - (int)y->dir;
	if ((c = strcmp(x->peer.key, y->peer.key)))
		return c;
	if (x->proto != y->proto)
		return (int)x->proto - (int)y->proto;
	return (int)x->port - (int)y->port;
}

/* One (peer, proto, port) with its facts. */
struct entry {
	struct fact *f; /* first fact */
	size_t n;
	struct sport port;
	const char *sig; /* ports + L7, for grouping */
	struct prov prov;
};

struct preq {
	const char *path;
	uint64_t n;
	bool query;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* HTTP rules for one entry: every answered request of its edges, generalised. */
static void http_rules(struct sctx *x, struct entry *en)
{
	bool http = false, other = false;
	for (size_t i = 0; i < en->n; i++) {
		const struct edge *e = en->f[i].edge;
		http |= e->http.n > 0 || e->http.unwritable > 0;
		other |= (e->l7 & (L7F_OPAQUE | L7F_TLS | L7F_UPGRADE)) != 0;
	}
	if (!http)
		return;
	if (other) {
		en->port.l7_note = "not HTTP only (other payload, TLS or an upgrade was seen), so no "
				   "HTTP rule";
		return;
	}
	for (size_t i = 0; i < en->n; i++) {
		if (en->f[i].edge->http.dropped) {
			en->port.l7_note = "too many distinct paths to list, so no HTTP rule";
			return;
		}
		if (en->f[i].edge->http.unwritable) {
			en->port.l7_note =
			    "a request whose method or path no HTTP rule can hold (not "
			    "UTF-8, or not a method token) was seen, so no HTTP rule";
			return;
		}
	}
	/* methods, sorted */
	struct ptrvec methods = {0};
	for (size_t i = 0; i < en->n; i++) {
		const struct reqtab *t = &en->f[i].edge->http;
		for (uint32_t k = 0; k < t->cap; k++) {
			const struct http_req *r = &t->v[k];
			if (!r->path)
				continue;
			if ((r->flags & (REQ_STATUS_1XX | REQ_STATUS_2XX | REQ_STATUS_3XX | REQ_STATUS_5XX)) ==
			    0) {
				x->s->L->st.records_skipped += 0;
				continue; /* only ever refused by the server (4xx): not learned */
			}
			bool seen = false;
			for (size_t m = 0; m < methods.n && !seen; m++)
				seen = !strcmp(methods.v[m], r->method);
			if (!seen)
				ptrvec_push(&methods, (void *)r->method);
		}
	}
	sort_items(methods.v, methods.n, sizeof(void *), cmp_str);
	struct shttp *all = NULL;
	size_t nall = 0;
	for (size_t m = 0; m < methods.n; m++) {
		const char *method = methods.v[m];
		struct ptrvec paths = {0};
		uint64_t *counts = NULL;
		size_t ncounts = 0;
		/* the same path from two edges is one entry: a hash, there may be thousands */
		struct pathent {
			UT_hash_handle hh;
			size_t index;
		} *seen = NULL, *pe, *tmp;
		for (size_t i = 0; i < en->n; i++) {
			const struct reqtab *t = &en->f[i].edge->http;
			for (uint32_t k = 0; k < t->cap; k++) {
				const struct http_req *r = &t->v[k];
				if (!r->path || strcmp(r->method, method) ||
				    !(r->flags & (REQ_STATUS_1XX | REQ_STATUS_2XX | REQ_STATUS_3XX |
						  REQ_STATUS_5XX)))
					continue;
				const char *p = (r->flags & REQ_QUERY)
							? arena_printf(x->a, "%s(\\?.*)?", r->path)
							: r->path;
				HASH_FIND_STR(seen, p, pe);
				if (!pe) {
					pe = xcalloc(1, sizeof(*pe));
					pe->index = paths.n;
					ptrvec_push(&paths, (void *)p);
					counts = xrealloc(counts, paths.n * sizeof(*counts));
					counts[pe->index] = 0;
					ncounts = paths.n;
					HASH_ADD_KEYPTR(hh, seen, paths.v[pe->index], strlen(p), pe);
				}
				counts[pe->index] += r->n;
			}
		}
		HASH_ITER(hh, seen, pe, tmp)
		{
			HASH_DEL(seen, pe);
			free(pe);
		}
		(void)ncounts;
		struct shttp *rules;
		size_t nr = synth_paths(x->a, (const char *const *)paths.v, counts, paths.n,
					x->L->o->min_support, &rules, method);
		for (size_t k = 0; k < nr; k++)
			if (rules[k].generalised)
				x->s->generalised_paths += rules[k].distinct;
		all = xrealloc(all, (nall + nr) * sizeof(*all));
		if (nr)
			memcpy(all + nall, rules, nr * sizeof(*rules));
		nall += nr;
		x->s->regex_checks += paths.n;
		ptrvec_free(&paths);
		free(counts);
	}
	ptrvec_free(&methods);
	if (nall) {
		en->port.http = arena_alloc(x->a, nall * sizeof(*all));
		memcpy(en->port.http, all, nall * sizeof(*all));
		en->port.nhttp = nall;
	}
	free(all);
}

static void dns_rules(struct sctx *x, struct entry *en)
{
	struct ptrvec names = {0};
	for (size_t i = 0; i < en->n; i++) {
		const struct edge *e = en->f[i].edge;
		if (e->l7 & L7F_OPAQUE) {
			en->port.l7_note = "not DNS only, so no DNS rule";
			ptrvec_free(&names);
			return;
		}
		if (e->l7 & L7F_ODDNAME) {
			en->port.l7_note = "a name no DNS rule can write was asked, so no DNS rule";
			ptrvec_free(&names);
			return;
		}
		if (e->dns.dropped) {
			en->port.l7_note = "too many distinct names to list, so no DNS rule";
			ptrvec_free(&names);
			return;
		}
		for (uint32_t k = 0; k < e->dns.cap; k++) {
			const char *n = e->dns.v[k].s;
			if (!n)
				continue;
			bool seen = false;
			for (size_t j = 0; j < names.n && !seen; j++)
				seen = !strcmp(names.v[j], n);
			if (!seen)
				ptrvec_push(&names, (void *)n);
		}
	}
	if (!names.n) {
		ptrvec_free(&names);
		return;
	}
	const char ***members = xmalloc(names.n * sizeof(*members));
	size_t *nmembers = xmalloc(names.n * sizeof(*nmembers));
	size_t n = generalise_names(x, (const char **)names.v, names.n, members, nmembers);
	sort_items(names.v, n, sizeof(void *), cmp_str);
	en->port.dns = arena_alloc(x->a, n * sizeof(char *));
	memcpy(en->port.dns, names.v, n * sizeof(char *));
	en->port.ndns = n;
	free(members);
	free(nmembers);
	ptrvec_free(&names);
}

static const char *entry_sig(struct sctx *x, const struct entry *en)
{
	struct strbuf sb = {0};
	sb_printf(&sb, "%u/%u", en->port.proto, en->port.port);
	for (size_t i = 0; i < en->port.nhttp; i++)
		sb_printf(&sb, "|h:%s %s", en->port.http[i].method, en->port.http[i].path);
	for (size_t i = 0; i < en->port.ndns; i++)
		sb_printf(&sb, "|d:%s", en->port.dns[i]);
	const char *r = arena_strdup(x->a, sb.s);
	sb_free(&sb);
	return r;
}

static void prov_add(struct prov *p, const struct edge *e)
{
	p->conns += e->ok;
	p->pkts += e->pkts;
	p->requests += 0;
	for (uint32_t k = 0; k < e->http.cap; k++)
		if (e->http.v[k].path)
			p->requests += e->http.v[k].n;
	if (!p->first || (e->first && e->first < p->first))
		p->first = e->first;
	if (e->last > p->last)
		p->last = e->last;
}

/* One peer and everything it is allowed on. */
struct peergroup {
	struct speer *peer;
	struct entry **en;
	size_t n;
	const char *sig;
	bool icmp;
};

static int cmp_pg(const void *a, const void *b)
{
	const struct peergroup *x = a, *y = b;
	if (x->peer->kind != y->peer->kind)
		return (int)x->peer->kind - (int)y->peer->kind;
	if (x->icmp != y->icmp)
		return x->icmp - y->icmp;
	int c = strcmp(x->sig, y->sig);
	return c ? c : strcmp(x->peer->key, y->peer->key);
}

/* CIDR peers sharing one rule: aggregate /32s (/128s) into the smallest covering prefix per
 * bucket of the configured prefix length, when a bucket holds enough addresses. */
static size_t aggregate_cidrs(struct sctx *x, struct speer *peers, size_t n)
{
	const struct learn_opts *o = x->L->o;
	bool *done = xcalloc(n ? n : 1, sizeof(bool));
	size_t w = 0;
	struct speer *out = arena_alloc(x->a, (n ? n : 1) * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		struct prefix pi;
		parse_prefix(peers[i].text, &pi, false);
		unsigned limit = pi.family == 4 ? o->cidr4_prefix : o->cidr6_prefix;
		unsigned full = pi.family == 4 ? 32 : 128;
		if (limit >= full) {
			out[w++] = peers[i];
			done[i] = true;
			continue;
		}
		struct prefix bucket = pi;
		bucket.len = (int)limit;
		size_t members = 0;
		int common = (int)full;
		for (size_t j = i; j < n; j++) {
			struct prefix pj;
			if (done[j] || parse_prefix(peers[j].text, &pj, false) < 0 || pj.family != pi.family ||
			    !prefix_contains(&bucket, &pj))
				continue;
			members++;
			/* common prefix length with the first */
			int c = 0;
			while (c < common && ((pi.addr[c / 8] ^ pj.addr[c / 8]) & (0x80 >> (c % 8))) == 0)
				c++;
			common = c;
		}
		if (members < o->cidr_min_addrs) {
			out[w++] = peers[i];
			done[i] = true;
			continue;
		}
		if (common < (int)limit)
			common = (int)limit;
		struct prefix agg = pi;
		agg.len = common;
		for (int b = common; b < (int)full; b++)
			agg.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		char buf[64];
		format_prefix(&agg, buf, sizeof buf);
		struct speer p = peers[i];
		p.text = arena_strdup(x->a, buf);
		out[w++] = p;
		for (size_t j = i; j < n; j++) {
			struct prefix pj;
			if (!done[j] && parse_prefix(peers[j].text, &pj, false) == 0 &&
			    pj.family == pi.family && prefix_contains(&agg, &pj))
				done[j] = true;
		}
	}
	memcpy(peers, out, w * sizeof(*out));
	free(done);
	return w;
}

static void build_direction(struct sctx *x, struct spolicy *pol, struct fact *f, size_t nf,
			    enum direction dir)
{
	/* entries: group facts by (peer, proto, port) */
	struct entry *en = xcalloc(nf ? nf : 1, sizeof(*en));
	size_t nen = 0;
	for (size_t i = 0; i < nf;) {
		size_t j = i + 1;
		while (j < nf && !strcmp(f[j].peer.key, f[i].peer.key) && f[j].proto == f[i].proto &&
		       f[j].port == f[i].port)
			j++;
		struct entry *e = &en[nen++];
		e->f = &f[i];
		e->n = j - i;
		e->port.proto = f[i].proto;
		e->port.port = f[i].port;
		bool http_here = false, dns_here = false;
		for (size_t k = i; k < j; k++) {
			http_here |= f[k].http_here;
			dns_here |= f[k].dns_here;
			prov_add(&e->prov, f[k].edge);
		}
		/* Cilium takes HTTP rules on TCP ports only, DNS rules on UDP and TCP ports */
		if (!x->L->o->l4_only) {
			if (dns_here && (f[i].proto == 6 || f[i].proto == 17))
				dns_rules(x, e);
			else if (http_here && f[i].proto == 6)
				http_rules(x, e);
		}
		e->sig = entry_sig(x, e);
		i = j;
	}
	/* peer groups: per peer, its entries (ICMP apart) */
	struct peergroup *pg = xcalloc(nen * 2 + 1, sizeof(*pg));
	size_t npg = 0;
	for (size_t i = 0; i < nen;) {
		size_t j = i;
		while (j < nen && !strcmp(en[j].f->peer.key, en[i].f->peer.key))
			j++;
		for (int icmp = 0; icmp < 2; icmp++) {
			struct peergroup g = {&en[i].f->peer, NULL, 0, NULL, icmp};
			struct strbuf sb = {0};
			for (size_t k = i; k < j; k++) {
				bool is_icmp = en[k].port.proto == 1 || en[k].port.proto == 58;
				if (is_icmp != (bool)icmp)
					continue;
				g.en = xrealloc(g.en, (g.n + 1) * sizeof(*g.en));
				g.en[g.n++] = &en[k];
				sb_printf(&sb, "%s;", en[k].sig);
			}
			if (g.n) {
				g.sig = arena_strdup(x->a, sb.s);
				pg[npg++] = g;
			}
			sb_free(&sb);
		}
		i = j;
	}
	sort_items(pg, npg, sizeof(*pg), cmp_pg);
	/* rules: peers of one kind with the same signature */
	struct selem *el = NULL;
	size_t nel = 0;
	for (size_t i = 0; i < npg;) {
		size_t j = i + 1;
		while (j < npg && pg[j].peer->kind == pg[i].peer->kind && pg[j].icmp == pg[i].icmp &&
		       !strcmp(pg[j].sig, pg[i].sig))
			j++;
		el = xrealloc(el, (nel + 1) * sizeof(*el));
		struct selem *r = &el[nel++];
		memset(r, 0, sizeof(*r));
		r->dir = dir;
		r->kind = pg[i].peer->kind;
		r->npeers = j - i;
		r->peers = arena_alloc(x->a, r->npeers * sizeof(*r->peers));
		for (size_t k = i; k < j; k++)
			r->peers[k - i] = *pg[k].peer;
		if (r->kind == SP_CIDR)
			r->npeers = aggregate_cidrs(x, r->peers, r->npeers);
		else if (r->kind == SP_FQDN)
			r->npeers = generalise_fqdns(x, r->peers, r->npeers);
		r->icmp = pg[i].icmp;
		/* ports (or ICMP types) from the first group: all groups share them */
		if (r->icmp) {
			for (size_t k = 0; k < pg[i].n && r->nicmp < 4; k++) {
				r->icmp_types[r->nicmp][0] = pg[i].en[k]->port.proto == 1 ? 4 : 6;
				r->icmp_types[r->nicmp][1] = pg[i].en[k]->port.port;
				r->nicmp++;
			}
		} else {
			r->nports = pg[i].n;
			r->ports = arena_alloc(x->a, r->nports * sizeof(*r->ports));
			for (size_t k = 0; k < pg[i].n; k++)
				r->ports[k] = pg[i].en[k]->port;
		}
		for (size_t k = i; k < j; k++)
			for (size_t m = 0; m < pg[k].n; m++) {
				const struct prov *p = &pg[k].en[m]->prov;
				r->prov.conns += p->conns;
				r->prov.pkts += p->pkts;
				r->prov.requests += p->requests;
				if (!r->prov.first || (p->first && p->first < r->prov.first))
					r->prov.first = p->first;
				if (p->last > r->prov.last)
					r->prov.last = p->last;
			}
		pol->prov.conns += r->prov.conns;
		pol->prov.pkts += r->prov.pkts;
		pol->prov.requests += r->prov.requests;
		if (!pol->prov.first || (r->prov.first && r->prov.first < pol->prov.first))
			pol->prov.first = r->prov.first;
		if (r->prov.last > pol->prov.last)
			pol->prov.last = r->prov.last;
		i = j;
	}
	for (size_t i = 0; i < npg; i++)
		free(pg[i].en);
	free(pg);
	free(en);
	if (dir == DIR_INGRESS) {
		pol->ingress = el;
		pol->ningress = nel;
	} else {
		pol->egress = el;
		pol->negress = nel;
	}
}

int synth_run(struct synth *s, struct learner *L, const struct attr *attr)
{
	struct sctx x = {.s = s, .L = L, .inv = attr_inventory(attr), .a = &s->arena};
	s->L = L;
	s->attr = attr;
	x.existing = s->existing;
	collect(&x);
	sort_items(x.f, x.nf, sizeof(*x.f), cmp_fact);
	/* the explicitly wanted workloads get a policy even when nothing was seen */
	for (size_t i = 0; i < L->o->want.n; i++) {
		const char *w = L->o->want.v[i];
		if (!strchr(w, '/'))
			continue;
		struct wlinfo *wi = wlinfo(&x, w);
		if (!wi->npods)
			ptrvec_push(&s->notes, arena_printf(&s->arena, "--for %s: no such workload in the "
									"inventory",
								w));
	}
	/* policies, in workload order */
	struct ptrvec keys = {0};
	for (size_t i = 0; i < x.nf; i++)
		if (!keys.n || strcmp(keys.v[keys.n - 1], x.f[i].wl))
			ptrvec_push(&keys, (void *)x.f[i].wl);
	for (size_t i = 0; i < L->o->want.n; i++) {
		struct wlinfo *wi = strchr(L->o->want.v[i], '/') ? wlinfo(&x, L->o->want.v[i]) : NULL;
		bool have = false;
		for (size_t k = 0; wi && k < keys.n && !have; k++)
			have = !strcmp(keys.v[k], wi->key);
		if (wi && wi->npods && !have)
			ptrvec_push(&keys, (void *)wi->key);
	}
	sort_items(keys.v, keys.n, sizeof(void *), cmp_str);
	s->pol = xcalloc(keys.n ? keys.n : 1, sizeof(*s->pol));
	for (size_t k = 0; k < keys.n; k++) {
		struct wlinfo *w = wlinfo(&x, keys.v[k]);
		struct spolicy *p = &s->pol[s->npol++];
		p->ns = w->ns;
		p->name = s->existing ? arena_printf(&s->arena, "%s-learned", w->name) : w->name;
		p->workload = w->key;
		p->selector = w->sel;
		p->nselector = w->nsel;
		p->selector_note = w->note;
		p->npods = w->npods;
		size_t a = 0;
		while (a < x.nf && strcmp(x.f[a].wl, w->key))
			a++;
		size_t b = a;
		while (b < x.nf && !strcmp(x.f[b].wl, w->key))
			b++;
		size_t mid = a;
		while (mid < b && x.f[mid].dir == DIR_INGRESS)
			mid++;
		p->ingress_seen = mid > a;
		p->egress_seen = b > mid;
		build_direction(&x, p, x.f + a, mid - a, DIR_INGRESS);
		build_direction(&x, p, x.f + mid, b - mid, DIR_EGRESS);
	}
	ptrvec_free(&keys);
	free(x.f);
	free(x.wl);
	return 0;
}

void synth_free(struct synth *s)
{
	for (size_t i = 0; i < s->npol; i++) {
		free(s->pol[i].ingress);
		free(s->pol[i].egress);
	}
	free(s->pol);
	free(s->flows);
	free(s->skipped);
	ptrvec_free(&s->notes);
	arena_free(&s->arena);
}
