#!/bin/bash
# check_install.sh - what `make install PREFIX=$I` put there (tests/cli/run.sh).
# Any failure: a line saying what, exit 1.
set -u
fail() { echo "$*"; exit 1; }
cmds=$("$I/bin/ldprof" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\)  *.*/\1/p')
[ "$(echo $cmds)" = "$(sed -n 's/^COMMANDS := //p' "$REPO/Makefile")" ] ||
	fail "the Makefile's COMMANDS ($(sed -n 's/^COMMANDS := //p' "$REPO/Makefile")) are not ldprof --help's ($(echo $cmds))"

# the installed command finds the installed agent (PREFIX/lib/ldprof), nothing else
(cd "$W" && env -u LDPROF_AGENT "$I/bin/ldprof" record -q -o "$W/inst.ldp" -- /bin/true) || fail "installed record failed"
"$LDPROF" dump "$W/inst.ldp" | grep -q "MODULE .* $I/lib/ldprof/libldprof.so " || fail "the trace was not made by $I/lib/ldprof/libldprof.so"

# man pages: one per command, named for it, holding each option its --help lists
for c in "" $cmds; do
	page=$I/share/man/man1/ldprof${c:+-$c}.1
	[ -f "$page" ] || fail "no $page"
	text=$(MANWIDTH=200 man -l "$page" 2> /dev/null) || fail "man -l $page"
	echo "$text" | grep -qE "^ +ldprof${c:+-$c} - " || fail "$page: NAME is not ldprof${c:+-$c}"
	for o in $("$I/bin/ldprof" ${c:+$c} --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		echo "$text" | grep -q -- "$o" || fail "$page lacks $o"
	done
done

# bash completion, loaded the way bash-completion loads it (XDG_DATA_DIRS)
comp() { # WORDS...: the completions of the last word
	XDG_DATA_DIRS="$I/share" PATH="$I/bin:$PATH" bash -c '
		source /usr/share/bash-completion/bash_completion
		_completion_loader ldprof
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		$(complete -p ldprof | sed "s/.*-F \([^ ]*\) .*/\1/") ldprof "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		echo "${COMPREPLY[*]}"' _ "$@"
}
[ "$(comp ldprof ti)" = timeline ] || fail "ldprof ti<TAB>: $(comp ldprof ti)"
[ "$(comp ldprof flame --wh)" = --what ] || fail "ldprof flame --wh<TAB>: $(comp ldprof flame --wh)"
[ "$(comp ldprof flame --what '')" = "alloc inuse leaked temporary cpu wall" ] || fail "--what values: $(comp ldprof flame --what '')"
[ "$(comp ldprof report --by f)" = "function file" ] || fail "--by f: $(comp ldprof report --by f)"
[ "$(comp ldprof export --format sp)" = speedscope ] || fail "--format sp: $(comp ldprof export --format sp)"
[ "$(comp ldprof record --mode s)" = sampled ] || fail "--mode s: $(comp ldprof record --mode s)"

# the API header
printf '#define LDPROF_WEAK\n#include <ldprof.h>\nint main(void) { return LDPROF_SNAPSHOT("x") == -1 ? 0 : 1; }\n' > "$W/api.c"
cc -I"$I/include" -o "$W/api" "$W/api.c" && "$W/api" || fail "ldprof.h does not compile from $I/include, or the weak API is not inert without the agent"

make -C "$REPO" --no-print-directory O="$B" PREFIX="$I" uninstall > /dev/null 2>&1 || fail "make uninstall failed"
left=$(find "$I" -type f)
[ -z "$left" ] || fail "left after uninstall: $left"
echo "installed: $(echo $cmds | wc -w) commands' man pages, completion, agent in lib/ldprof; uninstalled"
