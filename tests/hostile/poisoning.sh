#!/bin/bash
# Learner poisoning: traffic that someone who can send packets in a test cluster could use to
# get an allow rule written for them. One capture holds one real flow (frontend calls catalog
# on 8080: handshake, request, answer) and, around it,
#   - 2000 spoofed SYNs that nothing answers (from loadgen, and from random pod-CIDR
#     addresses), to catalog 8080 and 9090;
#   - a TCP port scan of catalog from loadgen (ports 1-1024: each SYN answered by a reset);
#   - a UDP scan of catalog from loadgen (every port, no answer);
#   - complete connections from addresses inside the pod CIDR that no pod of the inventory has.
# polc learn must learn exactly the real flow (one ingress rule for catalog, one egress rule
# for frontend, nothing for loadgen), and list the others as not learned with their reasons.
#   tests/hostile/poisoning.sh
. "$(dirname "$0")/lib.sh"
inv=$SRC/samples/inventory/shop.yaml

python3 - "$HERE" "$TMP/poison.pcap" <<'PY'
import random, sys
sys.path.insert(0, sys.argv[1])
from pcapgen import eth, ipv4, tcp, udp, pcap, handshake
FRONTEND, LOADGEN, CATALOG = bytes([10, 244, 2, 11]), bytes([10, 244, 2, 12]), bytes([10, 244, 2, 13])
rng = random.Random(7)
frames = handshake(40000, 8080, FRONTEND, CATALOG, b"GET /api/products/1 HTTP/1.1\r\nHost: catalog\r\n\r\n",
                   b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
for i in range(2000):  # spoofed SYNs, never answered
    src = LOADGEN if i % 2 else bytes([10, 244, rng.randrange(1, 3), rng.randrange(100, 250)])
    frames.append(eth(ipv4(tcp(1024 + i, (8080, 9090)[i % 2], "S"), 6, src, CATALOG)))
for port in range(1, 1025):  # TCP scan: refused
    frames.append(eth(ipv4(tcp(50000, port, "S", 7), 6, LOADGEN, CATALOG)))
    frames.append(eth(ipv4(tcp(port, 50000, "RA", 0, 8), 6, CATALOG, LOADGEN)))
for port in range(1, 65536, 7):  # UDP scan: unanswered
    frames.append(eth(ipv4(udp(50001, port, b"x"), 17, LOADGEN, CATALOG)))
for k in range(20):  # complete connections from addresses no pod has
    ghost = bytes([10, 244, 2, 200 + k])
    frames += handshake(41000 + k, 8080, ghost, CATALOG, b"GET / HTTP/1.1\r\n\r\n",
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
pcap(sys.argv[2], frames)
PY

want_rc=0 want_msg='' max_secs=120 max_rss_mb=$((SANITIZED ? 1536 : 512))
measure --timeout 300 -- "$POLC" learn -q --no-progress --json -i "$inv" -o "$TMP/learned" "$TMP/poison.pcap"
check "learn on the poisoned capture"
cp "$TMP/out" "$TMP/report.json" 2>/dev/null || true
learned=$(ls "$TMP/learned" 2>/dev/null | tr '\n' ' ')
[ "$learned" = "shop-api_catalog.yaml shop-web_frontend.yaml " ] &&
	ok "only catalog and frontend get policies" || ko "policies written" "$learned"
python3 - "$TMP/report.json" <<'PY' && ok "the report: one flow learned, the poison not learned, each with its reason" || ko "the report" "see above"
import json, sys
r = json.load(open(sys.argv[1]))
learned = r["flows"]["learned"] if isinstance(r["flows"], dict) else None
reasons = {}
for s in r["skipped"]:
    reasons.setdefault(s["reason"].split(" (")[0], []).append(s)
print("    learned flows:", learned)
for k, v in sorted(reasons.items()):
    print("    not learned: %d x %s" % (len(v), k))
want = ["no reply", "refused", "an address inside a pod CIDR that no pod of the inventory has"]
missing = [w for w in want if not any(k.startswith(w) for k in reasons)]
bad = [s for s in r["skipped"] if "loadgen" not in s["from"] and not s["from"].startswith("10.244.")]
sys.exit(1 if missing or learned != 1 or bad else 0)
PY
if grep -q "fromEndpoints" "$TMP/learned/shop-api_catalog.yaml" 2>/dev/null &&
	! grep -qE '9090|fromCIDR|toCIDR|loadgen|"1024"|protocol: UDP' "$TMP/learned/shop-api_catalog.yaml"; then
	ok "catalog admits frontend on 8080/TCP and nothing of the poison"
else
	ko "catalog's policy" "$(grep -A3 -E 'from|port' "$TMP/learned/shop-api_catalog.yaml" | head -20)"
fi
"$POLC" lint -i "$inv" "$TMP/learned" >/dev/null && ok "the learned policies lint clean" ||
	ko "lint" "the learned policies have findings"
finish
