#!/bin/bash
# Hostile YAML: every case must end in a clear error (or, where the input is legal, complete),
# within its time and memory bounds, and never crash. Inputs are generated here; the big ones
# are streamed through a pipe and never stored.
#   tests/hostile/yaml.sh          (POLC=path/to/polc; make check sets it)
# VERBOSE=1 prints every case that passed with its exit status, time and peak memory.
. "$(dirname "$0")/lib.sh"

# Memory bounds: the reader keeps the document it reads (up to --max-document-size, 16 MiB)
# and its node tree; AddressSanitizer roughly triples that.
small_mb=$((SANITIZED ? 400 : 128))

policy_head='apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: default}
spec:
  endpointSelector: {}'

lint_file() { # name file want_rc want_msg [polc args...]
	local name=$1 file=$2
	want_rc=$3 want_msg=$4 max_secs=${max_secs_default:-20} max_rss_mb=${max_rss_mb_default:-$small_mb}
	shift 4
	measure --timeout 120 -- "$POLC" lint "$@" "$file"
	check "$name"
}

# ---- 1. anchors and aliases: refused at the first one, however many there are
python3 - "$TMP/laughs.yaml" <<'PY'
import sys
lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
for i in range(1, 40):
    lines.append("a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10)))
lines.append("kind: CiliumNetworkPolicy")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
lint_file "billion laughs (40 levels of 10 aliases)" "$TMP/laughs.yaml" 2 'anchor "a0" is not allowed'
printf '%s\n  ingress:\n  - fromEndpoints: &peers [{matchLabels: {app: a}}]\n  egress:\n  - toEndpoints: *peers\n' "$policy_head" >"$TMP/alias-in-policy.yaml"
lint_file "anchor and alias inside a policy" "$TMP/alias-in-policy.yaml" 2 'yaml-alias'
printf '%s\n  ingress: *nosuch\n' "$policy_head" >"$TMP/undefined-alias.yaml"
lint_file "alias to an undefined anchor" "$TMP/undefined-alias.yaml" 2 'alias|anchor'
python3 -c "
import sys
print('a: &x ' + '[' * 30 + ']' * 30)
for i in range(100000): print('b%d: *x' % i)
" >"$TMP/many-aliases.yaml"
lint_file "100k aliases of one deep anchor" "$TMP/many-aliases.yaml" 2 'yaml-alias'

# ---- 2. nesting 100k deep: refused at the limit, without recursion
python3 -c "print('[' * 100000 + ']' * 100000)" >"$TMP/deep-flow-seq.yaml"
lint_file "100k nested flow sequences" "$TMP/deep-flow-seq.yaml" 2 'nesting deeper than the limit of 64'
python3 -c "print('{a: ' * 100000 + '1' + '}' * 100000)" >"$TMP/deep-flow-map.yaml"
lint_file "100k nested flow mappings" "$TMP/deep-flow-map.yaml" 2 'nesting deeper than the limit'
python3 -c "print('- ' * 100000 + 'x')" >"$TMP/deep-block-seq.yaml"
lint_file "100k nested block sequences (- - - ...)" "$TMP/deep-block-seq.yaml" 2 'nesting deeper than the limit'
python3 -c "print('[' * 100000)" >"$TMP/deep-unclosed.yaml"
lint_file "100k unclosed flow sequences" "$TMP/deep-unclosed.yaml" 2 'yaml-depth|yaml-syntax'
python3 -c "
print('apiVersion: v1\nkind: List\nitems:')
print('- ' + '{a: ' * 100000 + '1' + '}' * 100000)" >"$TMP/deep-inventory.yaml"
printf '%s\n' "$policy_head" >"$TMP/ok-policy.yaml"
want_rc=2 want_msg='nesting deeper' max_secs=20 max_rss_mb=$small_mb
measure --timeout 120 -- "$POLC" lint -i "$TMP/deep-inventory.yaml" "$TMP/ok-policy.yaml"
check "100k nesting in an inventory (-i)"
lint_file "--max-depth 255 still refuses 100k" "$TMP/deep-flow-seq.yaml" 2 'limit of 255' --max-depth 255

# ---- 3. a 1 GiB document, streamed into `polc lint -`: refused just past 16 MiB
# One long scalar costs about the document limit; 16 MiB of short list items cost their node
# tree too (about 16 times the text: 260 MiB measured, 770 MiB with AddressSanitizer).
GiB=1073741824
for spec in big-scalar big-seq; do
	rss_bound=$small_mb
	[ $spec = big-seq ] && rss_bound=$((SANITIZED ? 1536 : 512))
	want_rc=2 want_msg='larger than the limit of 16777216 bytes' max_secs=30 max_rss_mb=$rss_bound
	measure --timeout 300 --stdin-gen "$spec:$GiB" -- "$POLC" lint -
	check "1 GiB document ($spec) through a pipe"
	if [ "$fed" -gt $((64 << 20)) ]; then
		ko "1 GiB document ($spec): read only what the limit needs" "polc read $fed bytes"
	else
		ok "1 GiB document ($spec): read $((fed >> 20)) MiB of 1024"
	fi
done
# many small documents: the input limit (here 64 MiB) stops the stream
want_rc=2 want_msg='input is larger than the limit of 67108864 bytes' max_secs=120 max_rss_mb=$((SANITIZED ? 4096 : 2048))
measure --timeout 300 --stdin-gen "many-docs:$GiB" -- "$POLC" lint --max-input-size 67108864 -
check "1 GiB of small policies, --max-input-size 64 MiB"
[ "$fed" -le $((80 << 20)) ] && ok "input limit: read $((fed >> 20)) MiB" || ko "input limit" "polc read $fed bytes"

# ---- 4. invalid UTF-8, anywhere
utf8_case() { # name bytes (printf %b)
	printf "%s\n  description: \"%b\"\n" "$policy_head" "$2" >"$TMP/utf8.yaml"
	lint_file "invalid UTF-8: $1" "$TMP/utf8.yaml" 2 'yaml-utf8|UTF-8|control characters|invalid'
}
utf8_case "byte 0xff" '\xff'
utf8_case "lone continuation byte" 'a\x80b'
utf8_case "truncated sequence" 'caf\xc3'
utf8_case "overlong encoding of /" '\xc0\xaf'
utf8_case "UTF-16 surrogate encoded in UTF-8" '\xed\xa0\x80'
utf8_case "code point above U+10FFFF" '\xf4\x90\x80\x80'
utf8_case "five-byte sequence" '\xf8\x88\x80\x80\x80'
utf8_case "NUL byte" 'a\x00b'
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\xc3\n' >"$TMP/utf8-end.yaml"
lint_file "invalid UTF-8 at the end of the input" "$TMP/utf8-end.yaml" 2 'yaml-utf8|UTF-8|invalid'
printf '\xff\xfeA\x00' >"$TMP/utf16.yaml"
lint_file "UTF-16 input (a BOM and half a character)" "$TMP/utf16.yaml" '0|1|2' ''
printf 'a:\n  \xe2\x80\xa8b: 1\n' >"$TMP/line-sep.yaml"
lint_file "U+2028 in a key" "$TMP/line-sep.yaml" '1|2' ''

# ---- 5. duplicate keys: refused, whatever the spelling
printf '%s\n  ingress: []\n  ingress: [{}]\n' "$policy_head" >"$TMP/dup.yaml"
lint_file "duplicate key in a policy" "$TMP/dup.yaml" 2 'duplicate key "ingress"'
printf '%s\n  ingress: []\n  "ingress": [{}]\n' "$policy_head" >"$TMP/dup-quoted.yaml"
lint_file "duplicate key, quoted once" "$TMP/dup-quoted.yaml" 2 'duplicate key'
printf '%s\n  ingress: []\n  "\\x69ngress": [{}]\n' "$policy_head" >"$TMP/dup-escaped.yaml"
lint_file "duplicate key, escaped once" "$TMP/dup-escaped.yaml" 2 'duplicate key'
python3 -c "
print('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:')
for i in range(100000): print('  k: v%d' % i)" >"$TMP/dup-100k.yaml"
lint_file "100k duplicates of one key" "$TMP/dup-100k.yaml" 2 'duplicate key "k"'
python3 -c "
print('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:')
for i in range(100000): print('  k%d: v' % i)" >"$TMP/keys-100k.yaml"
lint_file "100k distinct keys in one mapping" "$TMP/keys-100k.yaml" '0|1' ''
printf 'a: 1\n? [x, y]\n: 2\n' >"$TMP/complex-key.yaml"
lint_file "complex mapping key" "$TMP/complex-key.yaml" 2 'complex mapping keys'

# ---- 6. integers that overflow, in policies, inventories and options
int_case() { # name value-yaml
	printf '%s\n  ingress:\n  - toPorts:\n    - ports:\n      - %s\n' "$policy_head" "$2" >"$TMP/int.yaml"
	lint_file "overflow: $1" "$TMP/int.yaml" 1 'error'
}
int_case "port 2^64 as a string" 'port: "18446744073709551616"'
int_case "port with 40 digits" 'port: "9999999999999999999999999999999999999999"'
int_case "endPort 2^63" '{port: "80", endPort: 9223372036854775808}'
int_case "endPort -2^31-1" '{port: "80", endPort: -2147483649}'
int_case "endPort 1e400" '{port: "80", endPort: 1e400}'
int_case "port -1" 'port: "-1"'
int_case "port 65536" 'port: "65536"'
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k, namespace: d}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 99999999999999999999999, endPort: 18446744073709551617}]\n' >"$TMP/knp-int.yaml"
lint_file "overflow: NetworkPolicy port and endPort" "$TMP/knp-int.yaml" 1 'error'
printf '%s\n  ingress:\n  - icmps: [{fields: [{type: 4294967297}]}]\n' "$policy_head" >"$TMP/icmp-int.yaml"
lint_file "overflow: ICMP type 2^32+1" "$TMP/icmp-int.yaml" 1 'error'
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  nodeName: n\n  containers: [{name: c, ports: [{name: http, containerPort: 18446744073709551616}]}]\nstatus: {podIP: 10.0.0.1}\n' >"$TMP/inv-int.yaml"
want_rc='0|1|2' want_msg='' max_secs=20 max_rss_mb=$small_mb
measure --timeout 60 -- "$POLC" lint -i "$TMP/inv-int.yaml" "$TMP/ok-policy.yaml"
check "overflow: containerPort 2^64 in an inventory"
for opt in "--max-depth 99999999999999999999" "--max-document-size 18446744073709551616" \
	"--max-input-size -1" "--max-depth -5"; do
	want_rc=2 want_msg='polc lint: ' max_secs=5 max_rss_mb=$small_mb
	# shellcheck disable=SC2086
	measure --timeout 30 -- "$POLC" lint $opt "$TMP/ok-policy.yaml"
	check "overflow: lint $opt"
