# Shared by the hostile-input tests (tests/hostile/README.md). Source it; it sets:
#   POLC        the binary (make check exports it), made absolute
#   SRC         the source tree, HERE this directory, TMP a scratch directory (removed at exit)
#   SANITIZED   1 when polc was built with AddressSanitizer (memory bounds are looser)
# and gives: ok NAME, ko NAME WHY, measure ARGS (tests/hostile/measure.py; sets rc, secs,
# rss_kb, fed), check NAME (with the expectations below), finish (prints "N passed, N failed").
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${POLC_SRCDIR:-$(cd "$HERE/../.." && pwd)}
POLC=${POLC:-$PWD/polc}
case $POLC in /*) ;; *) POLC=$PWD/$POLC ;; esac
if [ ! -x "$POLC" ]; then
	echo "set POLC to the polc binary" >&2
	exit 99
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SANITIZED=0
if grep -qa '__asan_init\|AddressSanitizer' "$POLC" 2>/dev/null; then SANITIZED=1; fi
# ASan: a leak is a failure too; UBSan: the first report ends the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
pass=0 fail=0
ok() { pass=$((pass + 1)); [ -n "${VERBOSE:-}" ] && echo "ok: $1"; return 0; }
ko() { fail=$((fail + 1)); echo "FAIL: $1: $2"; return 0; }

# measure [--timeout S] [--stdin-gen SPEC | --stdin FILE] -- CMD...
# Runs CMD (stdout to $TMP/out, stderr to $TMP/err) and sets rc, secs, rss_kb, fed.
measure() {
	local json
	json=$(python3 "$HERE/measure.py" --out "$TMP/out" --err "$TMP/err" "$@")
	rc=$(sed 's/.*"rc": *"\{0,1\}\([a-z0-9-]*\)"\{0,1\},.*/\1/' <<<"$json")
	secs=$(sed 's/.*"seconds": *\([0-9.]*\).*/\1/' <<<"$json")
	rss_kb=$(sed 's/.*"maxrss_kb": *\([0-9]*\).*/\1/' <<<"$json")
	fed=$(sed 's/.*"fed": *\([0-9]*\).*/\1/' <<<"$json")
}

# check NAME: after measure, with these set (empty: not checked):
#   want_rc      the exit status expected (a number, or "1|2")
#   want_msg     a grep -E pattern the report (stdout + stderr) must contain
#   want_no_msg  a grep -E pattern it must not contain
#   max_secs     wall-clock bound
#   max_rss_mb   peak memory bound
# A crash (signal, sanitizer report) always fails.
check() {
	local name=$1 why=""
	cat "$TMP/out" "$TMP/err" >"$TMP/report" 2>/dev/null
	if [ "$rc" = timeout ]; then
		why="did not finish within its time limit"
	elif [ "$rc" -lt 0 ] || [ "$rc" -gt 2 ]; then
		why="crashed or was killed (exit status $rc)"
	elif grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$TMP/report"; then
		why="sanitizer report"
	elif [ -n "${want_rc:-}" ] && ! grep -qxE "$want_rc" <<<"$rc"; then
		why="exit status $rc, expected $want_rc"
	elif [ -n "${want_msg:-}" ] && ! grep -qE "$want_msg" "$TMP/report"; then
		why="no message matching '$want_msg'"
	elif [ -n "${want_no_msg:-}" ] && grep -qE "$want_no_msg" "$TMP/report"; then
		why="a message matching '$want_no_msg'"
	elif [ -n "${max_secs:-}" ] && python3 -c "import sys; sys.exit(0 if $secs > $max_secs else 1)"; then
		why="took ${secs}s, more than ${max_secs}s"
	elif [ -n "${max_rss_mb:-}" ] && [ "$rss_kb" -gt $((max_rss_mb * 1024)) ]; then
		why="peak memory $((rss_kb / 1024)) MiB, more than ${max_rss_mb} MiB"
	fi
	if [ -z "$why" ]; then
		ok "$name (rc $rc, ${secs}s, $((rss_kb / 1024)) MiB)"
	else
		ko "$name" "$why"
		head -c 2000 "$TMP/report" | sed 's/^/    /'
	fi
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
