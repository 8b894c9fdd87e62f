#!/bin/bash
# Replies: with the sample policies every shop pod is default deny both ways; the
# replies of allowed flows must pass (TCP request and response, UDP request and
# answer, ping), while the reverse direction's new flows are denied, even while the
# forward flows are live (a held TCP connection, a running ping: a reverse echo
# request with the same identifier, a SYN forged with the reply's ports).  Then a
# pod whose policy enforces one direction only (fixtures/replies-*-only.yaml):
# replies of flows in the other direction must pass, as in Cilium.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
setup

# For a post-mortem: what polc dropped on a node since the last look.
drops_on() {
	polc_on "$1" observe --json | grep '"DROPPED"' | head -6 | sed "s/^/  $1 dropped: /"
}

LG=loadgen FE1=frontend-6c8f9b7d54-h4x2k FE2=frontend-6c8f9b7d54-q9m7w
check "compile the sample policies (generation 1)" compile_images "$WORK/base" 1
check "compile with kube-dns egress-only (generation 2)" \
	compile_images "$WORK/eo" 2 -p "$FIXTURES/replies-egress-only.yaml"
check "compile with kube-dns ingress-only (generation 3)" \
	compile_images "$WORK/io" 3 -p "$FIXTURES/replies-ingress-only.yaml"
check "testbed up" tb_up
for node in $NODES; do
	check "load the sample policies on $node" load_on "$node" "$WORK/base/$node.polc"
	status_json "$node" "$WORK/before-$node.json"
done

echo "--- replies of allowed flows pass (both ends default deny in and out)"
for f in 4 6; do
	xchg "v$f TCP: loadgen GETs /healthz from the frontend on its node" \
		$LG http "$(ip_of $FE2 $f)" 8080
	xchg "v$f TCP: loadgen GETs a product page from the frontend on the other node (and it calls catalog)" \
		$LG http "$(ip_of $FE1 $f)" 8080 --path /products/42 --timeout 5
	xchg "v$f TCP: cart PINGs redis 20 times on one connection" cart redis "$(ip_of redis $f)" 6379 --count 20
	xchg "v$f UDP: the frontend's statsd datagrams are acked" $FE1 udp "$(ip_of statsd $f)" 8125 --count 5
	xchg "v$f UDP: loadgen's DNS queries are answered" $LG udp "$(ip_of coredns $f)" 53 --count 3 --timeout 1
	xchg "v$f ICMP: loadgen's pings to the frontend are answered" $LG ping "$(ip_of $FE1 $f)" 0 --count 3
done

echo "--- the reverse direction's new flows are denied, while the forward flows are live"
PLAN=$WORK/reverse.jsonl
for f in 4 6; do
	bg "$PY" "$RTPROBE" exchange --netns "$(netns_of $LG)" --kind hold --dst "$(ip_of $FE2 $f)" \
		--port 8080 --seconds 4 --portfile "$WORK/held$f" >"$WORK/hold$f.out" 2>&1
	HOLD[f]=${BG_PIDS[-1]}
	bg "$PY" "$RTPROBE" exchange --netns "$(netns_of $LG)" --kind ping --dst "$(ip_of $FE2 $f)" \
		--id $((4240 + f)) --count 20 --interval 0.2 >"$WORK/ping$f.out" 2>&1
	PING[f]=${BG_PIDS[-1]}
done
sleep 0.5
for f in 4 6; do
	plan_add "$PLAN" "v$f frontend -> loadgen TCP 9 (reverse of loadgen -> frontend)" $FE2 "$(ip_of $LG $f)" tcp 9
	plan_add "$PLAN" "v$f frontend -> loadgen UDP 9" $FE2 "$(ip_of $LG $f)" udp 9
	plan_add "$PLAN" "v$f frontend -> loadgen ping" $FE2 "$(ip_of $LG $f)" icmp 0
	plan_add "$PLAN" "v$f frontend -> loadgen echo request with the identifier of loadgen's running ping" \
		$FE2 "$(ip_of $LG $f)" icmp 0 "\"icmp_id\": $((4240 + f)), \"icmp_seq\": 999"
	plan_add "$PLAN" "v$f frontend (other node) -> loadgen TCP 9" $FE1 "$(ip_of $LG $f)" tcp 9
	plan_add "$PLAN" "v$f catalog -> frontend TCP 8080 (reverse of frontend -> catalog)" \
		catalog-5f8d7c9b46-z8k3v "$(ip_of $FE1 $f)" tcp 8080
	plan_add "$PLAN" "v$f redis -> cart TCP 8080 (reverse of cart -> redis)" redis "$(ip_of cart $f)" tcp 8080
	plan_add "$PLAN" "v$f statsd -> frontend UDP 9 (reverse of frontend -> statsd)" statsd "$(ip_of $FE1 $f)" udp 9
	plan_add "$PLAN" "v$f statsd -> cart UDP 9" statsd "$(ip_of cart $f)" udp 9
	plan_add "$PLAN" "v$f frontend -> loadgen ping (other node)" $FE1 "$(ip_of $LG $f)" icmp 0
