#!/bin/sh
# scripts/setup-deps.sh [build] - install what a fresh Debian 12 machine lacks
# to build and test ldprof; with `build` (make demo), only the build part.
# Idempotent: installs only missing packages. Needs root (or sudo) only when
# something is missing.
set -eu
PART=${1:-all}

# Build: compiler, make, and the libraries the agent and reporter use (jansson
# writes every JSON output of the reporter, and the serialization sample's).
# Tests: cmocka, python3 (test drivers), g++ (C++ test programs), binutils
# (objcopy), sqlite3 and heaptrack (real programs, counts compared with
# heaptrack's), zstd (the CLI reads traces too).
# Exports: protobuf-c (pprof's profile.proto: library and protoc-c) and zlib
# (gzip). Their consumers, for the pictures tier: golang-go (go tool pprof),
# chromium (SVG scripts, the HTML report, DHAT's viewer), valgrind (ms_print,
# dh_view.js), python3-jsonschema (speedscope's schema), fonts-dejavu-core
# (text in headless Chromium). tmux: `ldprof top` is tested in a real terminal.
# `make fuzz` also needs clang and libclang-rt-14-dev; `make test` does not.
PKGS="gcc make libc6-dev pkg-config libunwind-dev libdw-dev libelf-dev libzstd-dev libcmocka-dev libjansson-dev libmsgpack-dev"
PKGS="$PKGS libprotobuf-c-dev protobuf-c-compiler zlib1g-dev"
# The fleet store (ldprof push, ldprof fleet): libcurl speaks ClickHouse's HTTP
# interface; jansson (above) writes and reads its JSON.
PKGS="$PKGS libcurl4-openssl-dev"
PKGS="$PKGS python3 g++ binutils sqlite3 heaptrack zstd"
PKGS="$PKGS golang-go chromium valgrind python3-jsonschema fonts-dejavu-core tmux"
# Extra tools for later test tiers are appended below as features land.
PKGS="$PKGS ${LDPROF_EXTRA_PKGS:-}"

# The test part (not installed by `make demo`): tests/fleet starts a real
# clickhouse-server (Debian 12 ships 18.16) and queries it with clickhouse-client;
# tests/attach loads the agent into running programs with gdb (ldprof attach).
TEST_PKGS="clickhouse-server clickhouse-client gdb"
# C++ programs linked with tcmalloc and jemalloc, whose operator new is their
# own (tests/integration, cxx_allocators).
TEST_PKGS="$TEST_PKGS libgoogle-perftools-dev libjemalloc-dev"
[ "$PART" = build ] || PKGS="$PKGS $TEST_PKGS"

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
