#!/bin/bash
# The learner benchmark (bench/learn/README.md):
#  1. throughput: a capture of --packets packets over --flows flows of mixed sizes; polc learn
#     on it against an empty libpcap read loop over the same file, in the same run (target:
#     polc learn at least 0.5x the loop's packets per second);
#  2. memory: peak RSS of polc learn as the number of flows grows (same packet count), which
#     must stay flat.
#
#   bench/learn/run.sh [--builddir DIR] [--out DIR] [--packets N] [--flows N]
#                      [--flow-sizes N,N,...] [--min-size B] [--max-size B] [--quick] [--keep]
#                      [--learn-flags "FLAGS"]   (e.g. "--l4-only" or "--libpcap-reader")
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${BUILDDIR:-$PWD}
OUT=
PACKETS=5000000
FLOWS=100000
FLOW_SIZES=1000,10000,100000,1000000
MIN=64
MAX=1500
KEEP=
LEARN_FLAGS=
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) BUILD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--packets) PACKETS=$2; shift ;;
	--flows) FLOWS=$2; shift ;;
	--flow-sizes) FLOW_SIZES=$2; shift ;;
	--min-size) MIN=$2; shift ;;
	--max-size) MAX=$2; shift ;;
	--quick) PACKETS=200000; FLOWS=5000; FLOW_SIZES=1000,10000,50000 ;;
	--keep) KEEP=1 ;;
	--learn-flags) LEARN_FLAGS=$2; shift ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--builddir DIR] [--out DIR] [--packets N] [--flows N] [--flow-sizes N,N] [--min-size B] [--max-size B] [--quick] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
POLC=$BUILD/polc
GEN=$BUILD/bench/learn/learn-gen
LB=$BUILD/bench/learn/learn-bench
for b in "$POLC" "$GEN" "$LB"; do
	[ -x "$b" ] || { echo "missing $b (build first: make, or --builddir)" >&2; exit 2; }
done
if [ -z "$OUT" ]; then
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/polc-learn-bench.XXXXXX")
	[ -n "$KEEP" ] || trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"
INV=$SRC/samples/inventory/shop.yaml
val() { tail -1 | sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p"; }

learn() { # learn FILE -> "seconds maxrss_kb status"
	"$LB" run -- "$POLC" learn -i "$INV" "$1" -o "$OUT/policies" -q --no-progress $LEARN_FLAGS
}

echo "== throughput: $PACKETS packets, $FLOWS flows, frames of $MIN..$MAX bytes"
"$GEN" --packets "$PACKETS" --flows "$FLOWS" --min-size "$MIN" --max-size "$MAX" -o "$OUT/big.pcap"
PACKETS_READ=$("$LB" loop "$OUT/big.pcap" | val packets) # also warms the page cache
ratios=()
cpu_ratios=()
polc_pps=()
loop_pps=()
for round in 1 2 3; do
	l=$("$LB" run -- "$LB" loop "$OUT/big.pcap")
	r=$(learn "$OUT/big.pcap")
	n=$PACKETS_READ
	ls=$(echo "$l" | val seconds)
	lc=$(awk -v u="$(echo "$l" | val user)" -v s="$(echo "$l" | val sys)" 'BEGIN { print u + s }')
	rs=$(echo "$r" | val seconds)
	rc=$(awk -v u="$(echo "$r" | val user)" -v s="$(echo "$r" | val sys)" 'BEGIN { print u + s }')
	st=$(echo "$r" | val status)
	lp=$(awk -v n="$n" -v s="$ls" 'BEGIN { printf "%.0f", n / s }')
	rp=$(awk -v n="$n" -v s="$rs" 'BEGIN { printf "%.0f", n / s }')
	ratio=$(awk -v a="$rp" -v b="$lp" 'BEGIN { printf "%.2f", a / b }')
	cratio=$(awk -v a="$lc" -v b="$rc" 'BEGIN { printf "%.2f", a / b }')
	ratios+=("$ratio")
	cpu_ratios+=("$cratio")
	polc_pps+=("$rp")
	loop_pps+=("$lp")
	echo "round $round: empty libpcap loop ${ls}s (${lc}s CPU, $lp pkt/s); polc learn ${rs}s (${rc}s CPU, $rp pkt/s, exit $st, peak RSS $(echo "$r" | val maxrss_kb) KB): ratio $ratio (CPU time: $cratio)"
done
median() { printf "%s\n" "$@" | sort -n | sed -n 2p; }
ratio=$(median "${ratios[@]}")
cratio=$(median "${cpu_ratios[@]}")
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5 ? "meets" : "MISSES") }')
echo "median ratio of polc learn to the empty loop: $ratio wall-clock, $cratio CPU time ($verdict the 0.5 target)"
[ -n "$KEEP" ] || rm -f "$OUT/big.pcap"

echo
echo "== memory: peak RSS as flows grow ($PACKETS packets each)"
printf "%10s %10s %12s %12s %8s\n" FLOWS PACKETS "PEAK RSS KB" "PKT/S" EXIT
IFS=, read -r -a sizes <<<"$FLOW_SIZES"
mem_rows=()
first_rss=
for f in "${sizes[@]}"; do
	"$GEN" --packets "$PACKETS" --flows "$f" --min-size "$MIN" --max-size "$MAX" -o "$OUT/m.pcap" 2>/dev/null
	n=$("$LB" loop "$OUT/m.pcap" | val packets)
	r=$(learn "$OUT/m.pcap")
	rss=$(echo "$r" | val maxrss_kb)
	printf "%10s %10s %12s %12s %8s\n" "$f" "$n" "$rss" \
		"$(awk -v n="$n" -v s="$(echo "$r" | val seconds)" 'BEGIN { printf "%.0f", n / s }')" \
		"$(echo "$r" | val status)"
	: "${first_rss:=$rss}"
	mem_rows+=("$(printf '%-52s %16s %16s %10s' "  peak RSS with $f flows, MiB" \
		"$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"$(awk -v k="$first_rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"$(awk -v a="$rss" -v b="$first_rss" 'BEGIN { printf "%.2fx", a / b }')")")
	rm -f "$OUT/m.pcap"
done

# The same figures as one table (the form bench/run collects): the baseline of the memory rows
# is the smallest flow count of this run.
echo
printf '%-52s %16s %16s %10s\n' "figure" "this run" "baseline" "ratio"
printf '%-52s %16s %16s %10s\n' "learn ($PACKETS packets, $FLOWS flows)" "polc learn" "libpcap loop" "polc/base"
printf '%-52s %16s %16s %10s\n' "  packets/s (wall, median of 3)" "$(median "${polc_pps[@]}")" \
	"$(median "${loop_pps[@]}")" "${ratio}x"
printf '%-52s %16s %16s %10s\n' "  ratio by CPU time (median of 3)" "" "" "${cratio}x"
printf '%s\n' "${mem_rows[@]}"
echo
echo "note: the target is at least 0.5x the empty loop ($verdict it); memory should stay flat"

