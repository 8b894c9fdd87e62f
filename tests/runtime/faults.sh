#!/bin/bash
# Runtime faults:
#   - the pin directory on a read-only bpffs, or under a read-only file system with
#     no bpffs: polc load exits non-zero with a clear error and nothing changes
#     (nothing attached, traffic not enforced); and a pin directory whose parent is
#     an ordinary directory must not hide that directory (these run in a private
#     mount namespace, so that whatever polc mounts goes away with it);
#   - an image bigger than the kernel lets the loader have (a memory cgroup of 50 MB
#     for an image of 360 000 policy entries): refused whole, the active image and
#     its enforcement unchanged; without the limit it loads (the image is fine);
#   - --clsact: enforcement works (the testbed's traffic, rogue flows blocked);
#   - two loaders at once: the second fails with "another polc loader" (the lock
#     held by flock(1), and two real loads started together);
#   - a SYN flood (200 000 SYNs from loadgen, IPv4 and IPv6, new source ports) fills
#     polc's connection tracking while allowed traffic keeps working and new denied
#     flows are still dropped.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
command -v unshare >/dev/null || cannot_run "missing unshare (util-linux)"
serialize "$@"
setup

N=worker1
FE1=frontend-6c8f9b7d54-h4x2k FE2=frontend-6c8f9b7d54-q9m7w
check "compile the sample policies (generation 1)" compile_images "$WORK/img" 1
check "testbed up" tb_up
PLAN=$WORK/enforced.jsonl
for f in 4 6; do
	plan_add "$PLAN" "v$f frontend -> redis TCP 6379 (denied by the policies)" $FE1 "$(ip_of redis $f)" tcp 6379 '"expect": "blocked"'
	plan_add "$PLAN" "v$f loadgen -> frontend TCP 8080 (allowed)" loadgen "$(ip_of $FE1 $f)" tcp 8080 '"expect": "reached"'
done
UNENFORCED=$WORK/unenforced.jsonl
for f in 4 6; do
	plan_add "$UNENFORCED" "v$f frontend -> redis TCP 6379 (passes: nothing enforced)" $FE1 "$(ip_of redis $f)" tcp 6379
done

echo "--- the pin directory: read-only, missing, or an ordinary directory's child"
cat >"$WORK/mountcase.sh" <<-'EOF'
	# In a private mount namespace: CASE DIR then polc load's arguments.
	case=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	case $case in
	ro-bpffs) mount -t bpf -o ro bpf "$dir" && pins=$dir/polc ;;
	ro-plain) mount -t tmpfs -o ro,size=1m tmpfs "$dir" && pins=$dir/sub/polc ;;
	plain) mount -t tmpfs -o size=1m tmpfs "$dir" && echo keep >"$dir/keep-me" && pins=$dir/polc ;;
	esac || { echo "mount failed"; exit 100; }
	"$@" --bpffs "$pins"
	rc=$?
	echo "exit $rc"
	[ "$case" != plain ] || { [ -e "$dir/keep-me" ] && echo "keep-me visible" || echo "keep-me HIDDEN"; }
	findmnt -rn -o TARGET,FSTYPE | grep -F "$dir" | sed 's/^/mount: /'
	ls "$pins" 2>/dev/null | sed 's/^/pinned: /'
	# whatever was loaded goes (the namespace and its mounts go too)
	"${@:1:3}" unload --bpffs "$pins" --state-dir "${STATE}" >/dev/null 2>&1
	findmnt -rn -o TARGET,FSTYPE | grep -F "$dir" | sed 's/^/after unload, mount: /'
	exit $rc
EOF
mount_case() { # CASE: polc load in worker1 with the pin dir of that case
	local case=$1
	STATE=$WORK/state-$case unshare -m --propagation private bash "$WORK/mountcase.sh" "$case" \
		"$WORK/mnt-$case" nsenter --net=/run/netns/ptb-$N "$POLC" load "$WORK/img/$N.polc" \
		--node $N --attach auto --state-dir "$WORK/state-$case" >"$WORK/mount-$case.out" 2>&1
	local rc=$?
	sed 's/^/  | /' "$WORK/mount-$case.out"
	return $rc
}
bpftool -j link show >"$WORK/links.before" 2>/dev/null
mount_case ro-bpffs
rc=$?
checkall "read-only bpffs: polc load exits non-zero (exit $rc)" '[ $rc -ne 0 ]' '[ $rc -ne 100 ]' \
	'grep -q "^exit [1-9]" "$WORK/mount-ro-bpffs.out"'
check "read-only bpffs: the error says the file system is read-only" grep -qi "read-only" "$WORK/mount-ro-bpffs.out"
mount_case ro-plain
rc=$?
checkall "no bpffs, parent on a read-only file system: polc load exits non-zero (exit $rc)" \
	'[ $rc -ne 0 ]' '[ $rc -ne 100 ]' 'grep -q "^exit [1-9]" "$WORK/mount-ro-plain.out"'
