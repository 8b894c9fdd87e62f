#!/bin/sh
# Cilium conformance: runs `polc test` on every test file of tests/conformance/cilium/cases
# (policies from Cilium's examples and connectivity tests, expected verdicts from Cilium's
# documented semantics; see tests/conformance/cilium/SOURCES.md and docs/policy-tests.md).
#
# Counting is per expectation: the final line "N passed, N failed" adds up what `polc test`
# reports for each file. A file that cannot be run at all (exit status 2: unreadable input,
# an unknown option, ...) counts as one failure.
#
# Files named in tests/conformance/cilium/KNOWN-FAILING are polc bugs on record: they are run,
# must fail, and are reported apart ("known failing"); one that passes counts as a failure so
# that the list is kept up to date.
#
# Environment: POLC (the polc binary) and POLC_SRCDIR (the source tree), both exported by
# `make check`. Arguments, if any, restrict the run to those test files.

POLC=${POLC:-polc}
if [ -z "$POLC_SRCDIR" ]; then
	POLC_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
fi
suite=$POLC_SRCDIR/tests/conformance/cilium
known=$suite/KNOWN-FAILING

if [ ! -x "$POLC" ] && ! command -v "$POLC" >/dev/null 2>&1; then
	echo "cilium.sh: cannot run polc ('$POLC'); set POLC" >&2
	exit 99
fi

is_known() {
	[ -f "$known" ] && grep -v '^#' "$known" | awk '{print $1}' | grep -qx "$1"
}

if [ $# -eq 0 ]; then
	set -- "$suite"/cases/*.yaml
fi

tmp=$(mktemp) || exit 99
trap 'rm -f "$tmp"' EXIT INT TERM

passed=0 failed=0 nfiles=0 xfail=0 xfail_exp=0 xpass=0 broken=0
for f in "$@"; do
	name=$(basename "$f")
	nfiles=$((nfiles + 1))
	"$POLC" test "$f" >"$tmp" 2>&1
	rc=$?
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp" | tail -n 1)
	p=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	n=$(echo "$counts" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
	p=${p:-0} n=${n:-0}
	if is_known "$name"; then
		if [ "$rc" -eq 0 ]; then
			echo "XPASS $name: listed in KNOWN-FAILING but all $p expectations pass;" \
				"remove it from the list"
			xpass=$((xpass + 1))
			failed=$((failed + 1))
		else
			if [ "$rc" -eq 1 ]; then
				echo "XFAIL $name: $n of $((p + n)) expectations fail" \
					"(known polc bug, see KNOWN-FAILING)"
			else
				echo "XFAIL $name: cannot be run, exit status $rc" \
					"(known polc bug, see KNOWN-FAILING)"
			fi
			xfail=$((xfail + 1))
			xfail_exp=$((xfail_exp + n))
		fi
		continue
	fi
	passed=$((passed + p))
	failed=$((failed + n))
	if [ "$rc" -eq 0 ]; then
		echo "PASS  $name: $p expectations"
	elif [ "$rc" -eq 1 ]; then
		echo "FAIL  $name: $n of $((p + n)) expectations fail"
		sed 's/^/      /' "$tmp"
	else
		echo "ERROR $name: polc test exited with status $rc"
		sed 's/^/      /' "$tmp"
		broken=$((broken + 1))
		failed=$((failed + 1))
	fi
done

echo "cilium conformance: $nfiles files; counts are per expectation;" \
	"$xfail known-failing files not counted ($xfail_exp failing expectations in those that run);" \
	"$xpass unexpected passes; $broken files could not be run"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
