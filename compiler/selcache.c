/* Selector cache: a flat peer -> the sorted set of identities it selects. Entities and CIDRs
 * expand the way Cilium expands them (cilium-semantics.md 3.5, 3.6).
 *
 * Two indexes keep this fast at 100k pods and 10k policies: posting lists from a label
 * (key=value, and key alone) to the identities that carry it, so a selector only looks at the
 * identities its most selective requirement allows; and a cache of equal selectors, so each
 * distinct selector is evaluated once. flat_index() then inverts subjects: per identity, the
 * rules and sections that select it.
 */
#include "polc.h"
#include "resolve.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* ---------------------------------------------------------------- id sets */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void idset_add(struct idset *s, uint32_t id)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(uint32_t));
	}
	s->v[s->n++] = id;
}

void idset_free(struct idset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Sorts what idset_add collected and drops repeats. */
void idset_sort(struct idset *s)
{
	if (s->n > 1)
		sort_items(s->v, s->n, sizeof(uint32_t), cmp_u32);
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!w || s->v[w - 1] != s->v[i])
			s->v[w++] = s->v[i];
	s->n = w;
}

bool idset_has(const struct idset *s, uint32_t id)
{
	if (s->any)
		return true;
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->v[lo] == id;
}

/* ---------------------------------------------------------------- label index */

struct posting {
	const char *key; /* "source:key=value" or "source:key" */
	size_t *idx;     /* indexes into c->ids, ascending */
	size_t n, cap;
	UT_hash_handle hh;
};

static void post(struct cluster *c, struct posting **index, const char *key, size_t i)
{
	struct posting *p = NULL;
	HASH_FIND_STR(*index, key, p);
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->key = arena_strdup(&c->arena, key);
		HASH_ADD_KEYPTR(hh, *index, p->key, strlen(p->key), p);
	}
	if (p->n && p->idx[p->n - 1] == i)
		return;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->idx = xrealloc(p->idx, p->cap * sizeof(size_t));
	}
	p->idx[p->n++] = i;
}

/* Each label is posted under its own source and under "any", with and without its value. */
void cluster_index_labels(struct cluster *c)
{
	struct posting *index = NULL;
	struct strbuf sb = {0};
	for (size_t i = 0; i < c->nids; i++) {
		const struct label_set *ls = &c->ids[i]->labels;
		for (size_t k = 0; k < ls->n; k++) {
			const char *sources[] = {ls->v[k].source, "any"};
			for (int s = 0; s < 2; s++) {
				sb.len = 0;
				sb_printf(&sb, "%s:%s", sources[s], ls->v[k].key);
				post(c, &index, sb.s, i);
				sb_printf(&sb, "=%s", ls->v[k].value);
				post(c, &index, sb.s, i);
			}
		}
	}
	sb_free(&sb);
	c->label_index = index;
}

void cluster_free_label_index(struct cluster *c)
{
	struct posting *index = c->label_index, *p, *tmp;
	HASH_ITER(hh, index, p, tmp)
	{
		HASH_DEL(index, p);
		free(p->idx);
		free(p);
	}
	c->label_index = NULL;
}

static const struct posting *find_posting(const struct cluster *c, const char *written,
					  const char *value)
{
	char key[1024];
	const char *colon = strchr(written, ':');
	if (written[0] == '$')
		snprintf(key, sizeof key, "reserved:%s", written + 1);
	else if (colon)
		snprintf(key, sizeof key, "%s", written);
	else
		snprintf(key, sizeof key, "any:%s", written);
	if (value)
		snprintf(key + strlen(key), sizeof key - strlen(key), "=%s", value);
	struct posting *index = c->label_index, *p = NULL;
	HASH_FIND_STR(index, key, p);
	return p;
}

/* The candidate identities for a selector: its narrowest In or Exists requirement's
 * posting lists, or every identity when it has none. Returns the count, -1 for "all". */
static long candidates(const struct cluster *c, const struct selector *s, size_t **out)
{
	long best = -1;
	const struct label_req *pick = NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct label_req *r = &s->reqs[i];
		if (r->op != OP_IN && r->op != OP_EXISTS)
			continue;
		long n = 0;
		if (r->op == OP_EXISTS) {
			const struct posting *p = find_posting(c, r->key, NULL);
			n = p ? (long)p->n : 0;
		} else {
			for (size_t k = 0; k < r->nvalues; k++) {
				const struct posting *p = find_posting(c, r->key, r->values[k]);
				n += p ? (long)p->n : 0;
			}
		}
		if (best < 0 || n < best) {
			best = n;
			pick = r;
		}
	}
	if (!pick)
		return -1;
	size_t *v = xmalloc(((size_t)best + 1) * sizeof(size_t)), n = 0;
	size_t nvals = pick->op == OP_EXISTS ? 1 : pick->nvalues;
	for (size_t k = 0; k < nvals; k++) {
		const struct posting *p =
			find_posting(c, pick->key, pick->op == OP_EXISTS ? NULL : pick->values[k]);
		for (size_t j = 0; p && j < p->n; j++)
			v[n++] = p->idx[j];
	}
	*out = v;
	return (long)n;
}

