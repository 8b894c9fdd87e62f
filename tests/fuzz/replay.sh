#!/bin/bash
# `make check`: replays every fuzz regression input and every seed through its target, built
# without libFuzzer (tests/fuzz/replay-TARGET, with the sanitizers configure chose). A crash,
# a sanitizer report or a broken invariant fails the test and names the input.
#   tests/fuzz/replay.sh [TARGET...]          (run from the build tree; make check does)
# Prints one line per target and "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${POLC_SRCDIR:-$(cd "$here/../.." && pwd)}
export POLC_SRCDIR=$src
[ $# -gt 0 ] || set -- yaml yamlscan inventory image semantic learn_l7 learn_packets learn_pcap learn_records
# Replay stops at the first UBSan report too, whatever the build's recover setting.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

inputs() { # the same seeds run.sh starts from, plus the regressions
	local t=$1
	for d in "$src/tests/fuzz/regressions/$t" "$src/tests/fuzz/corpus/$t"; do
		[ -d "$d" ] && echo "$d"
	done
	case $t in
	yaml) echo "$src/samples/bad $src/samples/testbed/policies $src/tests/images/cases" ;;
	yamlscan) echo "$src/tests/fuzz/corpus/yaml $src/tests/data/np-guard-bad $src/samples/bad \
		$src/samples/testbed/policies $src/samples/inventory $src/tests/images/cases" ;;
	inventory) echo "$src/samples/inventory $src/tests/images/cases" ;;
	image) echo "$src/tests/images/golden" ;;
	learn_pcap) echo "$src/tests/data/testbed-capture.pcap" ;;
	esac
}

pass=0 fail=0
for t in "$@"; do
	bin=./tests/fuzz/replay-$t
	[ -x "$bin" ] || bin=$here/replay-$t
	if [ ! -x "$bin" ]; then
		echo "FAIL: $t: replay-$t is not built"
		fail=$((fail + 1))
		continue
	fi
	# shellcheck disable=SC2046
	if timeout 600 "$bin" $(inputs "$t") >"$tmp/$t.log" 2>&1; then
		echo "ok: $t: $(tail -1 "$tmp/$t.log")"
		pass=$((pass + 1))
	else
		echo "FAIL: $t: the last input replayed was $(grep '^replay: ' "$tmp/$t.log" | tail -1 | cut -d' ' -f2-)"
		grep -v '^replay: ' "$tmp/$t.log" | head -60
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
