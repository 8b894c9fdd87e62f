#!/bin/bash
# polc load --watch, and the loader's ABI check:
#   - `polc load IMAGE --attach auto --watch` applies the image, attaches to the node's five
#     pod interfaces, then keeps running; a new lxc* interface (a new pod's veth) is attached
#     within seconds of appearing, an interface that does not match is not;
#   - the watcher does not hold the loader's lock: a newer image loads while it runs, and an
#     interface that appears after that swap is attached too;
#   - SIGTERM ends the watcher with exit 0, and enforcement stays (pinned);
#   - pinned state written with another map layout (polc_meta's abi_version changed with
#     bpftool) makes the next load refuse (exit 1, naming both layouts) and change nothing;
#     with the layout restored the same load succeeds.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
setup

N=worker1
attached_ifaces() { # NODE: "name mode" per attached and present interface
	polc_on "$1" status --json 2>/dev/null | "$PY" -c '
import json, sys
for a in json.load(sys.stdin).get("attached", []):
    if a["present"]:
        print(a["interface"], a["mode"])'
}
wait_attached() { # NODE IFACE: polls status for up to 5 s
	local i
	for i in $(seq 50); do
		grep -q "^$2 " <<<"$(attached_ifaces "$1")" && return 0
		sleep 0.1
	done
	return 1
}
not_attached() { ! grep -q "^$2 " <<<"$(attached_ifaces "$1")"; }
generation() { polc_on "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

check "compile generation 1" compile_images "$WORK/g1" 1
check "compile generation 2" compile_images "$WORK/g2" 2
check "compile generation 3" compile_images "$WORK/g3" 3
check "testbed up" tb_up

echo "--- --watch"
# nsenter execs polc (no fork without a pid namespace): $! is the watcher itself
nsenter --net="/run/netns/ptb-$N" "$POLC" load "$WORK/g1/$N.polc" --node "$N" --attach auto \
	--watch --bpffs "$PIN_BASE-$N" --state-dir "$STATE_BASE-$N" >"$WORK/watch.out" 2>&1 &
WATCHER=$!
BG_PIDS+=("$WATCHER")
for i in $(seq 100); do grep -q 'watching for new interfaces' "$WORK/watch.out" && break; sleep 0.1; done
sed 's/^/  | /' "$WORK/watch.out"
check "the watcher applied generation 1 and is watching" grep -q 'watching for new interfaces' "$WORK/watch.out"
check "the five pod interfaces are attached" [ "$(attached_ifaces "$N" | grep -c '^lxc-')" -eq 5 ]

on_node "$N" ip link add lxc-newpod1 type veth peer name eth-newpod1
check "a new lxc-newpod1 is attached by the watcher" wait_attached "$N" lxc-newpod1
check "its peer eth-newpod1 (not lxc*) is not" not_attached "$N" eth-newpod1

check "a newer image loads while the watcher runs (it holds no lock)" load_on "$N" "$WORK/g2/$N.polc"
check "generation 2 is active" [ "$(generation "$N")" = 2 ]
on_node "$N" ip link add lxc-newpod2 type veth peer name eth-newpod2
check "an interface that appears after the swap is attached too" wait_attached "$N" lxc-newpod2
check "the watcher says what it attached" grep -q 'attached to lxc-newpod2' "$WORK/watch.out"

kill -TERM "$WATCHER"
rc=timeout
for i in $(seq 50); do
	if ! kill -0 "$WATCHER" 2>/dev/null; then
		wait "$WATCHER"
		rc=$?
		break
	fi
	sleep 0.1
done
check "SIGTERM ends the watcher with exit 0 (got $rc)" [ "$rc" = 0 ]
check "enforcement stays after the watcher ends: generation 2" [ "$(generation "$N")" = 2 ]
check "enforcement stays after the watcher ends: interfaces attached" \
	[ "$(attached_ifaces "$N" | grep -c '^lxc-')" -ge 5 ]
on_node "$N" ip link del lxc-newpod1 2>/dev/null
on_node "$N" ip link del lxc-newpod2 2>/dev/null

echo "--- pinned state with another map layout"
meta=$PIN_BASE-$N/polc_meta
# polc_meta's value: digest (32 bytes), generation (8), node name (64), abi_version (4), pad
set_abi() { # ABI
	"$PY" - "$meta" "$1" <<'PY'
import json, subprocess, sys
path, abi = sys.argv[1], int(sys.argv[2])
out = json.loads(subprocess.check_output(["bpftool", "-j", "map", "lookup", "pinned", path,
                                          "key", "0", "0", "0", "0"]))
value = [int(b, 16) for b in out["value"]]
value[104:108] = list(abi.to_bytes(4, "little"))
subprocess.check_call(["bpftool", "map", "update", "pinned", path, "key", "0", "0", "0", "0",
                       "value"] + [str(b) for b in value])
PY
}
check "polc_meta now says layout 99" set_abi 99
polc_on "$N" load "$WORK/g3/$N.polc" --node "$N" --attach auto >"$WORK/abi.out" 2>&1
rc=$?
sed 's/^/  | /' "$WORK/abi.out"
check "a load over layout 99 is refused (exit 1, got $rc)" [ $rc -eq 1 ]
check "the refusal names both layouts" grep -q 'map layout (ABI) 99 and this polc writes layout 1' "$WORK/abi.out"
check "nothing changed: generation 2 is still active" [ "$(generation "$N")" = 2 ]
check "polc_meta restored to this polc's layout" set_abi 1
check "the same load now succeeds" load_on "$N" "$WORK/g3/$N.polc"
check "generation 3 is active" [ "$(generation "$N")" = 3 ]
finish