done
for opt in "--generation 18446744073709551616" "--max-entries 99999999999" "--max-entries 0"; do
	want_rc=2 want_msg='polc compile' max_secs=10 max_rss_mb=$small_mb
	# shellcheck disable=SC2086
	measure --timeout 30 -- "$POLC" compile -i "$SRC/samples/inventory/shop.yaml" \
		-p "$SRC/samples/testbed/policies" -o "$TMP/out-dir" --all-nodes $opt
	check "overflow: compile $opt"
done

# ---- 7. 100k policies in one file: handled, not refused
python3 - "$TMP/100k.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        f.write("---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n"
                "  name: p%d\n  namespace: ns%d\nspec:\n  endpointSelector:\n"
                "    matchLabels: {app: a%d}\n  ingress:\n"
                "  - fromEndpoints: [{matchLabels: {app: b%d}}]\n"
                "    toPorts: [{ports: [{port: \"%d\", protocol: TCP}]}]\n"
                % (i, i % 50, i % 1000, i % 777, 1 + i % 60000))
PY
want_rc=0 want_msg='100000 policies checked' max_secs=$((SANITIZED ? 900 : 300)) max_rss_mb=$((SANITIZED ? 6144 : 3072))
measure --timeout 1200 -- "$POLC" lint "$TMP/100k.yaml"
check "100k policies in one file"
echo "    100k policies: ${secs}s, peak $((rss_kb / 1024)) MiB"

