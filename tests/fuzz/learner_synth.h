/* The learner's back half, for the targets that feed it whole captures or flow records:
 * attribution against the sample inventory (samples/inventory/shop.yaml), synthesis, and the
 * YAML of every policy (both emit modes), which must read back through polc's own front-end
 * without an error. */
#ifndef POLC_FUZZ_LEARNER_SYNTH_H
#define POLC_FUZZ_LEARNER_SYNTH_H

#include "learner_common.h"

static struct inventory *synth_inv;
static struct attr *synth_attr;
static struct schema_set *synth_schemas;

static inline void fuzz_synth_init(void)
{
	struct diag_sink d;
	diag_init(&d);
	struct reader_limits lim;
	reader_default_limits(&lim);
	char path[4096];
	snprintf(path, sizeof path, "%s/samples/inventory/shop.yaml", fuzz_srcdir());
	const char *p = path;
	synth_inv = inventory_load(&p, 1, &lim, &d);
	if (!synth_inv)
		fuzz_fail(&d, "cannot load %s", path);
	diag_free(&d);
	synth_attr = attr_build(synth_inv);
	synth_schemas = schema_builtin();
}

static inline void fuzz_synth(struct learner *L)
{
	L->attr = synth_attr;
	struct synth s;
	memset(&s, 0, sizeof s);
	synth_run(&s, L, synth_attr);
	for (size_t i = 0; i < s.npol; i++)
		for (int mode = EMIT_FULL; mode <= EMIT_RESOLVED; mode++) {
			struct strbuf buf = {0};
			if (emit_policy(&s, &s.pol[i], (enum emit_mode)mode, &buf) < 0)
				fuzz_fail(NULL, "polc learn could not write the policy of %s",
					  s.pol[i].workload);
			struct corpus c;
			corpus_init(&c);
			struct load_options o = {0};
			reader_default_limits(&o.limits);
			struct diag_sink d;
			diag_init(&d);
			bool bad = fuzz_load_text(&c, &o, synth_schemas, "learned.yaml",
						  buf.s ? buf.s : "", buf.len, &d) < 0 ||
				   fuzz_has_errors(&d);
			if (bad)
				fuzz_fail(&d, "polc learn wrote a policy polc cannot read:\n%s",
					  buf.s ? buf.s : "");
			corpus_free(&c);
			diag_free(&d);
			sb_free(&buf);
		}
	synth_free(&s);
}

#endif
