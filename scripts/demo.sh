#!/bin/bash
# The main job on the bundled samples: lint the shop's policies against its inventory, show
# what the linter says about the deliberately bad samples, decide a few flows, run a policy
# test, and compile verified per-node images. Fails loudly if any step's promise does not hold.
set -euo pipefail
cd "$(dirname "$0")/.."
POLC=${POLC:-./polc}
INV=samples/inventory/shop.yaml
POL=samples/testbed/policies
out=${DEMO_OUT:-$(mktemp -d)}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "polc lint: the shop's policies, checked against the cluster inventory"
"$POLC" lint --inventory "$INV" "$POL"

step "polc lint: samples/bad holds one mistake per file; each must be reported"
if "$POLC" lint samples/bad; then
	echo "demo: the bad samples passed lint, which they must not" >&2
	exit 1
fi

step "polc trace: can the storefront reach the catalog? and redis directly?"
"$POLC" trace -i "$INV" -p "$POL" --from shop-web/frontend --to shop-api/catalog --port 8080/TCP
if "$POLC" trace -i "$INV" -p "$POL" --from shop-web/frontend --to shop-data/redis --port 6379/TCP; then
	echo "demo: the frontend must not reach redis" >&2
	exit 1
fi

step "polc test: the shop's expectations"
"$POLC" test samples/tests

step "polc compile: one verified image per node"
"$POLC" compile -i "$INV" -p "$POL" -o "$out" --all-nodes
"$POLC" inspect "$out/worker1.polc" | head -20
"$POLC" verify "$out"/*.polc -i "$INV" -p "$POL"

step "done: images in $out"