/* ---------------------------------------------------------------- peers */

static bool has_reserved(const struct identity *id, const char *name)
{
	return label_get(&id->labels, "reserved", name) != NULL;
}

static bool is_world(const struct identity *id)
{
	return has_reserved(id, "world") || has_reserved(id, "world-ipv4") ||
	       has_reserved(id, "world-ipv6");
}

static bool is_local_pod(const struct cluster *c, const struct identity *id)
{
	const char *cl = label_get(&id->labels, "k8s", "io.cilium.k8s.policy.cluster");
	return cl && !strcmp(cl, c->sem.cluster_name);
}

bool entity_selects(const struct cluster *c, const char *e, const struct identity *id)
{
	if (!strcmp(e, "all"))
		return true;
	if (!strcmp(e, "world"))
		return is_world(id);
	if (!strcmp(e, "world-ipv4"))
		return has_reserved(id, c->dual_stack ? "world-ipv4" : "world");
	if (!strcmp(e, "world-ipv6"))
		return has_reserved(id, c->dual_stack ? "world-ipv6" : "world");
	if (!strcmp(e, "cluster"))
		return (id->id >= ID_HOST && id->id <= ID_INGRESS && id->id != ID_WORLD) ||
		       is_local_pod(c, id);
	if (!strcmp(e, "none"))
		return false;
	/* host, remote-node, kube-apiserver, ingress, health, unmanaged, init: by label, so
	 * remote-node also takes kube-apiserver (identity 7 carries both). */
	return has_reserved(id, e);
}

static bool cidr_selects(const struct cluster *c, const struct flat_peer *p,
			 const struct identity *id)
{
	if (p->cidr.len == 0 && !id->is_cidr) {
		/* 0.0.0.0/0 and ::/0 are the world identities themselves. */
		uint32_t want = !c->dual_stack ? ID_WORLD : p->cidr.family == 4 ? ID_WORLD_IPV4
										 : ID_WORLD_IPV6;
		return id->id == want;
	}
	if (!id->is_cidr || !prefix_contains(&p->cidr, &id->cidr))
		return false;
	for (size_t i = 0; i < p->nexcept; i++)
		if (prefix_contains(&p->except[i], &id->cidr))
			return false;
	return true;
}

bool peer_selects(const struct cluster *c, const struct flat_peer *p, const struct identity *id)
{
	switch (p->type) {
	case PT_ALL:
		return true;
	case PT_SELECTOR:
		/* By labels alone: a reserved:world selector takes the CIDR identities too, which
		 * carry that label; ordinary selectors have namespace/cluster requirements that
		 * CIDR identities never meet. */
		return selector_matches(&p->sel, &id->labels);
	case PT_ENTITY:
		return entity_selects(c, p->entity, id);
	case PT_CIDR:
		return cidr_selects(c, p, id);
	default:
		return false;
	}
}

void peer_identities(const struct cluster *c, const struct flat_peer *p, struct idset *out)
{
	out->n = 0;
	out->any = p->type == PT_ALL;
	if (out->any || p->type == PT_NOTHING)
		return;
	size_t *cand = NULL;
	long n = p->type == PT_SELECTOR && c->label_index ? candidates(c, &p->sel, &cand) : -1;
	if (n < 0) {
		for (size_t i = 0; i < c->nids; i++)
			if (peer_selects(c, p, c->ids[i]))
				idset_add(out, c->ids[i]->id);
		return;
	}
	for (long i = 0; i < n; i++)
		if (peer_selects(c, p, c->ids[cand[i]]))
			idset_add(out, c->ids[cand[i]]->id);
	free(cand);
	idset_sort(out);
}

/* ---------------------------------------------------------------- flat index */

struct cached_set {
	const char *key;
	struct idset set;
	UT_hash_handle hh;
};

struct id_lists {
	uint32_t *v;
	size_t n, cap;
};

struct flat_index {
	struct cached_set *cache;
	struct id_lists *rules;    /* per identity index (into c->ids): rules selecting it */
	struct id_lists *sections; /* ... and sections */
	size_t nids;
};