done
probe_check "$PLAN" blocked --timeout 1.5
# A SYN that looks like a reply of the held connection (frontend:8080 -> loadgen's port).
for f in 4 6; do
	if [ -s "$WORK/held$f" ]; then
		port=$(cat "$WORK/held$f")
		"$PY" "$RTPROBE" synflood --netns "$(netns_of $FE2)" --dst "$(ip_of $LG $f)" --dport "$port" \
			--sport 8080 --count 2 >/dev/null
		FORGED[f]=$port
	fi
done
sleep 0.2
for f in 4 6; do
	check "v$f an idle established connection still answers afterwards" wait "${HOLD[f]}"
	sed 's/^/  /' "$WORK/hold$f.out"
	check "v$f loadgen's ping kept getting every reply" wait "${PING[f]}"
	sed 's/^/  /' "$WORK/ping$f.out"
done
BG_PIDS=()
polc_on worker2 observe --json >"$WORK/events-worker2.json"
polc_on worker1 observe --json >"$WORK/events-worker1.json"
for f in 4 6; do
	if [ -z "${FORGED[f]:-}" ]; then
		bad "v$f the held connection's port is known (for the forged SYN)"
		continue
	fi
	check "v$f a SYN forged from frontend:8080 to the held connection's port ${FORGED[f]} is dropped (default-deny at the frontend's egress)" \
		"$PY" -c '
import json, sys
src, port = sys.argv[2], int(sys.argv[3])
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
m = [e for e in ev if e["source_ip"] == src and e["source_port"] == 8080 and e["destination_port"] == port
     and e["protocol"] == 6]
print("  events:", [(e["verdict"], e["direction"], e["reason"]) for e in m])
sys.exit(0 if m and all(e["verdict"] == "DROPPED" and e["reason"] == "default-deny" and e["direction"] == "egress" for e in m) else 1)
' "$WORK/events-worker2.json" "$(ip_of $FE2 $f)" "${FORGED[f]}"
done
for node in $NODES; do
	status_json "$node" "$WORK/after-$node.json"
	r0=$(counter "$WORK/before-$node.json" "replies and related")
	r1=$(counter "$WORK/after-$node.json" "replies and related")
	check "status on $node counted replies (+$((r1 - r0)))" [ $((r1 - r0)) -gt 0 ]
done

echo "--- kube-dns with an egress policy only: replies to the queries it gets must pass"
check "load generation 2 (kube-dns egress-only) on worker1" load_on worker1 "$WORK/eo/worker1.polc"
for f in 4 6; do
	xchg "v$f UDP: loadgen's DNS queries are answered (kube-dns egress enforced, ingress not)" \
		$LG udp "$(ip_of coredns $f)" 53 --count 3 --timeout 1
	xchg "v$f UDP: payments' DNS queries are answered (same node)" payments udp "$(ip_of coredns $f)" 53 --count 3 --timeout 1
done
PLAN=$WORK/egress-only.jsonl
for f in 4 6; do
	plan_add "$PLAN" "v$f loadgen -> kube-dns TCP 53 (allowed: the handshake's replies must pass)" \
		$LG "$(ip_of coredns $f)" tcp 53
	plan_add "$PLAN" "v$f kube-dns -> frontend TCP 8080 (kube-dns egress default deny)" \
		coredns "$(ip_of $FE1 $f)" tcp 8080 '"expect": "blocked"'
done
probe_check "$PLAN" reached --timeout 1.5
drops_on worker1

echo "--- kube-dns with an ingress policy only: replies to its own calls must pass"
check "load generation 3 (kube-dns ingress-only) on worker1" load_on worker1 "$WORK/io/worker1.polc"
xchg "v4 TCP: kube-dns GETs / from the partner API (kube-dns egress not enforced, ingress is)" \
	coredns http 172.20.0.10 80 --path /
xchg "v6 TCP: kube-dns GETs / from the partner API" coredns http fd00:172:20::10 80 --path /
PLAN=$WORK/ingress-only.jsonl
for f in 4 6; do
	plan_add "$PLAN" "v$f loadgen -> kube-dns UDP 53 (allowed by the ingress policy)" \
		$LG "$(ip_of coredns $f)" udp 53
	plan_add "$PLAN" "v$f kube-dns -> cart UDP 9 (its egress is open; cart's ingress denies)" \
		coredns "$(ip_of cart $f)" udp 9 '"expect": "blocked"'
	plan_add "$PLAN" "v$f world -> kube-dns TCP 53 (not from the cluster: denied)" \
		world "$(ip_of coredns $f)" tcp 53 "\"expect\": \"blocked\", \"bind\": \"$([ $f = 4 ] && echo 172.18.0.100 || echo fd00:172:18::100)\""
done
probe_check "$PLAN" reached --timeout 1.5
drops_on worker1
finish
