#!/bin/bash
# Hostile images: 10k seeded mutants of a valid image (tests/hostile/mutate-image.py:
# truncations, bit flips, swapped sections, bad counts and fields, about two in three with the
# digest recomputed so the checks behind it are reached). `polc verify` must refuse each with
# a clear image-invalid error, or, when it accepts one, `polc verify -i -p` against the
# image's sources must give a clear answer: verified (the damage changed nothing a packet
# sees) or a MISMATCH with a counterexample. Never a crash, a hang or silence. Then the loader:
# an image for another node, and older or newer format and ABI versions, are refused.
#   tests/hostile/images.sh [COUNT] [SEED]      (default 10000 mutants, seed 1)
. "$(dirname "$0")/lib.sh"
count=${1:-${POLC_HOSTILE_MUTANTS:-10000}}
seed=${2:-1}
good=$SRC/tests/images/golden/worker1.polc
inv=$SRC/samples/inventory/shop.yaml
pol=$SRC/samples/testbed/policies
batch=250

python3 "$HERE/mutate-image.py" "$good" "$TMP/m" "$count" "$seed"
cd "$TMP/m" || exit 2

# One `polc verify` over a batch of mutants; every mutant must be named on stdout as
# structurally verified or on stderr as refused, exactly one of the two.
refused=0 accepted=0 silent=0 crashed=0 same=0 caught=0 stale_accepted=0
: >accepted.txt
names=(*.polc)
for ((i = 0; i < ${#names[@]}; i += batch)); do
	chunk=("${names[@]:i:batch}")
	timeout 300 "$POLC" verify "${chunk[@]}" >out.txt 2>err.txt
	rc=$?
	if [ $rc -gt 2 ] || grep -q 'ERROR: AddressSanitizer\|runtime error:' err.txt; then
		# find the mutant(s) responsible, one at a time
		for f in "${chunk[@]}"; do
			timeout 60 "$POLC" verify "$f" >/dev/null 2>one.txt
			r=$?
			if [ $r -gt 2 ] || grep -q 'ERROR: AddressSanitizer\|runtime error:' one.txt; then
				crashed=$((crashed + 1))
				ko "mutant $f ($(grep "^$f" manifest.tsv | cut -f2-))" "exit status $r"
				grep -m5 'ERROR\|runtime error\|#[0-4] ' one.txt | sed 's/^/    /'
			fi
		done
		continue
	fi
	for f in "${chunk[@]}"; do
		a=0 r=0
		grep -q "^$f: structure verified" out.txt && a=1
		grep -q "^$f: error: .*\[image-invalid\]" err.txt && r=1
		if [ $a -eq 1 ] && [ $r -eq 0 ]; then
			accepted=$((accepted + 1))
			echo "$f" >>accepted.txt
			grep -q "^$f	.*	stale$" manifest.tsv && stale_accepted=$((stale_accepted + 1))
		elif [ $r -eq 1 ] && [ $a -eq 0 ]; then
			refused=$((refused + 1))
		else
			silent=$((silent + 1))
			[ $silent -le 5 ] && ko "mutant $f ($(grep "^$f" manifest.tsv | cut -f2-))" \
				"neither accepted nor refused with an image-invalid error"
		fi
	done
done
[ "$silent" -gt 5 ] && ko "mutants without a clear outcome" "$silent in all"

# Accepted mutants: their verdicts against the sources, in batches too.
mapfile -t acc <accepted.txt
for ((i = 0; i < ${#acc[@]}; i += 50)); do
	chunk=("${acc[@]:i:50}")
	timeout 600 "$POLC" verify -i "$inv" -p "$pol" "${chunk[@]}" >out.txt 2>err.txt
	rc=$?
	if [ $rc -gt 2 ] || grep -q 'ERROR: AddressSanitizer\|runtime error:' err.txt; then
		ko "semantic verify of accepted mutants ${chunk[0]}..." "exit status $rc"
		grep -m5 'ERROR\|runtime error' err.txt | sed 's/^/    /'
		continue
	fi
	for f in "${chunk[@]}"; do
		if grep -q "^$f: .*: verified$" out.txt; then
			same=$((same + 1))
		elif grep -q "^$f: .*: MISMATCH$" out.txt; then
			caught=$((caught + 1))
		else
			ko "accepted mutant $f ($(grep "^$f" manifest.tsv | cut -f2-))" \
				"semantic verify gave no verdict"
		fi
	done
done
[ "$stale_accepted" -eq 0 ] && ok "no mutant with a stale digest accepted" ||
	ko "mutants with a stale digest" "$stale_accepted accepted"
[ "$crashed" -eq 0 ] && ok "no mutant crashed polc verify"
total=$((refused + accepted))
echo "    $count mutants: $refused refused (image-invalid), $accepted accepted by the structure" \
	"checks: $same of them decide every flow as the sources do, $caught differ and polc verify" \
	"-i -p reports the mismatch; $silent without a clear outcome, $crashed crashed"
[ "$total" -eq "$count" ] && ok "every mutant has an outcome" ||
	ko "mutant outcomes" "$total of $count accounted for"

# ---- the loader refuses what is not for this node, or not its format
cd "$TMP" || exit 2
patch() { # src dst offset format value
	python3 - "$@" <<'PY'
import hashlib, struct, sys
src, dst, off, fmt, val = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
b = bytearray(open(src, "rb").read())
struct.pack_into(fmt, b, off, val)
b[-32:] = hashlib.sha256(bytes(b[:-32])).digest()
open(dst, "wb").write(b)
PY
}
# (polc load exits 1 for an image of another node and 2 for one it cannot read: both refuse)
load_refused() { # name image node pattern
	want_rc='1|2' want_msg=$4 max_secs=30 max_rss_mb=$((SANITIZED ? 400 : 128))
	measure --timeout 60 -- "$POLC" load --dry-run --node "$3" "$2"
	check "polc load --dry-run: $1"
}
load_refused "an image for another node" "$good" other 'the image is for node worker1, and this is node other'
load_refused "an image for a node whose name it extends" "$good" worker12 'is for node worker1'
for v in 0 2 4294967295; do
	patch "$good" "fmt$v.polc" 8 '<I' "$v"
	load_refused "format version $v" "fmt$v.polc" worker1 "image format $v ABI 1; this polc reads format 1"
	patch "$good" "abi$v.polc" 12 '<I' "$v"
	load_refused "ABI version $v" "abi$v.polc" worker1 "image format 1 ABI $v"
	want_rc=1 want_msg="image format" max_secs=30 max_rss_mb=''
	measure --timeout 60 -- "$POLC" verify "fmt$v.polc"
	check "polc verify: format version $v"
done
patch "$good" "bigendian.polc" 16 '>I' 16909060
load_refused "a big-endian image" "bigendian.polc" worker1 'byte order'
: >empty.polc
load_refused "an empty file" "empty.polc" worker1 'too small'
load_refused "a missing file" "nosuch.polc" worker1 'cannot open'

finish
