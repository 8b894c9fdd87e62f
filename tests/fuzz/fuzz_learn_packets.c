/* Fuzz target: the learner's packet path without libpcap: link layers (capture.c
 * link_decode), the network decoder (decode.c: IPv4/IPv6, extension headers, fragments and
 * their reassembly, tunnels, TCP/UDP/SCTP/ICMP, ICMP errors) and flow assembly (flows.c:
 * connections, direction, TCP streams, L7 parser dispatch), then flows_flush.
 *
 * Input: [link type][packet]... where a packet is [flags][caplen: 2 bytes][bytes]; flags bit 0
 * makes the wire length claim more than was captured (by the next byte x 64), bits 1-3 advance
 * the clock (up to 7 x 20 s, so idle timeouts fire), bit 4 is the capture source.
 */
#include "learner_common.h"

static const int LINK_TYPES[] = {
	1,   /* EN10MB */
	113, /* LINUX_SLL */
	276, /* LINUX_SLL2 */
	12,  /* RAW */
	101, /* LINKTYPE_RAW */
	228, /* IPV4 */
	229, /* IPV6 */
	0,   /* NULL */
	108, /* LOOP */
	239, /* NFLOG */
	147, /* a link type the learner does not know */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 262144)
		return 0;
	struct cursor c = {data, size, 0};
	int dlt = LINK_TYPES[cur_u8(&c) % (sizeof LINK_TYPES / sizeof *LINK_TYPES)];
	struct learn_opts o;
	struct learner L;
	fuzz_learner_init(&L, &o);
	uint64_t ts = 1700000000ull * 1000000000ull;
	while (cur_left(&c) >= 3) {
		unsigned flags = cur_u8(&c);
		unsigned len = cur_u16(&c);
		const uint8_t *p;
		uint32_t caplen = (uint32_t)cur_take(&c, len, &p);
		uint32_t wire = caplen + ((flags & 1) ? 64u * cur_u8(&c) : 0);
		ts += (uint64_t)((flags >> 1) & 7) * 20000000000ull + 1000;
		/* a copy of exactly caplen bytes, so a read past the capture shows */
		uint8_t *pkt = xmalloc(caplen ? caplen : 1);
		memcpy(pkt, p, caplen);
		L.st.packets++;
		uint32_t off = 0;
		uint16_t et = link_decode(dlt, pkt, caplen, &off, &L.st);
		if (et) {
			if (off > caplen)
				fuzz_fail(NULL, "link_decode: network header at %u of a %u-byte frame", off, caplen);
			decode_l3(&L, et, pkt + off, caplen - off, wire - off, ts, (flags >> 4) & 1, 0);
		}
		free(pkt);
	}
	flows_flush(&L);
	learner_free(&L);
	return 0;
}
