#!/bin/bash
# The verdict matrix: polc's datapath against polc trace, flow by flow.
#
# The sample policies (plus tests/runtime/fixtures/matrix-extra.yaml: deny rules and
# one L7 rule) are compiled and loaded on both nodes.  Then every ordered pod pair
# x {TCP 8080, 6379, 53, 9090; UDP 53, 8125, 9; ICMP echo} x {IPv4, IPv6}, every
# pod to the three world addresses, both nodes to every pod and the world to every
# pod is sent once, for real, and compared with `polc trace --json` for the same
# flow.  "Reached" is anything coming back: a connection or a reset, an answer or an
# ICMP port unreachable, an echo reply; a flow polc drops times out.  A flow that
# needs the L7 proxy (trace: allowed, reason l7-redirect) must drop: polc has no
# proxy and fails closed.  For every denied flow, the DROPPED event of
# `polc observe --json` at the half that drops it (egress at the source first)
# must give trace's reason, and `polc status` counters must have counted them.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
setup

EXTRA=$FIXTURES/matrix-extra.yaml
PLAN=$WORK/plan.json

compile_images "$WORK/img" 1 -p "$EXTRA"
check "the sample policies and the matrix fixture compile" [ $? -eq 0 ]
"$PY" "$RTPROBE" plan-matrix >"$PLAN"
NFLOWS=$(jget "$PLAN" "len(d)")
info "$NFLOWS flows in the plan"

t0=$(now_ms)
"$PY" "$RTPROBE" trace --polc "$POLC" -i "$INVENTORY" -p "$POLICIES" -p "$EXTRA" "$PLAN" \
	>"$WORK/traces.json"
check "polc trace decided every flow" [ "$(jget "$WORK/traces.json" "sum('error' not in v for v in d.values())")" -eq "$NFLOWS" ]
echo "timing: $NFLOWS traces in $(($(now_ms) - t0)) ms"

check "testbed up" tb_up
for node in $NODES; do
	check "load on $node" load_on "$node" "$WORK/img/$node.polc"
	status_json "$node" "$WORK/status-before-$node.json"
	check "status on $node: enforcing generation 1" \
		[ "$(jget "$WORK/status-before-$node.json" "d['state'], d['generation']")" = "enforcing 1" ]
	polc_on "$node" observe --json >/dev/null # drop what is queued
done

# 250 flows a second keeps polc's event rate limit (1000/s per CPU, bursts of 101)
# from dropping events, so that every denied flow has its event.
t0=$(now_ms)
probe "$PLAN" "$WORK/results.json" --rate 250 --timeout 1.5
check "every probe ran" [ "$(jget "$WORK/results.json" "len(d)")" -eq "$NFLOWS" ]
check "no probe failed locally (errors other than a timeout)" \
	[ "$(jget "$WORK/results.json" "sum(r['outcome'] == 'error' for r in d)")" -eq 0 ]
echo "timing: $NFLOWS probes in $(($(now_ms) - t0)) ms"
sleep 0.3

EVENTS=()
for node in $NODES; do
	polc_on "$node" observe --json >"$WORK/events-$node.json"
	status_json "$node" "$WORK/status-after-$node.json"
	EVENTS+=(--events "$node=$WORK/events-$node.json")
	info "$node: $(grep -c . "$WORK/events-$node.json") events"
done

"$PY" "$RTPROBE" check-matrix --plan "$PLAN" --traces "$WORK/traces.json" \
	--results "$WORK/results.json" "${EVENTS[@]}" >"$WORK/check.txt"
grep -v '^DROPS ' "$WORK/check.txt" | sed 's/^/  /' | head -80

read -r compared agree mism _terr denied rok rwrong rnoev fwdrop < <(
	sed -n 's/^COUNT //p' "$WORK/check.txt" | tr ' ' '\n' | cut -d= -f2 | tr '\n' ' ')
echo "flows compared: $compared ($agree agree with trace, $mism differ; $denied denied)"
tally "$agree" "$mism" "real outcome equals polc trace's verdict, flow by flow"
check "every flow was compared" [ "$compared" -eq "$NFLOWS" ]

limited=0
for node in $NODES; do
	limited=$((limited + $(counter "$WORK/status-after-$node.json" "events rate-limited")))
done
tally "$rok" "$rwrong" "denied flows: the DROPPED event gives trace's reason"
if [ "$limited" -eq 0 ]; then
	tally "$((denied - rnoev))" "$rnoev" "every denied flow has a DROPPED event at the half that drops it"
else
	info "$limited events were rate-limited: $rnoev denied flows without an event not counted"
fi
check "no allowed flow has a DROPPED event" [ "$fwdrop" -eq 0 ]

# Counters: at least one drop per denied flow, by reason, on the node that dropped it.
declare -A NAME=([default-deny]="policy-denied (default deny)" [policy-deny]="policy-denied (deny rule)"
	[needs-proxy]="needs L7 proxy" [needs-auth]="needs authentication")
while read -r _ node reason n; do
	c0=$(counter "$WORK/status-before-$node.json" "${NAME[$reason]}")
	c1=$(counter "$WORK/status-after-$node.json" "${NAME[$reason]}")
	check "status on $node counted $reason drops: +$((c1 - c0)) for $n denied flows" [ $((c1 - c0)) -ge "$n" ]
done < <(grep '^DROPS ' "$WORK/check.txt")
for node in $NODES; do
	for c in "no valid image" "unknown endpoint" "malformed packet" "fragment without flow"; do
		check "status on $node: no '$c' drops" [ "$(counter "$WORK/status-after-$node.json" "$c")" -eq 0 ]
	done
done
finish
