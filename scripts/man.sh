#!/bin/sh
# scripts/man.sh LDPROF OUTDIR VERSION - the man pages, made by help2man from
# the command's own help (one source for both): ldprof.1 from `ldprof
# --help`, and ldprof-CMD.1 from `ldprof CMD --help` for every command that
# `ldprof --help` lists.
set -eu
LDPROF=$1 OUT=$2 VERSION=$3
mkdir -p "$OUT"
cmds=$("$LDPROF" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\)  *.*/\1/p')
[ -n "$cmds" ] || { echo "man.sh: no commands in ldprof --help" >&2; exit 1; }
see=$(mktemp)
trap 'rm -f "$see"' EXIT
{
	echo "[SEE ALSO]"
	for c in $cmds; do printf '.BR ldprof-%s (1),\n' "$c"; done
	echo "and the documentation in /usr/share/doc/ldprof or the source tree's docs/."
} > "$see"
help2man -N --no-discard-stderr --version-string="$VERSION" --include="$see" \
	--name="a memory and CPU profiler for native Linux programs" -o "$OUT/ldprof.1" "$LDPROF"
for c in $cmds; do
	name=$("$LDPROF" --help | sed -n "s/^  $c  *//p")
	help2man -N --no-discard-stderr --version-string="$VERSION" --include="$see" --help-option="$c --help" \
		--name="$name" -o "$OUT/ldprof-$c.1.tmp" "$LDPROF"
	# help2man names the page after the executable: make it ldprof-CMD
	sed -e "s/^\.TH LDPROF /.TH LDPROF-$(echo "$c" | tr a-z A-Z) /" -e "s/^ldprof \\\\- /ldprof-$c \\\\- /" \
		"$OUT/ldprof-$c.1.tmp" > "$OUT/ldprof-$c.1"
	rm -f "$OUT/ldprof-$c.1.tmp"
done
