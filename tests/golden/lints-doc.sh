#!/bin/sh
# Keeps docs/lints.md and polc together:
#   1. the "## <id>" headings of docs/lints.md are exactly the ids of `polc lint --list-rules`
#   2. each section's "**Severity:** X" line gives the severity --list-rules gives
#   3. the examples are true: in the section of an id, a ```yaml bad block makes polc report
#      that id, and a ```yaml good block is clean (exit status 0, the id not reported). Words
#      after "bad" or "good" on the fence line are options for polc (--max-depth=4); a
#      ```yaml inventory block is passed with -i to the other examples of its section.
# Environment: POLC (the binary), POLC_SRCDIR (the source tree).

if [ -z "${POLC:-}" ] || [ ! -x "$POLC" ]; then
	echo "lints-doc.sh: set POLC to the polc binary to test" >&2
	exit 99
fi
: "${POLC_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
doc=$POLC_SRCDIR/docs/lints.md
if [ ! -f "$doc" ]; then
	echo "lints-doc.sh: $doc is missing" >&2
	exit 99
fi
LC_ALL=C
export LC_ALL

tmp=$(mktemp -d "${TMPDIR:-/tmp}/polc-lints-doc.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() {
	echo "ok   $1"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $1"
	failed=$((failed + 1))
}

# ---- 1. the same set of ids
"$POLC" lint --list-rules >"$tmp/rules" || exit 99
awk '{ print $1 }' "$tmp/rules" | sort >"$tmp/rule-ids"
sed -n 's/^## \(.*\)$/\1/p' "$doc" | sed 's/[[:space:]]*$//' | sort >"$tmp/doc-ids"
if cmp -s "$tmp/rule-ids" "$tmp/doc-ids"; then
	ok "docs/lints.md has a \"## id\" section for each of the $(wc -l <"$tmp/rule-ids") ids of --list-rules, and no other"
else
	fail "docs/lints.md sections and --list-rules ids differ"
	comm -23 "$tmp/rule-ids" "$tmp/doc-ids" | sed 's/^/     no section for: /'
	comm -13 "$tmp/rule-ids" "$tmp/doc-ids" | sed 's/^/     section for an unknown id: /'
fi
if [ "$(sed -n 's/^## //p' "$doc" | sort | uniq -d)" ]; then
	fail "docs/lints.md has a section twice: $(sed -n 's/^## //p' "$doc" | sort | uniq -d | tr '\n' ' ')"
else
	ok "docs/lints.md has each section once"
fi

# ---- 2. severities
awk '
	/^## / { id = substr($0, 4); next }
	/^\*\*Severity:\*\* / && id != "" { sub(/^\*\*Severity:\*\* /, ""); print id, $1; id = "" }
' "$doc" | sort >"$tmp/doc-sev"
awk '{ print $1, $2 }' "$tmp/rules" | sort >"$tmp/rule-sev"
if cmp -s "$tmp/rule-sev" "$tmp/doc-sev"; then
	ok "each section gives the severity --list-rules gives"
else
	fail "severities in docs/lints.md differ from --list-rules (< list-rules, > docs)"
	diff "$tmp/rule-sev" "$tmp/doc-sev" | grep '^[<>]' | sed 's/^/     /'
fi

# ---- 3. the examples
# Writes each example to $tmp/ex/<n>.yaml with a line "<n> <id> <kind> <options>" in
# $tmp/ex/index; inventories go to $tmp/ex/<id>.inventory.yaml.
mkdir -p "$tmp/ex"
awk -v dir="$tmp/ex" '
	/^## / { id = substr($0, 4); next }
	inblock && /^```[[:space:]]*$/ { inblock = 0; close(out); next }
	inblock { print > out; next }
	/^```yaml[[:space:]]+(bad|good|inventory)([[:space:]]|$)/ {
		kind = $2
		opts = ""
		for (i = 3; i <= NF; i++)
			opts = opts " " $i
		if (kind == "inventory") {
			out = dir "/" id ".inventory.yaml"
		} else {
			n++
			out = dir "/" n ".yaml"
			print n, id, kind, opts > (dir "/index")
		}
		printf "" > out
		inblock = 1
	}
' "$doc"
[ -f "$tmp/ex/index" ] || : >"$tmp/ex/index"
while read -r n id kind opts; do
	# shellcheck disable=SC2086 # the options are words, split on purpose
	set -- $opts
	if [ -f "$tmp/ex/$id.inventory.yaml" ]; then
		set -- "$@" -i "$tmp/ex/$id.inventory.yaml"
	fi
	(cd "$tmp/ex" && "$POLC" lint --color=never "$@" "$n.yaml") >"$tmp/out" 2>&1
	rc=$?
	reported=no
	grep -q "\[$id\]\$" "$tmp/out" && reported=yes
	if [ "$kind" = bad ]; then
		if [ $reported = yes ]; then
			ok "$id: the bad example is reported"
		else
			fail "$id: the bad example is not reported as $id (exit status $rc)"
			sed 's/^/     /' "$tmp/out" | head -n 20
		fi
	else
		if [ $reported = no ] && [ $rc -eq 0 ]; then
			ok "$id: the good example is clean"
		else
			fail "$id: the good example is not clean (exit status $rc)"
			sed 's/^/     /' "$tmp/out" | head -n 20
		fi
	fi
done <"$tmp/ex/index"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
