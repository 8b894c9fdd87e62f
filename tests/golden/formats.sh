#!/bin/sh
# Checks the shape of polc lint's machine-readable output with jq:
#   --format json   a summary with counts that agree with the diagnostics, and for each
#                   diagnostic file, line, column, severity, id, message and hint
#   --format sarif  SARIF 2.1.0: version, $schema, one run whose driver is polc with a rule
#                   for every id of --list-rules, and results with ruleId, a level, a
#                   message and a location with a 1-based region
# Environment: POLC (the binary). Exits 77 (skipped) without jq.
# shellcheck disable=SC2016 # the single-quoted $names are jq variables

if [ -z "${POLC:-}" ] || [ ! -x "$POLC" ]; then
	echo "formats.sh: set POLC to the polc binary to test" >&2
	exit 99
fi
if ! command -v jq >/dev/null 2>&1; then
	echo "formats.sh: jq is not installed; skipping"
	exit 77
fi
LC_ALL=C
export LC_ALL

tmp=$(mktemp -d "${TMPDIR:-/tmp}/polc-formats.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 99

passed=0
failed=0

# check NAME JQ-PROGRAM FILE: the program must print true.
check() {
	if [ "$(jq -r "$2" "$3" 2>&1)" = true ]; then
		echo "ok   $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1"
		echo "     jq: $2"
		jq -r "$2" "$3" 2>&1 | sed 's/^/     /' | head -n 20
		failed=$((failed + 1))
	fi
}

# Inputs with errors, warnings, notes, several files, a file-level error and stdin.
cat >policy.yaml <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cart
  namespace: shop-api
spec:
  endpointSelector:
    matchLabels:
      app.kubernetes.io/name: cart
  egress:
  - toEntities: [world]
  - toEndpoints: [{}]
  - toFQDNs:
    - matchName: api.stripe.com
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: catalog
  namespace: shop-api
spec:
  endpointSelector:
    matchLabels:
      app.kubernetes.io/name: catalog
  ingress:
  - toPorts:
    - ports:
      - port: 8080
        protocol: tcp
EOF
cat >stdin.yaml <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: payments
  namespace: shop-api
spec:
  endpointSelector: {}
  ingress: []
EOF
run() { # run FORMAT OUTPUT: lints the inputs above; polc exits 2 for the missing file
	"$POLC" lint --format "$1" policy.yaml missing.yaml - <stdin.yaml >"$2"
	rc=$?
	if [ $rc -ne 2 ]; then
		echo "FAIL polc lint --format $1 exited with $rc, expected 2"
		failed=$((failed + 1))
	fi
}
run json out.json
run sarif out.sarif
"$POLC" lint --list-rules | awk '{ print $1 }' | jq -R . | jq -s . >ids.json
cat >clean.yaml <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: redis
  namespace: shop-data
spec:
  endpointSelector: {}
  ingress:
  - fromEntities: [cluster]
EOF
"$POLC" lint --format json clean.yaml >clean.json
"$POLC" lint --format sarif clean.yaml >clean.sarif
"$POLC" lint --format sarif --output report.sarif policy.yaml >stdout.txt

# ---- json
check "json: output is one JSON document" 'true' out.json
check "json: summary has integer errors, warnings and notes" \
	'.summary | [.errors, .warnings, .notes] | all(type == "number" and . >= 0 and floor == .)' \
	out.json
check "json: diagnostics is a non-empty list" \
	'.diagnostics | type == "array" and length > 0' out.json
check "json: each diagnostic has exactly file, line, column, severity, id, message, hint" \
	'.diagnostics | all(keys_unsorted == ["file","line","column","severity","id","message","hint"])' \
	out.json
check "json: file, id and message are non-empty strings" \
	'.diagnostics | all([.file, .id, .message] | all(type == "string" and length > 0))' out.json
check "json: line and column are integers, 1-based when the finding has a place" \
	'.diagnostics | all((.line | type == "number") and (.column | type == "number") and
		((.line >= 1 and .column >= 1) or (.line == 0 and .column == 0)))' out.json
check "json: only the unreadable file has no line" \
	'[.diagnostics[] | select(.line == 0) | [.file, .id]] == [["missing.yaml", "io-error"]]' \
	out.json
check "json: severity is error, warning or note" \
	'.diagnostics | all(.severity | IN("error", "warning", "note"))' out.json
check "json: hint is a string or null" \
	'.diagnostics | all(.hint == null or (.hint | type == "string" and length > 0))' out.json
check "json: the summary counts the diagnostics of each severity" \
	'.summary == {errors: ([.diagnostics[] | select(.severity == "error")] | length),
		      warnings: ([.diagnostics[] | select(.severity == "warning")] | length),
		      notes: ([.diagnostics[] | select(.severity == "note")] | length)}' out.json
check "json: there are errors, warnings and notes in this run" \
	'.summary | .errors > 0 and .warnings > 0 and .notes > 0' out.json
