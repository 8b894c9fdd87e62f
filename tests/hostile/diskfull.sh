#!/bin/bash
# A full disk while polc writes its output: on a 256 KiB tmpfs that an earlier run filled up,
#   - polc compile fails with a clear error, the image of the earlier run is byte for byte as
#     it was, and no temporary file is left behind;
#   - polc learn fails likewise, and the earlier run's policies and test file are unchanged
#     (it writes everything aside first, and replaces nothing unless all of it was written).
# Then, with room again, both succeed. Needs root (mount); exit 77 = skipped (a failure when
# CI=true).
#   tests/hostile/diskfull.sh
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "diskfull: needs root to mount a small tmpfs"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
inv=$SRC/samples/inventory/shop.yaml
pol=$SRC/samples/testbed/policies
cap=$SRC/tests/data/testbed-capture.pcap
disk=$TMP/disk
mkdir -p "$disk"
mount -t tmpfs -o size=256k tmpfs "$disk" || exit 1
trap 'umount "$disk" 2>/dev/null; rm -rf "$TMP"' EXIT

# the earlier run, with room
"$POLC" compile -i "$inv" -p "$pol" -o "$disk/images" --node worker1 >/dev/null &&
	ok "compile with room" || ko "compile with room" "exit status $?"
"$POLC" learn -q --no-progress -i "$inv" -o "$disk/learned" "$cap" >/dev/null 2>&1 &&
	ok "learn with room" || ko "learn with room" "exit status $?"
mkdir -p "$TMP/before"
cp -a "$disk/images" "$disk/learned" "$disk/learned.test.yaml" "$TMP/before/" 2>/dev/null ||
	ko "earlier outputs" "missing: $(ls "$disk")"

# fill the disk
dd if=/dev/zero of="$disk/filler" bs=4k >/dev/null 2>&1
dd if=/dev/zero of="$disk/filler2" bs=1 >/dev/null 2>&1

same_as_before() { # what
	for d in images learned learned.test.yaml; do
		diff -r "$TMP/before/$d" "$disk/$d" >/dev/null || return 1
	done
	! ls -a "$disk"/images "$disk"/learned "$disk" | grep -q '\.tmp'
}

# a new generation: different bytes, nowhere to put them
want_rc=2 want_msg='No space left on device' max_secs=60 max_rss_mb=512
measure --timeout 120 -- "$POLC" compile -i "$inv" -p "$pol" -o "$disk/images" --node worker1 \
	--generation 2
check "compile on a full disk: a clear error"
same_as_before && ok "compile on a full disk: the earlier image unchanged, nothing left over" ||
	ko "compile on a full disk" "the earlier outputs changed or a temporary file was left"

want_rc='1|2' want_msg='No space left on device'
measure --timeout 120 -- "$POLC" learn -q --no-progress --l4-only -i "$inv" -o "$disk/learned" "$cap"
check "learn on a full disk: a clear error"
same_as_before && ok "learn on a full disk: the earlier policies unchanged, nothing left over" ||
	ko "learn on a full disk" "the earlier outputs changed or a temporary file was left"

# room again
rm -f "$disk/filler" "$disk/filler2"
"$POLC" compile -i "$inv" -p "$pol" -o "$disk/images" --node worker1 --generation 2 >/dev/null &&
	! cmp -s "$TMP/before/images/worker1.polc" "$disk/images/worker1.polc" &&
	ok "compile with room again: the new image replaces the old" ||
	ko "compile with room again" "no new image"
finish
