#!/bin/bash
# polc learn end to end, on the testbed (samples/testbed):
#   up; a live capture with `polc learn -i IFACE` on every pod's veth, inside each node's
#   network namespace, while `polc-testbed traffic` runs the shop's normal flows; Ctrl-C
#   (SIGINT) ends the captures, which still write; one `polc learn --l4-only` over both
#   nodes' captures; the policies lint clean, the self-check admits every observed flow,
#   the generated `polc test` file passes; compile; load on both nodes; the normal traffic
#   again: every flow passes; the rogue traffic: every flow is blocked; unload; down.
# Needs root; exit 77 = skipped (a failure when CI=true). Serialized with the other testbed
# tests by their lock. Everything is cleaned up however the test ends.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${POLC_SRCDIR:-$(cd "$HERE/../.." && pwd)}
. "$SRC/tests/testbed/lib.sh"
POLC=${POLC:-$(command -v polc || true)}
INV=$SRC/samples/inventory/shop.yaml
NODES="worker1 worker2"
PIN_BASE=/sys/fs/bpf/polc-learn-e2e
STATE_BASE=/run/polc-learn-e2e
CAPTURE_PIDS=()

[ -n "$POLC" ] && [ -x "$POLC" ] || cannot_run "no polc binary (set POLC, or run make check)"
require_env
for t in nsenter bpftool; do
	command -v "$t" >/dev/null 2>&1 || cannot_run "missing $t"
done
[ -d /sys/fs/bpf ] || cannot_run "no /sys/fs/bpf"
serialize "$@"
use_private_state

on_node() {
	local node=$1
	shift
	nsenter --net="/run/netns/ptb-$node" "$@"
}
polc_on() { # polc_on NODE VERB ARGS...: a runtime verb with this test's pins and state
	local node=$1 verb=$2
	shift 2
	on_node "$node" "$POLC" "$verb" "$@" --bpffs "$PIN_BASE-$node" --state-dir "$STATE_BASE-$node"
}

# The testbed lib's teardown, plus what this test adds: captures, loaded programs, pins.
teardown() {
	[ -z "${TORN_DOWN:-}" ] || return 0
	TORN_DOWN=1
	local p node
	for p in "${CAPTURE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${CAPTURE_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for node in $NODES; do
		if [ -e "$PIN_BASE-$node" ]; then
			if [ -e "/run/netns/ptb-$node" ]; then
				polc_on "$node" unload >/dev/null 2>&1
			else
				"$POLC" unload --bpffs "$PIN_BASE-$node" --state-dir "$STATE_BASE-$node" >/dev/null 2>&1
			fi
		fi
		rm -rf "$PIN_BASE-$node" "$STATE_BASE-$node" 2>/dev/null
	done
	if [ "$FAILED" -eq 0 ]; then
		"$POLC_TESTBED" down --purge >/dev/null 2>&1 || true
		rm -rf "$TEST_BASE"
	else
		"$POLC_TESTBED" down >/dev/null 2>&1 || true
		echo "kept for a post-mortem: $WORK (test files), $POLC_TESTBED_STATE/logs (service logs)"
	fi
}

# rows FILE KIND RESULT: how many rows of a traffic --json file have that kind and result
rows() {
	"$PY" -c "
import json, sys
rows = json.load(open(sys.argv[1]))
print(sum(1 for r in rows if r['kind'] == sys.argv[2] and (sys.argv[3] == '*' or r['result'] == sys.argv[3])))" "$1" "$2" "$3"
}

# ---- a run that was killed may have left pins
for node in $NODES; do
	rm -rf "$PIN_BASE-$node" "$STATE_BASE-$node" 2>/dev/null
done

check "testbed up" bash -c "'$POLC_TESTBED' up >'$WORK/up.log' 2>&1"