check "no bpffs, read-only parent: the error says why" grep -qiE "read-only|cannot create|mount" "$WORK/mount-ro-plain.out"
check "after both: nothing attached (no tcx link appeared)" \
	[ "$(bpftool -j link show 2>/dev/null)" = "$(cat "$WORK/links.before")" ]
check "after both: no tc filter on worker1's pod interfaces" \
	[ -z "$(for i in lxc-coredns lxc-frontend lxc-catalog lxc-payments lxc-redis; do on_node $N tc filter show dev $i ingress; on_node $N tc filter show dev $i egress; done)" ]
check "after both: no copy of the image in the state dirs" bash -c "! ls '$WORK'/state-ro-*/*.polc 2>/dev/null"
probe_check "$UNENFORCED" reached --timeout 1.2
mount_case plain
check "a pin dir under an ordinary directory: the directory's files stay visible" grep -q "keep-me visible" "$WORK/mount-plain.out"
info "mounted there after the load: $(grep '^mount:' "$WORK/mount-plain.out" | tr '\n' ' ')"
check "and polc unload leaves no bpffs of polc's mounted there" \
	bash -c "! grep -q '^after unload, mount: .* bpf$' '$WORK/mount-plain.out'"

echo "--- an image bigger than the kernel lets polc have"
for node in $NODES; do
	check "load generation 1 on $node" load_on "$node" "$WORK/img/$node.polc"
done
"$PY" - "$WORK/big.yaml" <<-'EOF'
	import sys
	# 1500 addresses x every TCP and UDP port (ranges: ~30 prefixes each) x 4 endpoints.
	n = 1500
	out = ["apiVersion: cilium.io/v2", "kind: CiliumClusterwideNetworkPolicy",
	       "metadata:", "  name: rt-big", "spec:", "  endpointSelector:", "    matchLabels:",
	       "      app.kubernetes.io/part-of: shop", "  egress:", "  - toCIDRSet:"]
	out += ["    - cidr: 100.%d.%d.%d/32" % (64 + (i >> 16), (i >> 8) & 255, i & 255) for i in range(n)]
	out += ["    toPorts:", "    - ports:", '      - port: "1"', "        endPort: 65534",
	        "        protocol: TCP", '      - port: "1"', "        endPort: 65534", "        protocol: UDP"]
	open(sys.argv[1], "w").write("\n".join(out) + "\n")
EOF
"$POLC" compile -i "$INVENTORY" -p "$POLICIES" -p "$WORK/big.yaml" -o "$WORK/big" --node $N \
	--generation 2 --max-entries 200000 --reference-budget 1000 >"$WORK/big.log" 2>&1
check "compile the big image (generation 2)" [ $? -eq 0 ]
sed 's/^/  | /' "$WORK/big.log"
MEMCG=
memcg_make() { # a memory cgroup limited to $1; sets MEMCG
	local own
	if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null &&
		grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
		MEMCG=/sys/fs/cgroup/polc-rt-test-$$
		mkdir "$MEMCG" && echo "$1" >"$MEMCG/memory.max" || return 1
		echo 0 >"$MEMCG/memory.swap.max" 2>/dev/null
	elif [ -d /sys/fs/cgroup/memory ]; then
		own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
		MEMCG=/sys/fs/cgroup/memory${own%/}/polc-rt-test-$$
		mkdir "$MEMCG" && echo "$1" >"$MEMCG/memory.limit_in_bytes" || return 1
	else
		return 1
	fi
}
extra_cleanup() { [ -z "$MEMCG" ] || rmdir "$MEMCG" 2>/dev/null; }
status_json $N "$WORK/status-small.json"
if memcg_make 50M; then
	info "memory cgroup: $MEMCG (50 MB)"
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$MEMCG" \
		nsenter --net=/run/netns/ptb-$N "$POLC" load "$WORK/big/$N.polc" --node $N --attach auto \
		--bpffs "$PIN_BASE-$N" --state-dir "$STATE_BASE-$N" >"$WORK/big-load.out" 2>&1
	rc=$?
	sed 's/^/  | /' "$WORK/big-load.out"
	checkall "in 50 MB: polc load of the big image fails (exit $rc) and was not killed" '[ $rc -ne 0 ]' '[ $rc -lt 128 ]'
	check "in 50 MB: the error says the kernel maps could not be built, nothing switched" \
		grep -q "cannot build the kernel maps" "$WORK/big-load.out"
	status_json $N "$WORK/status-refused.json"
	check "in 50 MB: the active image is unchanged (generation 1, same sha256, same entries)" \
		[ "$(jget "$WORK/status-refused.json" "d['generation'], d['sha256'], d['policy_entries']")" = \
		"$(jget "$WORK/status-small.json" "d['generation'], d['sha256'], d['policy_entries']")" ]
	probe_check "$PLAN" reached --timeout 1.2
	rmdir "$MEMCG" 2>/dev/null && MEMCG=
	load_on $N "$WORK/big/$N.polc" >"$WORK/big-load2.out" 2>&1
	check "without the limit the big image loads" [ $? -eq 0 ]
	sed 's/^/  | /' "$WORK/big-load2.out"
	status_json $N "$WORK/status-big.json"
	check "and status shows its 360030 entries" [ "$(jget "$WORK/status-big.json" "d['policy_entries']")" -eq 360030 ]
	probe_check "$PLAN" reached --timeout 1.2
