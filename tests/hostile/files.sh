#!/bin/bash
# tests/hostile/files.sh BUILD_DIR - trace files and the environment: file
# mode, planted symlinks and foreign files, path templates, malformed
# LDPROF_* settings, a full disk, a directory that goes away, a read-only
# file system, RLIMIT_FSIZE. The program is always one of the hostile
# programs; its output and exit status must be those of the bare run, and
# stderr must hold exactly the agent lines the case expects. Each case prints
# one line ("skip" when the machine cannot set the case up); any failure
# exits 1.
set -u
B=$(cd "${1:-build}" && pwd)
LDPROF=$B/ldprof
AGENT=$B/libldprof.so
HB=$B/tests/hostile
PY=/usr/bin/python3
W=$(mktemp -d /tmp/ldprof-files.XXXXXX)
MOUNTS=()
cleanup() {
	local m
	for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do umount "$m" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
failures=0
export LDPROF_VERBOSE=0
unset LDPROF_OUTPUT LDPROF_MODE LDPROF_MAX_DEPTH LDPROF_FLUSH_MS LDPROF_RING_KB LDPROF_ZSTD_LEVEL LDPROF_ROOT_PID

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
skip() { echo "skip $1"; }

# The program every case runs, and what it prints when all is well.
PROG=("$HB/h_threads" xfree)
"${PROG[@]}" > "$W/bare.out" 2> "$W/bare.err"
BARE_RC=$?
[ $BARE_RC = 0 ] || { echo "FAIL the bare program itself fails"; exit 1; }

# preload OUT ERR [VAR=VALUE...] -- CMD...: run CMD with the agent preloaded
# by hand (so LDPROF_* reach it untouched); stdout goes through a pipe so a
# file-size limit applies to the trace only. Sets RC.
preload() {
	local out=$1 err=$2
	shift 2
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	{ timeout -k 5 120 env LD_PRELOAD="$AGENT" ${envs[@]+"${envs[@]}"} "$@" 2> "$err"; echo $? > "$out.rc"; } | cat > "$out"
	RC=$(cat "$out.rc")
}

# same_as_bare OUT: the program printed and exited as it does bare.
same_as_bare() { [ "$RC" = "$BARE_RC" ] && cmp -s "$1" "$W/bare.out"; }

# agent_lines ERR N [ERE]: exactly N lines of stderr, all "ldprof: " lines
# (and matching ERE if given).
agent_lines() {
	local err=$1 n=$2 re=${3:-}
	local total ours
	total=$(wc -l < "$err")
	ours=$(grep -c '^ldprof: ' "$err")
	[ "$total" = "$n" ] && [ "$ours" = "$n" ] || return 1
	[ -z "$re" ] || [ "$(grep -cE "$re" "$err")" = "$n" ]
}

# readable TRACE [DIR]: `ldprof report --json` reads it (output kept in DIR,
# default next to the trace).
readable() {
	local j=${2:-$(dirname "$1")}/$(basename "$1")
	"$LDPROF" report --json "$1" > "$j.json" 2> "$j.rerr"
}

# ---- file mode ---------------------------------------------------------------

t=mode0600
d="$W/$t"
mkdir -p "$d"
(umask 000 && preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/t.ldp" -- "${PROG[@]}")
RC=$(cat "$d/out.rc")
mode=$(stat -c %a "$d/t.ldp" 2>/dev/null)
if same_as_bare "$d/out" && [ "$mode" = 600 ] && readable "$d/t.ldp"; then
	pass "$t: trace created mode 0600 even with umask 000"
else fail "$t: mode ${mode:-none}, rc $RC"; fi

# ---- planted symlink ----------------------------------------------------------

t=symlink
d="$W/$t"
mkdir -p "$d/shared" && chmod 1777 "$d/shared"
echo "the victim's data" > "$d/victim"
cp "$d/victim" "$d/victim.orig"
ln -s "$d/victim" "$d/shared/t.ldp"
preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/shared/t.ldp" -- "${PROG[@]}"
alt=$(ls "$d/shared" | grep -E '^t\.[0-9]+-1\.ldp$')
if same_as_bare "$d/out" && [ ! -s "$d/err" ] && cmp -s "$d/victim" "$d/victim.orig" &&
	[ "$(readlink "$d/shared/t.ldp")" = "$d/victim" ] && [ -n "$alt" ] && [ ! -L "$d/shared/$alt" ] &&
	readable "$d/shared/$alt"; then
	pass "$t: symlink at the path not followed, victim untouched, trace in $alt"
else fail "$t: victim $(cmp -s "$d/victim" "$d/victim.orig" && echo intact || echo CHANGED), alt '${alt}', rc $RC, $(head -c 200 "$d/err")"; fi

t=symlink_record
d="$W/$t"
mkdir -p "$d"
echo "the victim's data" > "$d/victim"
cp "$d/victim" "$d/victim.orig"
ln -s "$d/victim" "$d/t.ldp"
"$LDPROF" record -q -o "$d/t.ldp" -- "${PROG[@]}" > "$d/out" 2> "$d/err"
rc=$?
if [ $rc = 2 ] && cmp -s "$d/victim" "$d/victim.orig" && [ -L "$d/t.ldp" ] && grep -q "is a symbolic link: not replacing it, nor writing through it" "$d/err"; then
	pass "$t: ldprof record -o SYMLINK refuses (exit 2), victim untouched"
else fail "$t: rc $rc, $(head -c 200 "$d/err")"; fi

# A file that is not ours at the path: never overwritten, another name taken.
t=foreign_file
d="$W/$t"
mkdir -p "$d"
echo "someone else's trace" > "$d/t.ldp"
chown nobody "$d/t.ldp" 2>/dev/null
chmod 0444 "$d/t.ldp"
cp "$d/t.ldp" "$d/orig"
preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/t.ldp" -- "${PROG[@]}"
alt=$(ls "$d" | grep -E '^t\.[0-9]+-1\.ldp$')
if same_as_bare "$d/out" && [ ! -s "$d/err" ] && cmp -s "$d/t.ldp" "$d/orig" && [ -n "$alt" ] && readable "$d/$alt"; then
	pass "$t: someone else's file at the path left alone, trace in $alt"
else fail "$t: alt '$alt', rc $RC, $(head -c 200 "$d/err")"; fi

# ---- path templates -----------------------------------------------------------

t=templates
d="$W/$t"
mkdir -p "$d"
before=$(date +%s)
preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/t-%p-%h-%t-%e-%%.ldp" -- "$HB/h_proc" fork
after=$(date +%s)
host=$(uname -n)
ok=1
files=$(ls "$d" | grep '\.ldp$' | sort)
[ "$(echo "$files" | wc -l)" = 2 ] || ok=0
for f in $files; do
	# t-PID-HOST-TIME-h_proc-%.ldp; PID must be the pid in the trace's header.
	if ! [[ $f =~ ^t-([0-9]+)-(.+)-([0-9]+)-h_proc-%\.ldp$ ]]; then ok=0; echo "     bad name $f"; continue; fi
	pid=${BASH_REMATCH[1]} h=${BASH_REMATCH[2]} ts=${BASH_REMATCH[3]}
	hpid=$("$LDPROF" dump "$d/$f" | awk '/^SEGMENT/ {print $6; exit}')
	if [ "$h" != "$host" ] || [ "$pid" != "$hpid" ] || [ "$ts" -lt "$before" ] || [ "$ts" -gt "$after" ]; then
		ok=0
		echo "     $f: host $h/$host pid $pid/$hpid time $ts in [$before, $after]?"
	fi
done
if [ "$RC" = 0 ] && [ $ok = 1 ] && [ ! -s "$d/err" ]; then
	pass "$t: %p %h %t %e %% expanded, parent and fork child each in their own file"
else fail "$t: rc $RC, files: $(echo $files)"; fi

# %h is one file name component: a host name holding '/' (set in a UTS
# namespace of its own) does not move the trace out of its directory.
t=host_slash
d="$W/$t"
mkdir -p "$d/dir" "$d/etc"
if unshare --uts true 2> /dev/null; then
	{ timeout -k 5 120 unshare --uts sh -c 'python3 -c "import socket; socket.sethostname(\"../etc/x\")" &&
		exec env LD_PRELOAD="$0" LDPROF_OUTPUT="$1/dir/%h.ldp" "$2" "$3"' "$AGENT" "$d" "${PROG[@]}" 2> "$d/err"
		echo $? > "$d/out.rc"; } | cat > "$d/out"
	RC=$(cat "$d/out.rc")
	if same_as_bare "$d/out" && [ -f "$d/dir/.._etc_x.ldp" ] && [ -z "$(ls -A "$d/etc")" ] && [ ! -s "$d/err" ] &&
		readable "$d/dir/.._etc_x.ldp"; then
		pass "$t: host name '../etc/x': the trace is dir/.._etc_x.ldp, nothing written outside dir"
	else fail "$t: rc $RC, in dir: $(ls -A "$d/dir"), in etc: $(ls -A "$d/etc"), err: $(head -c 200 "$d/err")"; fi
else skip "$t: cannot make a UTS namespace here (unshare --uts needs root)"; fi

# A relative LDPROF_OUTPUT is relative to the directory the program started
# in, also for a child forked after the program moved elsewhere.
t=relative_output
d="$W/$t"
mkdir -p "$d/start" "$d/elsewhere"
(cd "$d/start" && preload "$d/out" "$d/err" LDPROF_OUTPUT=t.ldp -- "$HB/h_proc" chdir "$d/elsewhere")
RC=$(cat "$d/out.rc")
n_start=$(ls "$d/start" | grep -c '^t\..*ldp$')
n_else=$(ls "$d/elsewhere" | wc -l)
if [ "$RC" = 0 ] && [ ! -s "$d/err" ] && [ "$n_start" = 2 ] && [ "$n_else" = 0 ]; then
	pass "$t: LDPROF_OUTPUT=t.ldp, chdir, fork: both traces in the starting directory"
else fail "$t: rc $RC, $n_start traces in start/, $n_else files elsewhere/"; fi

# ---- malformed settings -------------------------------------------------------

# bad_setting VAR VALUE CHECK: one warning naming VAR and VALUE, the default
# used (CHECK is a shell condition over the trace $f), program unchanged.
bad_setting() {
	local var=$1 value=$2 check=$3
	local t="bad_${var#LDPROF_}" d="$W/bad_${var#LDPROF_}"
	mkdir -p "$d"
	if [ "$var" = LDPROF_OUTPUT ]; then
		(cd "$d" && preload "$d/out" "$d/err" "$var=$value" -- "${PROG[@]}")
		RC=$(cat "$d/out.rc")
		f=$(ls "$d"/ldprof.h_threads.*.ldp 2>/dev/null | head -1)
	else
		preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/t.ldp" "$var=$value" -- "${PROG[@]}"
		f="$d/t.ldp"
	fi
	if same_as_bare "$d/out" && agent_lines "$d/err" 1 "$var='$value'" && [ -n "$f" ] && readable "$f" && eval "$check"; then
		pass "$t: $var='$value': one warning naming it, default used"
	else fail "$t: rc $RC, trace '${f}', stderr: $(head -c 300 "$d/err")"; fi
}
hdr() { "$LDPROF" dump "$f" | sed -n 3p; } # "  host ...  mode M  max_depth D  seq_shift S"
heap_allocs() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["allocation_count"])' "$f.json"; }
bad_setting LDPROF_MAX_DEPTH abc '[[ $(hdr) == *"max_depth 64 "* ]]'
bad_setting LDPROF_MAX_DEPTH 0 '[[ $(hdr) == *"max_depth 64 "* ]]'
bad_setting LDPROF_MAX_DEPTH 5000 '[[ $(hdr) == *"max_depth 64 "* ]]'
bad_setting LDPROF_MODE fast '[[ $(hdr) == *"mode 0 "* ]] && [ "$(heap_allocs)" -ge 80000 ]'
bad_setting LDPROF_FLUSH_MS 0 'true'
bad_setting LDPROF_FLUSH_MS 1e3 'true'
bad_setting LDPROF_RING_KB 8 'true'
bad_setting LDPROF_RING_KB -16 'true'
bad_setting LDPROF_ZSTD_LEVEL 99 'true'
bad_setting LDPROF_VERBOSE yes 'true'
bad_setting LDPROF_ROOT_PID me 'true'
bad_setting LDPROF_OUTPUT "" 'true'

t=unknown_setting
d="$W/$t"
mkdir -p "$d"
preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/t.ldp" LDPROF_MAXDEPTH=3 -- "${PROG[@]}"
if same_as_bare "$d/out" && agent_lines "$d/err" 1 'LDPROF_MAXDEPTH' && readable "$d/t.ldp"; then
	pass "$t: a misspelt LDPROF_MAXDEPTH gets one warning naming it"
else fail "$t: rc $RC, $(head -c 300 "$d/err")"; fi

# ---- programs LD_PRELOAD cannot trace -----------------------------------------

# refused NAME PROG NEEDLE: the program runs bare; ldprof record exits 2 with
# one line containing NEEDLE, and leaves no trace.
refused() {
	local t=$1 prog=$2 needle=$3 d="$W/$1"
	mkdir -p "$d"
	"$prog" > "$d/bare.out" 2>&1
	local brc=$?
	"$LDPROF" record -q -o "$d/t.ldp" -- "$prog" > "$d/out" 2> "$d/err"
	local rc=$?
	if [ $brc = 0 ] && [ $rc = 2 ] && [ "$(wc -l < "$d/err")" = 1 ] && grep -q -- "$needle" "$d/err" && [ ! -e "$d/t.ldp" ]; then
		pass "$t: ldprof record says \"$needle\" and exits 2"
	else fail "$t: bare $brc, record $rc: $(head -c 300 "$d/err")"; fi
}
refused static "$HB/h_plain_static" "statically linked"
refused static_pie "$HB/h_plain_spie" "statically linked"
refused tsan "$HB/h_plain_tsan" "built with a sanitizer (libtsan"

# An ASan build is traced in front of ASan's allocator (record sets ASAN_OPTIONS):
# output and status as bare, one line saying so, a trace with its allocations.
t=asan
d="$W/$t"
mkdir -p "$d"
"$HB/h_plain_asan" > "$d/bare.out" 2>&1
brc=$?
"$LDPROF" record -o "$d/t.ldp" -- "$HB/h_plain_asan" > "$d/out" 2> "$d/err"
rc=$?
if [ $brc = $rc ] && cmp -s "$d/bare.out" "$d/out" && grep -q 'built with AddressSanitizer' "$d/err" &&
	"$LDPROF" report --json "$d/t.ldp" | $PY -c 'import json,sys; sys.exit(json.load(sys.stdin)["heap"]["allocation_count"] < 1)'; then
	pass "$t: an ASan build runs under ldprof record as bare and is traced"
else fail "$t: bare $brc, record $rc: $(head -c 300 "$d/err")"; fi

# ---- full disk ----------------------------------------------------------------

t=dev_full
d="$W/$t"
mkdir -p "$d"
{ "$LDPROF" record -q -o /dev/full -- "${PROG[@]}" 2> "$d/err"; echo $? > "$d/out.rc"; } | cat > "$d/out"
RC=$(cat "$d/out.rc")
if same_as_bare "$d/out" && agent_lines "$d/err" 1 'No space left on device' && ! ls /dev | grep -q '^full\.'; then
	pass "$t: -o /dev/full: output and status unchanged, one 'No space left' line, nothing created in /dev"
else fail "$t: rc $RC, $(head -c 300 "$d/err")"; fi

t=disk_full
d="$W/$t"
mkdir -p "$d/fs"
if mount -t tmpfs -o size=64k tmpfs "$d/fs" 2>/dev/null; then
	MOUNTS+=("$d/fs")
	head -c 40000 /dev/zero > "$d/fs/filler"
	# Every address written, so the trace outgrows the 24 KB left (as RLIMIT_FSIZE below).
	preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/fs/t.ldp" LDPROF_SITE_EVENTS=0 -- "${PROG[@]}"
	size=$(stat -c %s "$d/fs/t.ldp" 2>/dev/null || echo 0)
	if same_as_bare "$d/out" && agent_lines "$d/err" 1 'No space left on device' && [ "$size" -gt 0 ] &&
		readable "$d/fs/t.ldp" "$d"; then
		pass "$t: file system full mid-run ($size bytes written): one line, what was written reads"
	else fail "$t: rc $RC, size $size, $(head -c 300 "$d/err") $(head -c 200 "$d/t.ldp.rerr" 2>/dev/null)"; fi
else
	skip "$t: cannot mount a small tmpfs here"
fi

# ---- a directory that goes away ------------------------------------------------

t=dir_renamed
d="$W/$t"
mkdir -p "$d/traces"
mkdir -p "$d/bare"
"$HB/h_proc" vanish "$d/bare" "$d/bare.moved" > "$d/bare.out" 2> "$d/bare.err"
bare_rc=$?
preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/traces/t.ldp" -- "$HB/h_proc" vanish "$d/traces" "$d/moved"
if [ "$RC" = "$bare_rc" ] && [ "$RC" = 0 ] && cmp -s "$d/out" "$d/bare.out" &&
	agent_lines "$d/err" 1 'cannot create trace file' && readable "$d/moved/t.ldp"; then
	pass "$t: trace directory renamed mid-run: trace complete in its new place, the child says once it cannot create its own"
else fail "$t: rc $RC, $(head -c 300 "$d/err")"; fi

t=dir_removed
d="$W/$t"
mkdir -p "$d/traces" "$d/bare"
"$HB/h_proc" vanish "$d/bare" - > "$d/bare.out" 2> "$d/bare.err"
bare_rc=$?
preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/traces/t.ldp" -- "$HB/h_proc" vanish "$d/traces" -
if [ "$RC" = "$bare_rc" ] && [ "$RC" = 0 ] && cmp -s "$d/out" "$d/bare.out" && agent_lines "$d/err" 1 'cannot create trace file'; then
	pass "$t: trace directory removed mid-run: the program carries on, one line (from the child)"
else fail "$t: rc $RC, $(head -c 300 "$d/err")"; fi

# ---- read-only ------------------------------------------------------------------

t=readonly_fs
d="$W/$t"
mkdir -p "$d/fs"
if mount -t tmpfs -o ro,size=64k tmpfs "$d/fs" 2>/dev/null; then
	MOUNTS+=("$d/fs")
	preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/fs/t.ldp" -- "${PROG[@]}"
	if same_as_bare "$d/out" && agent_lines "$d/err" 1 'cannot create trace file .*: Read-only file system'; then
		pass "$t: read-only file system: output and status unchanged, one line"
	else fail "$t: rc $RC, $(head -c 300 "$d/err")"; fi
else
	skip "$t: cannot mount a read-only tmpfs here"
fi

t=readonly_dir
d="$W/$t"
mkdir -p "$d/dir"
chmod 0555 "$d/dir"
chmod 0755 "$W" "$d"
if command -v setpriv > /dev/null && [ "$(id -u)" = 0 ]; then
	{ setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$AGENT" LDPROF_OUTPUT="$d/dir/t.ldp" \
		"${PROG[@]}" 2> "$d/err"; echo $? > "$d/out.rc"; } | cat > "$d/out"
	RC=$(cat "$d/out.rc")
	if same_as_bare "$d/out" && agent_lines "$d/err" 1 'cannot create trace file .*: Permission denied' && [ -z "$(ls "$d/dir")" ]; then
		pass "$t: directory mode 0555, run as nobody: output and status unchanged, one line"
	else fail "$t: rc $RC, $(head -c 300 "$d/err")"; fi
elif [ "$(id -u)" != 0 ]; then
	preload "$d/out" "$d/err" LDPROF_OUTPUT="$d/dir/t.ldp" -- "${PROG[@]}"
	if same_as_bare "$d/out" && agent_lines "$d/err" 1 'cannot create trace file .*: Permission denied'; then
		pass "$t: directory mode 0555: output and status unchanged, one line"
	else fail "$t: rc $RC, $(head -c 300 "$d/err")"; fi
else
	skip "$t: root without setpriv cannot be refused by a 0555 directory"
fi

# ---- RLIMIT_FSIZE -----------------------------------------------------------------

# The trace is the only file the program writes: its stdout and stderr go
# through pipes, so only the trace meets the limit. Every address written
# (LDPROF_SITE_EVENTS=0): with the threads run one after another (a loaded
# machine) the default trace is a loop's, 5.5 KB in format 2.3, and never
# met 16 KiB; with addresses it is 26 KB or more on one CPU (taskset -c 0).
for kib in 0 16; do
	t=rlimit_fsize_$kib
	d="$W/$t"
	mkdir -p "$d"
	{ { prlimit --fsize=$((kib * 1024)) env LD_PRELOAD="$AGENT" LDPROF_OUTPUT="$d/t.ldp" LDPROF_SITE_EVENTS=0 "${PROG[@]}" 2>&1 1>&4
		echo $? > "$d/out.rc"; } | cat > "$d/err"; } 4>&1 | cat > "$d/out"
	RC=$(cat "$d/out.rc")
	size=$(stat -c %s "$d/t.ldp" 2>/dev/null || echo none)
	if same_as_bare "$d/out" && agent_lines "$d/err" 1 'File too large' && { [ $kib = 0 ] || readable "$d/t.ldp"; }; then
		pass "$t: RLIMIT_FSIZE $kib KiB: no SIGXFSZ death, one 'File too large' line (trace $size bytes)"
	else fail "$t: rc $RC (153 = killed by SIGXFSZ), trace $size bytes, $(head -c 300 "$d/err")"; fi
done

# stderr itself a file at the limit: the agent's message cannot be written,
# and must not kill the program either.
t=rlimit_fsize_stderr
d="$W/$t"
mkdir -p "$d"
{ prlimit --fsize=0 env LD_PRELOAD="$AGENT" LDPROF_OUTPUT="$d/t.ldp" "${PROG[@]}" 2> "$d/err"; echo $? > "$d/out.rc"; } 2>/dev/null | cat > "$d/out"
RC=$(cat "$d/out.rc")
if same_as_bare "$d/out" && [ ! -s "$d/err" ]; then
	pass "$t: RLIMIT_FSIZE 0 with stderr a file too: the agent's message fails quietly, no SIGXFSZ death"
else fail "$t: rc $RC (153 = killed by SIGXFSZ)"; fi

echo
if [ $failures -gt 0 ]; then
	echo "files: $failures FAILED"
	exit 1
fi
echo "files: all passed"
