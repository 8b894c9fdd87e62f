#!/bin/sh
# np-guard's malformed inputs: polc must give a clear verdict on each and never misbehave.
#
# Per file (tests/data/np-guard-bad/, expectations in np-guard-bad.expect):
#   1. polc lint --format json FILE: exit < 128, no sanitizer report, every error has the file,
#      a message and a line, and the set of error ids is the expected one (clean: none);
#   2. polc lint --inventory FILE FILE probe-policy.yaml: the input read both as policies and
#      as cluster state, reported as text (which prints source lines): exit < 128 and no memory
#      error, under `valgrind --error-exitcode=99 -q` when valgrind is installed.
# A line marked memcheck-xfail has a known memory error in step 2: it counts as skipped while
# valgrind still sees it, and fails once it is gone (drop the mark then).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if command -v valgrind >/dev/null 2>&1; then
	memcheck="valgrind --error-exitcode=99 -q"
else
	memcheck=
	echo "valgrind not installed: memory checks of step 2 skipped"
fi

# run_checked WHAT FLAGS DIR ARGS...: one polc run of step 2
run_checked() {
	what=$1
	flags=$2
	dir=$3
	shift 3
	err="$scratch/stderr2"
	# shellcheck disable=SC2086
	(cd "$dir" && $memcheck "$POLC" lint --color=never "$@") >/dev/null 2>"$err"
	rc=$?
	if [ "$rc" -ge 128 ]; then
		fail "$what: polc died with status $rc"
		return
	fi
	trouble=no
	if [ "$rc" -eq 99 ] && [ -n "$memcheck" ]; then
		trouble=yes
	elif memory_trouble "$err"; then
		trouble=yes
	fi
	case "$trouble:$flags" in
	yes:*memcheck-xfail*)
		if [ -n "$memcheck" ]; then
			skip "$what: known memory error"
		else
			fail "$what: memory error"
		fi
		;;
	yes:*)
		fail "$what: memory error"
		sed 's/^/    /' "$err" | head -30
		;;
	no:*memcheck-xfail*)
		if [ -n "$memcheck" ]; then
			fail "$what: the known memory error is gone: remove the memcheck-xfail mark"
		else
			skip "$what: known memory error, not visible without valgrind"
		fi
		;;
	*) pass "$what" ;;
	esac
}

# extra checks for one file (called by run_expect)
np_checks() {
	dir=$1
	path=$2
	flags=$3
	label=$4
	run_checked "$label: $path (memory check, as policy and as inventory)" "$flags" "$dir" \
		--inventory "$path" "$path" "$here/probe-policy.yaml"
}
EXTRA_CHECK=np_checks

run_expect "$POLC_SRCDIR/tests/data/np-guard-bad" "$here/np-guard-bad.expect" np-guard-bad
summary
