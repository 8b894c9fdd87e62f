#!/bin/bash
# Runs polc's libFuzzer targets (built by `make fuzz-build`) for a while each, from the seeds.
#
#   tests/fuzz/run.sh [--builddir DIR] [--seconds N] [--jobs N] [--keep-going] TARGET...
#
# Per target: new inputs in BUILDDIR/tests/fuzz/work/TARGET/corpus (kept between runs, so a
# longer campaign continues where the last one stopped), crashes in .../crashes, the log in
# .../log. Seeds (read-only): tests/fuzz/corpus/TARGET, tests/fuzz/regressions/TARGET and the
# in-tree data listed below. --jobs runs that many targets at once. The last lines are one
# summary per target (executions, libFuzzer's cov and ft, corpus size, crashes) and
# "N passed, N failed": a target fails when it crashed.
#
# A crash: minimise it (fuzz-TARGET -minimize_crash=1 -runs=10000 CRASH), add it as
# tests/fuzz/regressions/TARGET/<short-name> (`make check` replays it), and report it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
builddir=$PWD seconds=60 jobs=1
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	-h|--help) sed -n '2,15p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- yaml yamlscan inventory image semantic learn_l7 learn_packets learn_pcap learn_records

# Seeds and limits per target.
seeds() {
	case $1 in
	yaml) echo "$src/tests/data/cilium $src/tests/data/np-guard-bad $src/samples/bad \
		$src/samples/testbed/policies $src/tests/images/cases $src/tests/golden" ;;
	yamlscan) echo "$here/corpus/yaml $src/tests/data/cilium $src/tests/data/np-guard-bad \
		$src/samples/bad $src/samples/testbed/policies $src/samples/inventory \
		$src/tests/images/cases" ;;
	inventory) echo "$src/samples/inventory $src/tests/images/cases" ;;
	image) echo "$src/tests/images/golden" ;;
	*) echo "" ;;
	esac
}
max_len() {
	case $1 in
	yaml|yamlscan|inventory) echo 65536 ;;
	image) echo 32768 ;;
	semantic) echo 1024 ;;
	learn_pcap|learn_packets) echo 65536 ;;
	*) echo 16384 ;;
	esac
}
# Extra libFuzzer options. The targets that run the whole compiler or learner per input touch
# tens of thousands of features, and the entropic schedule's bookkeeping then costs half the
# time: those run without it. The learner's readers warn on stderr for every bad input: closed.
options() {
	case $1 in
	yaml|inventory|semantic) echo "-entropic=0" ;;
	learn_pcap|learn_records) echo "-entropic=0 -close_fd_mask=2" ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
# UBSan findings stop the run; the suppressions list only bugs already reported (see the file).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp}

run_one() {
	local t=$1 bin=$builddir/tests/fuzz/fuzz-$1 w=$builddir/tests/fuzz/work/$1
	if [ ! -x "$bin" ]; then
		echo "$t: $bin not built" >"$w.summary"
		return
	fi
	mkdir -p "$w/corpus" "$w/crashes"
	local dict=() extra=()
	case $t in yaml|yamlscan|inventory) dict=(-dict="$here/yaml.dict") ;; esac
	for d in "$here/corpus/$t" "$here/regressions/$t" $(seeds "$t"); do
		[ -d "$d" ] && extra+=("$d")
	done
	local before start
	before=$(find "$w/crashes" -type f | wc -l)
	start=$SECONDS
	(cd "$w" && "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=25 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$w/crashes/" \
		$(options "$t") "${dict[@]}" "$w/corpus" "${extra[@]}") >"$w/log" 2>&1
	local rc=$?
	local after execs cov ft units
	after=$(find "$w/crashes" -type f | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$w/log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$w/log" | tail -1 | cut -d' ' -f2)
	units=$(find "$w/corpus" -type f | wc -l)
	echo "$t: $((SECONDS - start))s, ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus $units, new crashes $((after - before)), exit $rc" >"$w.summary"
	if [ "$after" -gt "$before" ] || [ "$rc" -ne 0 ]; then
		grep -m1 -A25 'ERROR: \|runtime error\|invariant broken\|deadly signal\|timeout' "$w/log" >>"$w.summary"
	fi
}

mkdir -p "$builddir/tests/fuzz/work"
running=0
for t in "$@"; do
	rm -f "$builddir/tests/fuzz/work/$t.summary"
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

pass=0 fail=0
for t in "$@"; do
	s=$builddir/tests/fuzz/work/$t.summary
	cat "$s"
	if grep -q 'new crashes 0, exit 0' "$s"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
