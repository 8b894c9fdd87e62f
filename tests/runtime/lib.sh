# Sourced by the runtime tests (polc load/unload/status/observe on the testbed): root
# check, the testbed lock, polc on the testbed's nodes, counters, and a cleanup that
# leaves nothing behind however the test ends.
# shellcheck shell=bash disable=SC2034 # the variables are for the tests that source this

RT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCROOT=${POLC_SRCDIR:-$(cd "$RT_DIR/../.." && pwd)}
# make check sets POLC and POLC_TESTBED; by hand, use a polc in PATH and the testbed here.
POLC_TESTBED=${POLC_TESTBED:-$SRCROOT/samples/testbed/polc-testbed}
POLC=${POLC:-$(command -v polc || true)}
PY=${POLC_TESTBED_PYTHON:-/usr/bin/python3}
RTPROBE=$RT_DIR/rtprobe.py
FIXTURES=$RT_DIR/fixtures
INVENTORY=$SRCROOT/samples/inventory/shop.yaml
POLICIES=$SRCROOT/samples/testbed/policies
NODES="worker1 worker2"
# Where the tests pin and keep state, per node: fixed names, so that a run that was
# killed is cleaned up by the next one.
PIN_BASE=/sys/fs/bpf/polc-rt
STATE_BASE=/run/polc-rt
PASSED=0
FAILED=0
BG_PIDS=()

ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# tally PASSED-COUNT FAILED-COUNT WHAT: many assertions at once (one line, not one each).
tally() {
	PASSED=$((PASSED + $1))
	FAILED=$((FAILED + $2))
	if [ "$2" -eq 0 ]; then echo "ok: $3 ($1 checks)"; else echo "FAIL: $3 ($2 of $(($1 + $2)) failed)"; fi
}
info() { echo "info: $*"; }
# checkall WHAT 'TEST' 'TEST'...: one check made of several shell tests (each eval'ed).
checkall() {
	local what=$1 c
	shift
	for c in "$@"; do
		eval "$c" || { bad "$what"; return 1; }
	done
	ok "$what"
}

cannot_run() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $* (CI=true: a skip counts as a failure)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

require_env() {
	[ "$(id -u)" -eq 0 ] || cannot_run "needs root (network namespaces, BPF)"
	local t
	for t in ip ss nsenter flock bpftool tc "$PY"; do
		command -v "$t" >/dev/null 2>&1 || cannot_run "missing $t (run scripts/install-deps.sh)"
	done
	[ -n "$POLC" ] && [ -x "$POLC" ] || cannot_run "no polc binary (set POLC, or run make check)"
	[ -x "$POLC_TESTBED" ] || cannot_run "no testbed script at $POLC_TESTBED"
	[ -d /sys/fs/bpf ] || cannot_run "no /sys/fs/bpf"
}

# The testbed's names are global: run under the lock the testbed tests take.
serialize() {
	if [ -z "${POLC_TESTBED_LOCKED:-}" ]; then
		local dir=/run/lock
		[ -d "$dir" ] || dir=$(dirname "$(mktemp -u)") # $TMPDIR, as the testbed tests do
		export POLC_TESTBED_LOCKED=1
		exec flock -w 900 "$dir/polc-testbed.lock" "$0" "$@"
	fi
}

setup() {
	TEST_BASE=$(mktemp -d -t polc-runtime-test.XXXXXX)
	POLC_TESTBED_STATE=$TEST_BASE/state
	WORK=$TEST_BASE/files
	export POLC_TESTBED_STATE
	mkdir -p "$WORK"
	trap at_exit EXIT
	trap 'exit 130' INT TERM
	T_START=$(now_ms)
	cleanup_polc # a run that was killed may have left pins
}

now_ms() { date +%s%3N; }
elapsed() { echo "$((($(now_ms) - T_START) / 1000))s"; }

netns_of() { # the netns of a pod by name prefix (frontend-6c8f9b7d54-h4x2k, or redis)
	ip netns list | awk -v p="ptb-$1" 'index($1, p) == 1 { print $1; exit }'
}
on_node() {
	local node=$1
	shift
	nsenter --net="/run/netns/ptb-$node" "$@"
}
in_pod() {
	local ns
	ns=$(netns_of "$1")
	shift
	nsenter --net="/run/netns/$ns" "$@"
}
# polc_on NODE VERB ARGS...: a runtime verb on a node, with that node's pins and state.
polc_on() {
	local node=$1 verb=$2
	shift 2
	on_node "$node" "$POLC" "$verb" "$@" --bpffs "$PIN_BASE-$node" --state-dir "$STATE_BASE-$node"
}
# load_on NODE IMAGE [ARGS...]
load_on() {
	local node=$1 image=$2
	shift 2
	polc_on "$node" load "$image" --node "$node" --attach auto "$@"
}
# status_json NODE FILE
status_json() { polc_on "$1" status --json >"$2" 2>"$2.err"; }
# jget FILE EXPR: one value out of a JSON file (EXPR is Python, on d).
jget() {
	local f=$1 e=$2
	shift 2
	"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.argv.pop(0); print($e)" "$f" "$@"
}
# counter STATUS-JSON NAME: one of status's counters ("policy-denied (default deny)", ...)
counter() { jget "$1" "d['counters'][sys.argv[1]]" "$2"; }

# compile_images OUTDIR GENERATION [polc compile args...]: the sample policies plus more.
compile_images() {
	local out=$1 gen=$2
	shift 2
	"$POLC" compile -i "$INVENTORY" -p "$POLICIES" -o "$out" --all-nodes --generation "$gen" "$@" \
		>"$out.log" 2>&1
}

tb_up() { "$POLC_TESTBED" up >"$WORK/up.log" 2>&1; }

