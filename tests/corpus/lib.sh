# Shared by the corpus scripts (sourced, not run). POSIX sh and POSIX awk only.
#
# Expectation files: one line per input file,
#
#   PATH  clean                    no error diagnostic (warnings do not count)
#   PATH  error ID[,ID...]         exactly this set of error ids
#
# optionally followed by `xfail=clean` or `xfail=error:ID[,ID...]`: polc is known to be wrong
# on this file and gives that verdict today. Such a line counts as skipped while polc gives the
# recorded wrong verdict, and fails once polc gives the expected one (drop the mark then) or
# anything else. `memcheck-xfail` marks a known memory error in a script's extra checks (see
# np-guard-bad.sh). Everything after "#" is a comment: each line says why it expects what it
# does.

: "${POLC:?POLC must name the polc binary (make check sets it)}"
: "${POLC_SRCDIR:?POLC_SRCDIR must name the source tree (make check sets it)}"

n_pass=0
n_fail=0
n_skip=0
scratch=$(mktemp -d -t polc-corpus.XXXXXX) || exit 99
trap 'rm -rf "$scratch"' EXIT

fail() {
	n_fail=$((n_fail + 1))
	printf 'FAIL: %s\n' "$*"
}

pass() {
	n_pass=$((n_pass + 1))
	[ -n "${VERBOSE:-}" ] && printf 'ok: %s\n' "$*"
	return 0
}

skip() {
	n_skip=$((n_skip + 1))
	printf 'SKIP: %s\n' "$*"
}

# The sorted, comma-joined set of error ids in polc's JSON report on stdin ("" if none).
error_ids() {
	awk -F'"' '/^ *"severity": /{sev=$4} /^ *"id": /{if (sev == "error") print $4}' |
		sort -u | paste -sd, -
}

# Checks the JSON report in $1 for well-formedness of each error diagnostic: a file equal to
# $2, a message, and a line when $3 is "yes". Prints what is wrong, if anything.
check_error_fields() {
	awk -F'"' -v want="$2" -v need_line="$3" '
		/^ *"file": /     { file = $4 }
		/^ *"line": /     { line = $3; gsub(/[^0-9]/, "", line) }
		/^ *"severity": / { sev = $4 }
		/^ *"message": /  { msg = $4 }
		/^ *}/ && sev != "" {
			if (sev == "error") {
				errors++
				if (file != want) print "an error names file \"" file "\", not " want
				if (msg == "") print "an error has no message"
				if (need_line == "yes" && line + 0 < 1) print "an error has no line"
			}
			file = ""; line = ""; sev = ""; msg = ""
		}
		/"errors": / { n = $3; gsub(/[^0-9]/, "", n); summary = n + 0 }
		END { if (summary != errors + 0) print "summary counts " summary " errors, the list " errors + 0 }
	' "$1"
}

# Memory errors reported by AddressSanitizer, UBSan or valgrind in the stderr file $1?
memory_trouble() {
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|^==[0-9]+== ' "$1"
}

# run_expect DATA_DIR EXPECT_FILE LABEL: checks every listed file (paths relative to DATA_DIR)
# and that every file under DATA_DIR but SOURCES.md is listed.
run_expect() {
	dir=$1
	expect=$2
	label=$3
	if [ ! -d "$dir" ] || [ ! -f "$expect" ]; then
		fail "$label: missing $dir or $expect"
		return
	fi
	listed="$scratch/listed"
	: >"$listed"
	lineno=0
	while IFS= read -r raw || [ -n "$raw" ]; do
		lineno=$((lineno + 1))
		line=${raw%%#*}
		set -f
		# shellcheck disable=SC2086
		set -- $line
		set +f
		[ $# -eq 0 ] && continue
		path=$1
		verdict=${2:-}
		ids=
		if [ $# -ge 2 ]; then shift 2; else shift $#; fi
		if [ "$verdict" = error ] && [ $# -gt 0 ]; then
			ids=$1
			shift
		fi
		case "$verdict:$ids" in
		clean: | error:?*) ;;
		*)
			fail "$expect:$lineno: cannot read \"$raw\""
			continue
			;;
		esac
		xfail=
		flags=
		bad=
		for word in "$@"; do
			case "$word" in
			xfail=clean | xfail=error:?*) xfail=${word#xfail=} ;;
			memcheck-xfail) flags="$flags $word" ;;
			*) bad=$word ;;
			esac
		done
		if [ -n "$bad" ]; then
			fail "$expect:$lineno: cannot read \"$bad\""
			continue
		fi
		printf '%s\n' "$path" >>"$listed"
		check_file "$dir" "$path" "$verdict" "$ids" "$xfail" "$label"
		if [ -n "${EXTRA_CHECK:-}" ] && [ -f "$dir/$path" ]; then
			"$EXTRA_CHECK" "$dir" "$path" "$flags" "$label"
		fi
	done <"$expect"
	# every input has an expectation
	(cd "$dir" && find . -type f ! -name SOURCES.md | sed 's|^\./||') | sort >"$scratch/present"
	sort -u "$listed" >"$scratch/listed.sorted"
	comm -23 "$scratch/present" "$scratch/listed.sorted" | while IFS= read -r f; do
		printf 'FAIL: %s: %s has no expectation in %s\n' "$label" "$f" "$expect"
		echo x >>"$scratch/unlisted"
	done
	if [ -f "$scratch/unlisted" ]; then
		n_fail=$((n_fail + $(wc -l <"$scratch/unlisted")))
		rm -f "$scratch/unlisted"
	fi
}

