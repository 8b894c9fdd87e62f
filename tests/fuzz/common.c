/* Shared pieces of polc's fuzz targets; see common.h. */
#include "common.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

void fuzz_fail(const struct diag_sink *d, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "polc fuzz: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (d && d->n)
		diag_render(d, FORMAT_TEXT, stderr, 0);
	fflush(stderr);
	abort();
}

FILE *fuzz_devnull(void)
{
	static FILE *f;
	if (!f)
		f = fopen("/dev/null", "w");
	if (!f)
		fuzz_fail(NULL, "cannot open /dev/null");
	return f;
}

static char scratch_dir[PATH_MAX];
static struct ptrvec scratch_files;

static void scratch_cleanup(void)
{
	for (size_t i = 0; i < scratch_files.n; i++) {
		unlink(scratch_files.v[i]);
		free(scratch_files.v[i]);
	}
	ptrvec_free(&scratch_files);
	if (scratch_dir[0])
		rmdir(scratch_dir);
}

const char *fuzz_scratch_file(const char *suffix, const void *data, size_t size)
{
	if (!scratch_dir[0]) {
		const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
		snprintf(scratch_dir, sizeof scratch_dir, "%s/polc-fuzz-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(scratch_dir))
			fuzz_fail(NULL, "cannot create a temporary directory in %s", tmp);
		atexit(scratch_cleanup);
	}
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/f%s", scratch_dir, suffix);
	bool known = false;
	for (size_t i = 0; i < scratch_files.n && !known; i++)
		known = !strcmp(scratch_files.v[i], path);
	if (!known)
		ptrvec_push(&scratch_files, xstrdup(path));
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		fuzz_fail(NULL, "cannot write %s", path);
	for (size_t i = 0; i < scratch_files.n; i++)
		if (!strcmp(scratch_files.v[i], path))
			return scratch_files.v[i];
	return NULL;
}

const char *fuzz_srcdir(void)
{
	const char *s = getenv("POLC_SRCDIR");
	return s && *s ? s : FUZZ_SRCDIR;
}

int fuzz_load_text(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		   const char *name, const void *data, size_t size, struct diag_sink *d)
{
	/* fmemopen wants a non-empty buffer in older C libraries. */
	static const char empty[1];
	FILE *in = fmemopen(size ? (void *)data : (void *)empty, size ? size : 1, "rb");
	if (!in)
		fuzz_fail(NULL, "fmemopen failed");
	if (!size)
		fgetc(in); /* position at the end: an empty stream */
	struct source *src;
	struct ptrvec docs = {0};
	int rc = read_stream(&c->arena, name, in, &o->limits, d, &src, &docs);
	fclose(in);
	ptrvec_push(&c->sources, src);
	for (size_t i = 0; rc == 0 && i < docs.n; i++)
		if (corpus_add_document(c, o, s, ((struct document *)docs.v[i])->root, d) < 0)
			rc = -1;
	ptrvec_free(&docs);
	return rc;
}

void fuzz_load_fixed(struct corpus *c, const struct load_options *o, const struct schema_set *s,
		     const char *const *rel_paths, size_t n)
{
	struct diag_sink d;
	diag_init(&d);
	const char **abs = xcalloc(n + 1, sizeof(*abs));
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(fuzz_srcdir()) + strlen(rel_paths[i]) + 2;
		char *p = xmalloc(len);
		snprintf(p, len, "%s/%s", fuzz_srcdir(), rel_paths[i]);
		abs[i] = p;
	}
	if (corpus_load(c, o, s, abs, n, &d) < 0 || d.counts[SEV_ERROR])
		fuzz_fail(&d, "cannot load the fixed inputs (is POLC_SRCDIR right?)");
	for (size_t i = 0; i < n; i++)
		free((void *)abs[i]);
	free(abs);
	diag_free(&d);
}

