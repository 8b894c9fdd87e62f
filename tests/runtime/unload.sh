#!/bin/bash
# polc unload leaves nothing: after a load on both nodes (tcx, then --clsact),
# `polc unload` must remove every pinned file (and the pin and state dirs), every
# tcx link (bpftool link), every clsact filter and qdisc on the pod interfaces, and
# every program and map the load created (bpftool prog / map, by id: the kernel
# frees them shortly after the last reference goes, so they are polled for up to
# 5 s); traffic is no longer enforced.  Unload runs twice (the second finds nothing
# and succeeds), and once on a node where nothing was ever loaded.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
setup

# Ids of polc's programs, links and maps, as bpftool shows them now.
bpf_ids() { # prog|map|link
	bpftool -j "$1" show 2>/dev/null | "$PY" -c '
import json, sys
kind = sys.argv[1]
try:
    rows = json.load(sys.stdin)
except ValueError:
    rows = []
for r in rows:
    name = r.get("name", "")
    if kind == "link" or name.startswith("polc_"):
        print(r["id"], r.get("prog_id", ""), name)' "$1"
}
new_ids() { # KIND BEFORE-FILE: ids that appeared since
	local id rest
	bpf_ids "$1" | while read -r id rest; do
		grep -q "^$id " "$2" || echo "$id $rest"
	done
}
# gone KIND FILE: none of the ids in FILE exists any more (polled: freeing is deferred)
gone() {
	local kind=$1 file=$2 tries=50 left id
	while :; do
		left=$(bpf_ids "$kind" | while read -r id _; do grep -q "^$id " "$file" && echo "$id"; done)
		[ -z "$left" ] && return 0
		tries=$((tries - 1))
		[ $tries -gt 0 ] || break
		sleep 0.1
	done
	echo "  still there ($kind): $left"
	return 1
}
no_new_polc_progs() {
	local id
	for id in $(bpf_ids prog | awk '{ print $1 }'); do
		grep -q "^$id " "$WORK/prog.before" || { echo "  new polc program: $id"; return 1; }
	done
}
LXC="lxc-coredns lxc-frontend lxc-catalog lxc-payments lxc-redis"
LXC2="lxc-frontend lxc-loadgen lxc-catalog lxc-cart lxc-statsd"
ifaces_of() { if [ "$1" = worker1 ]; then echo $LXC; else echo $LXC2; fi; }
# tc_state NODE: every filter and non-default qdisc on the node's pod interfaces
tc_state() {
	local i
	for i in $(ifaces_of "$1"); do
		on_node "$1" tc filter show dev "$i" ingress | sed "s/^/$i ingress: /"
		on_node "$1" tc filter show dev "$i" egress | sed "s/^/$i egress: /"
		on_node "$1" tc qdisc show dev "$i" | grep -v 'qdisc noqueue' | sed "s/^/$i qdisc: /"
	done
}
check "compile the sample policies" compile_images "$WORK/img" 1
check "testbed up" tb_up
PLAN=$WORK/denied.jsonl
for f in 4 6; do
	plan_add "$PLAN" "v$f frontend -> redis TCP 6379 (denied by the policies)" \
		frontend-6c8f9b7d54-h4x2k "$(ip_of redis $f)" tcp 6379
	plan_add "$PLAN" "v$f loadgen -> payments TCP 8080 (denied by the policies)" \
		loadgen "$(ip_of payments $f)" tcp 8080
done

echo "--- unload where nothing was ever loaded"
for node in $NODES; do
	check "$node: unload with nothing loaded exits 0" polc_on "$node" unload
done
check "no pin or state dir appeared" bash -c "! compgen -G '$PIN_BASE-*' >/dev/null && ! compgen -G '$STATE_BASE-*' >/dev/null"

