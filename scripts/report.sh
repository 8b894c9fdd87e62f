#!/bin/bash
# Writes the onboarding demo's report: one self-contained HTML page (no external assets) with
# the service map, the learned policy, the diff, the self-check, the over-permission figures
# and the enforcement results.   report.sh DEMO_DIR "N of N observed flows admitted" >report.html
set -euo pipefail
OUT=$1
SELFCHECK=$2

esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }
section() { printf '<h2>%s</h2>\n' "$1"; }
pre() { printf '<pre>'; esc <"$1"; printf '</pre>\n'; }

# The service map: graphviz's SVG when it is installed, else the edges as a drawn list.
service_map() {
	if [ -s "$OUT/map.svg" ]; then
		sed -n '/<svg/,$p' "$OUT/map.svg"
		return
	fi
	if command -v dot >/dev/null 2>&1 && [ -s "$OUT/map.dot" ]; then
		dot -Tsvg "$OUT/map.dot" | sed -n '/<svg/,$p'
		return
	fi
	local y=20
	printf '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="%d">\n' \
		$((20 + 22 * $(grep -c -- '->' "$OUT/map.dot" 2>/dev/null || echo 1)))
	grep -- '->' "$OUT/map.dot" 2>/dev/null | sed 's/[";]//g; s/\[label=/ : /; s/\]//' | esc |
		while read -r line; do
			printf '<text x="10" y="%d" font-family="monospace" font-size="13">%s</text>\n' \
				"$y" "$line"
			y=$((y + 22))
		done
	printf '</svg>\n'
}

# The learner's JSON report: the over-permission figures, and what they count.
overpermission() {
	python3 - "$OUT/learn.json" <<'PY' 2>/dev/null || echo "(no over-permission figures: see learn.json)"
import json, sys
o = json.load(open(sys.argv[1])).get("over_permission") or {}
print("%s of %s admitted (endpoint, peer identity, port) pairs never observed (%.1f%%)" % (
    o["unobserved_pairs"], o["admitted_pairs"], 100 * float(o["ratio"])))
print("rules without a port limit: %s; addresses admitted by CIDR rules: %s; "
      "regex paths: %s standing for %s observed paths" % (
    o["rules_without_port_limit"], o["cidr_addresses"], o["regex_rules"], o["regex_paths"]))
for e in o.get("examples", []):
    print("  " + e)
PY
}

cat <<'HEAD'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>polc: onboarding payments</title>
<style>
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2em; }
.ok { color: #126b12; font-weight: bold; } svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>Onboarding <code>shop-api/payments</code></h1>
HEAD
printf '<p class="ok">Self-check: %s.</p>\n' "$(printf '%s' "$SELFCHECK" | esc)"
section "Service map (learned from live traffic)"
service_map
section "The learned policy"
for f in "$OUT"/learned/*.yaml; do pre "$f"; done
section "What onboarding changes (polc diff)"
pre "$OUT/diff.txt"
section "Over-permission: what the policy admits that traffic never used"
overpermission >"$OUT/overpermission.txt"
pre "$OUT/overpermission.txt"
section "Compiled and verified images"
pre "$OUT/compile.txt"
section "Enforced: the normal traffic"
pre "$OUT/traffic-enforced.txt"
section "Enforced: the rogue traffic"
pre "$OUT/traffic-rogue.txt"
section "Drops seen by polc observe"
pre "$OUT/drops.json"
printf '</body></html>\n'