check "json: diagnostics are sorted by file, line and column" \
	'.diagnostics | map([.file, .line, .column]) | . == sort' out.json
check "json: standard input is named -" \
	'[.diagnostics[] | select(.file == "-")] | length > 0' out.json
check "json: a clean run has zero counts and no diagnostics" \
	'. == {summary: {errors: 0, warnings: 0, notes: 0}, diagnostics: []}' clean.json

# ---- sarif
check "sarif: version is 2.1.0" '.version == "2.1.0"' out.sarif
check "sarif: \$schema names the SARIF 2.1.0 schema" \
	'."$schema" | type == "string" and test("sarif.*2\\.1\\.0")' out.sarif
check "sarif: one run" '.runs | type == "array" and length == 1' out.sarif
check "sarif: the driver is polc, with a version" \
	'.runs[0].tool.driver | .name == "polc" and (.version | type == "string" and length > 0)' \
	out.sarif
check "sarif: each rule has an id, a short description and a default level" \
	'.runs[0].tool.driver.rules | all((.id | type == "string") and
		(.shortDescription.text | type == "string" and length > 0) and
		(.defaultConfiguration.level | IN("error", "warning", "note")))' out.sarif
check "sarif: results is a non-empty list" \
	'.runs[0].results | type == "array" and length > 0' out.sarif
check "sarif: each result has a ruleId, a level and a message text" \
	'.runs[0].results | all((.ruleId | type == "string" and length > 0) and
		(.level | IN("error", "warning", "note")) and
		(.message.text | type == "string" and length > 0))' out.sarif
check "sarif: each result has an artifact uri" \
	'.runs[0].results | all(.locations[0].physicalLocation.artifactLocation.uri |
		type == "string" and length > 0)' out.sarif
check "sarif: regions start at line 1 and column 1 or later" \
	'.runs[0].results | all(.locations[0].physicalLocation.region |
		. == null or (.startLine >= 1 and .startColumn >= 1 and
			      (.endColumn == null or .endColumn > .startColumn)))' out.sarif
check "sarif: every result with a place in a file has a region" \
	'[.runs[0].results[] | select(.locations[0].physicalLocation.region == null) | .ruleId]
		== ["io-error"]' out.sarif
check "sarif: ruleIndex points at the rule named by ruleId" \
	'.runs[0] as $r | $r.results | all(.ruleIndex == null or
		$r.tool.driver.rules[.ruleIndex].id == .ruleId)' out.sarif
check "sarif: each level is the rule's default level" \
	'.runs[0] as $r | $r.results | all(. as $x | $r.tool.driver.rules[] |
		select(.id == $x.ruleId) | .defaultConfiguration.level == $x.level)' out.sarif
check "sarif: a clean run has an empty results list" \
	'.version == "2.1.0" and .runs[0].results == []' clean.sarif
check "sarif: --output writes the report and nothing to standard output" \
	'.version == "2.1.0"' report.sarif
if [ -s stdout.txt ]; then
	echo "FAIL sarif: --output also wrote to standard output"
	failed=$((failed + 1))
else
	echo "ok   sarif: --output leaves standard output empty"
	passed=$((passed + 1))
fi

# ---- agreement with --list-rules and between the formats
jq -n --slurpfile ids ids.json --slurpfile s out.sarif \
	'[$s[0].runs[0].tool.driver.rules[].id] == $ids[0]' >agree.txt
if [ "$(cat agree.txt)" = true ]; then
	echo "ok   sarif: driver.rules has every id of --list-rules, in order"
	passed=$((passed + 1))
else
	echo "FAIL sarif: driver.rules and --list-rules differ"
	jq -r '.runs[0].tool.driver.rules[].id' out.sarif >sarif-ids.txt
	jq -r '.[]' ids.json | diff - sarif-ids.txt | sed 's/^/     /'
	failed=$((failed + 1))
fi
jq -n --slurpfile ids ids.json --slurpfile j out.json \
	'$j[0].diagnostics | all(.id | IN($ids[0][]))' >agree.txt
if [ "$(cat agree.txt)" = true ]; then
	echo "ok   json: every id is one of --list-rules"
	passed=$((passed + 1))
else
	echo "FAIL json: a diagnostic id is not in --list-rules"
	failed=$((failed + 1))
fi
jq -n --slurpfile j out.json --slurpfile s out.sarif \
	'[$j[0].diagnostics[] | [.id, .severity, (if .file == "-" then "stdin" else .file end),
		.line, .column]] ==
	 [$s[0].runs[0].results[] | [.ruleId, .level,
		.locations[0].physicalLocation.artifactLocation.uri,
		(.locations[0].physicalLocation.region.startLine // 0),
		(.locations[0].physicalLocation.region.startColumn // 0)]]' >agree.txt
if [ "$(cat agree.txt)" = true ]; then
	echo "ok   json and sarif report the same findings at the same places"
	passed=$((passed + 1))
else
	echo "FAIL json and sarif disagree"
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
