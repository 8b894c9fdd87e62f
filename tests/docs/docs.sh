#!/bin/bash
# The documentation against the binary it documents:
#
#   - every verb of `polc help` has a man page and a "## polc VERB" section in docs/cli.md,
#     and polc(1) lists it;
#   - each man page's SYNOPSIS, and the first code block of each docs/cli.md section, is the
#     usage line of `polc help VERB` (spaces aside);
#   - every long option `polc help VERB` shows is in that section's options table and is
#     offered by the bash completion, and every option the table or the completion names is
#     one polc accepts (an option --help does not show is noted, not failed);
#   - the completion offers every verb;
#   - the "Installs" lists of README.md and docs/getting-started.md are exactly the files
#     `make install DESTDIR=...` puts down.
#
# make check sets POLC (the binary) and POLC_SRCDIR; the build tree is the binary's
# directory. By hand, from a build tree: POLC=$PWD/polc POLC_SRCDIR=/path/to/src docs.sh
set -uo pipefail

SRC=${POLC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
POLC=${POLC:-}
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
note() { echo "note: $*"; }
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

if [ -z "$POLC" ] || [ ! -x "$POLC" ]; then
	bad "no polc binary (set POLC, or run make check)"
	finish
fi
BUILD=${POLC_BUILDDIR:-$(cd "$(dirname "$POLC")" && pwd)}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/polc-docs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CLI=$SRC/docs/cli.md

# ---------------------------------------------------------------- what polc says

VERBS=$("$POLC" help | awk '/^verbs:/ { v = 1; next } v && /^  [a-z]/ { print $1; next } v { v = 0 }')
if [ -z "$VERBS" ]; then
	bad "polc help lists no verbs"
	finish
fi

# The usage line of a verb: its first paragraph, "usage: " and runs of spaces squeezed out.
synopsis() {
	"$POLC" help "$1" | awk 'NR == 1 { sub(/^usage: /, "") } /^$/ { exit } { print }' | squeeze
}
squeeze() { tr -s ' \n\t' '   ' | sed 's/^ //; s/ $//'; }

# The long options a verb's help shows: those of its usage line, and those of its option
# lines ("  -x, --xxx ARG   text"; the description starts after a gap of two spaces or
# more, or at the column where the other lines' descriptions start).
help_options() {
	"$POLC" help "$1" | awk '
	function longopts(s,    t) {
		while (match(s, /--[a-z0-9][a-z0-9-]*/)) {
			print substr(s, RSTART, RLENGTH)
			s = substr(s, RSTART + RLENGTH)
		}
	}
	{ line[NR] = $0 }
	END {
		for (i = 1; i <= NR && line[i] != ""; i++)
			longopts(line[i])
		while (i <= NR) {
			while (i <= NR && line[i] == "")
				i++
			first = i
			while (i <= NR && line[i] != "")
				i++
			last = i - 1
			col = 0
			for (k = first; k <= last && !col; k++)
				if (line[k] ~ /^            +[^ ]/ && match(line[k], /[^ ]/))
					col = RSTART
			if (!col) {
				best = 0
				split("", cnt)
				for (k = first; k <= last; k++)
					if (match(line[k], /[^ ]  +[^ ]/)) {
						c = RSTART + RLENGTH - 1
						if (++cnt[c] > best) {
							best = cnt[c]
							col = c
						}
					}
			}
			for (k = first; k <= last; k++) {
				s = line[k]
				if (s !~ /^  *-/ || s ~ /^         /)
					continue # not an option line, or a continuation line
				t = s
				sub(/^ +/, "", t)
				if (match(t, /  +/))
					spec = substr(t, 1, RSTART - 1)
				else if (col && substr(s, col - 1, 1) == " ")
					spec = substr(s, 1, col - 1)
				else
					spec = t
				longopts(spec)
			}
		}
	}' | sort -u
}

# Does polc accept this option for this verb? getopt names an unknown one; a bogus option
# after it makes every verb stop at its usage message before doing anything.
accepts() {
	local out
	out=$(timeout 20 "$POLC" "$1" "$2=x" --polc-docs-probe-no-such-option </dev/null 2>&1 >/dev/null)
	case $out in
	*"unrecognized option '$2="*) return 1 ;;
	esac
	return 0
}

# ---------------------------------------------------------------- make install

PREFIX=
if [ -f "$BUILD/Makefile" ]; then
	PREFIX=$(sed -n 's/^prefix = //p' "$BUILD/Makefile")
fi
DEST=$TMP/dest
INST=
if [ -z "$PREFIX" ]; then
	bad "no Makefile with a prefix in $BUILD: cannot run make install"
