#!/bin/bash
# Audit mode: `polc compile --audit shop-data/redis-...` puts one endpoint in audit
# mode.  Traffic its policies deny passes, in both directions, and is reported:
# `polc observe --json` shows AUDIT events with the reason, `polc status` counts
# "audited".  Every other endpoint is still enforced, and the same flows are
# dropped again once an image without --audit is loaded.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
setup

REDIS=shop-data/redis-6b5d8c9f7b-x4k8m
check "compile the sample policies (generation 1)" compile_images "$WORK/enforce" 1
check "compile with --audit $REDIS (generation 2)" compile_images "$WORK/audit" 2 --audit "$REDIS"
check "compile without --audit again (generation 3)" compile_images "$WORK/enforce3" 3
check "testbed up" tb_up
for node in $NODES; do
	check "load generation 1 on $node" load_on "$node" "$WORK/enforce/$node.polc"
done

# The flows: denied at redis only (kube-dns has no egress policy; the world is not
# enforced), denied elsewhere too (loadgen's egress, catalog's ingress), and allowed.
audit_plan() { # FILE EXPECT-FOR-AUDITED
	local file=$1 want=$2 f
	: >"$file"
	for f in 4 6; do
		plan_add "$file" "v$f kube-dns -> redis TCP 6379 (only redis's ingress denies)" \
			coredns "$(ip_of redis $f)" tcp 6379 "\"expect\": \"$want\""
		plan_add "$file" "v$f kube-dns -> redis ping (only redis's ingress denies)" \
			coredns "$(ip_of redis $f)" icmp 0 "\"expect\": \"$want\""
		plan_add "$file" "v$f redis -> the world's unnamed address TCP 80 (only redis's egress denies)" \
			redis "$([ $f = 4 ] && echo 172.20.0.66 || echo fd00:172:20::66)" tcp 80 "\"expect\": \"$want\""
		plan_add "$file" "v$f redis -> kube-dns UDP 9 (only redis's egress denies)" \
			redis "$(ip_of coredns $f)" udp 9 "\"expect\": \"$want\""
		plan_add "$file" "v$f loadgen -> redis TCP 6379 (loadgen's egress denies: enforced)" \
			loadgen "$(ip_of redis $f)" tcp 6379 '"expect": "blocked"'
		plan_add "$file" "v$f redis -> catalog TCP 8080 (catalog's ingress denies: enforced)" \
			redis "$(ip_of catalog-5f8d7c9b46-z8k3v $f)" tcp 8080 '"expect": "blocked"'
		plan_add "$file" "v$f cart -> redis TCP 6379 (allowed)" cart "$(ip_of redis $f)" tcp 6379 '"expect": "reached"'
	done
}

echo "--- generation 1, enforced: redis's denied flows drop"
audit_plan "$WORK/enforce.jsonl" blocked
probe_check "$WORK/enforce.jsonl" blocked --timeout 1.2
polc_on worker1 observe --json >/dev/null
status_json worker1 "$WORK/status1.json"

echo "--- generation 2, redis in audit mode: they pass, and are reported"
check "load generation 2 (audit) on worker1" load_on worker1 "$WORK/audit/worker1.polc"
check "load generation 2 (audit) on worker2" load_on worker2 "$WORK/audit/worker2.polc"
status_json worker1 "$WORK/status2.json"
check "status: redis's addresses are in audit mode both ways, the other endpoints are not" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
eps = d["endpoints"]
redis = [e for e in eps if e["address"] in ("10.244.1.14", "fd00:10:244:1::14")]
rest = [e for e in eps if e not in redis]
print("  endpoints:", [(e["address"], e["ingress"], e["egress"]) for e in eps])
sys.exit(0 if len(redis) == 2 and all(e["ingress"] == e["egress"] == "audit" for e in redis)
         and all("audit" not in (e["ingress"], e["egress"]) for e in rest) else 1)' "$WORK/status2.json"
audit_plan "$WORK/audit.jsonl" reached
probe_check "$WORK/audit.jsonl" reached --timeout 1.2
for f in 4 6; do
	xchg "v$f kube-dns PINGs redis 10 times (a whole denied TCP exchange passes)" \
		coredns redis "$(ip_of redis $f)" 6379 --count 10
done
sleep 0.2
polc_on worker1 observe --json >"$WORK/events.json"
status_json worker1 "$WORK/status3.json"
check "observe --json: AUDIT events for kube-dns -> redis (ingress, default-deny) and redis -> the world (egress)" \
	"$PY" - "$WORK/events.json" <<-'EOF'
	import json, sys
	ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
	audit = [e for e in ev if e["verdict"] == "AUDIT"]
	want = {
	    "kube-dns -> redis TCP": lambda e: e["direction"] == "ingress" and e["protocol"] == 6
	        and e["source_ip"] in ("10.244.1.10", "fd00:10:244:1::10") and e["destination_port"] == 6379,
	    "kube-dns -> redis ICMP": lambda e: e["direction"] == "ingress" and e["protocol"] in (1, 58)
	        and e["source_ip"] in ("10.244.1.10", "fd00:10:244:1::10"),
	    "redis -> world TCP 80": lambda e: e["direction"] == "egress" and e["protocol"] == 6
	        and e["destination_ip"] in ("172.20.0.66", "fd00:172:20::66") and e["destination_port"] == 80,
	}
	bad = 0
	for name, m in want.items():
	    hits = [e for e in audit if m(e)]
	    reasons = sorted(set(e["reason"] for e in hits))
	    print("  %-24s %3d AUDIT events, reasons %s, rule %s" % (name, len(hits), reasons,
	                                                          sorted(set(e["rule"] for e in hits))))
	    if not hits or reasons != ["default-deny"]:
	        bad += 1
	others = [e for e in audit if "10.244.1.14" not in (e["source_ip"], e["destination_ip"])
	          and "fd00:10:244:1::14" not in (e["source_ip"], e["destination_ip"])]
	print("  AUDIT events not about redis: %d; DROPPED events: %d" % (
	    len(others), sum(e["verdict"] == "DROPPED" for e in ev)))
	sys.exit(1 if bad or others else 0)
	EOF
a1=$(counter "$WORK/status1.json" "audited (would deny)")
a3=$(counter "$WORK/status3.json" "audited (would deny)")
check "status counts audited packets (+$((a3 - a1)))" [ $((a3 - a1)) -ge 8 ]
d2=$(counter "$WORK/status2.json" "policy-denied (default deny)")
d3=$(counter "$WORK/status3.json" "policy-denied (default deny)")
info "worker1 default-deny drops while redis was audited: +$((d3 - d2)) (catalog's ingress)"
check "the flows enforced elsewhere were still dropped on worker1" [ $((d3 - d2)) -gt 0 ]

echo "--- generation 3, enforced again"
for node in $NODES; do
	check "load generation 3 on $node" load_on "$node" "$WORK/enforce3/$node.polc"
done
audit_plan "$WORK/enforce3.jsonl" blocked
probe_check "$WORK/enforce3.jsonl" blocked --timeout 1.2
finish
