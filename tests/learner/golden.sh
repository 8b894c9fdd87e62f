#!/bin/bash
# Golden tests of polc learn on captures (no root needed):
#  - every capture in tests/data/learner/ gives exactly the edges in golden/<capture>.edges
#    (polc learn --dump-edges): DNS, HTTP pipelining, no-SYN, VLAN, QinQ, VXLAN, Geneve,
#    cooked headers, NFLOG, pcapng, fragments, truncated and BIG TCP packets; no crash, no
#    flow that is not in the capture;
#  - the testbed's capture gives the golden policies (golden/testbed/full, golden/testbed/l4),
#    byte for byte and twice the same; they lint clean, the self-check admits every observed
#    flow, the generated polc test file passes, and the rogue flows are not learned as asked;
#  - broken input files fail cleanly; Hubble and polc observe records; --existing; --for;
#    --graph; --json.
# UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${POLC_SRCDIR:-$(cd "$HERE/../.." && pwd)}
POLC=${POLC:-polc}
DATA=$SRC/tests/data/learner
GOLD=$HERE/golden
INV=$SRC/samples/inventory/shop.yaml
FIXTURE=$SRC/tests/data/testbed-capture.pcap
WORK=$(mktemp -d "${TMPDIR:-/tmp}/polc-learn-golden.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# same FILE GOLDEN: compare (or rewrite with UPDATE_GOLDEN=1)
same() {
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2"
		return 0
	fi
	diff -u "$2" "$1"
}
learn() { "$POLC" learn -i "$INV" --no-progress "$@"; }

# ---- captures: the edges they hold
for cap in "$DATA"/*.pcap "$DATA"/*.pcapng; do
	name=$(basename "$cap")
	out=$WORK/edges-$name
	learn "$cap" -o "$WORK/pol-$name" -q --no-check --dump-edges "$out" 2>"$WORK/err-$name"
	rc=$?
	check "$name: read without error (exit $rc)" [ "$rc" -eq 0 ]
	check "$name: edges as golden" same "$out" "$GOLD/$name.edges"
	check "$name: no sanitizer or crash report" bash -c "! grep -qiE 'sanitizer|runtime error|segmentation' '$WORK/err-$name'"
done

# spot checks of what the edge files must say (so a golden file cannot drift into nonsense)
has() { grep -qF -- "$2" "$GOLD/$1.edges"; }
check "pipelining: 5 requests on one connection, each answered" \
	bash -c "[ \$(grep -c '^  http GET .* status=2' '$GOLD/zeek__http_pipelined-requests.pcap.edges') -eq 5 ]"
check "no SYN: direction from content, marked mid-stream" \
	has zeek__http_get_nosyn.pcap "141.142.228.5 -> 192.150.187.43 80/TCP ok=1 refused=0 dropped=0 unanswered=0 failed=0 midstream=1"
check "refused SYN: not ok" has zeek__web.pcap "125.190.109.199 12345/TCP ok=0 refused=1"
check "DNS answer leads to a connection (FQDN)" has zeek__wikipedia.pcap "fqdn upload.wikimedia.org"
check "search-path NXDOMAIN recorded as such" has zeek__wikipedia.pcap "upload.wikimedia.org.ncsa.uiuc.edu n=4 nxdomain"
check "gRPC over h2c: /package.Service/Method" \
	has packt-grpc__Bidi_Streaming.pcapng "http POST /greet.GreetService/GreetEveryone n=1 status=2 h2 grpc"
check "HTTP/2 prior knowledge" has arkime__http2-nghttp2.pcap "http GET / n=1 status=2 h2"
check "VXLAN: the inner HTTP flow" has zeek__tunnels_vxlan-encapsulated-http.pcap "http GET /image/svg"
check "VLAN 0: HTTP inside the tag" bash -c "grep -q '^  http GET' '$GOLD/zeek__http-vlan-0.pcap.edges'"
check "TLS: the server name" has zeek__tls_chrome-34-google.pcap "sni google.de"
check "IPv6 fragments reassembled into a DNS answer" bash -c "grep -q ' dns ' '$GOLD/zeek__ipv6-fragmented-dns.pcap.edges'"
check "an empty capture: no edges" bash -c "[ ! -s '$GOLD/zeek__empty.pcap.edges' ]"
check "WebSocket: upgrade recorded, request learned" has arkime__websocket.pcap "l7=http,upgrade"

# ---- the testbed fixture: golden policies
for mode in full l4; do
	flags=()
	[ "$mode" = l4 ] && flags=(--l4-only)
	out=$WORK/tb-$mode
	learn "$FIXTURE" -o "$out" "${flags[@]}" --json >"$WORK/tb-$mode.json" 2>"$WORK/tb-$mode.err"
	rc=$?
	check "testbed $mode: exit 0 (every observed flow admitted)" [ "$rc" -eq 0 ]
	check "testbed $mode: lint clean" "$POLC" lint --inventory "$INV" "$out"
	for f in "$out"/*.yaml; do
		check "testbed $mode: $(basename "$f") as golden" same "$f" "$GOLD/testbed/$mode/$(basename "$f")"
	done
	if [ -z "${UPDATE_GOLDEN:-}" ]; then
		check "testbed $mode: no policy missing" \
			bash -c "[ \$(ls '$GOLD/testbed/$mode' | wc -l) -eq \$(ls '$out' | wc -l) ]"
	fi
	check "testbed $mode: self-check N of N" python3 -c "
import json, sys
d = json.load(open('$WORK/tb-$mode.json'))['selfcheck']
sys.exit(0 if d['flows'] > 50 and d['flows'] == d['admitted'] and not d['failures']
         and d['requests'] == d['requests_admitted'] and d['dns_names'] == d['dns_admitted'] else 1)"
	check "testbed $mode: the generated polc test passes" "$POLC" test "$out.test.yaml"
	check "testbed $mode: the test file has must-deny flows" grep -q "verdict: deny" "$out.test.yaml"
	learn "$FIXTURE" -o "$WORK/tb-$mode-again" "${flags[@]}" -q --no-check
	check "testbed $mode: deterministic" diff -r "$out" "$WORK/tb-$mode-again"
	check "testbed $mode: refused port scan not learned" python3 -c "
import json, sys
d = json.load(open('$WORK/tb-$mode.json'))
sk = [s for s in d['skipped'] if s['reason'].startswith('refused')]
sys.exit(0 if len(sk) == 18 else 1)"
done
check "full: toFQDNs for the partner API, with the DNS rule" \
	bash -c "grep -q 'matchName: api.partner.example' '$WORK/tb-full/shop-api_payments.yaml' && grep -q 'toFQDNs' '$WORK/tb-full/shop-api_payments.yaml'"
check "full: HTTP rules on the frontend" grep -q "path: /healthz" "$WORK/tb-full/shop-web_frontend.yaml"
check "l4: no L7 rule, no toFQDNs" bash -c "! grep -qE 'rules:|toFQDNs' '$WORK'/tb-l4/*.yaml"
check "l4: the partner by address" grep -q "cidr: 172.20.0.10/32" "$WORK/tb-l4/shop-api_payments.yaml"
check "selector comment explains the volatile label" \
	grep -q "not used: pod-template-hash" "$WORK/tb-full/shop-web_frontend.yaml"
check "provenance on every rule" bash -c "
for f in '$WORK'/tb-full/*.yaml; do
	rules=\$(grep -cE '^  - (from|to)[A-Z]' \"\$f\"); notes=\$(grep -cE 'learn.polc.io/(in|e)gress\.' \"\$f\")
	[ \"\$rules\" -eq \"\$notes\" ] || exit 1
done"

# ---- broken inputs
head -c 3000 "$FIXTURE" >"$WORK/cut.pcap"
learn "$WORK/cut.pcap" -o "$WORK/cut" -q --no-check --dump-edges "$WORK/cut.edges" 2>"$WORK/cut.err"
check "a capture cut mid-packet: read up to the cut, exit 0" [ $? -eq 0 ]
check "... and says so" grep -q "truncated\|rest of the file" "$WORK/cut.err"
head -c 10 "$FIXTURE" >"$WORK/header.pcap"
learn "$WORK/header.pcap" -o "$WORK/hdr" -q --no-check 2>/dev/null
check "a capture shorter than its header: exit 2" [ $? -eq 2 ]
python3 -c "
import random, sys
r = random.Random(7)
sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(4096)))" >"$WORK/noise.bin"
learn "$WORK/noise.bin" -o "$WORK/noise" -q --no-check 2>/dev/null
check "not a capture at all: exit 2" [ $? -eq 2 ]
printf '{"not": "a flow"}\n{broken\n' >"$WORK/notflows.json"
learn "$WORK/notflows.json" -o "$WORK/notflows" -q --no-check 2>/dev/null
check "JSON lines without one flow record: exit 2" [ $? -eq 2 ]
python3 - "$FIXTURE" "$WORK/huge.pcap" <<-'EOF'
	import struct, sys
	data = open(sys.argv[1], 'rb').read()
	# the first record claims 16 MiB: libpcap refuses it; nothing is invented
	hdr = data[:24]
	rec = data[24:40]
	ts, us, incl, orig = struct.unpack('<IIII', rec)
	open(sys.argv[2], 'wb').write(hdr + struct.pack('<IIII', ts, us, 1 << 24, 1 << 24) + data[40:200])
EOF
learn "$WORK/huge.pcap" -o "$WORK/huge" -q --no-check --dump-edges "$WORK/huge.edges" 2>/dev/null
rc=$?
check "a record larger than any snapshot length: no crash (exit $rc), no edge" \
	bash -c "[ $rc -le 2 ] && [ ! -s '$WORK/huge.edges' ]"

# ---- flow records
learn "$DATA/hubble-shop.json" -o "$WORK/hub" -q --dump-edges "$WORK/hub.edges" 2>"$WORK/hub.err"
check "Hubble flows: exit 0" [ $? -eq 0 ]
check "Hubble flows: edges as golden" same "$WORK/hub.edges" "$GOLD/hubble-shop.json.edges"
check "Hubble flows: a DROPPED flow is not learned" bash -c "! grep -rq 'app.kubernetes.io/name: frontend' '$WORK/hub/shop-data_redis.yaml'"
check "Hubble flows: an AUDIT flow is" grep -q "name: cart" "$WORK/hub/shop-data_redis.yaml"
check "Hubble flows: the bad line is reported" grep -q "not a flow record" "$WORK/hub.err"
check "Hubble flows: lint clean" "$POLC" lint --inventory "$INV" "$WORK/hub"
learn "$DATA/observe-shop.json" -o "$WORK/obs" -q --dump-edges "$WORK/obs.edges"
check "polc observe events: exit 0" [ $? -eq 0 ]
check "polc observe events: edges as golden" same "$WORK/obs.edges" "$GOLD/observe-shop.json.edges"
# Records that carry what no policy can say: a path that is not UTF-8 (the port is learned
# at L4, with a note), an HTTP response over SCTP (no HTTP rule on an SCTP port), a port out
# of range (no flow) and a GRE flow (not learned, with its reason).
learn "$DATA/hubble-hostile.json" "$DATA/observe-gre.json" -o "$WORK/hostile" -q --json \
	>"$WORK/hostile.json" 2>"$WORK/hostile.err"
check "hostile records: exit 0" [ $? -eq 0 ]
check "hostile records: a path that is not UTF-8 leaves the port at L4, with a note" bash -c "
	grep -q '8080/TCP: a request whose method or path no HTTP rule can hold' '$WORK/hostile/shop-api_catalog.yaml' &&
	! grep -q 'rules:' '$WORK/hostile/shop-api_catalog.yaml'"
check "hostile records: the SCTP port is learned without HTTP rules" \
	grep -q 'protocol: SCTP' "$WORK/hostile/shop-api_catalog.yaml"
check "hostile records: no flow for port 70000" bash -c "! grep -rqE '70000|4464' '$WORK/hostile'"
check "hostile records: GRE is not learned, and the report says why" python3 -c "
import json, sys
r = json.load(open('$WORK/hostile.json'))
s = [x for x in r['skipped'] if x['port'] == 'IP protocol 47']
sys.exit(not (len(s) == 1 and 'no port rule can name' in s[0]['reason']))"
check "hostile records: lint clean" "$POLC" lint --inventory "$INV" "$WORK/hostile"
# A LoadBalancer service (tests/data/learner/service-public.yaml): a client reaching its
# load-balancer address, and one reaching a node address on its nodePort, both reach the
# frontend pods on the target port (named "http": 8080), from their own addresses.
learn -i "$DATA/service-public.yaml" "$DATA/hubble-nodeport-lb.json" -o "$WORK/lb" -q \
	2>"$WORK/lb.err"
check "LoadBalancer and NodePort: exit 0" [ $? -eq 0 ]
check "LoadBalancer and NodePort: frontend admits both clients on 8080/TCP, nothing else" bash -c "
	f='$WORK/lb/shop-web_frontend.yaml'
	[ \$(grep -c '^  - from' \$f) -eq 1 ] && grep -q 'cidr: 198.51.100.7/32' \$f &&
	grep -q 'cidr: 198.51.100.8/32' \$f && [ \$(grep -c 'port: ' \$f) -eq 1 ] &&
	grep -q 'port: \"8080\"' \$f"
check "LoadBalancer and NodePort: lint clean" "$POLC" lint --inventory "$INV" "$WORK/lb"
# Names are generalised on evidence, as paths are: three names one label below
# cdn.example.net (--min-support 3) become "*.cdn.example.net" in toFQDNs and in the DNS
# rule; two below two.example, or one below partner.example, stay names.
learn "$DATA/hubble-dns-names.json" -o "$WORK/names" --for shop-web/frontend >"$WORK/names.txt" 2>&1
check "names: exit 0" [ $? -eq 0 ]
check "names: every flow and DNS name admitted" grep -q '7 of 7 observed flows admitted.*6 of 6 DNS names' "$WORK/names.txt"
check "names: one pattern, in toFQDNs and in the DNS rule; the rest stay names" bash -c "
	f='$WORK/names/shop-web_frontend.yaml'
	[ \$(grep -c 'matchPattern: \"\*.cdn.example.net\"' \$f) -eq 2 ] &&
	[ \$(grep -c 'matchPattern' \$f) -eq 2 ] && [ \$(grep -c 'matchName: x.two.example' \$f) -eq 2 ] &&
	! grep -q 'a.cdn.example.net' \$f"
learn "$DATA/hubble-dns-names.json" -o "$WORK/names4" --for shop-web/frontend --min-support 4 -q
check "names: with --min-support 4, three names stay names" bash -c "
	! grep -q matchPattern '$WORK/names4/shop-web_frontend.yaml' &&
	grep -q 'matchName: a.cdn.example.net' '$WORK/names4/shop-web_frontend.yaml'"

# ---- --existing, --for, --graph
learn "$FIXTURE" -o "$WORK/merge" --existing "$SRC/samples/testbed/policies" >"$WORK/merge.txt" 2>&1
check "--existing: exit 0" [ $? -eq 0 ]
check "--existing: the diff shows exactly the 4 flows the hand-written policies lack" bash -c "
	grep -q 'Newly allowed (4)' '$WORK/merge.txt' && grep -q 'Newly denied (0)' '$WORK/merge.txt' &&
	grep -q 'shop-web/frontend -> shop-data/redis  6379/TCP' '$WORK/merge.txt'"
check "--existing: lint clean together" "$POLC" lint --inventory "$INV" "$SRC/samples/testbed/policies" "$WORK/merge"
learn "$FIXTURE" -o "$WORK/for" -q --for shop-data --for shop-web/frontend --graph "$WORK/g.dot"
check "--for: only the asked workloads" bash -c "[ \"\$(ls '$WORK/for' | tr '\n' ' ')\" = 'shop-data_redis.yaml shop-data_statsd.yaml shop-web_frontend.yaml ' ]"
check "--graph: a digraph with the learned edges" bash -c "head -1 '$WORK/g.dot' | grep -q '^digraph' && grep -q '\"shop-web/frontend\" -> \"shop-data/statsd\"' '$WORK/g.dot'"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