elif (cd "$BUILD" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make install DESTDIR="$DEST") \
	>"$TMP/install.log" 2>&1; then
	INST=$DEST$PREFIX
	ok "make install DESTDIR=... (prefix $PREFIX)"
	outside=$(cd "$DEST" && find . \( -type f -o -type l \) | sed 's|^\.||' | grep -v "^$PREFIX/")
	if [ -z "$outside" ]; then
		ok "make install puts nothing outside the prefix"
	else
		bad "make install puts files outside the prefix: $outside"
	fi
else
	bad "make install DESTDIR=... failed:"
	tail -20 "$TMP/install.log"
fi
MAN=$INST/share/man/man1
COMPLETION=$INST/share/bash-completion/completions/polc
[ -n "$INST" ] && [ -f "$COMPLETION" ] || COMPLETION=$SRC/completion/polc.bash

# The completions the completion script offers after WORDS (the last one being completed).
completions() {
	bash -c '
		comp=$1
		shift
		. "$comp" || exit 1
		fn=$(complete -p polc 2>/dev/null | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
		[ -n "$fn" ] || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		"$fn" polc "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" polc "$@" 2>/dev/null
}

# ---------------------------------------------------------------- docs/cli.md

# The lines of a "## polc VERB" section.
cli_section() {
	awk -v h="## polc $1" '/^## / { on = ($0 == h); next } on { print }' "$CLI"
}
# Its first fenced block, squeezed.
cli_synopsis() {
	cli_section "$1" | awk '/^```/ { if (on) exit; on = 1; next } on { print }' | squeeze
}
# The long options in the first column of its tables.
cli_options() {
	cli_section "$1" | awk -F'|' '/^\|/ { s = $2; while (match(s, /--[a-z0-9][a-z0-9-]*/)) {
		print substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH) } }' | sort -u
}

# ---------------------------------------------------------------- each verb

for v in $VERBS; do
	syn=$(synopsis "$v")
	"$POLC" help "$v" >/dev/null 2>&1 || bad "$v: polc help $v fails"
	help_opts=$(help_options "$v")

	# the man page
	page=$MAN/polc-$v.1
	if [ -z "$INST" ]; then
		:
	elif [ ! -f "$page" ]; then
		bad "$v: no man page polc-$v.1 was installed (is $v in the verb table of compiler/main.c?)"
	else
		man_syn=$(awk '/^\.SH / { on = ($0 == ".SH SYNOPSIS"); next } on && !/^\./ { print }' "$page" |
			sed 's/\\-/-/g; s/\\(aq/'"'"'/g; s/\\(ga/`/g; s/\\&//g; s/\\f[BIRP]//g; s/\\e/\\/g' | squeeze)
		if [ "$man_syn" = "$syn" ]; then
			ok "$v: polc-$v(1) synopsis is polc help $v's"
		else
			bad "$v: polc-$v(1) synopsis '$man_syn' is not polc help $v's '$syn'"
		fi
		if command -v groff >/dev/null 2>&1; then
			warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
			[ -z "$warnings" ] || bad "$v: groff warns about polc-$v.1: $warnings"
		fi
		grep -q "polc\\\\-$v\\\\fR(1)" "$MAN/polc.1" 2>/dev/null ||
			bad "$v: polc(1) does not list polc-$v(1)"
	fi

	# docs/cli.md
	if ! grep -qx "## polc $v" "$CLI"; then
		bad "$v: docs/cli.md has no '## polc $v' section"
	else
		cli_syn=$(cli_synopsis "$v")
		if [ "$cli_syn" = "$syn" ]; then
			ok "$v: docs/cli.md shows polc help $v's synopsis"
		else
			bad "$v: docs/cli.md's synopsis '$cli_syn' is not polc help $v's '$syn'"
		fi
		cli_opts=$(cli_options "$v")
		missing=$(comm -23 <(echo "$help_opts" | sed '/^$/d') <(echo "$cli_opts" | sed '/^$/d') | tr '\n' ' ')
		if [ -z "$missing" ]; then
			ok "$v: docs/cli.md documents every option of polc help $v"
		else
			bad "$v: docs/cli.md does not document $missing"
		fi
		for o in $(comm -13 <(echo "$help_opts" | sed '/^$/d') <(echo "$cli_opts" | sed '/^$/d')); do
			if [ "$v" = help ] || [ "$v" = version ] || [ "$o" = --help ]; then
				continue
			elif accepts "$v" "$o"; then
				note "$v: $o is in docs/cli.md and accepted by polc, but polc help $v does not show it"
			else
				bad "$v: docs/cli.md documents $o, which polc $v does not accept"
			fi
		done
	fi

	# the completion
	case $syn in
	"polc $v"*) comp_opts=$(completions "$v" -- | sort -u) ;;
	*) comp_opts=$(completions -- | sort -u) ;; # polc --version
	esac
	missing=$(comm -23 <(echo "$help_opts" | sed '/^$/d') <(echo "$comp_opts" | sed '/^$/d') | tr '\n' ' ')
	if [ -z "$missing" ]; then
		ok "$v: the completion offers every option of polc help $v"
	else
		bad "$v: the completion does not offer $missing"
	fi
	if [ "$v" != help ] && [ "$v" != version ]; then
		for o in $(comm -13 <(echo "$help_opts" | sed '/^$/d') <(echo "$comp_opts" | sed '/^$/d')); do
			[ "$o" = --help ] && continue
			accepts "$v" "$o" || bad "$v: the completion offers $o, which polc $v does not accept"
		done
	fi
