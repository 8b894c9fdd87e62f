/* polc inspect: an image dumped the way `cilium bpf policy get` and bpftool show maps. */
#include "polc.h"
#include "imagefile.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <string.h>

static const char *mode_name(uint8_t m)
{
	return m == POLC_MODE_ENFORCE ? "enforce" : m == POLC_MODE_AUDIT ? "audit" : "off";
}

static const char *identity_labels(const struct image *img, uint32_t id)
{
	if (id == 0)
		return "ANY";
	for (size_t i = 0; i < img->nids; i++)
		if (img->ids[i].id == id)
			return image_string(img, img->ids[i].labels_off);
	return "?";
}

static const char *proto_text(uint8_t p)
{
	return ip_proto_name(p) ? ip_proto_name(p) : "?";
}

/* "80/TCP", "8080-8095/TCP", "TCP", "ANY" */
static void port_text(const struct polc_policy_entry *e, char *buf, size_t size)
{
	uint32_t plen = e->key.prefixlen;
	if (plen == POLC_POLICY_STATIC_PREFIX) {
		snprintf(buf, size, "ANY");
		return;
	}
	int bits = (int)plen - POLC_POLICY_STATIC_PREFIX - 8;
	uint32_t lo = ntohs(e->key.dport), hi = lo + (1u << (16 - bits)) - 1;
	if (bits == 0)
		snprintf(buf, size, "%s", proto_text(e->key.proto));
	else if (lo == hi)
		snprintf(buf, size, "%u/%s", lo, proto_text(e->key.proto));
	else
		snprintf(buf, size, "%u-%u/%s", lo, hi, proto_text(e->key.proto));
}

static const char *endpoint_name(const struct image *img, uint16_t id, uint8_t *in, uint8_t *out)
{
	for (size_t i = 0; i < img->neps; i++)
		if (img->eps[i].value.endpoint_id == id) {
			*in = img->eps[i].value.ingress_mode;
			*out = img->eps[i].value.egress_mode;
			return image_string(img, img->eps[i].value.name_off);
		}
	return "?";
}

static void origin_of(const struct image *img, uint32_t cookie, char *buf, size_t size)
{
	const struct polc_origin *o = image_origin(img, cookie);
	if (!o)
		snprintf(buf, size, "?");
	else if (o->kind == POLC_ORIGIN_SYNTHETIC)
		snprintf(buf, size, "(%s)", image_string(img, o->name_off));
	else
		snprintf(buf, size, "%s%s%s %s:%u", image_string(img, o->namespace_off),
			 *image_string(img, o->namespace_off) ? "/" : "", image_string(img, o->name_off),
			 image_string(img, o->file_off), o->line);
}

static void entry_json(struct json *j, const struct image *img, const struct polc_policy_entry *e)
{
	char port[48], origin[512];
	port_text(e, port, sizeof port);
	origin_of(img, e->value.cookie, origin, sizeof origin);
	json_obj_open(j, NULL);
	json_str(j, "policy", e->value.flags & POLC_POLICY_F_DENY ? "deny" : "allow");
	json_str(j, "direction", e->key.egress ? "egress" : "ingress");
	json_int(j, "identity", ntohl(e->key.identity));
	json_str(j, "labels", identity_labels(img, ntohl(e->key.identity)));
	json_str(j, "port", port);
	json_int(j, "proxy", ntohs(e->value.proxy_port));
	json_int(j, "auth", e->value.auth_type);
	json_int(j, "prefix", (e->value.flags >> POLC_POLICY_LPM_SHIFT));
	json_int(j, "cookie", e->value.cookie);
	json_str(j, "origin", origin);
	json_obj_close(j);
}

static void print_entry(const struct image *img, const struct polc_policy_entry *e)
{
	char port[48], origin[512];
	port_text(e, port, sizeof port);
	origin_of(img, e->value.cookie, origin, sizeof origin);
	uint16_t proxy = ntohs(e->value.proxy_port);
	printf("  %-6s %-8s %-10u %-16s %-6s %-4u %-3u %s\n",
	       e->value.flags & POLC_POLICY_F_DENY ? "Deny" : "Allow", e->key.egress ? "Egress" : "Ingress",
	       ntohl(e->key.identity), port, proxy ? "L7" : "NONE", e->value.auth_type,
	       e->value.flags >> POLC_POLICY_LPM_SHIFT, origin);
	printf("         %s\n", identity_labels(img, ntohl(e->key.identity)));
}

int do_inspect(int argc, char **argv)
{
	static const struct option opts[] = {{"endpoint", required_argument, NULL, 'e'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *only = NULL;
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:jh", opts, NULL)) != -1) {
		if (c == 'e')
			only = optarg;
		else if (c == 'j')
			json = true;
		else {
			puts(INSPECT_USAGE);
			return c == 'h' ? EXIT_CLEAN : EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "polc inspect: give one image\n%s\n", INSPECT_USAGE);
		return EXIT_USAGE;
	}
	struct diag_sink d;
	diag_init(&d);
	struct image img;
	if (image_load(argv[optind], &img, &d) < 0) {
		diag_render(&d, FORMAT_TEXT, stderr, -1);
		diag_free(&d);
		image_free(&img);
		return EXIT_FINDINGS;
	}
	struct json j;
	char digest[65];
	sha256_hex(img.buf + img.size - 32, digest);
	if (json) {
		json_begin(&j, stdout, true);
		json_obj_open(&j, NULL);
		json_str(&j, "node", img.hdr->node_name);
		json_int(&j, "generation", (long long)img.hdr->generation);
		json_str(&j, "sha256", digest);
		json_str(&j, "compiler", img.hdr->compiler_version);
		json_arr_open(&j, "entries");
	} else {
		printf("image %s: node %s, generation %llu, %s, sha256 %s\n", argv[optind],
		       img.hdr->node_name, (unsigned long long)img.hdr->generation,
		       img.hdr->compiler_version, digest);
	}
	uint16_t last = 0;
	for (size_t i = 0; i < img.nentries; i++) {
		const struct polc_policy_entry *e = &img.entries[i];
		uint8_t in = 0, out = 0;
		uint16_t ep = ntohs(e->key.endpoint);
		const char *name = endpoint_name(&img, ep, &in, &out);
		if (only && strcmp(only, name))
			continue;
		if (json) {
			entry_json(&j, &img, e);
			continue;
		}
		if (ep != last)
			printf("\nendpoint %u %s (ingress %s, egress %s)\n  %-6s %-8s %-10s %-16s %-6s %-4s %-3s %s\n",
			       ep, name, mode_name(in), mode_name(out), "POLICY", "DIRECTION", "IDENTITY",
			       "PORT/PROTO", "PROXY", "AUTH", "LEN", "ORIGIN");
		last = ep;
		print_entry(&img, e);
	}
	if (json) {
		json_arr_close(&j);
		json_obj_close(&j);
		json_end(&j);
	}
	image_free(&img);
	diag_free(&d);
	return EXIT_CLEAN;
}