/* What makes two peers equal for selection. */
static void peer_key(const struct flat_peer *p, struct strbuf *sb)
{
	char buf[64];
	sb->len = 0;
	sb_printf(sb, "%d|", p->type);
	switch (p->type) {
	case PT_SELECTOR:
		for (size_t i = 0; i < p->sel.n; i++) {
			sb_printf(sb, "%s/%d", p->sel.reqs[i].key, p->sel.reqs[i].op);
			for (size_t k = 0; k < p->sel.reqs[i].nvalues; k++)
				sb_printf(sb, "=%s", p->sel.reqs[i].values[k]);
			sb_puts(sb, ";");
		}
		break;
	case PT_ENTITY:
		sb_puts(sb, p->entity);
		break;
	case PT_CIDR:
		format_prefix(&p->cidr, buf, sizeof buf);
		sb_puts(sb, buf);
		for (size_t i = 0; i < p->nexcept; i++) {
			format_prefix(&p->except[i], buf, sizeof buf);
			sb_printf(sb, "-%s", buf);
		}
		break;
	default:
		break;
	}
}

static const struct idset *cached_identities(const struct cluster *c, struct flat_index *fx,
					     const struct flat_peer *p, struct strbuf *sb)
{
	peer_key(p, sb);
	struct cached_set *e = NULL;
	HASH_FIND_STR(fx->cache, sb->s, e);
	if (e)
		return &e->set;
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(sb->s);
	peer_identities(c, p, &e->set);
	HASH_ADD_KEYPTR(hh, fx->cache, e->key, strlen(e->key), e);
	return &e->set;
}

static void list_push(struct id_lists *l, uint32_t v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xrealloc(l->v, l->cap * sizeof(uint32_t));
	}
	l->v[l->n++] = v;
}

/* Subjects are selectors over the same identities; reuse the cache (as PT_SELECTOR). */
static const struct idset *subject_identities(const struct cluster *c, struct flat_index *fx,
					      const struct selector *subject, bool host,
					      struct strbuf *sb)
{
	static const struct idset empty = {0};
	if (host)
		return &empty; /* host policies select the host endpoint, not pods */
	struct flat_peer p = {.type = PT_SELECTOR, .sel = *subject};
	return cached_identities(c, fx, &p, sb);
}

void flat_index(const struct cluster *c, struct flat_policy *fp)
{
	struct flat_index *fx = xcalloc(1, sizeof(*fx));
	struct id_lists *rules = xcalloc(c->nids + 1, sizeof(*rules));
	struct id_lists *sections = xcalloc(c->nids + 1, sizeof(*sections));
	fx->rules = rules;
	fx->sections = sections;
	fx->nids = c->nids;
	struct strbuf sb = {0};
	for (size_t i = 0; i < fp->nrules; i++) {
		struct flat_rule *r = &fp->rules[i];
		for (size_t p = 0; p < r->npeers; p++)
			r->peers[p].ids = cached_identities(c, fx, &r->peers[p], &sb);
		const struct idset *subj = subject_identities(c, fx, &r->subject, r->subject_is_host, &sb);
		for (size_t k = 0; k < subj->n; k++)
			list_push(&rules[identity_index(c, subj->v[k])], (uint32_t)i);
	}
	for (size_t i = 0; i < fp->nsections; i++) {
		const struct flat_section *s = &fp->sections[i];
		const struct idset *subj = subject_identities(c, fx, &s->subject, s->subject_is_host, &sb);
		for (size_t k = 0; k < subj->n; k++)
			list_push(&sections[identity_index(c, subj->v[k])], (uint32_t)i);
	}
	sb_free(&sb);
	fp->index = fx;
}

void flat_selected(const struct cluster *c, const struct flat_policy *fp, uint32_t id,
		   const uint32_t **rules, size_t *nrules, const uint32_t **sections,
		   size_t *nsections)
{
	size_t i = identity_index(c, id);
	const struct id_lists *r = &fp->index->rules[i], *s = &fp->index->sections[i];
	*rules = r->v;
	*nrules = r->n;
	*sections = s->v;
	*nsections = s->n;
}

void flat_index_free(struct flat_policy *fp)
{
	struct flat_index *fx = fp->index;
	if (!fx)
		return;
	struct cached_set *e, *tmp;
	HASH_ITER(hh, fx->cache, e, tmp)
	{
		HASH_DEL(fx->cache, e);
		free((char *)e->key);
		idset_free(&e->set);
		free(e);
	}
	for (size_t i = 0; i <= fx->nids; i++) {
		free(fx->rules[i].v);
		free(fx->sections[i].v);
	}
	free(fx->rules);
	free(fx->sections);
	fp->index = NULL;
	free(fx);
}
