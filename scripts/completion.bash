# bash completion for ldprof (installed as share/bash-completion/completions/ldprof).
#
# Everything comes from ldprof itself, so it cannot drift from the command:
# the commands from `ldprof --help`, a command's options from `ldprof CMD
# --help`, and the values of an option that takes a fixed set (--what, --by,
# --format, --sort, --mode, --colors...) from the message ldprof gives for a
# wrong one ("--what must be alloc, inuse, ... or wall, not '?'").

_ldprof_values() { # CMD OPTION: the option's values, or nothing
	local msg
	msg=$("${_ldprof_bin:-ldprof}" "$1" "$2" '?' 2>&1 >/dev/null) || true
	[[ $msg == *" must be "*" or "*", not '?'"* ]] || return 0 # a list, not "a number"
	msg=${msg#* must be }
	msg=${msg%, not \'?\'*}
	msg=${msg//, / }
	msg=${msg// or / }
	[[ $msg =~ ^[a-z][a-z0-9_-]*( [a-z][a-z0-9_-]*)*$ ]] && echo "$msg"
}

_ldprof() {
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	_ldprof_bin=${COMP_WORDS[0]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [[ -z $cmd ]]; then
		local cmds
		cmds=$("$_ldprof_bin" --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\)  *.*/\1/p')
		COMPREPLY=($(compgen -W "$cmds help --help --version" -- "$cur"))
		return 0
	fi
	if [[ $cmd == help ]]; then
		COMPREPLY=($(compgen -W "$("$_ldprof_bin" --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\)  *.*/\1/p')" -- "$cur"))
		return 0
	fi
	# After `record ... --`, the program and its arguments: complete as commands and files.
	if [[ $cmd == record ]]; then
		for ((i = 2; i < COMP_CWORD; i++)); do
			if [[ ${COMP_WORDS[i]} == -- ]]; then
				if ((COMP_CWORD == i + 1)); then COMPREPLY=($(compgen -c -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
				return 0
			fi
		done
	fi
	if [[ $prev == --* ]]; then
		local values
		values=$(_ldprof_values "$cmd" "$prev")
		if [[ -n $values ]]; then
			COMPREPLY=($(compgen -W "$values" -- "$cur"))
			return 0
		fi
		# an option that takes a path or a number: files
		if "$_ldprof_bin" "$cmd" --help 2>/dev/null | grep -qE -- "^ +(-., )?$prev [A-Z]"; then
			COMPREPLY=($(compgen -f -- "$cur"))
			return 0
		fi
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$_ldprof_bin" "$cmd" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
		return 0
	fi
	# traces
	COMPREPLY=($(compgen -f -X '!*.ldp' -- "$cur") $(compgen -d -- "$cur"))
}
complete -F _ldprof -o filenames ldprof
