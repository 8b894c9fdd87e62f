#!/bin/bash
# Image tests: Cilium-style policy-map goldens, byte-exact sample images that do not depend on
# input order, and damaged images that verify must refuse.
#   tests/images/run.sh [--update]   (--update rewrites the goldens: review the diff!)
set -u
cd "${POLC_SRCDIR:-$(dirname "$0")/../..}" || exit 2
POLC=${POLC:-./polc}
UPDATE=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }

# 1. Each case compiles (and so verifies); the server's entries match the reviewed dump.
for case in tests/images/cases/*.yaml; do
	out=$tmp/$(basename "$case" .yaml)
	if ! "$POLC" compile -i "$case" -p "$case" -o "$out" --all-nodes >"$out.log" 2>&1; then
		ko "$case: compile failed"; cat "$out.log"; continue
	fi
	"$POLC" inspect "$out/node1.polc" --endpoint demo/server | tail -n +2 >"$out.dump"
	if [ "$UPDATE" = --update ]; then cp "$out.dump" "${case%.yaml}.out"; fi
	if diff -u "${case%.yaml}.out" "$out.dump"; then ok; else ko "$case: entries differ"; fi
done

# 2. The sample images, byte for byte, whatever the order of the input files.
inv=samples/inventory/shop.yaml
pol=samples/testbed/policies
"$POLC" compile -i "$inv" -p "$pol" -o "$tmp/a" --all-nodes --generation 7 >/dev/null || ko "sample compile"
reversed=$(ls "$pol"/*.yaml | sort -r | sed 's/^/-p /')
# shellcheck disable=SC2086
"$POLC" compile -i "$inv" $reversed -o "$tmp/b" --all-nodes --generation 7 >/dev/null || ko "reordered compile"
for node in worker1 worker2; do
	if [ "$UPDATE" = --update ]; then cp "$tmp/a/$node.polc" tests/images/golden/; fi
	if cmp -s "$tmp/a/$node.polc" tests/images/golden/$node.polc; then ok; else ko "$node.polc differs from its golden"; fi
	if cmp -s "$tmp/a/$node.polc" "$tmp/b/$node.polc"; then ok; else ko "$node.polc depends on input order"; fi
done

# 3. Damaged images are refused with a clear error, never accepted.
good=tests/images/golden/worker1.polc
size=$(stat -c %s "$good")
expect_refused() { # name file pattern
	local msg
	msg=$("$POLC" verify "$2" 2>&1)
	local rc=$?
	if [ $rc -eq 1 ] && grep -q "$3" <<<"$msg" && grep -q 'image-invalid' <<<"$msg"; then ok
	else ko "$1: expected refusal matching '$3', got rc=$rc: $msg"; fi
}
redigest() { # rewrite the trailing sha256 so only the deliberate damage remains
	python3 - "$1" <<'PY'
import hashlib, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[-32:] = hashlib.sha256(bytes(b[:-32])).digest()
open(p, 'wb').write(b)
PY
}
patch_u32() { # file offset value
	python3 - "$@" <<'PY'
import struct, sys
p, off, val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(p, 'rb').read())
b[off:off + 4] = struct.pack('<I', val)
open(p, 'wb').write(b)
PY
}
for cut in 0 100 256 $((size / 2)) $((size - 1)); do
	head -c "$cut" "$good" >"$tmp/trunc"
	expect_refused "truncated to $cut" "$tmp/trunc" 'small\|truncated\|bytes'
done
for off in 0 9 40 300 $((size / 3)) $((size / 2)) $((size - 40)) $((size - 1)); do
	cp "$good" "$tmp/flip"
	printf "$(printf '\\%03o' $(( ($(od -An -tu1 -j "$off" -N1 "$good") ^ 16) )))" |
		dd of="$tmp/flip" bs=1 seek="$off" conv=notrunc status=none
	expect_refused "bit flip at $off" "$tmp/flip" 'digest\|magic\|format'
done
cp "$good" "$tmp/version"; patch_u32 "$tmp/version" 8 2; redigest "$tmp/version"
expect_refused "newer format" "$tmp/version" 'format 2'
cp "$good" "$tmp/abi"; patch_u32 "$tmp/abi" 12 0; redigest "$tmp/abi"
expect_refused "older ABI" "$tmp/abi" 'ABI 0'
cp "$good" "$tmp/digest"; printf 'XXXX' | dd of="$tmp/digest" bs=1 seek=$((size - 4)) conv=notrunc status=none
expect_refused "wrong digest" "$tmp/digest" 'digest'
# capacity.policy_entries sits at offset 216 (see runtime-bpf/image.h)
cp "$good" "$tmp/counts"; patch_u32 "$tmp/counts" 216 999; redigest "$tmp/counts"
expect_refused "inconsistent counts" "$tmp/counts" 'capacities'
"$POLC" verify "$good" >/dev/null 2>&1 && ok || ko "the golden itself must verify"

# 4. Twins: verify skips an endpoint whose twin (same identity and named ports) was verified
# before with the same entries, on this node or on another image of the same run; different
# entries are verified flow by flow, so a damaged twin is still caught. catalog runs on both
# nodes; in worker2's image it is endpoint 2.
twins=$("$POLC" verify -i "$inv" -p "$pol" "$tmp/a/worker1.polc" "$tmp/a/worker2.polc")
if grep -q 'worker2.polc: 5 endpoints (2 as twins of endpoints verified before), .*: verified$' <<<"$twins"
then ok; else ko "worker2's twins of worker1's endpoints are not recognised: $twins"; fi
python3 - "$tmp/a/worker2.polc" "$tmp/moved-twin.polc" <<'PY'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
nsec = struct.unpack_from("<I", b, 40 + 64 + 24 + 32 + 32)[0]
for i in range(nsec):
    typ, size, off, count = struct.unpack_from("<IIQQ", b, 256 + 24 * i)
    if typ != 6:  # POLC_SEC_POLICY
        continue
    for e in range(count):
        at = off + e * size
        ep, egress, ident = struct.unpack_from(">HBxI", b, at + 4)
        if ep == 2 and not egress and ident == 259:  # catalog, ingress from frontend
            struct.pack_into(">H", b, at + 13, 9090)  # dport: 8080 becomes 9090
            break
    else:
        sys.exit("no such entry")
b[-32:] = hashlib.sha256(bytes(b[:-32])).digest()
open(sys.argv[2], "wb").write(b)
PY
out=$("$POLC" verify -i "$inv" -p "$pol" "$tmp/a/worker1.polc" "$tmp/moved-twin.polc" 2>&1)
if [ $? -eq 1 ] && grep -q 'moved-twin.polc: .*MISMATCH$' <<<"$out" &&
	grep -q 'catalog-5f8d7c9b46-w5r9j ingress from identity 259' <<<"$out"
then ok; else ko "a damaged twin of a verified endpoint was not caught: $out"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
