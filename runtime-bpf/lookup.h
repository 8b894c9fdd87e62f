/* The verdict logic, written once. The BPF program and polc's userspace (verify, trace on
 * images) both compile this file, so userspace simulates exactly what the kernel does.
 *
 * The includer provides the map access:
 *   static inline const struct polc_policy_value *
 *   polc_policy_lookup(void *map, const struct polc_policy_key *key);
 * which must behave as an LPM-trie lookup (longest matching prefix, or NULL).
 *
 * The algorithm is Cilium 1.19's (bpf/lib/policy.h, cilium-semantics.md 4.4): look up the
 * remote identity (L) and the wildcard identity 0 (W); a deny in L wins at once; otherwise the
 * entry with the higher precedence wins, then the longer prefix, then L. Authentication is the
 * highest type among the matching allows. The image writer keeps the entries in the shape this
 * relies on (no allow under a covering deny; L7 and auth inherited from covering allows).
 */
#ifndef POLC_LOOKUP_H
#define POLC_LOOKUP_H

#include "image.h"

static inline __attribute__((always_inline)) __u8 polc_entry_prefix(const struct polc_policy_value *v)
{
	return (__u8)(v->flags >> POLC_POLICY_LPM_SHIFT);
}

static inline __attribute__((always_inline)) int polc_entry_is_deny(const struct polc_policy_value *v)
{
	return v->flags & POLC_POLICY_F_DENY;
}

/* One flow as the policy sees it. dport is in host order (ICMP: the type). */
struct polc_flow {
	__u16 endpoint;
	__u8 egress;
	__u8 proto;
	__u32 remote;
	__u16 dport;
	__u16 pad;
};

/* Decides one packet of a new flow. */
static inline __attribute__((always_inline)) void
polc_policy_decide(void *map, const struct polc_flow *f, struct polc_decision *out)
{
	struct polc_policy_key key = {0};
	const struct polc_policy_value *l, *w, *chosen, *other;

	key.prefixlen = POLC_POLICY_FULL_PREFIX;
	key.endpoint = __builtin_bswap16(f->endpoint);
	key.egress = f->egress;
	key.identity = __builtin_bswap32(f->remote);
	key.proto = f->proto;
	key.dport = __builtin_bswap16(f->dport);
	l = polc_policy_lookup(map, &key);
	key.identity = 0;
	w = polc_policy_lookup(map, &key);

	out->verdict = POLC_VERDICT_DENY;
	out->reason = POLC_DROP_POLICY;
	out->auth_type = 0;
	out->match_prefix = 0;
	out->cookie = 0;
	out->proxy_port = 0;
	out->pad = 0;
	if (l && polc_entry_is_deny(l)) {
		chosen = l;
		other = 0;
	} else if (w && (!l || w->precedence > l->precedence ||
			 (w->precedence == l->precedence &&
			  polc_entry_prefix(w) > polc_entry_prefix(l)))) {
		chosen = w;
		other = l;
	} else {
		chosen = l;
		other = w;
	}
	if (!chosen)
		return;
	out->cookie = chosen->cookie;
	out->match_prefix = polc_entry_prefix(chosen);
	if (polc_entry_is_deny(chosen)) {
		out->reason = POLC_DROP_POLICY_DENY;
		return;
	}
	out->auth_type = chosen->auth_type;
	if (other && !polc_entry_is_deny(other) && other->auth_type > out->auth_type)
		out->auth_type = other->auth_type;
	out->reason = POLC_DROP_NONE;
	out->proxy_port = __builtin_bswap16(chosen->proxy_port);
	if (out->auth_type)
		out->verdict = POLC_VERDICT_AUTH;
	else if (chosen->proxy_port)
		out->verdict = POLC_VERDICT_REDIRECT;
	else
		out->verdict = POLC_VERDICT_ALLOW;
}

#endif