bg() { # run in the background, remembered for the cleanup
	"$@" &
	BG_PIDS+=($!)
}

stop_bg() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	BG_PIDS=()
}

# Unloads every node's pins (ours only: PIN_BASE-*), then removes what is left.
cleanup_polc() {
	local d node
	for d in "$PIN_BASE"-*; do
		[ -e "$d" ] || continue
		node=${d#"$PIN_BASE"-}
		if [ -e "/run/netns/ptb-$node" ]; then
			polc_on "$node" unload >/dev/null 2>&1
		else
			"$POLC" unload --bpffs "$d" --state-dir "$STATE_BASE-$node" >/dev/null 2>&1
		fi
		rm -rf "$d" 2>/dev/null
	done
	for d in "$STATE_BASE"-*; do
		[ -e "$d" ] && rm -rf "$d"
	done
	return 0
}

teardown() {
	[ -z "${TORN_DOWN:-}" ] || return 0
	TORN_DOWN=1
	stop_bg
	! declare -F extra_cleanup >/dev/null || extra_cleanup
	cleanup_polc
	if [ "$FAILED" -eq 0 ]; then
		"$POLC_TESTBED" down --purge >/dev/null 2>&1 || true
	else
		"$POLC_TESTBED" down >/dev/null 2>&1 || true
	fi
}

# What a test must not leave: pins, state, namespaces.
nothing_left() {
	local left=""
	compgen -G "$PIN_BASE-*" >/dev/null && left="$left pins:$(echo "$PIN_BASE"-*)"
	compgen -G "$STATE_BASE-*" >/dev/null && left="$left state:$(echo "$STATE_BASE"-*)"
	[ "$(ip netns list | grep -c '^ptb-')" -eq 0 ] || left="$left namespaces"
	[ -z "$left" ] || echo "left behind:$left"
	[ -z "$left" ]
}

finish() {
	teardown
	check "nothing left behind (pins, state dirs, testbed namespaces)" nothing_left
	echo "timing: $(elapsed)"
	if [ "$FAILED" -eq 0 ]; then
		rm -rf "$TEST_BASE"
	else
		echo "kept for a post-mortem: $WORK (test files), $POLC_TESTBED_STATE/logs (service logs)"
	fi
	echo "$PASSED passed, $FAILED failed"
	FINISHED=1
	[ "$FAILED" -eq 0 ]
}

at_exit() {
	local rc=$?
	if [ -z "${FINISHED:-}" ]; then
		[ "$rc" -ne 0 ] || rc=1
		FAILED=$((FAILED + 1))
		echo "FAIL: the test ended early (exit $rc)"
		teardown
		echo "$PASSED passed, $FAILED failed"
	fi
	exit "$rc"
}

# probe PLAN-JSON OUT [rtprobe probe args...]: send flows, results in OUT.
probe() {
	local plan=$1 out=$2
	shift 2
	"$PY" "$RTPROBE" probe "$@" "$plan" >"$out"
}
# outcome RESULTS ID: connected, refused, answered, timeout or error
outcome() { "$PY" -c "
import json,sys
for r in json.load(open(sys.argv[1])):
    if str(r['id']) == sys.argv[2]: print(r['outcome'])" "$1" "$2"; }

# Probe plans written from bash: one JSON object a line.
# plan_add FILE NAME FROM-POD DST PROTO PORT [JSON-FIELDS]: e.g. '"expect": "blocked"'
plan_add() {
	local file=$1 name=$2 from=$3 dst=$4 proto=$5 port=$6 extra=${7:-}
	[ -n "$(netns_of "$from")" ] || { bad "plan: no network namespace for $from (is the testbed up?)"; return 1; }
	printf '{"name": "%s", "from": "%s", "netns": "%s", "dst": "%s", "proto": "%s", "port": %d%s}\n' \
		"$name" "$from" "$(netns_of "$from")" "$dst" "$proto" "$port" "${extra:+, $extra}" >>"$file"
}
# probe_check PLAN [reached|blocked] [probe args...]: one counted check per flow.
probe_check() {
	local plan=$1 want=${2:-reached} out line
	shift 2
	out=$plan.results
	probe "$plan" "$out" "$@" || { bad "probing $plan failed"; return 1; }
	local n=0
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in
		ok\ *) ok "${line#ok }" ;;
		*) bad "${line#FAIL }" ;;
		esac
	done < <("$PY" "$RTPROBE" verdicts --expect "$want" "$plan" "$out")
	[ "$n" -eq "$(grep -c . "$plan")" ] || bad "probing $plan: $n results for $(grep -c . "$plan") flows"
}

# Pod addresses: pod .H on node N is 10.244.N.H and fd00:10:244:N::H.
declare -A POD_AT=([coredns]=1.10 [frontend-6c8f9b7d54-h4x2k]=1.11 [catalog-5f8d7c9b46-z8k3v]=1.12
	[payments]=1.13 [redis]=1.14 [frontend-6c8f9b7d54-q9m7w]=2.11 [loadgen]=2.12
	[catalog-5f8d7c9b46-w5r9j]=2.13 [cart]=2.14 [statsd]=2.15)
ip_of() { # POD 4|6
	local at=${POD_AT[$1]}
	if [ "$2" = 4 ]; then echo "10.244.$at"; else echo "fd00:10:244:${at%.*}::${at#*.}"; fi
}
xchg() { # WHAT FROM-POD KIND DST PORT [rtprobe exchange args...]: one counted check
	local what=$1 from=$2 kind=$3 dst=$4 port=$5
	shift 5
	check "$what" "$PY" "$RTPROBE" exchange --netns "$(netns_of "$from")" --kind "$kind" \
		--dst "$dst" --port "$port" "$@"
}
