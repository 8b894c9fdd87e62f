#!/bin/bash
# `polc-testbed inventory` is what kubectl would print for this cluster, it
# never changes, and the IPs in it are real: every pod answers at them.
# With $POLC set (make check does), polc lint must read it.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
use_private_state
TB=$POLC_TESTBED
INV=$WORK/inventory.yaml
POLICIES=$(dirname "$TB")/policies

kind_count() { grep -c "^  kind: $1\$" "$INV"; }

test_shape() {
	check "inventory exits 0" bash -c "'$TB' inventory >'$INV'"
	check "it is a v1 List" bash -c "head -1 '$INV' | grep -qx 'apiVersion: v1' && grep -qx 'kind: List' '$INV' && grep -qx 'items:' '$INV'"
	check "10 Pods" [ "$(kind_count Pod)" -eq 10 ]
	check "5 Namespaces" [ "$(kind_count Namespace)" -eq 5 ]
	check "2 Nodes" [ "$(kind_count Node)" -eq 2 ]
	check "7 Services" [ "$(kind_count Service)" -eq 7 ]
	check "14 EndpointSlices (one per service and family)" [ "$(kind_count EndpointSlice)" -eq 14 ]
	check "EndpointSlices are discovery.k8s.io/v1" \
		[ "$(grep -c '^  apiVersion: discovery.k8s.io/v1$' "$INV")" -eq 14 ]
	check "same output on a second run" bash -c "'$TB' inventory | cmp -s - '$INV'"
	check "pods carry name, template hash and team labels, a service account and named ports" \
		"$PY" - "$INV" <<-'EOF'
			import sys
			text = open(sys.argv[1]).read()
			items = text.split("\n- ")[1:]
			pods = [i for i in items if "\n  kind: Pod\n" in i]
			need = ["app.kubernetes.io/name: ", "pod-template-hash: ", "team: ",
			        "serviceAccountName: ", "hostNetwork: false", "kind: ReplicaSet",
			        "phase: Running", "podIPs:", "hostIP: ", "nodeName: "]
			missing = [(i.split("\n    name: ")[1].split("\n")[0], n)
			           for i in pods for n in need if n not in i]
			for m in missing:
			    print("  %s lacks %s" % m)
			named = sum("containerPort: " in i and "\n        name: " in i for i in pods)
			sys.exit(1 if missing or len(pods) != 10 or named != 9 else 0)
		EOF
	if "$PY" -c 'import yaml' 2>/dev/null; then
		check "a YAML parser reads it; every pod has one IPv4 and one IPv6 podIP" "$PY" - "$INV" <<-'EOF'
			import ipaddress, sys, yaml
			doc = yaml.safe_load(open(sys.argv[1]))
			assert doc["apiVersion"] == "v1" and doc["kind"] == "List"
			for i in doc["items"]:
			    if i["kind"] == "Pod":
			        ips = [ipaddress.ip_address(p["ip"]) for p in i["status"]["podIPs"]]
			        assert sorted(a.version for a in ips) == [4, 6], i["metadata"]["name"]
			        assert str(ips[0]) == i["status"]["podIP"]
		EOF
	fi
}

# "node ip" for every pod IP, from spec.nodeName and status.podIPs.
pod_ips() {
	awk '/^- / { kind = ""; node = ""; ips = "" }
		/^  kind: / { kind = $2 }
		/^    nodeName: / { node = $2 }
		/^    podIPs:/ { inips = 1; next }
		inips && /^    - ip: / { gsub(/"/, "", $3); ips = ips " " $3; next }
		{ inips = 0 }
		kind == "Pod" && /^    startTime: / { n = split(ips, a, " "); for (i = 1; i <= n; i++) print node, a[i] }' "$INV"
}

# "ip port" for every TCP endpoint of every EndpointSlice.
tcp_endpoints() {
	awk 'function flush(  n, m, a, p, i, j) {
			if (kind != "EndpointSlice") return
			n = split(addrs, a, " "); m = split(tcp, p, " ")
			for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print a[i], p[j]
		}
		/^- / { flush(); kind = ""; addrs = ""; tcp = ""; inaddr = 0 }
		/^  kind: / { kind = $2 }
		/^  - addresses:/ { inaddr = 1; next }
		inaddr && /^    - / { gsub(/"/, "", $2); addrs = addrs " " $2; next }
		{ inaddr = 0 }
		/^    port: / { port = $2 }
		/^    protocol: TCP/ { tcp = tcp " " port }
		END { flush() }' "$INV"
}

test_ips_answer() {
	check "testbed up" "$TB" up
	local node ip n=0 dead=
	while read -r node ip; do
		n=$((n + 1))
		ip netns exec "$PREFIX$node" ping -c1 -W1 -n -q "$ip" >/dev/null 2>&1 || dead="$dead $ip"
	done < <(pod_ips)
	check "all 20 pod IPs (10 pods x 2 families) listed" [ "$n" -eq 20 ]
	check "every pod IP answers a ping from its node${dead:+ (silent:$dead)}" [ -z "$dead" ]
	local port n=0 closed=
	while read -r ip port; do
		n=$((n + 1))
		ip netns exec "${PREFIX}worker1" timeout 2 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null \
			|| closed="$closed $ip:$port"
	done < <(tcp_endpoints)
	check "EndpointSlices list TCP endpoints ($n)" [ "$n" -ge 14 ]
	check "every TCP endpoint accepts a connection${closed:+ (closed:$closed)}" [ -z "$closed" ]
}

# polc is built alongside; only when it exists can we ask it to read this.
test_polc_lint() {
	if [ -z "${POLC:-}" ] || [ ! -x "$POLC" ]; then
		echo "note: POLC not set or not built; polc lint not run"
		return 0
	fi
	local rc
	"$POLC" lint --inventory "$INV" "$POLICIES" >"$WORK/lint.txt" 2>&1
	rc=$?
	cat "$WORK/lint.txt"
	check "polc lint reads the inventory and the shop policies (exit $rc; 2 means it could not)" [ "$rc" -le 1 ]
	check "no shop policy selects nothing in the inventory" \
		bash -c "! grep -q 'selector-matches-nothing' '$WORK/lint.txt'"
}

test_shape
test_ips_answer
test_polc_lint
finish
