/* IP prefixes: parsing the way Cilium's sanitizer does, and containment. */
#include "polc.h"

#include <arpa/inet.h>
#include <string.h>

int parse_prefix(const char *text, struct prefix *out, bool allow_bare_ip)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t addr_len = slash ? (size_t)(slash - text) : strlen(text);
	if (addr_len == 0 || addr_len >= sizeof buf)
		return -1;
	memcpy(buf, text, addr_len);
	buf[addr_len] = 0;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = 6;
	else
		return -1;
	int max = out->family == 4 ? 32 : 128;
	if (!slash) {
		if (!allow_bare_ip)
			return -2;
		out->len = max;
		return 0;
	}
	unsigned long len;
	if (!parse_uint(slash + 1, (unsigned long)max, &len))
		return -1;
	out->len = (int)len;
	/* Like net.ParseCIDR, keep the network address: clear host bits. */
	for (int bit = out->len; bit < max; bit++)
		out->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

bool prefix_contains(const struct prefix *outer, const struct prefix *inner)
{
	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	for (int bit = 0; bit < outer->len; bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));
		if ((outer->addr[bit / 8] & mask) != (inner->addr[bit / 8] & mask))
			return false;
	}
	return true;
}

bool prefix_is_default_route(const struct prefix *p)
{
	return p->len == 0;
}
