#!/bin/bash
# Regenerates the seed corpora in tests/fuzz/corpus/ (committed; SOURCES.md says where each
# copied file comes from). A maintainer's tool, not part of the build.
#
#   POLC=build/polc tests/fuzz/make-seeds.sh [REFERENCE_DIR]
#
# REFERENCE_DIR is a checkout of the public reference data SOURCES.md names (Cilium's
# examples, np-guard's tests, the pcap corpus); without it only the generated seeds (images,
# recipes, L7 messages, packets from tests/data/testbed-capture.pcap, flow records) are
# rewritten and the copied ones are left alone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
ref=${1:-}
POLC=${POLC:?set POLC to a built polc}
c=$here/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- image: every image case compiled (all nodes), plus the goldens are seeds already
mkdir -p "$c/image"
rm -f "$c/image"/*.polc
for case in "$src"/tests/images/cases/*.yaml; do
	name=$(basename "$case" .yaml)
	"$POLC" compile -i "$case" -p "$case" -o "$tmp/$name" --all-nodes --generation 3 >/dev/null
	for img in "$tmp/$name"/*.polc; do cp "$img" "$c/image/$name-$(basename "$img")"; done
done
"$POLC" compile -i "$src/samples/inventory/shop.yaml" -p "$src/samples/testbed/policies" \
	-o "$tmp/shop" --all-nodes >/dev/null
for img in "$tmp/shop"/*.polc; do cp "$img" "$c/image/shop-$(basename "$img")"; done

# ---- semantic: recipes are bytes; a spread of lengths and values
mkdir -p "$c/semantic"
python3 - "$c/semantic" <<'PY'
import os, random, sys
out = sys.argv[1]
rng = random.Random(20261129)
for i in range(48):
    n = rng.choice([16, 48, 96, 160, 256, 400])
    open(os.path.join(out, "recipe-%02d" % i), "wb").write(bytes(rng.randrange(256) for _ in range(n)))
PY

# ---- learn_l7: one seed per parser (the first byte picks it; see fuzz_learn_l7.c)
mkdir -p "$c/learn_l7"
python3 - "$c/learn_l7" <<'PY'
import os, struct, sys
out = sys.argv[1]
def w(name, b): open(os.path.join(out, name), "wb").write(b)
def chunks(parts):  # [(dir, bytes)] -> stream chunks
    b = b""
    for d, p in parts:
        if len(p) < 128 and len(p) < 256:
            b += bytes([d & 1, len(p)]) + p
        else:
            b += bytes([0x80 | (d & 1), len(p) >> 8, len(p) & 0xff]) + p
    return b
def qname(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname("catalog.example.com") + struct.pack(">HH", 1, 1)
r = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 2, 0, 0) + qname("catalog.example.com") + struct.pack(">HH", 1, 1)
r += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([203, 0, 113, 7])
r += b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 300, 16) + bytes(15) + b"\x07"
w("dns-query", b"\x00" + q)
w("dns-answer", b"\x00" + r)
w("dns-nxdomain", b"\x00" + struct.pack(">HHHHHH", 7, 0x8183, 1, 0, 0, 0) + qname("nosuch.svc.cluster.local") + struct.pack(">HH", 28, 1))
w("dns-pointer-loop", b"\x00" + struct.pack(">HHHHHH", 7, 0x8180, 1, 1, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1) + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 1, 4) + bytes(4))
sni = b"api.example.com"
ext = struct.pack(">HH", 0, len(sni) + 5) + struct.pack(">HBH", len(sni) + 3, 0, len(sni)) + sni
body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack(">H", len(ext)) + ext
hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
rec = b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs
w("tls-hello", b"\x01" + rec)
w("tls-stream", b"\x06" + chunks([(0, rec[:20]), (0, rec[20:]), (1, b"\x16\x03\x03\x00\x02\x02\x00")]))
w("huffman-www", b"\x02" + bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff"))  # RFC 7541 C.4.1
w("hpack-c3-1", b"\x03" + bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff"))  # C.4.1
w("hpack-c3-2", b"\x03" + bytes.fromhex("828684be5886a8eb10649cbf"))
w("hpack-literal", b"\x03" + bytes.fromhex("400a637573746f6d2d6b65790d637573746f6d2d686561646572"))
req = b"GET /api/v1/items/42?x=1 HTTP/1.1\r\nHost: catalog\r\nUser-Agent: t\r\n\r\n"
resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
post = b"POST /cart HTTP/1.1\r\nHost: cart\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
w("http-get", b"\x04" + chunks([(0, req), (1, resp)]))
w("http-pipelined", b"\x04" + chunks([(0, req + post), (1, resp + resp)]))
w("http-split", b"\x04" + chunks([(0, req[:10]), (0, req[10:]), (1, resp[:7]), (3, resp[7:])]))
w("http-upgrade-h2c", b"\x04" + chunks([(0, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"), (1, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")]))
w("http-websocket", b"\x04" + chunks([(0, b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), (1, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]))
pre = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
settings = struct.pack(">I", 0)[1:] + b"\x04\x00" + struct.pack(">I", 0)
hblock = bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")
headers = struct.pack(">I", len(hblock))[1:] + b"\x01\x05" + struct.pack(">I", 1) + hblock
rh = bytes.fromhex("88")
rheaders = struct.pack(">I", len(rh))[1:] + b"\x01\x05" + struct.pack(">I", 1) + rh
grpc = bytes.fromhex("83") + bytes.fromhex("86") + b"\x44\x13/shop.Catalog/GetItem" + b"\x41\x07catalog" + b"\x5f\x10application/grpc"
gheaders = struct.pack(">I", len(grpc))[1:] + b"\x01\x04" + struct.pack(">I", 3) + grpc
w("h2-get", b"\x05" + chunks([(0, pre + settings + headers), (1, settings + rheaders)]))
w("h2-grpc", b"\x05" + chunks([(0, pre + settings + gheaders), (1, settings + rheaders)]))
w("dnstcp", b"\x07" + chunks([(0, struct.pack(">H", len(q)) + q), (1, struct.pack(">H", len(r)) + r[:9]), (1, r[9:])]))
w("pattern-star", b"\x08" + b"*.example.com\0api.example.com")
w("pattern-sub", b"\x08" + b"api.*.svc.cluster.local\0api.shop.svc.cluster.local")
PY

# ---- learn_records: Hubble and polc observe lines
mkdir -p "$c/learn_records"
cat >"$c/learn_records/hubble-tcp.json" <<'EOF'
{"flow":{"time":"2026-11-01T10:00:00.123456789Z","verdict":"FORWARDED","IP":{"source":"10.244.1.10","destination":"10.244.2.13","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":41234,"destination_port":8080,"flags":{"SYN":true}}},"is_reply":false},"node_name":"worker1","time":"2026-11-01T10:00:00.123456789Z"}
{"flow":{"time":"2026-11-01T10:00:00.123556789Z","verdict":"FORWARDED","IP":{"source":"10.244.2.13","destination":"10.244.1.10"},"l4":{"TCP":{"source_port":8080,"destination_port":41234,"flags":{"SYN":true,"ACK":true}}},"is_reply":true}}
{"flow":{"time":"2026-11-01T10:00:01Z","verdict":"DROPPED","IP":{"source":"10.244.1.10","destination":"10.244.2.14"},"l4":{"TCP":{"source_port":41240,"destination_port":5432,"flags":{"SYN":true}}}}}
EOF
cat >"$c/learn_records/hubble-l7.json" <<'EOF'
{"flow":{"time":"2026-11-01T10:00:02+01:00","verdict":"FORWARDED","IP":{"source":"10.244.2.13","destination":"10.244.1.10"},"l4":{"TCP":{"source_port":8080,"destination_port":41234}},"l7":{"type":"RESPONSE","http":{"code":200,"method":"GET","url":"http://catalog:8080/api/v1/items/42?q=1"}},"is_reply":true}}
{"flow":{"time":"2026-11-01T10:00:03Z","verdict":"FORWARDED","IP":{"source":"10.96.0.10","destination":"10.244.1.10"},"l4":{"UDP":{"source_port":53,"destination_port":40000}},"l7":{"type":"RESPONSE","dns":{"query":"api.partner.example.","ips":["203.0.113.7","2001:db8::7"],"ttl":30,"rcode":0}}}}
{"flow":{"time":"2026-11-01T10:00:04Z","verdict":"FORWARDED","IP":{"source":"10.244.1.10","destination":"203.0.113.7"},"l4":{"TCP":{"source_port":41300,"destination_port":443}},"destination_names":["api.partner.example."]}}
{"flow":{"IP":{"source":"fd00:10:244:1::10","destination":"fd00:10:244:2::13"},"l4":{"ICMPv6":{"type":128}}}}
{"flow":{"IP":{"source":"10.244.1.10","destination":"10.244.2.13"},"l4":{"ICMPv4":{"type":8}}}}
{"flow":{"IP":{"source":"10.244.1.10","destination":"10.244.2.13"},"l4":{"SCTP":{"source_port":1,"destination_port":9}}}}
EOF
cat >"$c/learn_records/observe.json" <<'EOF'
{"time_ns":1793527200000000000,"source_ip":"10.244.1.10","destination_ip":"10.244.2.13","protocol":6,"destination_port":8080,"verdict":"FORWARDED"}
{"time_ns":1793527200000001000,"source_ip":"10.244.1.10","destination_ip":"10.244.2.14","protocol":17,"destination_port":53,"verdict":"DROPPED"}
{"time_ns":1793527200000002000,"source_ip":"10.244.1.10","destination_ip":"10.244.2.14","protocol":1,"verdict":"AUDIT"}
EOF
printf '{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":65535}}}}\n[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]\n{"a":"\\u00e9\\ud83d"}\nnot json\n' >"$c/learn_records/odd.json"

# ---- learn_packets: the first packets of the testbed capture, in the target's own format
mkdir -p "$c/learn_packets"
python3 - "$src/tests/data/testbed-capture.pcap" "$c/learn_packets" ${ref:+"$ref/pcaps"} <<'PY'
import glob, os, struct, sys
DLT_INDEX = {1: 0, 113: 1, 276: 2, 12: 3, 101: 4, 228: 5, 229: 6, 0: 7, 108: 8, 239: 9}
def packets(path):
    b = open(path, "rb").read()
    if len(b) < 24:
        return None, []
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []  # pcapng: left to the learn_pcap target
    dlt = struct.unpack(e + "I", b[20:24])[0] & 0xffff
    out, off = [], 24
    while off + 16 <= len(b):
        _, _, incl, orig = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        out.append(b[off:off + incl])
        off += incl
    return dlt, out
def write(dlt, pkts, name, limit):
    if dlt not in DLT_INDEX or not pkts:
        return
    data = bytes([DLT_INDEX[dlt]])
    for p in pkts[:limit]:
        p = p[:4096]
        data += bytes([0]) + struct.pack(">H", len(p)) + p
    open(os.path.join(sys.argv[2], name), "wb").write(data)
dlt, pkts = packets(sys.argv[1])
for i in range(0, min(len(pkts), 400), 40):
    write(dlt, pkts[i:i + 40], "testbed-%03d" % i, 40)
if len(sys.argv) > 3:
    for path in sorted(glob.glob(os.path.join(sys.argv[3], "*", "*.pcap"))):
        dlt, pkts = packets(path)
        write(dlt, pkts, "ref-" + os.path.basename(path)[:-5], 24)
PY

# ---- copies of public data (SOURCES.md): only with REFERENCE_DIR
if [ -n "$ref" ]; then
	# Cilium examples not already in tests/data/cilium
	mkdir -p "$c/yaml/cilium-examples"
	(cd "$ref/cilium" && find examples -name '*.yaml' | sort) | while read -r f; do
		[ -f "$src/tests/data/cilium/$f" ] && continue
		dest=$c/yaml/cilium-examples/$(echo "$f" | sed 's|^examples/||; s|/|__|g')
		cp "$ref/cilium/$f" "$dest"
	done
	# np-guard: NetworkPolicies to the yaml target, workloads and namespaces to inventory; at
	# most one file of each kind per test case, under 8 KiB
	mkdir -p "$c/yaml/np-guard" "$c/inventory/np-guard"
	(cd "$ref/np-guard/tests" && find . -name '*.yaml' -size -8k | sort) | while read -r f; do
		case=$(echo "${f#./}" | cut -d/ -f1)
		name=$(echo "${f#./}" | sed 's|/|__|g')
		if grep -q 'kind: *NetworkPolicy' "$ref/np-guard/tests/$f"; then
			ls "$c/yaml/np-guard/$case"__* >/dev/null 2>&1 || cp "$ref/np-guard/tests/$f" "$c/yaml/np-guard/$name"
		elif grep -q 'kind: *\(Pod\|Deployment\|Namespace\|StatefulSet\|DaemonSet\|ReplicaSet\|Service\|List\)' "$ref/np-guard/tests/$f"; then
			ls "$c/inventory/np-guard/$case"__* >/dev/null 2>&1 || cp "$ref/np-guard/tests/$f" "$c/inventory/np-guard/$name"
		fi
	done
	# pcaps: every reference capture up to 16 KiB
	mkdir -p "$c/learn_pcap"
	(cd "$ref/pcaps" && find . -name '*.pcap*' -size -16k | sort) | while read -r f; do
		cp "$ref/pcaps/$f" "$c/learn_pcap/$(basename "$f")"
	done
fi
echo "seeds: $(find "$c" -type f | wc -l) files, $(du -sh "$c" | cut -f1)"