for mode in tcx clsact; do
	echo "--- $mode: load on both nodes"
	bpf_ids prog >"$WORK/prog.before"
	bpf_ids map >"$WORK/map.before"
	bpf_ids link >"$WORK/link.before"
	args=()
	[ $mode = tcx ] || args=(--clsact)
	for node in $NODES; do
		check "$mode: load on $node" load_on "$node" "$WORK/img/$node.polc" "${args[@]}"
		check "$mode: status on $node: 5 interfaces attached with $mode" [ "$(polc_on "$node" status --json |
			"$PY" -c 'import json,sys; print(sum(a["present"] and a["mode"] == sys.argv[1] for a in json.load(sys.stdin)["attached"]))' $mode)" -eq 5 ]
	done
	new_ids prog "$WORK/prog.before" >"$WORK/prog.ours"
	new_ids map "$WORK/map.before" >"$WORK/map.ours"
	new_ids link "$WORK/link.before" >"$WORK/link.ours"
	info "$mode: the loads left $(wc -l <"$WORK/prog.ours") programs, $(wc -l <"$WORK/map.ours") maps, $(wc -l <"$WORK/link.ours") links: $(awk '{ print $NF }' "$WORK/prog.ours" | sort | uniq -c | tr -s ' \n' ' ')"
	checkall "$mode: there are polc programs and maps to remove" '[ -s "$WORK/prog.ours" ]' '[ -s "$WORK/map.ours" ]'
	if [ $mode = tcx ]; then
		check "tcx: one link per interface and direction (20)" [ "$(wc -l <"$WORK/link.ours")" -eq 20 ]
	else
		for node in $NODES; do
			tc_state "$node" >"$WORK/tc-$node"
			check "clsact: $node has a polc filter both ways on its 5 interfaces" \
				[ "$(grep -c 'polc_' "$WORK/tc-$node")" -eq 10 ]
		done
	fi
	for node in $NODES; do
		ls "$PIN_BASE-$node" >"$WORK/pins-$node"
	done
	info "$mode: pinned on worker1: $(tr '\n' ' ' <"$WORK/pins-worker1")"
	probe_check "$PLAN" blocked --timeout 1.2

	echo "--- $mode: unload, twice"
	for node in $NODES; do
		polc_on "$node" unload >"$WORK/unload-$node.out" 2>&1
		rc=$?
		sed 's/^/  | /' "$WORK/unload-$node.out"
		check "$mode: unload on $node exits 0" [ $rc -eq 0 ]
		check "$mode: it removed everything that was pinned ($(grep -c . "$WORK/pins-$node"))" \
			grep -q "removed $(grep -c . "$WORK/pins-$node") pinned objects" "$WORK/unload-$node.out"
		polc_on "$node" unload >"$WORK/unload2-$node.out" 2>&1
		rc=$?
		sed 's/^/  | /' "$WORK/unload2-$node.out"
		checkall "$mode: a second unload on $node exits 0 and finds nothing" '[ $rc -eq 0 ]' \
			'grep -q "removed 0 pinned" "$WORK/unload2-$node.out"'
		check "$mode: no pin dir left on $node" [ ! -e "$PIN_BASE-$node" ]
		check "$mode: no state dir left on $node" [ ! -e "$STATE_BASE-$node" ]
		check "$mode: no tc filter or clsact qdisc on $node's pod interfaces" [ -z "$(tc_state "$node")" ]
		polc_on "$node" status >/dev/null 2>&1
		check "$mode: status on $node says nothing is loaded (exit 1)" [ $? -eq 1 ]
	done
	check "$mode: none of the loads' links is left (bpftool link)" gone link "$WORK/link.ours"
	check "$mode: none of the loads' programs is left (bpftool prog)" gone prog "$WORK/prog.ours"
	check "$mode: none of the loads' maps is left (bpftool map)" gone map "$WORK/map.ours"
	check "$mode: no polc program at all that was not there before" no_new_polc_progs
	probe_check "$PLAN" reached --timeout 1.2
done
finish
