/* The reader's two front ends and the event stream they share.
 *
 *   text --(libyaml's parser)------------> yevents --> tree builder (reader.c) --> nodes
 *   text --(block-subset scanner, yamlscan.c)--^
 *
 * The scanner reads the plain block style that kubectl and generators write, several times
 * faster than libyaml. It emits exactly the events libyaml would, with the same marks; on
 * anything outside its subset it gives up and libyaml reads the whole stream instead, so every
 * error message still comes from libyaml. tests/unit/test_yamlscan.c and the yamlscan fuzz
 * target compare the two event streams.
 */
#ifndef POLC_READER_H
#define POLC_READER_H

#include "polc.h"

enum yevent_type {
	YEV_STREAM_START,
	YEV_STREAM_END,
	YEV_DOCUMENT_START,
	YEV_DOCUMENT_END,
	YEV_SCALAR,
	YEV_SEQUENCE_START,
	YEV_SEQUENCE_END,
	YEV_MAPPING_START,
	YEV_MAPPING_END,
	YEV_ALIAS,
	YEV_OTHER,
};

/* One parser event: what the tree builder needs of libyaml's yaml_event_t. */
struct yevent {
	enum yevent_type type;
	int line, col;	    /* 0-based, as libyaml's marks; col counts characters */
	bool quoted;	    /* scalars: not the plain style */
	bool in_place;	    /* value is NUL-terminated where it lies and outlives the tree */
	size_t index;	    /* document starts: character offset of the mark */
	const char *value;  /* scalars: the value (not NUL-terminated); aliases: the anchor */
	size_t len;	    /* of value */
	const char *anchor; /* an anchor on a scalar or collection, else NULL */
};

struct yevent_vec {
	struct yevent *v;
	size_t n, cap;
	struct arena scratch; /* decoded escapes and block scalars; values may point into it */
	const char *base;     /* the text the scanner read: the input, or ... */
	size_t base_len;
	char *unix_text; /* ... the input without the CR of its CRLF line breaks (owned) */
};
void yevent_vec_free(struct yevent_vec *ev);

/* The block-subset scanner. Returns 0 with the whole stream's events (from STREAM_START to
 * STREAM_END) in *out, or -1 when the text is outside the subset (out then holds nothing
 * useful). Scalar values point into out->base (text, or text with CRLF line breaks made LF,
 * which changes neither lines nor columns) or into out's scratch buffer. */
int yaml_scan_fast(const char *text, size_t len, struct yevent_vec *out);

/* Moves every scalar value that lies in ev->base to the same place in copy (a copy of
 * ev->base that the caller keeps as long as the tree), ends it there with a NUL, and marks it
 * in_place. The byte after a value is always a delimiter (a quote, ':', ',', a bracket, a
 * blank or a newline), never part of another value. */
void yaml_scan_terminate(struct yevent_vec *ev, char *copy);

/* libyaml's events for the same text, as the reader converts them: for tests that compare the
 * two. Returns 0, or -1 if libyaml reports an error. */
int yaml_scan_libyaml(const char *text, size_t len, struct yevent_vec *out);

/* The index of the first event where a and b differ in what the tree builder reads (type;
 * line and column of scalars and collection starts; a scalar's value and style), a->n if a is
 * a prefix of b, or (size_t)-1 if they agree. For the tests that compare the two readers. */
size_t yevent_vec_mismatch(const struct yevent_vec *a, const struct yevent_vec *b);

#endif