struct inventory *fuzz_inventory_text(const char *name, const void *data, size_t size,
				      struct diag_sink *d)
{
	struct corpus *objects = xcalloc(1, sizeof(*objects));
	corpus_init(objects);
	struct schema_set *s = schema_builtin();
	/* as inventory_load(): for inventories the document limit is the input limit */
	struct load_options o = {.inventory = true};
	reader_default_limits(&o.limits);
	o.limits.max_document_bytes = o.limits.max_input_bytes;
	int rc = fuzz_load_text(objects, &o, s, name, data, size, d);
	schema_free(s);
	if (rc < 0) {
		corpus_free(objects);
		free(objects);
		return NULL;
	}
	return inventory_build(objects);
}

void fuzz_probe_image(const struct image *img, uint32_t extra_identity, uint16_t extra_port)
{
	static const uint8_t protos[] = {6, 17, 1, 47};
	uint16_t ports[] = {0, 65535, extra_port};
	size_t neps = img->neps < 4 ? img->neps : 4;
	volatile size_t sink = 0;
	for (size_t e = 0; e < neps; e++) {
		const struct polc_endpoint_rec *ep = &img->eps[e];
		const char *name = image_string(img, ep->value.name_off);
		if (image_endpoint_by_name(img, name) == NULL)
			fuzz_fail(NULL, "endpoint %s of the image cannot be found by its name", name);
		size_t nids = img->nids < 4 ? img->nids : 4;
		for (uint8_t dir = 0; dir < 2; dir++)
			for (size_t i = 0; i <= nids + 1; i++) {
				uint32_t remote = i < nids ? img->ids[i].id : i == nids ? 0 : extra_identity;
				for (size_t p = 0; p < sizeof protos; p++)
					for (size_t k = 0; k < sizeof ports / sizeof *ports; k++) {
						struct polc_decision dec;
						image_decide(img, ep->value.endpoint_id, dir, remote,
							     protos[p], ports[k], &dec);
						sink += reason_of_decision(&dec);
						const struct polc_origin *o = image_origin(img, dec.cookie);
						if (o)
							sink += strlen(image_string(img, o->name_off)) +
								strlen(image_string(img, o->namespace_off)) +
								strlen(image_string(img, o->file_off));
					}
			}
	}
	for (size_t i = 0; i < img->nids && i < 64; i++)
		sink += strlen(image_string(img, img->ids[i].labels_off));
	for (size_t i = 0; i < img->nl7; i++)
		sink += strlen(image_string(img, img->l7[i].text_off));
	(void)sink;
}

size_t fuzz_images_roundtrip(struct session *s, size_t max_nodes)
{
	if (session_build(s) < 0 || !s->flat_ready)
		return 0;
	size_t checked = 0;
	struct compile_options o = {.generation = 1, .max_per_endpoint = 16384};
	digest_inputs(&s->policies, o.policies_digest);
	digest_inputs(s->inv->objects, o.inventory_digest);
	for (size_t i = 0; i < s->inv->nnodes && i < max_nodes; i++) {
		const char *node = s->inv->nodes[i].name;
		if (!node || !*node || strlen(node) >= 64)
			continue;
		o.node = node;
		struct diag_sink d;
		diag_init(&d);
		struct strbuf buf = {0};
		struct compile_stats st;
		if (image_build(s, &o, &buf, &st, &d) < 0) {
			/* refused (capacity): it must say why */
			if (!d.counts[SEV_ERROR])
				fuzz_fail(&d, "image_build failed for node %s without an error", node);
			sb_free(&buf);
			diag_free(&d);
			continue;
		}
		uint8_t *copy = aligned_alloc(8, (buf.len + 7) & ~(size_t)7);
		memcpy(copy, buf.s, buf.len);
		struct image img;
		if (image_parse(copy, buf.len, node, &img, &d) < 0) {
			fuzz_fail(&d, "the image image_build wrote for node %s does not parse", node);
		}
		struct verify_stats vs;
		if (image_verify_semantics(&img, s, &vs, &d, NULL) < 0)
			fuzz_fail(&d, "node %s: image and policies disagree (%zu mismatches of %zu checks)",
				  node, vs.mismatches, vs.checks);
		image_free(&img);
		sb_free(&buf);
		diag_free(&d);
		checked++;
	}
	return checked;
}
