#!/usr/bin/python3
"""Merge per-veth captures of the testbed into one classic pcap, each packet once.

  pcapmerge.py OUT.pcap IN.pcap...

The inputs are Ethernet captures taken on the pods' host-side veths.  A
packet from one pod to another shows up twice (leaving the sender, reaching
the receiver); we keep the copy sent by the pod and drop the one the node
forwarded into the receiver.  The testbed's MACs tell them apart: a pod's
eth0 is 0a:58:..., the node's side of the veth is 0a:59:...
Python 3 standard library only.
"""

import ipaddress
import struct
import sys

POD_MAC = b"\x0a\x58"
POD_NETS = [ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("fd00:10:244::/48")]


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        raise SystemExit("%s: not a little-endian microsecond pcap" % path)
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("%s: link type %d, want Ethernet" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        yield sec, usec, orig, data[off + 16:off + 16 + incl]
        off += 16 + incl


def src_ip(frame):
    """Source address of an IPv4/IPv6 frame, else None (ARP and the like)."""
    ethertype = struct.unpack(">H", frame[12:14])[0]
    if ethertype == 0x0800 and len(frame) >= 34:
        return ipaddress.ip_address(frame[26:30])
    if ethertype == 0x86DD and len(frame) >= 54:
        return ipaddress.ip_address(frame[22:38])
    return None


def keep(frame):
    if frame[6:8] == POD_MAC:  # sent by the pod on this veth
        return True
    ip = src_ip(frame)
    # Into the pod: keep unless another pod sent it (we have it from its own veth).
    return ip is None or not any(ip in n for n in POD_NETS)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    packets = [p for path in argv[2:] for p in read_pcap(path) if keep(p[3])]
    packets.sort(key=lambda p: (p[0], p[1]))
    with open(argv[1], "wb") as out:
        # Classic pcap header: v2.4, snaplen 262144, LINKTYPE_ETHERNET.
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for sec, usec, orig, frame in packets:
            out.write(struct.pack("<IIII", sec, usec, len(frame), orig))
            out.write(frame)
    print("pcapmerge: %d packets -> %s" % (len(packets), argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
