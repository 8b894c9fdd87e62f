#!/bin/bash
# Swapping images under load.  Images A and B (the sample policies, plus
# fixtures/swap-common.yaml and swap-a.yaml or swap-b.yaml) agree on everything but
# two flows: catalog -> redis:7007 (A only) and cart -> frontend:7007 (B only).
# Echo services on port 7007 (TCP and UDP) run in redis, the frontend and catalog,
# each with a packet counter on its interface.  While continuous traffic runs
# (long-lived TCP connections exchanging a message every 20 ms, a steady stream of
# new TCP connections, UDP datagrams, IPv4 and IPv6), worker1 is switched between A
# and B at least 200 times, each load with a higher generation.  Checked:
#   - flows allowed by both images lose nothing: every message, connection and
#     datagram is answered within 1 s, and no long-lived connection breaks;
#   - flows denied by both never get a single packet to the server (its packet
#     counter stays at zero) and never connect;
#   - a flow allowed by one image only never completes a message, connection or
#     datagram that starts and ends while only the other image is active;
#   - status: the last generation is active, no drop for "no valid image",
#     "unknown endpoint" or "malformed packet" happened during the swaps.
# What happens to established flows allowed by one image only is reported (INFO
# lines): connection tracking re-decides a flow on its first packet after a swap,
# so under the other image its packets are dropped and it stalls; TCP retransmits,
# and the flow resumes as soon as its image is back.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
setup

SWAPS=${POLC_RT_SWAPS:-200}
N=worker1
A_POL=(-p "$FIXTURES/swap-common.yaml" -p "$FIXTURES/swap-a.yaml")
B_POL=(-p "$FIXTURES/swap-common.yaml" -p "$FIXTURES/swap-b.yaml")
compile_gen() { # GEN: odd generations are A, even ones B (run by xargs: no arrays)
	local g=$1 which=b
	[ $((g % 2)) -eq 0 ] || which=a
	"$POLC" compile -i "$INVENTORY" -p "$POLICIES" -p "$FIXTURES/swap-common.yaml" \
		-p "$FIXTURES/swap-$which.yaml" -o "$WORK/gen$g" --node $N --generation "$g" \
		>"$WORK/gen$g.log" 2>&1
}
export -f compile_gen
export POLC INVENTORY POLICIES WORK N FIXTURES
# polc diff between A and B: exactly the two flows (for every address family).
diff_ab() {
	"$POLC" diff "$WORK/gen3/$N.polc" "$WORK/gen2/$N.polc" >"$WORK/diff.txt" 2>&1
	sed 's/^/  | /; s/{k8s:app.kubernetes.io\/name=\([a-z]*\);[^ ]*/\1 (identity)/' "$WORK/diff.txt" | head -8
	# one line per (source, destination) pair; every changed line is about port 7007
	grep -q 'Newly allowed ([1-9]' "$WORK/diff.txt" && grep -q 'Newly denied ([1-9]' "$WORK/diff.txt" &&
		[ "$(grep -c ' -> ' "$WORK/diff.txt")" -ge 2 ] &&
		! grep ' -> ' "$WORK/diff.txt" | grep -vq 7007
}
t0=$(now_ms)
# Generation 1 (A) for both nodes; 2..SWAPS+1 for worker1, two at a time.
check "compile A for both nodes (generation 1)" compile_images "$WORK/a1" 1 "${A_POL[@]}"
seq 2 $((SWAPS + 1)) | xargs -P "$(nproc)" -I{} bash -c 'compile_gen {}'
check "compile $SWAPS more generations for worker1, alternately B and A" \
	[ "$(ls "$WORK"/gen*/$N.polc 2>/dev/null | wc -l)" -eq "$SWAPS" ]
check "A and B differ in the two flows only (polc diff)" diff_ab
echo "timing: compiles $(($(now_ms) - t0)) ms"

check "testbed up" tb_up
for node in $NODES; do
	check "load A (generation 1) on $node" load_on "$node" "$WORK/a1/$node.polc"
done

# Echo services with packet counters.
REDIS=redis FE1=frontend-6c8f9b7d54-h4x2k CAT1=catalog-5f8d7c9b46-z8k3v
for pod in $REDIS $FE1 $CAT1; do
	bg "$PY" "$RTPROBE" echo-server --netns "$(netns_of $pod)" --port 7007 \
		--out "$WORK/sniff-$pod.json" --ready "$WORK/ready-$pod"
	SERVER_PIDS+=("${BG_PIDS[-1]}")
