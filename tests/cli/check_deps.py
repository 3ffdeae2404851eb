"""check_deps.py REPO BUILD_DIR - `make demo` installs only scripts/setup-deps.sh's
build part: check that it is enough, and that it holds no test tool.

Every system header the agent's and the reporter's sources include (gcc -M
with the build's flags), every library the reporter and the agent link and
the tools the build runs (protoc-c) belong to a package of the build part or
to one it depends on (apt-cache depends --recurse, from the local package
lists). And none of the tools only the tests use is in the build part.
"""
import glob
import os
import re
import subprocess
import sys

repo, build = sys.argv[1], sys.argv[2]


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


build_pkgs = run(f"{repo}/scripts/setup-deps.sh", "build", "--list").split()
all_pkgs = run(f"{repo}/scripts/setup-deps.sh", "all", "--list").split()
assert set(build_pkgs) <= set(all_pkgs), "the build part is not part of all"
test_only = {"chromium", "golang-go", "valgrind", "heaptrack", "libcmocka-dev", "python3-jsonschema", "sqlite3",
             "clickhouse-server", "clickhouse-client", "g++", "fonts-dejavu-core", "help2man"}
leaked = test_only & set(build_pkgs)
assert not leaked, ("test-only packages in the build part", leaked)

closure = set()
for line in run("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                "--no-breaks", "--no-replaces", "--no-enhances", *build_pkgs).splitlines():
    if not line.startswith(" "):
        closure.add(line.strip().split(":")[0])


def owner(path):
    """The packages owning path (as named, or the file it links to; /usr/lib
    or /lib, which Debian 12 merges)."""
    real = os.path.realpath(path)
    for cand in (os.path.normpath(path), real, re.sub(r"^/usr/lib/", "/lib/", real),
                 re.sub(r"^/usr/lib/", "/lib/", os.path.normpath(path))):
        out = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True).stdout
        if out:
            return {p.strip().split(":")[0] for p in out.split(": ", 1)[0].split(",")}
    return set()


files = set()
srcs = glob.glob(f"{repo}/agent/*.c") + glob.glob(f"{repo}/reporter/*.c") + glob.glob(f"{repo}/reporter/*/*.c")
for src in srcs:
    deps = run("gcc", "-M", "-std=gnu11", f"-I{repo}/include", f"-I{repo}/reporter", f"-I{build}/gen", src)
    files |= {f for f in deps.replace("\\\n", " ").split() if f.startswith("/usr/")}
for lib in ("zstd", "dw", "elf", "dl", "m", "protobuf-c", "z", "jansson", "pthread"):
    path = run("gcc", f"-print-file-name=lib{lib}.so").strip()
    if os.path.isabs(path):
        files.add(path)
files.add(run("sh", "-c", "command -v protoc-c").strip())
files.add("/usr/lib/x86_64-linux-gnu/libunwind.so.8")
missing = {}
for f in sorted(files):
    pk = owner(f)
    if not pk & closure:
        missing[f] = pk
assert not missing, ("files the build uses from packages outside the build part", missing)
print(f"build part: {len(build_pkgs)} packages ({len(closure)} with their dependencies) give all {len(files)} "
      f"headers, libraries and tools the build uses; no test tool among them")
