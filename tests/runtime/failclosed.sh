#!/bin/bash
# Fail closed: at "boot" (nothing loaded on the node) `polc load BAD --attach auto`
# with a damaged image (a flipped byte, a truncated file, garbage, another node's
# image) or a missing one must exit non-zero with a clear error, and still attach:
# `polc status` says fail-closed, and every packet to or from the node's pods is
# dropped with reason no-image.  With --fail-open the same load lets traffic pass
# and status says so.  A valid image loaded afterwards enforces normally; a bad
# image loaded over a valid one changes nothing.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
setup

N=worker1
check "compile the sample policies" compile_images "$WORK/img" 1
GOOD=$WORK/img/$N.polc
BAD=$WORK/bad
mkdir -p "$BAD"
# A byte flipped in the middle, the tail cut off, no header at all, another node's.
cp "$GOOD" "$BAD/flipped.polc"
size=$(stat -c %s "$GOOD")
printf '\x5a' | dd of="$BAD/flipped.polc" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
head -c $((size - 100)) "$GOOD" >"$BAD/truncated.polc"
head -c 4096 /dev/urandom >"$BAD/garbage.polc"
: >"$BAD/empty.polc"
cp "$WORK/img/worker2.polc" "$BAD/other-node.polc"
declare -A WHY=([flipped]="sha256|digest" [truncated]="truncated|bytes" [garbage]="magic|not a polc|image"
	[empty]="empty|short|bytes|image" [other-node]="worker2" [missing]="No such file|cannot open")
check "testbed up" tb_up

# Traffic to and from worker1's pods (worker2 has no polc: only worker1 can drop).
PLAN=$WORK/through-worker1.jsonl
for f in 4 6; do
	for pod in coredns frontend-6c8f9b7d54-h4x2k catalog-5f8d7c9b46-z8k3v payments redis; do
		plan_add "$PLAN" "v$f $pod -> frontend on worker2 TCP 8080" $pod "$(ip_of frontend-6c8f9b7d54-q9m7w $f)" tcp 8080
		plan_add "$PLAN" "v$f loadgen -> $pod ping" loadgen "$(ip_of $pod $f)" icmp 0
	done
	plan_add "$PLAN" "v$f loadgen -> redis TCP 6379" loadgen "$(ip_of redis $f)" tcp 6379
	plan_add "$PLAN" "v$f loadgen -> kube-dns UDP 53" loadgen "$(ip_of coredns $f)" udp 53
	plan_add "$PLAN" "v$f frontend -> catalog on the same node TCP 8080" frontend-6c8f9b7d54-h4x2k \
		"$(ip_of catalog-5f8d7c9b46-z8k3v $f)" tcp 8080
	plan_add "$PLAN" "v$f worker1 -> frontend TCP 8080 (the node's own probe)" worker1 \
		"$(ip_of frontend-6c8f9b7d54-h4x2k $f)" tcp 8080 "\"bind\": \"$([ $f = 4 ] && echo 172.18.0.11 || echo fd00:172:18::11)\""
done
NPLAN=$(grep -c . "$PLAN")
echo "--- nothing loaded: all $NPLAN flows pass (the probes work)"
probe_check "$PLAN" reached --timeout 1.5

boot_bad() { # NAME PATH [--fail-open]
	local name=$1 path=$2 rc
	shift 2
	load_on $N "$path" "$@" >"$WORK/load-$name.out" 2>&1
	rc=$?
	sed 's/^/  | /' "$WORK/load-$name.out"
	check "$name: polc load exits non-zero (exit $rc)" [ "$rc" -ne 0 ]
	check "$name: the error says what is wrong (${WHY[$name]})" grep -Eqi "error: .*(${WHY[$name]})" "$WORK/load-$name.out"
}

for name in flipped truncated garbage empty other-node missing; do
	echo "--- boot with a bad image: $name"
	path=$BAD/$name.polc
	[ "$name" != missing ] || path=$BAD/does-not-exist.polc
	boot_bad "$name" "$path"
	polc_on $N status --json >"$WORK/status-$name.json" 2>/dev/null
	rc=$?
	checkall "$name: polc status exits 1 and says fail-closed" '[ "$rc" -eq 1 ]' \
		'[ "$(jget "$WORK/status-$name.json" "d[\"state\"]")" = fail-closed ]'
	polc_on $N status | sed -n '1p' | sed 's/^/  status: /'
	check "$name: all 5 pod interfaces of $N are attached" \
		[ "$(jget "$WORK/status-$name.json" "sum(1 for a in d['attached'] if a['present'])")" -eq 5 ]
	if [ "$name" = flipped ] || [ "$name" = missing ]; then
		probe_check "$PLAN" blocked --timeout 1
	else
		probe "$PLAN" "$WORK/probe-$name.json" --timeout 1
		check "$name: all $NPLAN flows dropped" \
			[ "$(jget "$WORK/probe-$name.json" "sum(r['outcome'] == 'timeout' for r in d)")" -eq "$NPLAN" ]
	fi
	polc_on $N status --json >"$WORK/status-$name-after.json" 2>/dev/null
	n=$(counter "$WORK/status-$name-after.json" "no valid image")
	check "$name: status counts the drops as no-image ($n packets for $NPLAN flows)" [ "$n" -ge "$NPLAN" ]
	other=$(jget "$WORK/status-$name-after.json" "sum(v for k, v in d['counters'].items() if k != 'no valid image')")
	check "$name: and nothing else (other counters: $other)" [ "$other" -eq 0 ]
	check "$name: unload" polc_on $N unload
done

echo "--- boot with a bad image and --fail-open"
WHY[fail-open]="sha256|digest"
boot_bad fail-open "$BAD/flipped.polc" --fail-open
polc_on $N status --json >"$WORK/status-open.json" 2>/dev/null
rc=$?
polc_on $N status | sed -n '1p' | sed 's/^/  status: /'
checkall "fail-open: polc status exits 0 and says fail-open" '[ "$rc" -eq 0 ]' \
	'[ "$(jget "$WORK/status-open.json" "d[\"state\"]")" = fail-open ]'
check "fail-open: the text status says it runs open" bash -c "'$POLC' status --bpffs '$PIN_BASE-$N' --state-dir '$STATE_BASE-$N' | grep -q 'RUNNING OPEN'"
probe_check "$PLAN" reached --timeout 1.5

echo "--- a valid image after the bad one enforces (and stays when a bad one follows)"
check "load the valid image" load_on $N "$GOOD"
GEN_PLAN=$WORK/policy.jsonl
for f in 4 6; do
	plan_add "$GEN_PLAN" "v$f loadgen -> frontend TCP 8080 (allowed)" loadgen "$(ip_of frontend-6c8f9b7d54-h4x2k $f)" tcp 8080 '"expect": "reached"'
	plan_add "$GEN_PLAN" "v$f frontend -> redis TCP 6379 (denied)" frontend-6c8f9b7d54-h4x2k "$(ip_of redis $f)" tcp 6379 '"expect": "blocked"'
done
probe_check "$GEN_PLAN" reached --timeout 1.2
status_json $N "$WORK/status-good.json"
load_on $N "$BAD/flipped.polc" >"$WORK/load-over.out" 2>&1
rc=$?
check "a damaged image over a valid one is refused (exit $rc)" [ $rc -ne 0 ]
status_json $N "$WORK/status-kept.json"
check "the valid image stays active (same sha256, enforcing)" [ "$(jget "$WORK/status-kept.json" "d['state'], d['sha256']")" = "$(jget "$WORK/status-good.json" "d['state'], d['sha256']")" ]
probe_check "$GEN_PLAN" reached --timeout 1.2
finish