# check_file DIR PATH VERDICT IDS XFAIL LABEL
check_file() {
	dir=$1
	path=$2
	want=$3
	[ "$3" = error ] && want="error:$4"
	current=$5
	what="$6: $2"
	if [ ! -f "$dir/$path" ]; then
		fail "$what: listed but not present"
		return
	fi
	json="$scratch/report.json"
	err="$scratch/stderr"
	(cd "$dir" && "$POLC" lint --color=never --format json "$path") >"$json" 2>"$err"
	rc=$?
	if [ "$rc" -ge 128 ]; then
		fail "$what: polc died with status $rc ($(kill -l "$rc" 2>/dev/null || echo signal))"
		return
	fi
	if memory_trouble "$err"; then
		fail "$what: memory error"
		sed 's/^/    /' "$err" | head -20
		return
	fi
	ids=$(error_ids <"$json")
	got=clean
	[ -n "$ids" ] && got="error:$ids"
	problems=$(check_error_fields "$json" "$path" yes)
	if [ -n "$problems" ]; then
		fail "$what: malformed report: $problems"
		return
	fi
	case "$got:$rc" in
	clean:0 | clean:1 | error:*:1 | error:*:2) ;;
	*)
		fail "$what: exit status $rc does not fit $got"
		return
		;;
	esac
	# a canonical form of the expectation, with its ids sorted
	want_sorted=$want
	case "$want" in error:*)
		want_sorted="error:$(printf '%s\n' "${want#error:}" | tr , '\n' | sort -u | paste -sd, -)" ;;
	esac
	current_sorted=$current
	case "$current" in error:*)
		current_sorted="error:$(printf '%s\n' "${current#error:}" | tr , '\n' | sort -u | paste -sd, -)" ;;
	esac
	if [ -z "$current" ]; then
		if [ "$got" = "$want_sorted" ]; then
			pass "$what"
		else
			fail "$what: expected $want_sorted, polc says $got"
			head -c 2000 "$json" | sed 's/^/    /'
		fi
	elif [ "$got" = "$want_sorted" ]; then
		fail "$what: polc now gives the expected $want_sorted: remove the xfail mark"
	elif [ "$got" = "$current_sorted" ]; then
		skip "$what: known polc bug (expected $want_sorted, polc says $got)"
	else
		fail "$what: expected $want_sorted (known bug: $current_sorted), polc says $got"
	fi
}

# The upstream Cilium reference tree, if there is one: $POLC_REFERENCE_DIR, or the shared
# reference folder beside the source tree.
reference_dir() {
	if [ -n "${POLC_REFERENCE_DIR:-}" ]; then
		printf '%s\n' "$POLC_REFERENCE_DIR"
	elif [ -d "$POLC_SRCDIR/../shared/reference/cilium" ]; then
		printf '%s\n' "$POLC_SRCDIR/../shared/reference/cilium"
	fi
}

summary() {
	printf '%d passed, %d failed, %d skipped\n' "$n_pass" "$n_fail" "$n_skip"
	[ "$n_fail" -eq 0 ]
}
