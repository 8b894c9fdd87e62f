#!/usr/bin/env python3
"""Writes hostile capture files for tests/hostile/captures.sh.

    pcapgen.py OUTDIR

Every file is a case: OUTDIR/NAME.pcap (or .pcapng). Broken files test the savefile reader
(libpcap and what polc does with its errors); well-formed files of pathological packets test
the learner's decoder, reassembly, tunnels, flow table and L7 parsers. Addresses are pods of
samples/inventory/shop.yaml, so the packets are attributed and reach synthesis.
"""
import os
import random
import struct
import sys

CLIENT, SERVER = bytes([10, 244, 1, 10]), bytes([10, 244, 2, 13])
C6 = bytes.fromhex("fd00001002440001" + "0000000000000010")
S6 = bytes.fromhex("fd00001002440002" + "0000000000000013")
MAC = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4(payload, proto, src=CLIENT, dst=SERVER, ident=1, frag=0, mf=False, ihl=5,
         total=None, ttl=64, options=b""):
    tl = 20 + len(options) + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (ihl & 15), 0, tl & 0xffff, ident,
                    (0x2000 if mf else 0) | (frag & 0x1fff), ttl, proto, 0, src, dst) + options
    return h + payload


def ipv6(payload, nh, src=C6, dst=S6, plen=None):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload) if plen is None else plen & 0xffff,
                       nh, 64, src, dst) + payload


def tcp(sport, dport, flags="S", seq=1, ack=0, payload=b"", doff=5, options=b""):
    f = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}[c] for c in flags)
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                       (doff & 15) << 4, f, 65535, 0, 0) + options + payload


def udp(sport, dport, payload=b"", length=None):
    return struct.pack("!HHHH", sport, dport, (8 + len(payload)) if length is None else length, 0) + payload


def eth(l3, ethertype=0x0800, vlans=0):
    tags = b"".join(struct.pack("!HH", 0x8100, i & 0xfff) for i in range(vlans))
    return MAC + tags + struct.pack("!H", ethertype) + l3


