#!/bin/bash
# The testbed's whole life: up, normal traffic over IPv4 and IPv6, the
# services' logs, rogue traffic (reported, and failing --expect-blocked),
# then down, which must leave no namespace, link, file or process behind.
# Needs root; exit 77 = skipped (a failure when CI=true).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
serialize "$@"
use_private_state
TB=$POLC_TESTBED
LOGS=$POLC_TESTBED_STATE/logs

# What the root namespace looks like: none of it may change.
root_snapshot() {
	{
		ip -o link | sed 's/^[0-9]*: //; s/ qlen .*//' | awk '{ print $1, $2 }'
		ip -o addr | awk '{ print $2, $3, $4 }'
		ip route
		ip -6 route
	} | sort
}

# Processes of ours still running: the given pids (all that ran in the
# testbed before down), and whatever pgrep finds running our services or
# using our state dir (dnsmasq, redis's config).  Zombies waiting for init
# to reap them are dead and do not count.
live_ours() {
	local pid st
	for pid in "$@" $(pgrep -f "$(dirname "$TB")/shopd.py") $(pgrep -f "$POLC_TESTBED_STATE"); do
		st=$(awk '$1 == "State:" { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		[ "$st" = Z ] || ps -o pid=,args= -p "$pid"
	done
}

test_up() {
	local t0 t1
	t0=$(now_ms)
	check "up exits 0" "$TB" up
	t1=$(now_ms)
	echo "timing: up $((t1 - t0)) ms"
	check "up made 14 namespaces (2 nodes, 10 pods, world, fabric)" [ "$(netns_count)" -eq 14 ]
	check "status exits 0 and no pod is MISSING" \
		bash -c "'$TB' status >'$WORK/status' && ! grep -q MISSING '$WORK/status'"
	check "status shows every service process (9 pods and the world)" \
		bash -c "grep -c 'shopd.py\|dnsmasq\|redis-server' '$WORK/status' | grep -qx 10"
	check "root namespace untouched by up" diff -u "$WORK/root.before" <(root_snapshot)
}

test_traffic() {
	local t0 t1 rc
	t0=$(now_ms)
	"$TB" traffic --seconds 4 --json "$WORK/traffic.json" >"$WORK/traffic.txt"
	rc=$?
	t1=$(now_ms)
	cat "$WORK/traffic.txt"
	echo "timing: traffic --seconds 4 took $((t1 - t0)) ms"
	check "traffic exits 0 (every normal flow worked)" [ "$rc" -eq 0 ]
	# Per family: every registered flow ran and every attempt worked.
	check "every normal flow succeeded over IPv4 and IPv6" "$PY" - "$WORK/traffic.json" <<-'EOF'
		import json, sys
		rows = json.load(open(sys.argv[1]))
		by = {"v4": [], "v6": []}
		for r in rows:
		    by[r["ip"]].append(r)
		bad = [r for r in rows if r["attempts"] == 0 or r["ok"] != r["attempts"]]
		for r in bad:
		    print("  not ok:", r["flow"], r["from"], r["ip"], r["ok"], "/", r["attempts"], r["error"])
		sys.exit(1 if bad or len(by["v4"]) != len(by["v6"]) or len(rows) < 28 else 0)
	EOF
}

# log_has WHAT FILE-GLOB REGEX: the service wrote down that request.
log_has() {
	local what=$1 glob=$2 re=$3
	# shellcheck disable=SC2086
	check "log: $what" grep -qE "$re" $LOGS/$glob
}

test_logs() {
	log_has "frontend served product pages over IPv4" 'shop-web_frontend-*' 'peer=10\.244\.2\.12 GET /products/[0-9]+ 200'
	log_has "frontend served checkouts over IPv6" 'shop-web_frontend-*' 'peer=fd00:10:244:2::12 POST /checkout 200'
	log_has "catalog answered the frontend (v4)" 'shop-api_catalog-*' 'peer=10\.244\.[12]\.11 GET /api/products/[0-9]+ 200'
	log_has "catalog answered the frontend (v6)" 'shop-api_catalog-*' 'peer=fd00:10:244:[12]::11 GET /api/products/[0-9]+ 200'
	log_has "cart added items" 'shop-api_cart-*' 'POST /api/cart/items 200'
	log_has "payments charged" 'shop-api_payments-*' 'POST /api/payments 200'
	log_has "redis ran cart's HINCRBY (v4)" 'shop-data_redis-*' '\[0 10\.244\.2\.14:[0-9]+\] "HINCRBY"'
	log_has "redis ran cart's HGETALL (v6)" 'shop-data_redis-*' '\[0 \[fd00:10:244:2::14\]:[0-9]+\] "HGETALL"'
	log_has "statsd got the frontend's datagrams (v4)" 'shop-data_statsd-*' 'peer=10\.244\.[12]\.11 UDP shop\.frontend\.'
	log_has "statsd got the cart's datagrams (v6)" 'shop-data_statsd-*' 'peer=fd00:10:244:2::14 UDP shop\.cart\.'
	log_has "kube-dns answered a cluster name (A)" 'kube-system_coredns-*' 'query\[A\] catalog\.shop-api\.svc\.cluster\.local from'
	log_has "kube-dns answered a cluster name over IPv6 (AAAA)" 'kube-system_coredns-*' 'query\[AAAA\] frontend\.shop-web\.svc\.cluster\.local from fd00:10:244:2::12'
	log_has "kube-dns answered the partner's name" 'kube-system_coredns-*' 'query\[A\] api\.partner\.example from'
	log_has "the world got charges by name" world.log 'POST /v1/charges 200 .* host=api\.partner\.example'
	# Either catalog replica may fetch the image: worker1's is ::12, worker2's ::13.
	log_has "the world served the CDN over IPv6" world.log 'peer=fd00:10:244:(1::12|2::13) HEAD /images/[0-9]+\.jpg 200 .* host=cdn\.partner\.example'
	log_has "kubelet probes hit /healthz from the node" 'shop-api_cart-*' 'peer=172\.18\.0\.12 GET /healthz 200'
}

test_rogue() {
	local rc
	"$TB" traffic --rogue --seconds 1 --json "$WORK/rogue.json" >"$WORK/rogue.txt"
	rc=$?
	grep -E '^rogue|^traffic:' "$WORK/rogue.txt"
	check "traffic --rogue only reports (exit 0)" [ "$rc" -eq 0 ]
	check "with no policy all 6 rogue flows connect" \
		[ "$(grep -c '^rogue.*CONNECTED' "$WORK/rogue.txt")" -eq 6 ]
	"$TB" traffic --expect-blocked --seconds 1 >/dev/null
	check "--expect-blocked fails (exit 3) when rogue flows connect" [ $? -eq 3 ]
}

test_up_again() {
	check "up while up exits 0 (cleans and rebuilds)" "$TB" up
	check "still 14 namespaces" [ "$(netns_count)" -eq 14 ]
	check "traffic works after the second up" "$TB" traffic --attempts 1 >/dev/null
}

test_down() {
	local pids t0 t1 ns
	pids=$(for ns in $(ip netns list | awk -v p="$PREFIX" 'index($1, p) == 1 { print $1 }'); do
		ip netns pids "$ns"; done)
	check "the testbed had processes to stop" [ -n "$pids" ]
	t0=$(now_ms)
	check "down exits 0" "$TB" down
	t1=$(now_ms)
	echo "timing: down $((t1 - t0)) ms"
	check "no ptb- namespace left" [ "$(netns_count)" -eq 0 ]
	# shellcheck disable=SC2086
	check "no testbed process left" [ -z "$(live_ours $pids)" ]
	check "no resolver files left under /etc/netns" bash -c "! ls -d /etc/netns/$PREFIX* 2>/dev/null"
	check "no link left in the root namespace" \
		bash -c "! ip -o link | grep -E ': (lxc-|p-|br0)'"
	check "root namespace as it was before up" diff -u "$WORK/root.before" <(root_snapshot)
	check "down again exits 0" "$TB" down
	check "and a third time" "$TB" down
	"$TB" status >/dev/null
	check "status says down (exit 3)" [ $? -eq 3 ]
}

"$TB" down >/dev/null 2>&1 # a leftover testbed from an aborted run
root_snapshot >"$WORK/root.before"
test_up
test_traffic
test_logs
test_rogue
test_up_again
test_down
finish
