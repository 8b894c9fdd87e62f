/* Policies as canonical YAML, written with libyaml's emitter: fixed key order, sorted peers
 * and ports, strings quoted whenever YAML 1.1 could read them as something else. The same
 * input always gives the same bytes.
 *
 * Provenance travels with each policy: a comment header for people (why this selector, what
 * each rule is for, how often and when it was seen) and the same facts as annotations for
 * tools (learn.polc.io/...), since libyaml's emitter writes no comments inside a document.
 */
#include "learn.h"

#include <errno.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

void format_time(uint64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03uZ", base, (unsigned)(ns / 1000000ull % 1000));
}

/* ---------------------------------------------------------------- the emitter */

struct em {
	yaml_emitter_t e;
	yaml_event_t ev;
	bool failed;
};

static int write_sb(void *data, unsigned char *buf, size_t size)
{
	sb_add(data, (const char *)buf, size);
	return 1;
}

static void emit(struct em *m)
{
	if (m->failed) /* the emitter takes events it is given; this one it was not */
		yaml_event_delete(&m->ev);
	else if (!yaml_emitter_emit(&m->e, &m->ev))
		m->failed = true;
}

/* Would YAML 1.1 (or 1.2) read this plain scalar as anything but a string? */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = {"y", "n", "yes", "no", "on", "off", "true", "false",
					    "null", "~", ""};
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	bool digits = *p != 0;
	for (const char *q = p; *q && digits; q++)
		digits = (*q >= '0' && *q <= '9') || *q == '.' || *q == '_' || *q == 'e' || *q == 'E' ||
			 *q == 'x' || *q == 'o' || *q == ':';
	if (digits)
		return true;
	if (!strcmp(s, ".inf") || !strcmp(s, ".nan") || s[0] == '*' || s[0] == '&' || s[0] == '!' ||
	    s[0] == '%' || s[0] == '@' || s[0] == '`' || s[0] == '|' || s[0] == '>' ||
	    s[0] == '\'' || s[0] == '"' || s[0] == '#' || s[0] == '{' || s[0] == '[' || s[0] == '?' ||
	    s[0] == ' ' || strstr(s, ": ") || strstr(s, " #") || s[strlen(s) - 1] == ' ')
		return true;
	return false;
}

