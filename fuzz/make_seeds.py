#!/usr/bin/env python3
"""Writes the fuzz seed corpora from the sample dumps (samples/go/*/*.zst).

Real dumps are megabytes; libFuzzer wants inputs of a few KiB. From each sample
this keeps a small but valid dump with the same record mix: the header, the
params record, the first few records of every tag in file order (data and bss
segments cut to their first 512 bytes and the pointer fields inside them), and
the EOF record; plus prefixes of it (truncated dumps) and of the raw dump. The
input target gets the zstd-compressed forms and cut-short zstd streams.

usage: fuzz/make_seeds.py OUT_DIR   (writes OUT_DIR/go_reader and OUT_DIR/input)
"""
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PER_TAG = {1: 24, 5: 12, 4: 4, 3: 16, 8: 8, 16: 4, 17: 8}  # records kept per tag; others 4
SEGMENT_BYTES = 512


def uvarint(b, pos):
    value, shift = 0, 0
    while True:
        c = b[pos]
        pos += 1
        value |= (c & 0x7F) << shift
        if c < 0x80:
            return value, pos
        shift += 7


def put_uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def skip_string(b, pos):
    n, pos = uvarint(b, pos)
    return pos + n


def skip_fields(b, pos):
    while True:
        kind, pos = uvarint(b, pos)
        if kind == 0:
            return pos
        _, pos = uvarint(b, pos)


def u(b, p, n):
    """Skips n uvarints."""
    for _ in range(n):
        _, p = uvarint(b, p)
    return p


def records(b):
    """(start, end, tag) of every record after the 16-byte header."""
    pos = 16
    while True:
        start = pos
        tag, pos = uvarint(b, pos)
        if tag == 0:
            pass
        elif tag == 1:
            pos = skip_fields(b, skip_string(b, u(b, pos, 1)))
        elif tag == 2:
            pos = u(b, skip_string(b, pos), 1)
        elif tag == 3:
            pos = u(b, skip_string(b, u(b, pos, 2)), 1)
        elif tag == 4:
            pos = u(b, skip_string(b, u(b, pos, 8)), 4)
        elif tag == 5:
            pos = skip_fields(b, skip_string(b, u(b, skip_string(b, u(b, pos, 3)), 3)))
        elif tag == 6:
            pos = u(b, skip_string(b, skip_string(b, u(b, pos, 4))), 1)
        elif tag in (7, 11):
            pos = u(b, pos, 5)
        elif tag in (8, 17):
            pos = u(b, pos, 2)
        elif tag == 9:
            pos = u(b, pos, 3)
        elif tag == 10:
            pos = u(b, pos, 61)
        elif tag in (12, 13):
            pos = skip_fields(b, skip_string(b, u(b, pos, 1)))
        elif tag == 14:
            pos = u(b, pos, 7)
        elif tag == 15:
            pos = u(b, pos, 6)
        elif tag == 16:
            pos = u(b, pos, 2)
            depth, pos = uvarint(b, pos)
            for _ in range(depth):
                pos = u(b, skip_string(b, skip_string(b, pos)), 1)
            pos = u(b, pos, 2)
        else:
            raise ValueError(f"unknown tag {tag} at {start}")
        yield start, pos, tag
        if tag == 0:
            return


def small_segment(b, start, tag):
    """A data/bss record cut to its first SEGMENT_BYTES and the fields inside them."""
    pos = uvarint(b, start)[1]
    address, pos = uvarint(b, pos)
    size, pos = uvarint(b, pos)
    contents = b[pos:pos + size]
    pos += size
    keep = min(size, SEGMENT_BYTES)
    out = put_uvarint(tag) + put_uvarint(address) + put_uvarint(keep) + contents[:keep]
    while True:
        kind, pos = uvarint(b, pos)
        if kind == 0:
            break
        offset, pos = uvarint(b, pos)
        if offset + 8 <= keep:
            out += put_uvarint(kind) + put_uvarint(offset)
    return out + put_uvarint(0)


def small_dump(b):
    out = bytearray(b[:16])
    kept = {}
    for start, end, tag in records(b):
        kept[tag] = kept.get(tag, 0) + 1
        if tag not in (0, 6) and kept[tag] > PER_TAG.get(tag, 4):
            continue
        out += small_segment(b, start, tag) if tag in (12, 13) else b[start:end]
    return bytes(out)


def zstd(data, level=3):
    return subprocess.run(["zstd", "-q", "-c", f"-{level}"], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def main():
    out = sys.argv[1]
    reader_dir = os.path.join(out, "go_reader")
    input_dir = os.path.join(out, "input")
    os.makedirs(reader_dir, exist_ok=True)
    os.makedirs(input_dir, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "samples/go/*/*.heapdump.zst"))):
        name = os.path.basename(path).split(".")[0]
        raw = subprocess.run(["zstd", "-q", "-dc", path], check=True,
                             stdout=subprocess.PIPE).stdout
        small = small_dump(raw)
        # The go_reader target's first byte is its option byte (bit 0: allow_truncated).
        seeds = {"small": small, "cut-half": small[:len(small) // 2],
                 "cut-200": small[:200], "raw-4k": raw[:4096]}
        for label, data in seeds.items():
            for allow in (0, 1):
                if label == "small" or allow == 1:
                    with open(os.path.join(reader_dir, f"{name}-{label}-{allow}"), "wb") as f:
                        f.write(bytes([allow]) + data)
        z = zstd(small)
        for label, data in {"small.zst": z, "cut.zst": z[:len(z) // 2], "small": small}.items():
            with open(os.path.join(input_dir, f"{name}-{label}"), "wb") as f:
                f.write(data)
        with open(path, "rb") as f:
            head = f.read(2048)  # a real zstd stream cut short
        with open(os.path.join(input_dir, f"{name}-sample-head.zst"), "wb") as f:
            f.write(head)


if __name__ == "__main__":
    main()
