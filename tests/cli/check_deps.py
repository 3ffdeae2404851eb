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


def candidates(path):
    """path as named, or the file it links to; /usr/lib or /lib, which Debian 12 merges."""
    real = os.path.realpath(path)
    return [os.path.normpath(path), real, re.sub(r"^/usr/lib/", "/lib/", real),
            re.sub(r"^/usr/lib/", "/lib/", os.path.normpath(path))]


def owners(paths):
    """{path: the packages owning it}, from one dpkg -S for every candidate
    (one call per file took minutes on a loaded machine)."""
    cands = sorted({c for p in paths for c in candidates(p)})
    out = subprocess.run(["dpkg", "-S", *cands], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        pkgs, _, f = line.partition(": ")
        if f:
            found[f.strip()] = {x.strip().split(":")[0] for x in pkgs.split(",")}
    return {p: next((found[c] for c in candidates(p) if c in found), set()) for p in paths}


files = set()
srcs = glob.glob(f"{repo}/agent/*.c") + glob.glob(f"{repo}/reporter/*.c") + glob.glob(f"{repo}/reporter/*/*.c")
for src in srcs:
    deps = run("gcc", "-M", "-std=gnu11", f"-I{repo}/include", f"-I{repo}/reporter", f"-I{build}/gen", src)
    files |= {f for f in deps.replace("\\\n", " ").split() if f.startswith("/usr/")}
for lib in ("zstd", "dw", "elf", "dl", "m", "protobuf-c", "z", "curl", "jansson", "pthread"):
    path = run("gcc", f"-print-file-name=lib{lib}.so").strip()
    if os.path.isabs(path):
        files.add(path)
files.add(run("sh", "-c", "command -v protoc-c").strip())
files.add("/usr/lib/x86_64-linux-gnu/libunwind.so.8")
missing = {f: pk for f, pk in sorted(owners(sorted(files)).items()) if not pk & closure}
assert not missing, ("files the build uses from packages outside the build part", missing)
print(f"build part: {len(build_pkgs)} packages ({len(closure)} with their dependencies) give all {len(files)} "
      f"headers, libraries and tools the build uses; no test tool among them")