static void str(struct em *m, const char *s)
{
	/* libyaml's emitter does not check its input: bytes that are not UTF-8 make it loop.
	 * The learner keeps such strings out of policies; this is the last guard. */
	if (!utf8_valid(s)) {
		m->failed = true;
		return;
	}
	yaml_scalar_event_initialize(&m->ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
				     needs_quotes(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
						     : YAML_ANY_SCALAR_STYLE);
	emit(m);
}

static void num(struct em *m, long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%ld", v);
	yaml_scalar_event_initialize(&m->ev, NULL, NULL, (yaml_char_t *)buf, (int)strlen(buf), 1, 0,
				     YAML_PLAIN_SCALAR_STYLE);
	emit(m);
}

static void kv(struct em *m, const char *k, const char *v)
{
	str(m, k);
	str(m, v);
}

static void map_open(struct em *m)
{
	yaml_mapping_start_event_initialize(&m->ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	emit(m);
}

static void map_close(struct em *m)
{
	yaml_mapping_end_event_initialize(&m->ev);
	emit(m);
}

static void seq_open(struct em *m)
{
	yaml_sequence_start_event_initialize(&m->ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
	emit(m);
}

static void seq_close(struct em *m)
{
	yaml_sequence_end_event_initialize(&m->ev);
	emit(m);
}

/* ---------------------------------------------------------------- policy text */

/* Only TCP, UDP, SCTP, ICMP and ICMPv6 reach a policy (synth.c skips other protocols). */
static const char *proto_name(uint8_t p)
{
	return ip_proto_name(p) ? ip_proto_name(p) : "ANY";
}

/* A name, or a pattern generalised from names ("*.parent"): matchName or matchPattern. */
static void fqdn_selector(struct em *m, const char *name)
{
	map_open(m);
	kv(m, !strncmp(name, "*.", 2) ? "matchPattern" : "matchName", name);
	map_close(m);
}

static void labels(struct em *m, const struct kv *v, size_t n)
{
	map_open(m);
	str(m, "matchLabels");
	map_open(m);
	for (size_t i = 0; i < n; i++)
		kv(m, v[i].k, v[i].v);
	map_close(m);
	map_close(m);
}

static void peer_list(struct em *m, const struct synth *s, const struct selem *r,
		      enum emit_mode mode)
{
	bool in = r->dir == DIR_INGRESS;
	switch (r->kind) {
	case SP_ENDPOINT:
		str(m, in ? "fromEndpoints" : "toEndpoints");
		seq_open(m);
		for (size_t i = 0; i < r->npeers; i++)
			labels(m, r->peers[i].labels, r->peers[i].nlabels);
		seq_close(m);
		break;
	case SP_ENTITY:
		str(m, in ? "fromEntities" : "toEntities");
		seq_open(m);
		for (size_t i = 0; i < r->npeers; i++)
			str(m, r->peers[i].text);
		seq_close(m);
		break;
	case SP_CIDR:
		str(m, in ? "fromCIDRSet" : "toCIDRSet");
		seq_open(m);
		for (size_t i = 0; i < r->npeers; i++) {
			map_open(m);
			kv(m, "cidr", r->peers[i].text);
			map_close(m);
		}
		seq_close(m);
		break;
	case SP_FQDN:
		if (mode == EMIT_RESOLVED) {
			/* what Cilium's DNS proxy would have put behind these names */
			struct ip addrs[64];
			size_t n = 0;
			for (size_t i = 0; i < r->npeers && n < 64; i++) {
				const struct speer *pe = &r->peers[i];
				if (!pe->nmembers)
					n += dns_addrs_for(s->L, pe->text, addrs + n, 64 - n);
				for (size_t k = 0; k < pe->nmembers && n < 64; k++)
					n += dns_addrs_for(s->L, pe->members[k], addrs + n, 64 - n);
			}
			if (n) {
				str(m, "toCIDRSet");
				seq_open(m);
				for (size_t i = 0; i < n; i++) {
					char buf[64], pfx[80];
					ip_format(&addrs[i], buf, sizeof buf);
					snprintf(pfx, sizeof pfx, "%s/%d", buf, ip_is_v4(&addrs[i]) ? 32 : 128);
					map_open(m);
					kv(m, "cidr", pfx);
					map_close(m);
				}
				seq_close(m);
				break;
			}
		}
		str(m, "toFQDNs");
		seq_open(m);
		for (size_t i = 0; i < r->npeers; i++)
			fqdn_selector(m, r->peers[i].text);
		seq_close(m);
		break;
	}
}

static void port_entry(struct em *m, const struct sport *p)
{
	char port[8];
	snprintf(port, sizeof port, "%u", p->port);
	map_open(m);
	kv(m, "port", port);
	kv(m, "protocol", proto_name(p->proto));
	map_close(m);
}

static void to_ports(struct em *m, const struct selem *r)
{
	str(m, "toPorts");
	seq_open(m);
	/* the ports without L7 rules share one PortRule; each port with rules has its own */
	size_t plain = 0;
	for (size_t i = 0; i < r->nports; i++)
		plain += !r->ports[i].nhttp && !r->ports[i].ndns;
	if (plain) {
		map_open(m);
		str(m, "ports");
		seq_open(m);
		for (size_t i = 0; i < r->nports; i++)
			if (!r->ports[i].nhttp && !r->ports[i].ndns)
				port_entry(m, &r->ports[i]);
		seq_close(m);
		map_close(m);
	}
	for (size_t i = 0; i < r->nports; i++) {
		const struct sport *p = &r->ports[i];
		if (!p->nhttp && !p->ndns)
			continue;
		map_open(m);
		str(m, "ports");
		seq_open(m);
		port_entry(m, p);
		seq_close(m);
		str(m, "rules");
		map_open(m);
		if (p->nhttp) {
			str(m, "http");
			seq_open(m);
			for (size_t k = 0; k < p->nhttp; k++) {
				map_open(m);
				kv(m, "method", p->http[k].method);
				kv(m, "path", p->http[k].path);
				map_close(m);
			}
			seq_close(m);
		} else {
			str(m, "dns");
			seq_open(m);
			for (size_t k = 0; k < p->ndns; k++)
				fqdn_selector(m, p->dns[k]);
			seq_close(m);
		}
		map_close(m);
		map_close(m);
	}
	seq_close(m);
}

static void element(struct em *m, const struct synth *s, const struct selem *r,
		    enum emit_mode mode)
{
	map_open(m);
	peer_list(m, s, r, mode);
	if (r->icmp) {
		str(m, "icmps");
		seq_open(m);
		map_open(m);
		str(m, "fields");
		seq_open(m);
		for (size_t i = 0; i < r->nicmp; i++) {
			map_open(m);
			str(m, "type");
			num(m, r->icmp_types[i][1]);
			kv(m, "family", r->icmp_types[i][0] == 4 ? "IPv4" : "IPv6");
			map_close(m);
		}
		seq_close(m);
		map_close(m);
		seq_close(m);
	} else if (r->nports) {
		to_ports(m, r);
	}
	map_close(m);
}

static const char *peer_name(const struct speer *p)
{
	return p->kind == SP_ENDPOINT ? p->workload : p->text;
}

/* "3 connections, 27 packets, 5 requests; first ..., last ..." */
static char *prov_text(const struct prov *p)
{
	char a[40], b[40];
	format_time(p->first, a, sizeof a);
	format_time(p->last, b, sizeof b);
	struct strbuf sb = {0};
	sb_printf(&sb, "%llu connection%s, %llu packet%s", (unsigned long long)p->conns,
		  p->conns == 1 ? "" : "s", (unsigned long long)p->pkts, p->pkts == 1 ? "" : "s");
	if (p->requests)
		sb_printf(&sb, ", %llu request%s", (unsigned long long)p->requests,
			  p->requests == 1 ? "" : "s");
	sb_printf(&sb, "; first %s, last %s", a, b);
	return sb.s;
}

static char *rule_text(const struct selem *r)
{
	struct strbuf sb = {0};
	bool in = r->dir == DIR_INGRESS;
	sb_printf(&sb, "%s ", in ? "from" : "to");
	for (size_t i = 0; i < r->npeers; i++)
		sb_printf(&sb, "%s%s", i ? ", " : "", peer_name(&r->peers[i]));
	sb_puts(&sb, " on ");
	if (r->icmp)
		for (size_t i = 0; i < r->nicmp; i++)
			sb_printf(&sb, "%sICMP%s type %d", i ? ", " : "", r->icmp_types[i][0] == 6 ? "v6" : "",
				  r->icmp_types[i][1]);
	for (size_t i = 0; i < r->nports; i++) {
		const struct sport *p = &r->ports[i];
		sb_printf(&sb, "%s%u/%s", i ? ", " : "", p->port, proto_name(p->proto));
		if (p->nhttp)
			sb_printf(&sb, " (%zu HTTP rule%s)", p->nhttp, p->nhttp == 1 ? "" : "s");
		if (p->ndns)
			sb_printf(&sb, " (%zu DNS name%s)", p->ndns, p->ndns == 1 ? "" : "s");
	}
	char *pv = prov_text(&r->prov);
	sb_printf(&sb, ": %s", pv);
	free(pv);
	return sb.s;
}

static void header(struct strbuf *out, const struct spolicy *p)
{
	sb_printf(out, "# Generated by polc learn for %s from observed traffic.\n", p->workload);
	sb_printf(out, "# Selector: %s.\n", p->selector_note);
	for (int d = 0; d < 2; d++) {
		const struct selem *v = d ? p->egress : p->ingress;
		size_t n = d ? p->negress : p->ningress;
		const char *dir = d ? "egress" : "ingress";
		if (!n)
			sb_printf(out, "# %s: nothing observed, so nothing allowed (default deny).\n", dir);
		for (size_t i = 0; i < n; i++) {
			char *t = rule_text(&v[i]);
			sb_printf(out, "# %s[%zu] %s.\n", dir, i, t);
			free(t);
			for (size_t k = 0; k < v[i].nports; k++) {
				const struct sport *sp = &v[i].ports[k];
				if (sp->l7_note)
					sb_printf(out, "#   %u/%s: %s.\n", sp->port, proto_name(sp->proto),
						  sp->l7_note);
				for (size_t h = 0; h < sp->nhttp; h++)
					if (sp->http[h].generalised)
						sb_printf(out, "#   %s %s stands for %u observed paths (%llu "
							       "requests).\n",
							  sp->http[h].method, sp->http[h].path, sp->http[h].distinct,
							  (unsigned long long)sp->http[h].support);
			}
		}
	}
}

int emit_policy(const struct synth *s, const struct spolicy *p, enum emit_mode mode,
		struct strbuf *buf)
{
	if (mode == EMIT_FULL)
		header(buf, p);
	struct em m;
	memset(&m, 0, sizeof(m));
	if (!yaml_emitter_initialize(&m.e))
		return -1;
	yaml_emitter_set_output(&m.e, write_sb, buf);
	yaml_emitter_set_unicode(&m.e, 1);
	yaml_emitter_set_width(&m.e, 100);
	yaml_emitter_set_indent(&m.e, 2);
	yaml_stream_start_event_initialize(&m.ev, YAML_UTF8_ENCODING);
	emit(&m);
	yaml_document_start_event_initialize(&m.ev, NULL, NULL, NULL, 1);
	emit(&m);
	map_open(&m);
	kv(&m, "apiVersion", "cilium.io/v2");
	kv(&m, "kind", "CiliumNetworkPolicy");
	str(&m, "metadata");
	map_open(&m);
	kv(&m, "name", p->name);
	kv(&m, "namespace", p->ns);
	str(&m, "annotations");
	map_open(&m);
	char *pv = prov_text(&p->prov);
	kv(&m, "learn.polc.io/observed", pv);
	free(pv);
	kv(&m, "learn.polc.io/selector", p->selector_note);
	for (int d = 0; d < 2; d++) {
		const struct selem *v = d ? p->egress : p->ingress;
		size_t n = d ? p->negress : p->ningress;
		for (size_t i = 0; i < n; i++) {
			char key[64];
			snprintf(key, sizeof key, "learn.polc.io/%s.%zu", d ? "egress" : "ingress", i);
			char *t = rule_text(&v[i]);
			kv(&m, key, t);
			free(t);
		}
	}
	map_close(&m);
	map_close(&m);
	str(&m, "spec");
	map_open(&m);
	char desc[512];
	snprintf(desc, sizeof desc, "%s: what was observed, learned by polc learn", p->workload);
	kv(&m, "description", desc);
	str(&m, "endpointSelector");
	labels(&m, p->selector, p->nselector);
	for (int d = 0; d < 2; d++) {
		const struct selem *v = d ? p->egress : p->ingress;
		size_t n = d ? p->negress : p->ningress;
		if (s->existing && !n)
			continue; /* merging: add rules, never a new default deny */
		str(&m, d ? "egress" : "ingress");
		seq_open(&m);
		if (!n) { /* default deny: an element that allows nothing */
			map_open(&m);
			map_close(&m);
		}
		for (size_t i = 0; i < n; i++)
			element(&m, s, &v[i], mode);
		seq_close(&m);
	}
	map_close(&m);
	map_close(&m);
	yaml_document_end_event_initialize(&m.ev, 1);
	emit(&m);
	yaml_stream_end_event_initialize(&m.ev);
	emit(&m);
	yaml_emitter_flush(&m.e);
	bool failed = m.failed;
	if (failed)
		fprintf(stderr, "polc learn: YAML emitter: %s\n",
			m.e.problem ? m.e.problem : "a string that is not valid UTF-8");
	yaml_emitter_delete(&m.e);
	return failed ? -1 : 0;
}

/* ---------------------------------------------------------------- files */

#define MARKER "# Generated by polc learn"

static int mkdir_p(const char *dir)
{
	char *d = xstrdup(dir);
	for (char *p = d + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(d, 0755);
			*p = '/';
		}
	int rc = mkdir(d, 0755) == 0 || errno == EEXIST ? 0 : -1;
	free(d);
	return rc;
}

/* Files an earlier run wrote (they start with the marker) go; anything else stays. */
static void remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".yaml"))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		char line[64] = "";
		if (f) {
			if (!fgets(line, sizeof line, f))
				line[0] = 0;
			fclose(f);
		}
		if (!strncmp(line, MARKER, strlen(MARKER)))
			unlink(path);
	}
	closedir(d);
}

