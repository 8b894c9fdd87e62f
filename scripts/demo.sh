#!/bin/bash
# The main job: onboarding a new service, in one command, on the bundled test cluster.
#
#   1. bring up the test cluster (samples/testbed)
#   2. "payments" is the new service: every other workload has its policy, payments has none
#   3. capture live on both nodes while the traffic generator runs
#   4. polc learn the new service's policy (what is missing beside the existing ones)
#   5. polc lint   6. polc diff against the existing policies
#   7. polc compile and verify   8. polc load on both nodes
#   9. rerun the traffic: everything passes
#  10. run the rogue traffic: everything is blocked, as polc observe shows
#  11. write a one-page HTML report   12. tear down
#
# Every step's promise is checked; the first that does not hold stops the demo with an error.
# Needs root (network namespaces, BPF). DEMO_OUT=DIR keeps the results there.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"
POLC=${POLC:-$SRC/polc}
TESTBED=$SRC/samples/testbed/polc-testbed
INV=$SRC/samples/inventory/shop.yaml
NEW=shop-api/payments
OUT=${DEMO_OUT:-$(mktemp -d /tmp/polc-demo.XXXXXX)}
NODES="worker1 worker2"
PINS=/sys/fs/bpf/polc-demo
STATE=/run/polc-demo
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
	printf '\n\033[1;31mdemo failed: %s\033[0m\n(results so far in %s)\n' "$*" "$OUT" >&2
	exit 1
}
on_node() {
	local node=$1
	shift
	nsenter --net="/run/netns/ptb-$node" "$@"
}
runtime() { # runtime NODE VERB ARGS...
	local node=$1 verb=$2
	shift 2
	on_node "$node" "$POLC" "$verb" "$@" --bpffs "$PINS-$node" --state-dir "$STATE-$node"
}
cleanup() {
	for node in $NODES; do
		[ -e "$PINS-$node" ] && runtime "$node" unload >/dev/null 2>&1 || true
	done
	"$TESTBED" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || die "run as root: the test cluster lives in network namespaces"
# One test cluster per machine: wait for the tests that use it, as they wait for each other.
if [ -z "${POLC_TESTBED_LOCKED:-}" ]; then
	lockdir=/run/lock
	[ -d "$lockdir" ] || lockdir=${TMPDIR:-/tmp}
	export POLC_TESTBED_LOCKED=1
	exec flock -w 900 "$lockdir/polc-testbed.lock" "$0" "$@"
fi
[ -x "$POLC" ] || die "no polc binary at $POLC: build first (make)"

step "1. the test cluster: 2 nodes, 10 pods, real services"
"$TESTBED" up

step "2. payments is new: it has no policy yet; everyone else has theirs"
mkdir -p "$OUT/existing"
cp samples/testbed/policies/*.yaml "$OUT/existing/"
# payments' own policy is one document of shop-api.yaml: drop it.
awk 'BEGIN { RS = "---\n"; ORS = "---\n" } !/name: payments\n  namespace: shop-api/' \
	samples/testbed/policies/shop-api.yaml | sed '$ d' >"$OUT/existing/shop-api.yaml"
"$POLC" lint -i "$INV" "$OUT/existing" >/dev/null || die "the existing policies do not lint clean"
if "$POLC" trace -i "$INV" -p "$OUT/existing" --from shop-api/payments --to 172.20.0.66 \
	--port 80/TCP >/dev/null; then
	echo "payments is unprotected: nothing selects it yet (expected before onboarding)"
fi

step "3. capture live on both nodes while the shop's normal traffic runs"
pids=()
for node in $NODES; do
	args=()
	for i in $(on_node "$node" ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
		grep '^lxc-'); do
		args+=(--interface "$i")
	done
	# nsenter itself in the background (not a shell function), so $! is the capture and
	# Ctrl-C reaches it
	nsenter --net="/run/netns/ptb-$node" "$POLC" learn -i "$INV" "${args[@]}" \
		--write-pcap "$OUT/$node.pcap" -o "$OUT/live-$node" --no-check -q \
		2>"$OUT/capture-$node.log" &
	pids+=($!)
done
sleep 1
"$TESTBED" traffic --seconds 6 | tee "$OUT/traffic-learn.txt" || die "the traffic to learn from failed"
sleep 0.5
kill -INT "${pids[@]}"
wait "${pids[@]}" || die "a live capture did not finish cleanly"

step "4. polc learn: the policy payments needs, beside the existing ones"
"$POLC" learn -i "$INV" --for "$NEW" --existing "$OUT/existing" --l4-only \
	"$OUT/worker1.pcap" "$OUT/worker2.pcap" -o "$OUT/learned" --graph "$OUT/map.dot" \
	--json >"$OUT/learn.json" 2>"$OUT/learn.log" || {
	cat "$OUT/learn.log"
	die "polc learn failed or its self-check found a flow the policies deny"
}
cat "$OUT/learn.log"
ls "$OUT/learned"/*.yaml >/dev/null 2>&1 || die "polc learn wrote no policy for $NEW"
selfcheck=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["selfcheck"]
print("%d of %d observed flows admitted" % (s["admitted"], s["flows"]))
sys.exit(0 if s["flows"] and s["admitted"] == s["flows"] and not s["failures"] else 1)' \
	"$OUT/learn.json") || die "the self-check did not admit every observed flow"
echo "self-check: $selfcheck"

step "5. polc lint"
"$POLC" lint -i "$INV" "$OUT/existing" "$OUT/learned" || die "the learned policy does not lint clean"

step "6. polc diff: what onboarding payments changes"
mkdir -p "$OUT/after"
cp "$OUT/existing"/*.yaml "$OUT/learned"/*.yaml "$OUT/after/"
"$POLC" diff -i "$INV" "$OUT/existing" "$OUT/after" | tee "$OUT/diff.txt"

step "7. polc compile (and verify)"
"$POLC" compile -i "$INV" -p "$OUT/after" -o "$OUT/images" --all-nodes --generation 2 |
	tee "$OUT/compile.txt"
for node in $NODES; do
	"$POLC" verify "$OUT/images/$node.polc" -i "$INV" -p "$OUT/after" || die "$node's image does not verify"
done

step "8. polc load on both nodes"
for node in $NODES; do
	runtime "$node" load "$OUT/images/$node.polc" --node "$node" --attach auto || die "load on $node"
done

step "9. the shop's normal traffic, enforced: everything must pass"
"$TESTBED" traffic --seconds 4 | tee "$OUT/traffic-enforced.txt" ||
	die "a normal flow failed under the learned policy"

step "10. the rogue traffic: everything must be blocked"
"$TESTBED" traffic --seconds 2 --rogue --expect-blocked | tee "$OUT/traffic-rogue.txt" ||
	die "a rogue flow got through"
for node in $NODES; do
	runtime "$node" observe --json >"$OUT/observe-$node.json"
done
grep -h '"DROPPED"' "$OUT"/observe-*.json >"$OUT/drops-all.json" || die "polc observe shows no drop"
head -20 "$OUT/drops-all.json" >"$OUT/drops.json"
cat "$OUT/drops.json"

step "11. the report"
"$SRC/scripts/report.sh" "$OUT" "$selfcheck" >"$OUT/report.html" || die "cannot write the report"

step "12. tear down"
cleanup
trap - EXIT
printf '\n\033[1mdone:\033[0m %s; the report is %s/report.html\n' "$selfcheck" "$OUT"