def pcap(path, frames, linktype=1, snaplen=262144, lie=None):
    """frames: list of bytes, or (bytes, wirelen) pairs."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        for i, fr in enumerate(frames):
            data, wire = (fr, len(fr)) if isinstance(fr, bytes) else fr
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000, len(data), wire))
            f.write(data)


def handshake(sport, dport, src=CLIENT, dst=SERVER, data=b"", reply=b""):
    pk = [eth(ipv4(tcp(sport, dport, "S", 100), 6, src, dst)),
          eth(ipv4(tcp(dport, sport, "SA", 500, 101), 6, dst, src)),
          eth(ipv4(tcp(sport, dport, "A", 101, 501), 6, src, dst))]
    if data:
        pk.append(eth(ipv4(tcp(sport, dport, "PA", 101, 501, data), 6, src, dst)))
    if reply:
        pk.append(eth(ipv4(tcp(dport, sport, "PA", 501, 101 + len(data), reply), 6, dst, src)))
    return pk


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(7)
    W = lambda name, frames, **kw: pcap(os.path.join(out, name + ".pcap"), frames, **kw)
    raw = lambda name, data: open(os.path.join(out, name), "wb").write(data)
    ok = handshake(40000, 8080, data=b"GET / HTTP/1.1\r\nHost: c\r\n\r\n", reply=b"HTTP/1.1 200 OK\r\n\r\n")

    # ---- the savefile itself
    good = os.path.join(out, "good.pcap")
    W("good", ok)
    g = open(good, "rb").read()
    raw("file-header-only.pcap", g[:24])
    raw("file-truncated-record-header.pcap", g[:24 + 10])
    raw("file-truncated-packet.pcap", g[:24 + 16 + 20])
    raw("file-short-magic.pcap", g[:3])
    hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    raw("file-caplen-huge.pcap", hdr + struct.pack("<IIII", 0, 0, 0xffffffff, 0xffffffff) + b"x" * 64)
    raw("file-caplen-over-snaplen.pcap", hdr + struct.pack("<IIII", 0, 0, 100000, 100000) + b"x" * 100000)
    raw("file-caplen-over-wirelen.pcap", hdr + struct.pack("<IIII", 0, 0, 60, 10) + ok[0].ljust(60, b"\0"))
    raw("file-snaplen-zero.pcap", struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 0, 1) + g[24:])
    raw("file-snaplen-max.pcap", struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 0xffffffff, 1) + g[24:])
    raw("file-version-99.pcap", struct.pack("<IHHiIII", 0xa1b2c3d4, 99, 99, 0, 0, 65535, 1) + g[24:])
    raw("file-linktype-unknown.pcap", struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 9999) + g[24:])
    raw("file-zero-length-records.pcap", hdr + struct.pack("<IIII", 0, 0, 0, 0) * 1000)
    be = struct.pack(">IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for fr in ok:
        be += struct.pack(">IIII", 1, 0, len(fr), len(fr)) + fr
    raw("file-big-endian.pcap", be)
    ns = struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1) + g[24:]
    raw("file-nanoseconds.pcap", ns)
    # pcapng: section header, interface, enhanced packets, then broken blocks
    def blk(t, body, total=None, trailer=None):
        n = 12 + len(body) + (-len(body)) % 4
        body += b"\0" * ((-len(body)) % 4)
        return struct.pack("<II", t, n if total is None else total) + body + struct.pack("<I", n if trailer is None else trailer)
    shb = blk(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1))
    idb = blk(1, struct.pack("<HHI", 1, 0, 262144))
    epb = lambda fr, iface=0: blk(6, struct.pack("<IIIII", iface, 0, 1, len(fr), len(fr)) + fr)
    ng = shb + idb + b"".join(epb(fr) for fr in ok)
    raw("ng-good.pcapng", ng)
    raw("ng-block-length-zero.pcapng", shb + idb + blk(6, b"x" * 20, total=0))
    raw("ng-block-length-eleven.pcapng", shb + idb + blk(6, b"x" * 20, total=11))
    raw("ng-block-length-odd.pcapng", shb + idb + blk(6, b"x" * 20, total=33))
    raw("ng-block-length-huge.pcapng", shb + idb + blk(6, b"x" * 20, total=0x7ffffff0))
    raw("ng-trailer-mismatch.pcapng", shb + idb + blk(6, struct.pack("<IIIII", 0, 0, 1, 4, 4) + b"abcd", trailer=64))
    raw("ng-interface-out-of-range.pcapng", shb + idb + epb(ok[0], iface=7))
    raw("ng-no-interface.pcapng", shb + epb(ok[0]))
    raw("ng-caplen-over-block.pcapng", shb + idb + blk(6, struct.pack("<IIIII", 0, 0, 1, 5000, 5000) + ok[0]))
    raw("ng-major-version-9.pcapng", blk(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 9, 0, -1)) + idb + epb(ok[0]))
    shb_be = struct.pack(">II", 0x0a0d0d0a, 28) + struct.pack(">IHHq", 0x1a2b3c4d, 1, 0, -1) + struct.pack(">I", 28)
    raw("ng-byte-order-switch.pcapng", ng + shb_be + idb + epb(ok[1]))
    raw("ng-truncated.pcapng", ng[:len(ng) - 7])

    # ---- lengths that lie
    p = lambda l3: eth(l3)
    W("pkt-empty-frames", [b"", b"\0", MAC, MAC + b"\x08\x00"])
    W("pkt-ipv4-total-length-zero", [p(ipv4(tcp(1, 8080), 6, total=0))])
    W("pkt-ipv4-ihl-below-5", [p(ipv4(tcp(1, 8080), 6, ihl=i)) for i in range(5)])
    W("pkt-ipv4-ihl-beyond-packet", [p(ipv4(b"", 6, ihl=15))])
    W("pkt-ipv4-total-length-lies", [p(ipv4(tcp(1, 8080), 6, total=65535)), p(ipv4(tcp(1, 8080), 6, total=21))])
    W("pkt-wire-length-lies", [(p(ipv4(tcp(1, 8080), 6)), 65535), (p(ipv4(udp(1, 53), 17)), 9000)])
    W("pkt-tcp-data-offset", [p(ipv4(tcp(1, 8080, doff=d), 6)) for d in range(16)])
    W("pkt-tcp-options-loop", [p(ipv4(tcp(1, 8080, doff=15, options=bytes([2, 0]) * 20), 6)),
                               p(ipv4(tcp(1, 8080, doff=15, options=bytes([3, 1]) * 20), 6)),
                               p(ipv4(tcp(1, 8080, doff=15, options=bytes([5, 255]) + b"\0" * 38), 6))])
    W("pkt-udp-lengths", [p(ipv4(udp(1, 53, b"abc", length=l), 17)) for l in (0, 1, 7, 8, 9, 65535)])
    W("pkt-ipv6-payload-length-lies", [eth(ipv6(tcp(1, 8080), 6, plen=l), 0x86dd) for l in (0, 1, 65535)])
    W("pkt-ipv6-200-extension-headers", [eth(ipv6(b"".join(struct.pack("!BB6x", 0, 0) for _ in range(199)) + struct.pack("!BB6x", 6, 0) + tcp(1, 8080), 0), 0x86dd)])
    W("pkt-ipv6-extension-length-overrun", [eth(ipv6(struct.pack("!BB6x", 6, 255) + tcp(1, 8080), 0), 0x86dd)])
    W("pkt-100-vlan-tags", [eth(ipv4(tcp(1, 8080), 6), vlans=100)])
    W("pkt-link-types-raw", [ipv4(tcp(1, 8080), 6), b"\x45", b""], linktype=101)
    W("pkt-sll-short", [b"\0" * 15, b"\0" * 16], linktype=113)
    W("pkt-sll2-short", [b"\0" * 19, b"\0" * 20], linktype=276)
    W("pkt-null-loop-short", [b"\2\0\0", b"\2\0\0\0"], linktype=0)
    W("pkt-nflog-tlvs", [b"\x02\x00\x00\x00" + struct.pack("<HH", 0, 9) * 10, b"\x02\x00\x00\x00" + struct.pack("<HH", 65535, 9)], linktype=239)

    # ---- tunnels, deep
    def vxlan(inner):
        return udp(40000, 4789, b"\x08\0\0\0\0\0\x01\0" + inner)
    frame = eth(ipv4(tcp(1, 8080), 6))
    for _ in range(100):
        frame = eth(ipv4(vxlan(frame), 17))
    W("tunnel-vxlan-100-deep", [frame])
    inner = ipv4(tcp(1, 8080), 6)
    for _ in range(200):
        inner = ipv4(inner, 4)
    W("tunnel-ipip-200-deep", [eth(inner)])
    inner = ipv4(tcp(1, 8080), 6)
    for _ in range(200):
        inner = ipv4(struct.pack("!HH", 0, 0x0800) + inner, 47)
    W("tunnel-gre-200-deep", [eth(inner)])
    inner = ipv6(tcp(1, 8080), 6)
    for _ in range(100):
        inner = ipv4(inner, 41)
        inner = ipv6(inner, 4)
    W("tunnel-4in6in4-200-deep", [eth(inner, 0x86dd)])
    W("tunnel-geneve-options", [eth(ipv4(udp(1, 6081, struct.pack("!BBH3sB", 63, 0, 0x6558, b"\0\0\1", 0) + b"\xff" * 252 + frame[:60]), 17))])
    W("tunnel-vxlan-truncated", [eth(ipv4(udp(1, 4789, b"\x08\0\0"), 17)), eth(ipv4(udp(1, 4789, b"\x08\0\0\0\0\0\1\0" + MAC), 17))])

    # ---- fragments
    payload = tcp(40001, 8080, "S") + b"x" * 1000
    frags = []
    for off in range(0, len(payload), 8):  # 8-byte fragments
        frags.append(eth(ipv4(payload[off:off + 8], 6, ident=7, frag=off // 8, mf=off + 8 < len(payload), total=20 + len(payload[off:off + 8]))))
    W("frag-tiny-8-bytes", frags)
    W("frag-overlap-teardrop", [eth(ipv4(payload[:64], 6, ident=9, frag=0, mf=True)),
                                eth(ipv4(payload[24:40], 6, ident=9, frag=3, mf=False))])
    W("frag-overlap-rewrite-header", [eth(ipv4(payload[:40], 6, ident=10, frag=0, mf=True)),
                                      eth(ipv4(tcp(40001, 22, "S")[:16] + b"y" * 24, 6, ident=10, frag=0, mf=True)),
                                      eth(ipv4(payload[40:80], 6, ident=10, frag=5, mf=False))])
    W("frag-beyond-65535", [eth(ipv4(b"z" * 1480, 6, ident=11, frag=8000, mf=True)), eth(ipv4(b"z" * 1480, 6, ident=11, frag=8191, mf=False))])
    W("frag-reversed-and-duplicated", list(reversed(frags)) + frags[:50])
    W("frag-many-incomplete", [eth(ipv4(payload[:16], 6, ident=i, frag=1, mf=True)) for i in range(20000)])
    W("frag-last-first", [eth(ipv4(payload[64:], 6, ident=12, frag=8, mf=False)), eth(ipv4(payload[:64], 6, ident=12, frag=0, mf=True))])
    W("frag-ipv6", [eth(ipv6(struct.pack("!BBHI", 6, 0, (off // 8) << 3 | (1 if off + 64 < len(payload) else 0), 5) + payload[off:off + 64], 44), 0x86dd) for off in range(0, len(payload), 64)])
    W("frag-ipv6-atomic-and-overlap", [eth(ipv6(struct.pack("!BBHI", 6, 0, 0, 6) + tcp(1, 8080), 44), 0x86dd),
                                       eth(ipv6(struct.pack("!BBHI", 6, 0, 1, 7) + payload[:64], 44), 0x86dd),
                                       eth(ipv6(struct.pack("!BBHI", 6, 0, (2 << 3), 7) + payload[:64], 44), 0x86dd)])

    # ---- ICMP errors, connection table, streams
    quoted = ipv4(tcp(8080, 40000, "S"), 6, SERVER, CLIENT)
    W("icmp-errors", [eth(ipv4(struct.pack("!BBHI", 3, 3, 0, 0) + quoted[:q], 1, SERVER, CLIENT)) for q in (0, 1, 19, 20, 21, 27, 28, len(quoted))] +
      [eth(ipv4(struct.pack("!BBHI", 3, 3, 0, 0) + ipv4(struct.pack("!BBHI", 11, 0, 0, 0) + quoted, 1), 1))])
    W("syn-flood-spoofed", [eth(ipv4(tcp(rng.randrange(1024, 65535), 8080, "S"), 6, bytes([10, 244, rng.randrange(256), rng.randrange(256)]))) for _ in range(30000)])
    W("udp-scan-all-ports", [eth(ipv4(udp(5000, port), 17)) for port in range(1, 65536, 3)])
    data = b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\n\r\n"
    seg = [eth(ipv4(tcp(40002, 8080, "PA", 101 + off, 501, data[off:off + 1400]), 6)) for off in range(0, len(data), 1400)]
    W("http-200k-request-line", handshake(40002, 8080)[:3] + seg)
    W("tcp-out-of-order-and-overlapping", handshake(40003, 8080)[:3] + [eth(ipv4(tcp(40003, 8080, "PA", 101 + o, 501, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"[o % 20:]), 6)) for o in rng.sample(range(0, 4000000, 7), 500)])
    h2pre = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + struct.pack("!I", 0xffffff)[1:] + b"\x01\x05\0\0\0\x01" + b"\x3f\xe1\xff\xff\xff\x0f" * 10
    W("h2-huge-frame-and-table-size", handshake(40004, 8080, data=h2pre))
    dnsloop = struct.pack("!HHHHHH", 1, 0x8180, 1, 65535, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1) + (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 1, 4) + b"\1\2\3\4") * 100
    W("dns-loops-and-counts", [eth(ipv4(udp(53, 40005, dnsloop), 17, SERVER, CLIENT)), eth(ipv4(udp(40005, 53, dnsloop[:12]), 17))])
    tls = b"\x16\x03\x01\xff\xff\x01\xff\xff\xff" + b"\0" * 40
    W("tls-lengths-lie", handshake(40006, 443, data=tls))


if __name__ == "__main__":
    main()
