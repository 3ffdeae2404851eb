# dict.py - a dict-heavy Python workload for scripts/bench (run with
# PYTHONMALLOC=malloc so every object is a malloc/free the tracers see).
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
d = {}
for i in range(n):
    d["key%d" % i] = [i, str(i)]
for i in range(0, n, 2):
    del d["key%d" % i]
inv = {v[1]: k for k, v in d.items()}
words = {}
for k in inv:
    words.setdefault(k[-1], []).append(k)
total = sum(len(v) for v in words.values())
print(len(d), len(inv), total)
