/* Shared pieces of the learner's fuzz targets (learner/learn.h). */
#ifndef POLC_FUZZ_LEARNER_COMMON_H
#define POLC_FUZZ_LEARNER_COMMON_H

#include "common.h"
#include "learn.h"

#include <stdlib.h>
#include <string.h>

/* A learner with small tables and budgets, so that the limits are reached by small inputs:
 * 64 connections, 256 edges, 64 KiB of parser buffers. */
static inline void fuzz_learner_init(struct learner *L, struct learn_opts *o)
{
	learn_opts_defaults(o);
	o->quiet = true;
	o->progress = 0;
	o->max_conns = 64;
	o->max_edges = 256;
	o->max_l7_memory = 64u << 10;
	learner_init(L, o);
}

/* A small cursor over the input. */
struct cursor {
	const uint8_t *p;
	size_t n, i;
};

static inline size_t cur_left(const struct cursor *c)
{
	return c->n - c->i;
}

static inline unsigned cur_u8(struct cursor *c)
{
	return c->i < c->n ? c->p[c->i++] : 0;
}

static inline unsigned cur_u16(struct cursor *c)
{
	unsigned hi = cur_u8(c);
	return hi << 8 | cur_u8(c);
}

/* Up to want bytes (fewer at the end); returns how many. */
static inline size_t cur_take(struct cursor *c, size_t want, const uint8_t **out)
{
	size_t n = want < cur_left(c) ? want : cur_left(c);
	*out = c->p + c->i;
	c->i += n;
	return n;
}

#endif