# ---- 8. more that Kubernetes manifests never need
printf '%%YAML 1.1\n%%TAG !k! tag:example.com,2000:\n--- !k!policy\n%s\n' "$policy_head" >"$TMP/directives.yaml"
lint_file "YAML directives and tags" "$TMP/directives.yaml" '0|1|2' ''
printf '%s\n  description: !!binary aGVsbG8=\n  ingress: !custom [{}]\n' "$policy_head" >"$TMP/tags.yaml"
lint_file "explicit and unknown tags" "$TMP/tags.yaml" '0|1|2' ''
python3 -c "print('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: \"' + 'x' * 10000000 + '\"}')" >"$TMP/long-scalar.yaml"
lint_file "a 10 MB scalar" "$TMP/long-scalar.yaml" '0|1' ''
python3 -c "print('apiVersion: v1\nkind: List\nitems: [' + ', '.join(['{}'] * 1000000) + ']')" >"$TMP/million-items.yaml"
# A million objects are a million kind-missing diagnostics, each kept (about 350 bytes) until
# they are sorted and rendered: a known cost, bounded here; capping stored diagnostics per
# file is open work.
max_secs_default=120 max_rss_mb_default=$((SANITIZED ? 1200 : 512)) lint_file "a List of a million empty objects" "$TMP/million-items.yaml" '1|2' 'kind-missing|apiVersion'
python3 -c "print(('{{' * 100000) + ' x ' + ('}}' * 100000))" >"$TMP/braces.yaml"
lint_file "200k braces (template detection)" "$TMP/braces.yaml" 2 'yaml-template|yaml-syntax|yaml-depth'
printf -- '---\n---\n...\n---\n' >"$TMP/empty-docs.yaml"
lint_file "empty documents only" "$TMP/empty-docs.yaml" 0 ''
: >"$TMP/empty.yaml"
lint_file "an empty file" "$TMP/empty.yaml" 0 ''
# An inventory address that is not an address must be an input error that points at it, not
# an image the compiler builds and then cannot verify.
printf 'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec: {nodeName: n1}\nstatus: {podIPs: [{ip: "10"}]}\n' >"$TMP/inv-bad-ip.yaml"
want_rc='1|2' want_msg='"10"' want_no_msg='failed verification|image-invalid' max_secs=20 max_rss_mb=$small_mb
measure --timeout 60 -- "$POLC" compile -i "$TMP/inv-bad-ip.yaml" -o "$TMP/out-bad-ip" --all-nodes
check "compile with a pod address that is not an address"
want_no_msg=''
printf 'apiVersion: v1\nkind: List\nitems: [\n' >"$TMP/bad-inventory.yaml"
want_rc=2 want_msg='yaml-syntax' max_secs=10 max_rss_mb=$small_mb
measure --timeout 60 -- "$POLC" lint -i "$TMP/bad-inventory.yaml" "$TMP/ok-policy.yaml"
check "an inventory with a syntax error (its diagnostics outlive it)"
measure --timeout 60 -- "$POLC" trace -i "$TMP/bad-inventory.yaml" --from a/b --to c/d --port 80
check "trace with an inventory that does not parse"

finish