else
	info "skip: no memory cgroup could be made here (cgroup v2 with the memory controller, or v1): the capacity case is not run"
fi

echo "--- --clsact"
for node in $NODES; do
	polc_on "$node" unload >/dev/null
	check "load with --clsact on $node" load_on "$node" "$WORK/img/$node.polc" --clsact
	check "status on $node: every interface attached with clsact" \
		[ "$(polc_on "$node" status --json | "$PY" -c 'import json,sys; a=json.load(sys.stdin)["attached"]; print(len(a) == 5 and all(x["mode"] == "clsact" and x["present"] for x in a))')" = True ]
done
"$POLC_TESTBED" traffic --expect-blocked --attempts 1 >"$WORK/traffic-clsact.txt" 2>&1
rc=$?
tail -1 "$WORK/traffic-clsact.txt" | sed 's/^/  /'
check "clsact: every normal flow works and every rogue flow is blocked (testbed traffic exit $rc)" [ $rc -eq 0 ]
for node in $NODES; do
	polc_on "$node" unload >/dev/null
	check "load again with tcx on $node" load_on "$node" "$WORK/img/$node.polc"
done

echo "--- two loaders at once"
# flock -o: the lock is held by flock(1) itself, not by the sleep it runs.
flock -o "$STATE_BASE-$N/lock" sleep 30 &
HOLDER=$!
BG_PIDS+=("$HOLDER")
sleep 0.3
load_on $N "$WORK/img/$N.polc" --force >"$WORK/locked.out" 2>&1
rc=$?
sed 's/^/  | /' "$WORK/locked.out"
check "with the lock held, polc load exits 1" [ $rc -eq 1 ]
check "and says another polc loader holds the lock" grep -q "another polc loader" "$WORK/locked.out"
polc_on $N unload >"$WORK/locked-unload.out" 2>&1
rc=$?
checkall "with the lock held, polc unload fails too (exit $rc) and says why" '[ $rc -ne 0 ]' \
	'grep -q "another polc loader" "$WORK/locked-unload.out"'
