#!/bin/sh
# Reference corpus: polc lint over Cilium's own policies, each with an expected verdict.
#
#   tests/data/cilium/ + cilium.expect       a subset shipped with polc, always checked
#   <reference>/ + cilium-full.expect        all 248 upstream files, when the reference tree
#                                            is there ($POLC_REFERENCE_DIR, or
#                                            $POLC_SRCDIR/../shared/reference/cilium)
#
# Per file: polc must not crash (exit < 128, no sanitizer report), its JSON report must be
# well-formed, and the set of error ids must be the expected one (warnings do not count).
# See lib.sh for the expectation format. VERBOSE=1 lists the files that pass too.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

run_expect "$POLC_SRCDIR/tests/data/cilium" "$here/cilium.expect" cilium

# the subset must say what the full list says about the same file
strip() { sed 's/#.*//' "$1" | awk 'NF { $1 = $1; print }' | sort; }
strip "$here/cilium.expect" >"$scratch/subset"
strip "$here/cilium-full.expect" >"$scratch/full"
if ! awk 'NR == FNR { full[$1] = $0; next } !($1 in full) || full[$1] != $0 { print; bad = 1 }
	END { exit bad }' "$scratch/full" "$scratch/subset" >"$scratch/disagree"; then
	while IFS= read -r l; do
		fail "cilium.expect and cilium-full.expect disagree: $l"
	done <"$scratch/disagree"
fi

ref=$(reference_dir)
if [ -n "$ref" ]; then
	if [ -d "$ref" ]; then
		# only the YAML: the reference folder also holds its SOURCES.md
		run_expect "$ref" "$here/cilium-full.expect" cilium-full
	else
		fail "POLC_REFERENCE_DIR=$ref is not a directory"
	fi
else
	echo "no Cilium reference tree found (set POLC_REFERENCE_DIR): checked the subset only"
fi
summary
