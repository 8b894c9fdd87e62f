#!/bin/sh
# np-guard conformance: runs `polc test` on the cases of tests/conformance/np-guard/ (np-guard
# netpol-analyzer's test inputs with the connections it expects, converted by npguard-convert;
# see np-guard/SOURCES.md).
#
# A case is one test file: CASE/test.yaml (named CASE) holds the flows between Cilium
# endpoints and external addresses; CASE/host-network.yaml (named CASE/host-network), when
# there is one, the flows between a pod on the host network and a Cilium endpoint. A case
# passes when every one of its expectations passes. The final line is "N passed, N failed",
# counting cases.
#
# Cases listed in tests/conformance/KNOWN-DIFFERENCES.md (lines "- `np-guard/CASE`: ...") are
# places where Cilium's semantics differ from np-guard's reading of NetworkPolicy: they are run,
# must fail (some flow differs; an input error is still an error), and are reported as XFAIL
# (counted as passed); a listed case that passes, or one that does not exist, is a failure, so
# that the list stays true.
#
# Environment: POLC (the polc binary) and POLC_SRCDIR (the source tree), both exported by
# `make check`. Arguments, if any, restrict the run to those cases (CASE or CASE/host-network).

POLC=${POLC:-polc}
if [ -z "${POLC_SRCDIR:-}" ]; then
	POLC_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
fi
suite=$POLC_SRCDIR/tests/conformance/np-guard
known=$POLC_SRCDIR/tests/conformance/KNOWN-DIFFERENCES.md

if [ ! -x "$POLC" ] && ! command -v "$POLC" >/dev/null 2>&1; then
	echo "npguard.sh: cannot run polc ('$POLC'); set POLC" >&2
	exit 99
fi
if [ ! -d "$suite" ]; then
	echo "npguard.sh: no cases in $suite" >&2
	exit 99
fi

# The cases KNOWN-DIFFERENCES.md lists (the backquotes are literal).
# shellcheck disable=SC2016
listed() {
	[ -f "$known" ] && sed -n 's/^- `np-guard\/\([^`]*\)`.*/\1/p' "$known"
}

# CASE -> its test file
file_of() {
	case $1 in
	*/host-network) echo "$suite/$1.yaml" ;;
	*) echo "$suite/$1/test.yaml" ;;
	esac
}

if [ $# -eq 0 ]; then
	for d in "$suite"/*/; do
		c=$(basename "$d")
		[ -f "$d/test.yaml" ] && set -- "$@" "$c"
		[ -f "$d/host-network.yaml" ] && set -- "$@" "$c/host-network"
	done
fi

tmp=$(mktemp) || exit 99
trap 'rm -f "$tmp"' EXIT INT TERM

passed=0 failed=0 exact=0 xfail=0 xpass=0
for c in "$@"; do
	"$POLC" test "$(file_of "$c")" >"$tmp" 2>&1
	rc=$?
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp" | tail -n 1)
	p=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	n=$(echo "$counts" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
	p=${p:-0} n=${n:-0}
	if [ "$rc" -le 1 ] && listed | grep -qxF "$c"; then
		if [ "$rc" -eq 0 ]; then
			echo "XPASS $c: listed in KNOWN-DIFFERENCES.md but all $p flows match np-guard;" \
				"remove it from the list"
			xpass=$((xpass + 1))
			failed=$((failed + 1))
		else
			echo "XFAIL $c: $n of $((p + n)) flows differ from np-guard" \
				"(expected, see KNOWN-DIFFERENCES.md)"
			xfail=$((xfail + 1))
			passed=$((passed + 1))
		fi
		continue
	fi
	if [ "$rc" -eq 0 ]; then
		echo "PASS  $c: $p flows"
		exact=$((exact + 1))
		passed=$((passed + 1))
	else
		if [ "$rc" -eq 1 ]; then
			echo "FAIL  $c: $n of $((p + n)) flows differ from np-guard"
		else
			echo "ERROR $c: polc test exited with status $rc"
		fi
		sed 's/^/      /' "$tmp" | head -n 60 # the first failures, with their traces
		failed=$((failed + 1))
	fi
done

# A listed case must exist: a stale entry is an error too.
for c in $(listed); do
	if [ ! -f "$(file_of "$c")" ]; then
		echo "STALE $c: listed in KNOWN-DIFFERENCES.md but there is no such case"
		failed=$((failed + 1))
	fi
done

echo "np-guard conformance: $# cases; $exact match np-guard exactly, $xfail expected" \
	"differences (KNOWN-DIFFERENCES.md), $xpass listed but passing"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