check "with the lock held, polc status still answers" polc_on $N status >/dev/null
check "nothing changed: generation 1 enforcing" [ "$(polc_on $N status --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["generation"])')" = "enforcing 1" ]
kill $(pgrep -P "$HOLDER") "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
compile_images "$WORK/g3" 3 && compile_images "$WORK/g4" 4
load_on $N "$WORK/g3/$N.polc" >"$WORK/race1.out" 2>&1 &
p1=$!
load_on $N "$WORK/g4/$N.polc" >"$WORK/race2.out" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
sed 's/^/  | 1: /' "$WORK/race1.out"
sed 's/^/  | 2: /' "$WORK/race2.out"
gen=$(polc_on $N status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
check "two loads started together: each succeeded or failed on the lock ($r1, $r2), and one succeeded" \
	bash -c "{ [ $r1 -eq 0 ] || grep -q 'another polc loader' '$WORK/race1.out'; } &&
		{ [ $r2 -eq 0 ] || grep -q 'another polc loader' '$WORK/race2.out'; } && [ $r1 -eq 0 -o $r2 -eq 0 ]"
check "and status shows a generation that was loaded ($gen)" \
	bash -c "{ [ $gen = 3 ] && [ $r1 -eq 0 ]; } || { [ $gen = 4 ] && [ $r2 -eq 0 ]; }"

echo "--- a SYN flood fills connection tracking"
for node in $NODES; do
	load_on "$node" "$WORK/g4/$node.polc" --force >/dev/null 2>&1
done
ct_entries() { # NODE: entries in polc's connection tracking map
	bpftool map dump pinned "$PIN_BASE-$1/polc_ct" 2>/dev/null | grep -c '"key"\|^key'
}
info "connection tracking entries before: worker2 $(ct_entries worker2), worker1 $(ct_entries worker1)"
{
	echo "["
	sep=""
	flow() { # CLASS NAME FROM TO KIND FAMILY PORT [JSON]
		printf '%s{"class": "%s", "name": "%s", "netns": "%s", "dst": "%s", "port": %d, "kind": "%s"%s}\n' \
			"$sep" "$1" "$2" "$(netns_of "$3")" "$(ip_of "$4" "$6")" "$7" "$5" "${8:+, $8}"
		sep=","
	}
	for f in 4 6; do
		flow both "cart-redis-ping-v$f" cart redis tcp-long $f 6379 '"conns": 2, "proto": "redis", "interval": 0.02, "samples": false'
		flow both "loadgen-frontend1-http-v$f" loadgen $FE1 tcp-new $f 8080 '"proto": "http", "interval": 0.03, "samples": false'
		flow both "frontend-statsd-v$f" $FE1 statsd udp $f 8125 '"any_reply": true, "interval": 0.02, "samples": false'
		flow both "loadgen-dns-v$f" loadgen coredns udp $f 53 '"proto": "dns", "interval": 0.05, "samples": false'
		flow denied "frontend-redis-v$f" $FE1 redis tcp-new $f 6379 '"interval": 0.05, "timeout": 0.3, "samples": false'
		flow denied "loadgen-payments-v$f" loadgen payments tcp-new $f 8080 '"interval": 0.05, "timeout": 0.3, "samples": false'
		flow denied "catalog-cart-v$f" catalog-5f8d7c9b46-w5r9j cart tcp-new $f 8080 '"interval": 0.05, "timeout": 0.3, "samples": false'
	done
	echo "]"
} >"$WORK/flood-traffic.json"
for node in $NODES; do status_json "$node" "$WORK/flood-before-$node.json"; done
bg "$PY" "$RTPROBE" traffic --config "$WORK/flood-traffic.json" --out "$WORK/flood-result.json" \
	--stop-file "$WORK/flood-stop" --deadline 1.0
TP=${BG_PIDS[-1]}
sleep 1
t0=$(now_ms)
sent=0
for f in 4 6; do
	out=$("$PY" "$RTPROBE" synflood --netns "$(netns_of loadgen)" --dst "$(ip_of $FE2 $f)" --dport 8080 \
		--count 100000)
	echo "  v$f flood: $out"
	sent=$((sent + $(echo "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["sent"])')))
done
t1=$(now_ms)
sleep 2
touch "$WORK/flood-stop"
wait "$TP"
BG_PIDS=()
echo "timing: $sent SYNs in $((t1 - t0)) ms"
check "200000 SYNs sent" [ "$sent" -eq 200000 ]
ct=$(ct_entries worker2)
info "connection tracking entries after: worker2 $ct (of 65536), worker1 $(ct_entries worker1)"
check "the flood filled worker2's connection tracking (>= 60000 of 65536 entries: $ct)" [ "$ct" -ge 60000 ]
for node in $NODES; do status_json "$node" "$WORK/flood-after-$node.json"; done
f0=$(counter "$WORK/flood-before-worker2.json" forwarded)
f1=$(counter "$WORK/flood-after-worker2.json" forwarded)
info "worker2 forwarded $((f1 - f0)) packets during the flood"
"$PY" - "$WORK/flood-result.json" <<-'EOF' >"$WORK/flood-check.txt"
	import json, sys
	d = json.load(open(sys.argv[1]))
	for f in d["flows"]:
	    st = "attempts %d ok %d late %d failed %d%s" % (f["attempts"], f["ok"], f["late"], f["failed"],
	        (" errors " + json.dumps(f["errors"])) if f["errors"] else "")
	    if f["class"] == "both":
	        good = f["attempts"] > 0 and f["failed"] == 0 and f["late"] == 0 and \
	            (f["kind"] != "tcp-long" or f.get("connections") == f.get("conns"))
	        print("%s during the flood, allowed traffic keeps working: %s %s" % ("ok" if good else "FAIL", f["name"], st))
	    else:
	        good = f["attempts"] > 0 and f["ok"] + f["late"] == 0
	        print("%s during the flood, new denied flows are still dropped: %s %s" % ("ok" if good else "FAIL", f["name"], st))
EOF
while IFS= read -r line; do
	case $line in ok\ *) ok "${line#ok }" ;; *) bad "${line#FAIL }" ;; esac
done <"$WORK/flood-check.txt"
probe_check "$PLAN" reached --timeout 1.2
for node in $NODES; do
	for c in "unknown endpoint" "malformed packet" "no valid image"; do
		check "status on $node: no '$c' drops during the flood" \
			[ "$(counter "$WORK/flood-after-$node.json" "$c")" -eq "$(counter "$WORK/flood-before-$node.json" "$c")" ]
	done
done
finish
