/* Selector cache: a flat peer -> the sorted set of identities it selects. Entities and CIDRs
 * expand the way Cilium expands them (cilium-semantics.md 3.5, 3.6). */
#include "polc.h"
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

static void push_id(struct idset *s, uint32_t id)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(uint32_t));
	}
	s->v[s->n++] = id;
}

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

/* Does entity `e` select identity `id`? */
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
		return !id->is_cidr && selector_matches(&p->sel, &id->labels);
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
	if (out->any)
		return;
	for (size_t i = 0; i < c->nids; i++)
		if (peer_selects(c, p, c->ids[i]))
			push_id(out, c->ids[i]->id);
}

void idset_free(struct idset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