done
for _ in $(seq 50); do
	[ -e "$WORK/ready-$REDIS" ] && [ -e "$WORK/ready-$FE1" ] && [ -e "$WORK/ready-$CAT1" ] && break
	sleep 0.1
done
checkall "the echo services are up" '[ -e "$WORK/ready-$REDIS" ]' '[ -e "$WORK/ready-$FE1" ]' '[ -e "$WORK/ready-$CAT1" ]'

# The traffic: class both / denied / a-only / b-only.
{
	echo "["
	sep=""
	flow() { # CLASS NAME FROM-POD TO-POD KIND FAMILY [JSON-FIELDS]
		printf '%s{"class": "%s", "name": "%s", "netns": "%s", "dst": "%s", "port": 7007, "kind": "%s"%s}\n' \
			"$sep" "$1" "$2" "$(netns_of "$3")" "$(ip_of "$4" "$6")" "$5" "${7:+, $7}"
		sep=","
	}
	for f in 4 6; do
		flow both "cart-redis-long-v$f" cart $REDIS tcp-long $f '"conns": 4, "interval": 0.02, "samples": false'
		flow both "cart-redis-new-v$f" cart $REDIS tcp-new $f '"interval": 0.03, "samples": false'
		flow both "cart-redis-udp-v$f" cart $REDIS udp $f '"interval": 0.02, "samples": false'
		flow both "loadgen-frontend-new-v$f" loadgen $FE1 tcp-new $f '"interval": 0.03, "samples": false'
		flow both "loadgen-frontend-udp-v$f" loadgen $FE1 udp $f '"interval": 0.02, "samples": false'
		flow both "frontend-catalog-long-v$f" $FE1 $CAT1 tcp-long $f '"conns": 2, "interval": 0.02, "samples": false'
		flow both "frontend-catalog-udp-v$f" $FE1 $CAT1 udp $f '"interval": 0.02, "samples": false'
		flow denied "payments-redis-new-v$f" payments $REDIS tcp-new $f '"interval": 0.05, "timeout": 0.5, "samples": false'
		flow denied "payments-redis-udp-v$f" payments $REDIS udp $f '"interval": 0.05, "timeout": 0.3, "samples": false'
		flow denied "kubedns-frontend-new-v$f" coredns $FE1 tcp-new $f '"interval": 0.05, "timeout": 0.5, "samples": false'
		flow denied "kubedns-frontend-udp-v$f" coredns $FE1 udp $f '"interval": 0.05, "timeout": 0.3, "samples": false'
		flow a-only "catalog2-redis-long-v$f" catalog-5f8d7c9b46-w5r9j $REDIS tcp-long $f '"conns": 1, "interval": 0.02'
		flow a-only "catalog2-redis-new-v$f" catalog-5f8d7c9b46-w5r9j $REDIS tcp-new $f '"interval": 0.03, "timeout": 0.5'
		flow a-only "catalog2-redis-udp-v$f" catalog-5f8d7c9b46-w5r9j $REDIS udp $f '"interval": 0.02, "timeout": 0.3'
		flow b-only "cart-frontend-long-v$f" cart $FE1 tcp-long $f '"conns": 1, "interval": 0.02, "connect_retry": true, "connect_timeout": 0.5'
		flow b-only "cart-frontend-new-v$f" cart $FE1 tcp-new $f '"interval": 0.03, "timeout": 0.5'
		flow b-only "cart-frontend-udp-v$f" cart $FE1 udp $f '"interval": 0.02, "timeout": 0.3'
	done
	echo "]"
} >"$WORK/traffic-config.json"
"$PY" -m json.tool "$WORK/traffic-config.json" >/dev/null || bad "traffic config is not JSON"

# The swaps: worker1 alternates B (even generations) and A (odd), never --force.
"$PY" - "$WORK/swaps-cmds.json" "$SWAPS" "$POLC" "$WORK" "$PIN_BASE-$N" "$STATE_BASE-$N" <<-'EOF'
	import json, sys
	out, n, polc, work, pins, state = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
	cmds = [{"tag": "B" if g % 2 == 0 else "A",
	         "argv": ["nsenter", "--net=/run/netns/ptb-worker1", polc, "load",
	                  "%s/gen%d/worker1.polc" % (work, g), "--node", "worker1", "--attach", "auto",
	                  "--bpffs", pins, "--state-dir", state]} for g in range(2, n + 2)]
	json.dump(cmds, open(out, "w"))