done

comp_verbs=$(completions "" | sort -u)
missing=$(comm -23 <(echo "$VERBS" | sort -u) <(echo "$comp_verbs") | tr '\n' ' ')
if [ -z "$missing" ]; then
	ok "the completion offers every verb"
else
	bad "the completion does not offer the verbs $missing"
fi
awk '/^## polc [a-z]/ { print $3 }' "$CLI" | while read -r v; do
	echo "$VERBS" | grep -qx "$v" ||
		note "docs/cli.md has a section for '$v', which this polc does not have (yet)"
done
if [ -n "$INST" ]; then
	if [ -f "$MAN/polc.1" ]; then
		ok "polc(1) is installed"
	else
		bad "polc(1) is not installed"
	fi
fi

# ---------------------------------------------------------------- the Installs lists

# The list after the "<!-- polc-installs" marker: the first field of each line of the next
# fenced block, a path under the prefix (indented lines continue a description);
# {a,b} alternatives and VERB (every verb) expand.
installs_list() {
	awk '/<!-- polc-installs/ { m = 1; next } m && /^```/ { if (on) exit; on = 1; next }
		on && /^[^ \t]/ { print $1 }' "$1" | while read -r pat; do
		expand_braces "$pat"
	done | while read -r p; do
		case $p in
		*VERB*) for v in $VERBS; do echo "${p//VERB/$v}"; done ;;
		*) echo "$p" ;;
		esac
	done | sort -u
}
expand_braces() {
	local s=$1 pre alts post a
	if [[ $s =~ ^([^{]*)\{([^}]*)\}(.*)$ ]]; then
		pre=${BASH_REMATCH[1]}
		alts=${BASH_REMATCH[2]}
		post=${BASH_REMATCH[3]}
		local IFS=,
		for a in $alts; do
			expand_braces "$pre$a$post"
		done
	else
		echo "$s"
	fi
}

if [ -n "$INST" ]; then
	(cd "$INST" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort -u) >"$TMP/installed"
	for doc in README.md docs/getting-started.md; do
		if ! grep -q '<!-- polc-installs' "$SRC/$doc"; then
			bad "$doc has no Installs list (a '<!-- polc-installs -->' marker and a code block)"
			continue
		fi
		installs_list "$SRC/$doc" >"$TMP/listed"
		extra=$(comm -23 "$TMP/installed" "$TMP/listed" | tr '\n' ' ')
		gone=$(comm -13 "$TMP/installed" "$TMP/listed" | tr '\n' ' ')
		if [ -z "$extra$gone" ]; then
			ok "$doc lists exactly what make install puts down ($(wc -l <"$TMP/installed") files)"
		else
			[ -z "$extra" ] || bad "$doc does not list these installed files: $extra"
			[ -z "$gone" ] || bad "$doc lists files make install does not put down: $gone"
		fi
	done
fi

# ---------------------------------------------------------------- the recipes parse

if bash -n "$SRC/completion/polc.bash"; then
	ok "completion/polc.bash is valid bash"
else
	bad "completion/polc.bash is not valid bash"
fi
if command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null; then
	for f in samples/deploy/polc-daemonset.yaml samples/ci/github-actions.yml samples/ci/gitlab-ci.yml; do
		if python3 -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$SRC/$f" 2>"$TMP/yaml.err"; then
			ok "$f is valid YAML"
		else
			bad "$f is not valid YAML: $(cat "$TMP/yaml.err")"
		fi
	done
else
	note "python3 with yaml is not installed: the YAML samples were not parsed"
fi

finish
