#!/bin/sh
# scripts/setup-deps.sh [build|install|all] [--list] - install what a fresh
# Debian 12 machine lacks to build and test ldprof.
#   build    what building and `make demo` need (make demo)
#   install  build, plus what `make install` needs (man pages)
#   all      build, install and the tests' tools (make test, make test-asan,
#            .ci/run): the default
# --list prints the part's packages instead of installing them.
# Idempotent: installs only missing packages. Needs root (or sudo) only when
# something is missing.
set -eu
PART=${1:-all}
LIST=0
[ "${2:-}" = --list ] && LIST=1
[ "$PART" = --list ] && { PART=all; LIST=1; }
case $PART in build | install | all) ;; *) echo "usage: $0 [build|install|all] [--list]" >&2; exit 2 ;; esac

# Build: compiler, make, and the libraries the agent and reporter link: zstd
# (traces), libdw/libelf (symbols), jansson (every JSON output), protobuf-c
# and zlib (pprof export: library and protoc-c, gzip). libunwind8 is loaded
# by the agent at run time (dlopen) for the stacks its own unwinder leaves.
BUILD_PKGS="gcc make libc6-dev libdw-dev libelf-dev libzstd-dev libjansson-dev libunwind8"
BUILD_PKGS="$BUILD_PKGS libprotobuf-c-dev protobuf-c-compiler zlib1g-dev liblzma-dev libbz2-dev"
# The fleet store (ldprof push, ldprof fleet): libcurl speaks ClickHouse's HTTP
# interface; jansson (above) writes and reads its JSON.
BUILD_PKGS="$BUILD_PKGS libcurl4-openssl-dev"

# make install: the man pages are made by help2man from each command's --help.
INSTALL_PKGS="help2man"

# Tests only (never installed by `make demo`): cmocka (unit tests), libunwind-dev
# (the unwinder's reference in the unit tests), python3 (test drivers), g++
# (C++ test programs), binutils (objcopy), sqlite3 and heaptrack (real programs,
# counts compared with heaptrack's), valgrind (cxx_massif, ms_print, DHAT's
# viewer), zstd (the CLI reads traces too), libmsgpack-dev (the serialization
# sample), bash-completion (the completion script is loaded by its loader).
# The pictures tier's consumers: golang-go (go tool pprof), chromium (SVG
# scripts, the HTML report, DHAT's viewer, screenshots), python3-jsonschema
# (every JSON output against its schema in docs/schema/, speedscope's schema),
# fonts-dejavu-core (text in headless Chromium). tmux: `ldprof top` is tested
# in a real terminal.
# `make fuzz` also needs clang and libclang-rt-14-dev; `make test` does not.
TEST_PKGS="libcmocka-dev libunwind-dev libmsgpack-dev python3 python3-jsonschema g++ binutils sqlite3 heaptrack zstd"
TEST_PKGS="$TEST_PKGS valgrind golang-go chromium fonts-dejavu-core bash-completion tmux"
# tests/fleet starts a real clickhouse-server (Debian 12 ships 18.16) and
# queries it with clickhouse-client; tests/attach loads the agent into running
# programs with gdb (ldprof attach).
TEST_PKGS="$TEST_PKGS clickhouse-server clickhouse-client gdb"
# C++ programs linked with tcmalloc and jemalloc, whose operator new is their
# own (tests/integration, cxx_allocators).
TEST_PKGS="$TEST_PKGS libgoogle-perftools-dev libjemalloc-dev"
# Extra tools for later test tiers are appended to TEST_PKGS as features land.

PKGS=$BUILD_PKGS
[ "$PART" = build ] || PKGS="$PKGS $INSTALL_PKGS"
[ "$PART" = all ] && PKGS="$PKGS $TEST_PKGS ${LDPROF_EXTRA_PKGS:-}"

if [ $LIST = 1 ]; then
	echo $PKGS
	exit 0
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "ldprof: installing:$missing"
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "ldprof: missing packages:$missing -- run as root: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists: update once, then install.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