EOF

status_json $N "$WORK/status-before.json"
bg "$PY" "$RTPROBE" traffic --config "$WORK/traffic-config.json" --out "$WORK/traffic.json" \
	--stop-file "$WORK/stop" --ready "$WORK/traffic-started"
TRAFFIC_PID=${BG_PIDS[-1]}
sleep 2 # connections up, traffic flowing under A
t0=$(now_ms)
# The first command in the log is image A, already active: it stands for the start.
"$PY" - "$WORK/swaps-cmds.json" <<-'EOF'
	import json, sys
	cmds = json.load(open(sys.argv[1]))
	json.dump([{"tag": "A", "argv": ["true"]}] + cmds, open(sys.argv[1], "w"))
EOF
"$PY" "$RTPROBE" commands --pause 0.03 --out "$WORK/swaps.json" "$WORK/swaps-cmds.json"
t1=$(now_ms)
sleep 1.5 # traffic under the last image
touch "$WORK/stop"
wait "$TRAFFIC_PID"
check "the traffic generator ran to the end" [ -s "$WORK/traffic.json" ]
echo "timing: $SWAPS swaps in $((t1 - t0)) ms ($(((t1 - t0) / SWAPS)) ms each)"
for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
BG_PIDS=()
status_json $N "$WORK/status-after.json"

nok=$(jget "$WORK/swaps.json" "sum(x['rc'] == 0 for x in d[1:])")
check "all $SWAPS loads succeeded ($nok)" [ "$nok" -eq "$SWAPS" ]
jget "$WORK/swaps.json" "'\n'.join('  load %d (%s) exit %d: %s' % (x['i'], x['tag'], x['rc'], x['output'].strip()) for x in d if x['rc'] != 0)" | head -5
check "status: the last generation ($((SWAPS + 1))) is active" \
	[ "$(jget "$WORK/status-after.json" "d['state'], d['generation']")" = "enforcing $((SWAPS + 1))" ]
for c in "no valid image" "unknown endpoint" "malformed packet"; do
	d0=$(counter "$WORK/status-before.json" "$c")
	d1=$(counter "$WORK/status-after.json" "$c")
	check "status: no '$c' drop during the swaps (+$((d1 - d0)))" [ $((d1 - d0)) -eq 0 ]
done
for c in "forwarded" "replies and related" "policy-denied (default deny)"; do
	d0=$(counter "$WORK/status-before.json" "$c")
	d1=$(counter "$WORK/status-after.json" "$c")
	info "worker1 counted $((d1 - d0)) packets '$c' during the run"
done

if [ -s "$WORK/traffic.json" ]; then
	"$PY" "$RTPROBE" analyze-swaps --traffic "$WORK/traffic.json" --swaps "$WORK/swaps.json" >"$WORK/analysis.txt"
	while IFS= read -r line; do
		case $line in
		ok\ *) ok "${line#ok }" ;;
		FAIL\ *) bad "${line#FAIL }" ;;
		*) echo "$line" ;;
		esac
	done <"$WORK/analysis.txt"
	jget "$WORK/traffic.json" "'messages %d, new connections %d, datagrams %d' % tuple(sum(f['attempts'] for f in d['flows'] if f['kind'] == k) for k in ('tcp-long', 'tcp-new', 'udp'))" |
		sed 's/^/info: traffic in total: /'
fi
# Not one packet of a flow both images deny may reach its server.
for pair in "$REDIS:payments" "$FE1:coredns"; do
	server=${pair%%:*} client=${pair#*:}
	n=$(jget "$WORK/sniff-$server.json" "sum(v for k, v in d.items() if k.split()[0] in sys.argv[1:])" \
		"$(ip_of $client 4)" "$(ip_of $client 6)")
	check "not one packet from $client reached $server's port 7007 ($n)" [ "$n" = 0 ]
done
info "packets that reached port 7007: $(cat "$WORK"/sniff-*.json | tr '\n' ' ')"
finish
