#!/usr/bin/python3
"""tests/golden/make_bad.py BASE.ldp OUTDIR - write the known-bad traces.

Each OUTDIR/NAME.ldp comes with OUTDIR/NAME.expect: line 1 the exit status
`ldprof report` must give, line 2 a substring of its one-line message.
BASE is a real trace (its segment header and first frame are reused, so the
damage is the only thing wrong). Run once; the outputs are checked in
(tests/golden/bad/) and read by tests/golden/run.sh.
"""
import os
import random
import struct
import subprocess
import sys

SEG = 0x184D2A5D
ZSTD = 0xFD2FB528


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def record(t, payload):
    return bytes([t]) + varint(len(payload)) + payload


def compress(raw):
    return subprocess.run(["zstd", "-q", "-c", "--check"], input=raw, stdout=subprocess.PIPE, check=True).stdout


def split(data):
    """[(kind, bytes)] where kind is 'header' (whole skippable frame) or 'zstd'."""
    out, i = [], 0
    while i < len(data):
        magic, size = struct.unpack_from("<II", data, i)
        if magic == SEG:
            out.append(("header", data[i:i + 8 + size]))
            i += 8 + size
            continue
        j = i + 4
        while j + 4 <= len(data) and struct.unpack_from("<I", data, j)[0] not in (ZSTD, SEG):
            j += 1
        j = j if j + 4 <= len(data) else len(data)
        out.append(("zstd", data[i:j]))
        i = j
    return out


def main():
    base, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    data = open(base, "rb").read()
    parts = split(data)
    header = parts[0][1]
    frames = [b for k, b in parts if k == "zstd"]
    assert parts[0][0] == "header" and len(frames) >= 2, "base needs a header and two frames"
    first = frames[0]
    cases = {}

    def case(name, blob, status, needle):
        cases[name] = (blob, status, needle)

    # A killed process: the file ends inside its last frame. Not an error.
    case("truncated_tail", data[: len(data) - len(frames[-1]) // 2], 0, "ends inside a frame at byte")
    # Damage is skipped, reading resumes at the next segment header or frame,
    # and the report says what was skipped (one warning line, exit 0).
    rest = data[len(header) + len(first):]
    # A frame cut short in the middle of the file (never ended: an exec whose
    # last frame was not finished), the next image's segment header right after it.
    case("cut_mid_frame", header + first[: len(first) - 6] + rest, 0, "corrupt zstd frame")
    # The content checksum of the first frame does not match.
    bad = bytearray(first)
    bad[-1] ^= 0x55
    case("bad_checksum", header + bytes(bad) + rest, 0, "checksum")
    # A newer major version (2 is read since format 2.0; the file was patched to 3 then).
    newer = bytearray(header)
    newer[8 + 8] = 3
    case("newer_version", bytes(newer) + b"".join(frames), 1, "newer than this ldprof")
    # Random bytes.
    rnd = random.Random(8)
    case("garbage", bytes(rnd.randrange(256) for _ in range(3000)), 1, "not an ldprof trace")
    case("garbage_after_header", header + bytes(rnd.randrange(256) for _ in range(500)), 0,
         "neither a zstd frame nor a segment header")
    # Garbage between two frames.
    case("garbage_between_frames", header + first + bytes(rnd.randrange(256) for _ in range(300)) + rest, 0,
         "neither a zstd frame nor a segment header")
    # Valid zstd, but no trace in it.
    case("valid_zstd_not_a_trace", compress(b"this is a perfectly good zstd frame of plain text\n" * 20), 1,
         "not an ldprof trace")
    # Valid zstd after a valid header, but its content is not records.
    case("valid_zstd_not_records", header + compress(bytes(range(256)) * 4), 1, "frame at byte")
    # An event that uses a stack id no STACK record defined.
    ev = varint(0) + bytes([0x01]) + varint(77) + bytes([0x10]) + varint(1) + varint(0x2000) + varint(8) + varint(42)
    case("undefined_stack_id", header + compress(record(0x20, ev)), 1, "never defined")
    # A record whose length runs past the end of its frame.
    case("record_past_end", header + compress(record(0x30, varint(1) + varint(0) + varint(0)) + bytes([0x12, 100, 1, 0, 0])), 1,
         "crosses the end of its frame")
    # A record length varint that never ends.
    case("endless_varint", header + compress(bytes([0x20]) + b"\xff" * 15), 1, "malformed record length")
    # A zstd frame header claiming 2^60 bytes of content (single segment: the window is the content).
    huge = struct.pack("<I", ZSTD) + bytes([0xE0]) + struct.pack("<Q", 1 << 60) + bytes([0x21, 0, 0]) + b"abcd"
    case("huge_zstd_frame", header + huge, 0, "corrupt zstd frame")
    # A segment header claiming 4 GiB.
    case("huge_segment_header", struct.pack("<II", SEG, 0xFFFFFFF0) + header[8:], 1, "segment header claims")
    # Records after the segment's END.
    end = record(0x31, varint(1) + varint(5))
    case("record_after_end", header + compress(end + record(0x30, varint(1) + varint(6) + varint(0))), 1,
         "after the segment's END")
    # An event in a ring that never said which thread it belongs to.
    ev = varint(3) + bytes([0x20]) + varint(1) + varint(2)
    case("event_before_attach", header + compress(record(0x20, ev)), 1, "before its thread's ATTACH")
    # A free of address 0 (the agent never records one; the heap model's
    # maps use 0 as their empty key, so it once read a stale block index).
    ev = varint(0) + bytes([0x01]) + varint(5) + bytes([0x20, 1, 0])
    case("heap_event_at_zero", header + compress(record(0x20, ev)), 1, "heap event at address 0")
    # An unknown event op inside an EVENTS record (not 0x30..0x7f: those are
    # length-prefixed since format 1.3 and skipped when unknown).
    ev = varint(0) + bytes([0x01]) + varint(5) + bytes([0x05, 1, 2, 3])
    case("unknown_event_op", header + compress(record(0x20, ev)), 1, "unknown event type")

    for name, (blob, status, needle) in sorted(cases.items()):
        with open(os.path.join(out, name + ".ldp"), "wb") as f:
            f.write(blob)
        with open(os.path.join(out, name + ".expect"), "w") as f:
            f.write("%d\n%s\n" % (status, needle))
    print("%d known-bad traces in %s" % (len(cases), out))


if __name__ == "__main__":
    main()
