# bash completion for polc                                         -*- shell-script -*-
#
# Installed as $(datadir)/bash-completion/completions/polc, where bash-completion loads it
# the first time polc is completed; or source it from ~/.bashrc. It works without the
# bash-completion package too (file names are then completed plainly).
#
# The verbs and options here are checked against `polc help` and `polc help VERB` by
# tests/docs/docs.sh: a verb or option that polc has and this file lacks fails the tests.
# shellcheck shell=bash disable=SC2207

_polc_verbs='lint trace test compile verify inspect diff load unload status observe learn help version'

# The options of each verb (long forms; the short ones are offered after a single dash).
_polc_opts_lint='--inventory --format --output --disable --color --max-document-size --max-input-size --max-depth --yaml-reader --list-rules --help'
_polc_opts_trace='--inventory --policies --from --to --port --option --alloc --json --help'
_polc_opts_test='--json --verbose --help'
_polc_opts_compile='--inventory --policies --output --node --all-nodes --generation --max-entries --audit --no-verify --reference-budget --option --alloc --json --help'
_polc_opts_verify='--inventory --policies --option --alloc --reference-budget --help'
_polc_opts_inspect='--endpoint --json --help'
_polc_opts_diff='--inventory --json --fail-on-new-allow --help'
_polc_opts_load='--bpffs --attach --node --force --fail-open --dry-run --clsact --watch --state-dir --help'
_polc_opts_unload='--bpffs --state-dir --help'
_polc_opts_status='--bpffs --state-dir --json --help'
_polc_opts_observe='--bpffs --state-dir --json --follow --help'
_polc_opts_learn='--inventory --interface --duration --count --filter --write-pcap --for --output --l4-only --existing --test-file --graph --json --no-check --dump-edges --libpcap-reader --quiet --min-support --cidr-prefix --cidr6-prefix --cidr-min --one-way-udp --max-conns --max-edges --max-l7-memory --tcp-timeout --udp-timeout --progress --no-progress --help'
_polc_opts_help=''
_polc_opts_version=''

_polc_short_lint='-i -f -o -d -h'
_polc_short_trace='-i -p -f -t -P -j -h'
_polc_short_test='-j -v -h'
_polc_short_compile='-i -p -o -j -h'
_polc_short_verify='-i -p -h'
_polc_short_inspect='-e -j -h'
_polc_short_diff='-i -j -h'
_polc_short_load='-h'
_polc_short_unload='-h'
_polc_short_status='-j -h'
_polc_short_observe='-j -f -h'
_polc_short_learn='-i -o -j -q -h'

# Cilium agent options polc models (docs/semantics.md), for --option NAME=VALUE.
_polc_agent_options='enable-policy= allow-localhost= enable-non-default-deny-policies= policy-default-local-cluster= cluster-name= policy-cidr-match-mode= enable-node-selector-labels= enable-host-firewall='
_polc_entities='entity:world entity:host entity:remote-node entity:kube-apiserver entity:health entity:init entity:ingress entity:unmanaged'

