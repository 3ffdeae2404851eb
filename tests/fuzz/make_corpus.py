#!/usr/bin/python3
"""tests/fuzz/make_corpus.py OUTDIR TRACE... - seed corpora from real traces.

OUTDIR/fuzz_reader/  each trace whole (when small) and cut inside its last
                     frame, named after the trace
OUTDIR/fuzz_decode/  one file per distinct record payload, prefixed with the
                     selector byte fuzz_decode.c expects (0 header, 1 MODULE,
                     2 STACK, 3 ROUND, 4 END, 5 the events of an EVENTS
                     record, 6 SNAPSHOT, 7 SAMPLE, 8 SAMPLING, 9 LOST, 10 PATH,
                     11 RSS, 12 THREAD), at most PER_KIND per kind, cut at
                     MAX_LEN bytes

The decompression uses the zstd command (skippable frames are skipped).
Used once to seed tests/fuzz/corpus/; kept for regenerating it after a
format change.
"""
import hashlib
import os
import struct
import subprocess
import sys

MAX_TRACE = 6 << 10
MAX_LEN = 2048
PER_KIND = 12
SEGMENT_MAGIC = 0x184D2A5D
SELECTOR = {0x10: 1, 0x12: 2, 0x30: 3, 0x31: 4, 0x20: 5, 0x40: 6, 0x50: 7, 0x51: 8, 0x52: 9, 0x14: 10, 0x53: 11,
            0x13: 12}


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def frames(data):
    """Yield ('header', payload) and ('zstd', frame bytes) in file order."""
    i = 0
    while i + 8 <= len(data):
        magic, size = struct.unpack_from("<II", data, i)
        if magic & 0xFFFFFFF0 == 0x184D2A50:
            if magic == SEGMENT_MAGIC:
                yield "header", data[i + 8:i + 8 + size]
            i += 8 + size
            continue
        # A zstd frame: find its end by asking zstd for the next frame start.
        j = i + 4
        nxt = len(data)
        while j + 4 <= len(data):
            m = struct.unpack_from("<I", data, j)[0]
            if m == 0xFD2FB528 or m == SEGMENT_MAGIC:
                nxt = j
                break
            j += 1
        yield "zstd", data[i:nxt]
        i = nxt


def records(frame):
    raw = subprocess.run(["zstd", "-dcq"], input=frame, stdout=subprocess.PIPE, check=False).stdout
    i = 0
    while i < len(raw):
        t = raw[i]
        n, j = varint(raw, i + 1)
        yield t, raw[j:j + n]
        i = j + n


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    out, traces = sys.argv[1], sys.argv[2:]
    rd, dd = os.path.join(out, "fuzz_reader"), os.path.join(out, "fuzz_decode")
    os.makedirs(rd, exist_ok=True)
    os.makedirs(dd, exist_ok=True)
    seen, per = set(), {}
    for tr in traces:
        data = open(tr, "rb").read()
        name = os.path.basename(tr)
        if len(data) <= MAX_TRACE:
            write(os.path.join(rd, name), data)
            write(os.path.join(rd, name + ".cut"), data[: len(data) - max(3, len(data) // 10)])
        for kind, payload in frames(data):
            items = [(0, payload)] if kind == "header" else [
                (SELECTOR[t], p) for t, p in records(payload) if t in SELECTOR]
            for sel, p in items:
                if sel == 5:
                    _, k = varint(p, 0)  # the ring id is the reader's business
                    p = p[k:]
                blob = bytes([sel]) + p[:MAX_LEN]
                h = hashlib.sha1(blob).hexdigest()[:16]
                if h in seen or per.get(sel, 0) >= PER_KIND:
                    continue
                seen.add(h)
                per[sel] = per.get(sel, 0) + 1
                write(os.path.join(dd, "%d-%s" % (sel, h)), blob)
    print("reader: %d files, decode: %s" % (len(os.listdir(rd)), per))


if __name__ == "__main__":
    main()
