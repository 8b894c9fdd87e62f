#!/bin/bash
# The CLI golden tests (tests/golden/run) and the image tests (tests/images/run.sh) again, with
# every polc run under valgrind memcheck: an invalid read or write, a use of uninitialised
# memory or a leak (definite or indirect) makes that polc exit 99, which fails its case, and
# the valgrind reports are printed at the end. Skipped (77) without valgrind, or when polc was
# built with AddressSanitizer (the two do not mix).
#   tests/hostile/valgrind-golden.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${POLC_SRCDIR:-$(cd "$here/../.." && pwd)}
polc=${POLC:-$PWD/polc}
case $polc in /*) ;; *) polc=$PWD/$polc ;; esac
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind is not installed: skipped"
	exit 77
fi
if grep -qa '__asan_init' "$polc"; then
	echo "polc is built with AddressSanitizer, which valgrind cannot run: skipped"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/logs"
cat >"$tmp/polc" <<EOF
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite,indirect --track-origins=yes \\
	--log-file="$tmp/logs/vg.%p.log" "$polc" "\$@"
EOF
chmod +x "$tmp/polc"

pass=0 fail=0
for suite in tests/golden/run tests/images/run.sh; do
	if POLC=$tmp/polc POLC_SRCDIR=$src "$src/$suite" >"$tmp/out" 2>&1; then
		echo "ok: $suite under valgrind: $(tail -1 "$tmp/out")"
		pass=$((pass + 1))
	else
		echo "FAIL: $suite under valgrind: $(tail -1 "$tmp/out")"
		grep -B2 -A12 '^--- \|^FAIL\|exit status 99' "$tmp/out" | head -80
		fail=$((fail + 1))
	fi
done
runs=$(find "$tmp/logs" -type f | wc -l)
dirty=$(find "$tmp/logs" -type f -size +0 | wc -l)
echo "valgrind: $runs polc runs, $dirty with a report"
for log in $(find "$tmp/logs" -type f -size +0 | head -10); do
	echo "---- $(basename "$log")"
	head -60 "$log"
done
if [ "$dirty" -gt 0 ]; then
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