# File names: with bash-completion's _filedir when it is there (EXT filters, -d for
# directories), else plain compgen.
_polc_files()
{
	if declare -F _filedir >/dev/null 2>&1; then
		_filedir "$@"
		return
	fi
	compopt -o filenames 2>/dev/null
	local IFS=$'\n'
	if [ "${1:-}" = -d ]; then
		COMPREPLY=($(compgen -d -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_polc_interfaces()
{
	local names
	names=$(ls /sys/class/net 2>/dev/null)
	COMPREPLY=($(compgen -W "$* $names" -- "$cur"))
}

# The value of an option that takes one. Returns 1 when PREV takes no value.
_polc_value()
{
	local verb=$1 prev=$2
	case $verb:$prev in
	*:--inventory | *:-i)
		if [ "$verb" = learn ]; then
			_polc_files 'yaml|yml|json'
			local f=("${COMPREPLY[@]}")
			_polc_interfaces
			COMPREPLY+=("${f[@]}")
		else
			_polc_files 'yaml|yml|json'
		fi
		;;
	*:--policies | *:-p | *:--existing)
		_polc_files
		;;
	lint:--format | lint:-f)
		COMPREPLY=($(compgen -W 'text json sarif' -- "$cur"))
		;;
	lint:--color)
		COMPREPLY=($(compgen -W 'auto always never' -- "$cur"))
		;;
	lint:--yaml-reader)
		COMPREPLY=($(compgen -W 'auto libyaml' -- "$cur"))
		;;
	lint:--disable | lint:-d)
		local ids done_ids=""
		ids=$(polc lint --list-rules 2>/dev/null | awk '{print $1}')
		if [[ $cur == *,* ]]; then
			done_ids=${cur%,*},
		fi
		COMPREPLY=($(compgen -P "$done_ids" -W "$ids" -- "${cur##*,}"))
		compopt -o nospace 2>/dev/null
		;;
	lint:--output | lint:-o | *:--alloc | *:--graph | *:--test-file | *:--write-pcap | *:--dump-edges)
		_polc_files
		;;
	compile:--output | compile:-o | learn:--output | learn:-o | *:--bpffs | *:--state-dir)
		_polc_files -d
		;;
	trace:--from | trace:-f | trace:--to | trace:-t)
		COMPREPLY=($(compgen -W "$_polc_entities" -- "$cur"))
		;;
	*:--option)
		COMPREPLY=($(compgen -W "$_polc_agent_options" -- "$cur"))
		compopt -o nospace 2>/dev/null
		;;
	load:--attach)
		_polc_interfaces auto
		;;
	learn:--interface)
		_polc_interfaces any
		;;
	*:--port | *:-P | *:--node | *:--generation | *:--max-entries | *:--audit | \
		*:--reference-budget | *:--endpoint | *:-e | *:--max-document-size | \
		*:--max-input-size | *:--max-depth | *:--duration | *:--count | *:--filter | \
		*:--for | *:--min-support | *:--cidr-prefix | *:--cidr6-prefix | *:--cidr-min | \
		*:--max-conns | *:--max-edges | *:--max-l7-memory | *:--tcp-timeout | *:--udp-timeout)
		COMPREPLY=() # a value polc cannot guess
		;;
	*)
		return 1
		;;
	esac
	return 0
}

_polc()
{
	local cur prev verb i w
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# --opt=value: bash splits at '='
	if [ "$cur" = = ]; then
		cur=
	elif [ "$prev" = = ] && [ "$COMP_CWORD" -gt 1 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	verb=
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-*) ;;
		*)
			verb=$w
			break
			;;
		esac
	done

	if [ -z "$verb" ]; then
		case $cur in
		-*) COMPREPLY=($(compgen -W '--help --version -h -V' -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$_polc_verbs" -- "$cur")) ;;
		esac
		return 0
	fi

	local opts_var=_polc_opts_${verb//-/_} short_var=_polc_short_${verb//-/_}
	local opts=${!opts_var-} short=${!short_var-}

	if [ "$verb" = help ]; then
		COMPREPLY=($(compgen -W "$_polc_verbs" -- "$cur"))
		return 0
	fi
	if [ "$verb" = version ]; then
		return 0
	fi

	if [ -n "$prev" ] && [ "$prev" != "$verb" ] && _polc_value "$verb" "$prev"; then
		return 0
	fi

	case $cur in
	--*)
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
		;;
	-*)
		COMPREPLY=($(compgen -W "$short $opts" -- "$cur"))
		return 0
		;;
	esac

	# Operands
	case $verb in
	lint | test) _polc_files 'yaml|yml|json' ;;
	verify | inspect | load) _polc_files 'polc' ;;
	diff) _polc_files ;;
	learn) _polc_files 'pcap|pcapng|cap|json|jsonl' ;;
	*) COMPREPLY=() ;;
	esac
	return 0
}

complete -F _polc polc