/* Writes one policy to path.tmp; returns the path of the temporary file, or NULL. */
static char *write_temporary(const struct synth *s, const struct spolicy *p, const char *path)
{
	struct strbuf buf = {0};
	if (emit_policy(s, p, EMIT_FULL, &buf) < 0) {
		sb_free(&buf);
		return NULL;
	}
	size_t n = strlen(path) + 8;
	char *tmp = xmalloc(n);
	snprintf(tmp, n, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	bool ok = f && fwrite(buf.s, 1, buf.len, f) == buf.len && fflush(f) == 0 &&
		  fsync(fileno(f)) == 0;
	if (f && fclose(f) != 0)
		ok = false;
	sb_free(&buf);
	if (!ok) {
		fprintf(stderr, "polc learn: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

/* All or nothing: every policy is written to a temporary file first, so that a full disk or
 * an error leaves the previous run's files as they were; only then do they replace it. */
int emit_all(const struct synth *s, const char *dir, struct ptrvec *written)
{
	if (mkdir_p(dir) < 0) {
		fprintf(stderr, "polc learn: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **paths = xcalloc(s->npol + 1, sizeof(char *)), **tmps = xcalloc(s->npol + 1, sizeof(char *));
	size_t done = 0;
	for (; done < s->npol; done++) {
		const struct spolicy *p = &s->pol[done];
		size_t n = strlen(dir) + strlen(p->ns) + strlen(p->name) + 16;
		paths[done] = xmalloc(n);
		snprintf(paths[done], n, "%s/%s_%s.yaml", dir, p->ns, p->name);
		if (!(tmps[done] = write_temporary(s, p, paths[done])))
			break;
	}
	int rc = done == s->npol ? 0 : -1;
	if (rc == 0)
		remove_stale(dir);
	for (size_t i = 0; i < done; i++) {
		if (rc == 0 && rename(tmps[i], paths[i]) < 0) {
			fprintf(stderr, "polc learn: cannot write %s: %s\n", paths[i], strerror(errno));
			rc = -1;
		}
		if (rc < 0)
			unlink(tmps[i]);
		free(tmps[i]);
		if (rc == 0 && written)
			ptrvec_push(written, paths[i]);
		else
			free(paths[i]);
	}
	if (done < s->npol)
		free(paths[done]);
	free(paths);
	free(tmps);
	return rc;
}

/* ---------------------------------------------------------------- the graph */

static void dot_id(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void emit_graph(const struct synth *s, FILE *out)
{
	fprintf(out, "digraph learned {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n"
		     "  edge [fontname=\"Helvetica\", fontsize=10];\n");
	for (size_t i = 0; i < s->npol; i++) {
		fputs("  ", out);
		dot_id(out, s->pol[i].workload);
		fputs(" [style=filled, fillcolor=\"#e8f0fe\"];\n", out);
	}
	for (size_t i = 0; i < s->npol; i++) {
		const struct spolicy *p = &s->pol[i];
		for (int d = 0; d < 2; d++) {
			const struct selem *v = d ? p->egress : p->ingress;
			size_t n = d ? p->negress : p->ningress;
			for (size_t k = 0; k < n; k++) {
				const struct selem *r = &v[k];
				struct strbuf label = {0};
				if (r->icmp)
					sb_puts(&label, "ICMP echo");
				for (size_t q = 0; q < r->nports; q++)
					sb_printf(&label, "%s%u/%s%s", q ? ", " : "", r->ports[q].port,
						  proto_name(r->ports[q].proto),
						  r->ports[q].nhttp ? " HTTP" : r->ports[q].ndns ? " DNS" : "");
				for (size_t q = 0; q < r->npeers; q++) {
					const struct speer *pe = &r->peers[q];
					/* an edge between two learned workloads is drawn once, from egress */
					bool both = false;
					for (size_t w = 0; d == 0 && pe->kind == SP_ENDPOINT && w < s->npol; w++)
						both |= !strcmp(s->pol[w].workload, pe->workload);
					if (both)
						continue;
					const char *name = peer_name(pe);
					if (pe->kind != SP_ENDPOINT) {
						fputs("  ", out);
						dot_id(out, name);
						fprintf(out, " [shape=%s];\n",
							pe->kind == SP_ENTITY ? "ellipse" : "note");
					}
					fputs("  ", out);
					dot_id(out, d ? p->workload : name);
					fputs(" -> ", out);
					dot_id(out, d ? name : p->workload);
					fputs(" [label=", out);
					dot_id(out, label.s ? label.s : "");
					fputs("];\n", out);
				}
				sb_free(&label);
			}
		}
	}
	fputs("}\n", out);
}
