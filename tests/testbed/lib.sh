# Sourced by the testbed tests: root check, one-at-a-time lock, counters.
# shellcheck shell=bash

TESTBED_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCROOT=$(cd "$TESTBED_TESTS/../.." && pwd)
# make check sets POLC_TESTBED; run by hand from a checkout, use the one beside us.
POLC_TESTBED=${POLC_TESTBED:-$SRCROOT/samples/testbed/polc-testbed}
PY=${POLC_TESTBED_PYTHON:-/usr/bin/python3}
PREFIX=ptb-
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
# check "what" cmd...: one counted assertion.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

# The last line a test prints is its count (test runners read it).
finish() {
	teardown
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# A test that cannot run is a skip (77) on a laptop but a failure in CI:
# a CI run that silently skipped the testbed would prove nothing.
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
	[ "$(id -u)" -eq 0 ] || cannot_run "needs root (network namespaces)"
	local t
	for t in ip ss ping flock redis-server redis-cli dnsmasq "$PY"; do
		command -v "$t" >/dev/null 2>&1 || cannot_run "missing $t (run scripts/install-deps.sh)"
	done
	[ -x "$POLC_TESTBED" ] || cannot_run "no testbed script at $POLC_TESTBED"
}

# The testbed's namespace names are global, so two tests (make -j check) must
# not run at once: re-run this script under an exclusive lock.  flock(1) opens
# the lock close-on-exec, so the testbed's daemons do not inherit it.
serialize() {
	if [ -z "${POLC_TESTBED_LOCKED:-}" ]; then
		local dir=/run/lock
		[ -d "$dir" ] || dir=${TMPDIR:-/tmp}
		export POLC_TESTBED_LOCKED=1
		exec flock -w 600 "$dir/polc-testbed.lock" "$0" "$@"
	fi
}

# Each test gets its own state dir (which `up` wipes) and a work dir beside
# it; the testbed goes down however the test ends.  Both are kept when
# something failed, for a post-mortem.
use_private_state() {
	TEST_BASE=$(mktemp -d "${TMPDIR:-/tmp}/polc-testbed-test.XXXXXX")
	POLC_TESTBED_STATE=$TEST_BASE/state
	WORK=$TEST_BASE/files
	export POLC_TESTBED_STATE
	mkdir -p "$WORK"
	trap at_exit EXIT
}

teardown() {
	[ -z "${TORN_DOWN:-}" ] || return 0
	TORN_DOWN=1
	if [ "$FAILED" -eq 0 ]; then
		"$POLC_TESTBED" down --purge >/dev/null 2>&1 || true
		rm -rf "$TEST_BASE"
	else
		"$POLC_TESTBED" down >/dev/null 2>&1 || true
		echo "kept for a post-mortem: $WORK (test files), $POLC_TESTBED_STATE/logs (service logs)"
	fi
}

# A test that dies early still takes the testbed down.
at_exit() {
	local rc=$?
	[ "$rc" -eq 0 ] || FAILED=$((FAILED + 1))
	teardown
	exit "$rc"
}

netns_count() { ip netns list | awk -v p="$PREFIX" 'index($1, p) == 1' | wc -l; }

# Milliseconds since the epoch, for timings.
now_ms() { date +%s%3N; }