# ---- live capture on every lxc veth of each node, with polc learn itself
for node in $NODES; do
	ifs=$(on_node "$node" ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^lxc-')
	args=()
	for i in $ifs; do args+=(-i "$i"); done
	check "$node has pod veths to capture on" [ "${#args[@]}" -ge 8 ]
	# nsenter execs polc: $! is polc itself, which the SIGINT below must reach
	nsenter --net="/run/netns/ptb-$node" "$POLC" learn -i "$INV" "${args[@]}" --write-pcap "$WORK/$node.pcap" \
		-o "$WORK/live-$node" --no-check --no-progress >"$WORK/live-$node.out" 2>"$WORK/live-$node.err" &
	CAPTURE_PIDS+=($!)
done
for node in $NODES; do # wait until each capture is open
	for _ in $(seq 50); do
		grep -q "capturing on" "$WORK/live-$node.err" 2>/dev/null && break
		sleep 0.1
	done
	check "capture on $node started" grep -q "capturing on" "$WORK/live-$node.err"
done
sleep 0.3

"$POLC_TESTBED" traffic --seconds 5 --json "$WORK/learn-traffic.json" >"$WORK/learn-traffic.txt" 2>&1
check "the traffic to learn from: every normal flow worked" [ $? -eq 0 ]
sleep 0.5

# Ctrl-C ends a live capture cleanly: it still learns and writes
for p in "${CAPTURE_PIDS[@]}"; do kill -INT "$p"; done
i=0
for node in $NODES; do
	wait "${CAPTURE_PIDS[$i]}"
	rc=$?
	check "capture on $node: Ctrl-C finished it with exit 0 (got $rc)" [ "$rc" -eq 0 ]
	check "capture on $node: packets saved with --write-pcap" [ -s "$WORK/$node.pcap" ]
	check "capture on $node: it learned policies itself too" bash -c "ls '$WORK/live-$node'/*.yaml >/dev/null 2>&1"
	i=$((i + 1))
done
CAPTURE_PIDS=()

# ---- learn from both nodes' captures (flows seen on both ends count once)
"$POLC" learn -i "$INV" "$WORK/worker1.pcap" "$WORK/worker2.pcap" --l4-only -o "$WORK/policies" \
	--no-progress --json >"$WORK/report.json" 2>"$WORK/learn.err"
rc=$?
check "polc learn --l4-only: exit 0 (self-check: every observed flow admitted)" [ "$rc" -eq 0 ]
check "self-check: N of N observed flows admitted" "$PY" -c "
import json, sys
d = json.load(open(sys.argv[1]))['selfcheck']
print('self-check: %d of %d observed flows admitted' % (d['admitted'], d['flows']))
sys.exit(0 if d['flows'] > 0 and d['admitted'] == d['flows'] and not d['failures'] else 1)" "$WORK/report.json"
check "a policy for every workload that talked (8)" [ "$(ls "$WORK/policies" | wc -l)" -eq 8 ]
check "lint clean" "$POLC" lint --inventory "$INV" "$WORK/policies"
check "the generated polc test file passes" "$POLC" test "$WORK/policies.test.yaml"
check "compile for both nodes" "$POLC" compile -i "$INV" -p "$WORK/policies" -o "$WORK/img" --all-nodes

for node in $NODES; do
	check "load on $node" polc_on "$node" load "$WORK/img/$node.polc" --node "$node" --attach auto
done

"$POLC_TESTBED" traffic --seconds 4 --json "$WORK/enforced.json" >"$WORK/enforced.txt" 2>&1
rc=$?
cat "$WORK/enforced.txt"
check "enforced: traffic exits 0" [ "$rc" -eq 0 ]
check "enforced: every normal flow passes ($(rows "$WORK/enforced.json" normal ok) of $(rows "$WORK/enforced.json" normal '*'))" \
	[ "$(rows "$WORK/enforced.json" normal ok)" -eq "$(rows "$WORK/enforced.json" normal '*')" ]

"$POLC_TESTBED" traffic --rogue --expect-blocked --attempts 2 --json "$WORK/rogue.json" >"$WORK/rogue.txt" 2>&1
rc=$?
cat "$WORK/rogue.txt"
check "rogue: traffic --expect-blocked exits 0" [ "$rc" -eq 0 ]
check "rogue: every rogue flow blocked ($(rows "$WORK/rogue.json" rogue blocked) of $(rows "$WORK/rogue.json" rogue '*'))" \
	[ "$(rows "$WORK/rogue.json" rogue blocked)" -eq "$(rows "$WORK/rogue.json" rogue '*')" ]

for node in $NODES; do
	check "unload on $node" polc_on "$node" unload
done

teardown
left() {
	local l=""
	for node in $NODES; do
		[ -e "$PIN_BASE-$node" ] && l="$l pins-$node"
		[ -e "$STATE_BASE-$node" ] && l="$l state-$node"
	done
	[ "$(netns_count)" -eq 0 ] || l="$l namespaces"
	[ -z "$l" ] || echo "left behind:$l"
	[ -z "$l" ]
}
check "nothing left behind (pins, state, testbed namespaces)" left
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
