#!/usr/bin/env python3
"""Writes seeded random mutants of a polc image (runtime-bpf/image.h, schemas/image-format.md).

    mutate-image.py IMAGE OUTDIR COUNT [SEED]

Each mutant is OUTDIR/NNNNN.polc; OUTDIR/manifest.tsv has one line per mutant: the file name,
the mutation, and whether the trailing sha256 was recomputed ("redigest") so that the checks
behind the digest see the damage, or left alone ("stale").

Mutations: truncations; bit flips; byte overwrites in the header; section-table fields set to
boundary values; two section-table entries swapped; two equal-length payload regions swapped;
capacity fields; record fields (every 32-bit word of a random record) set to boundary values;
a record copied onto its neighbour (repeats, order); ranges zeroed; bytes appended; header
fields (versions, sizes, counts, node name). About two in three get their digest recomputed.
"""
import hashlib
import os
import random
import struct
import sys

HEADER = 256
SECTION = 24
DIGEST = 32
# header offsets (image.h)
OFF_FORMAT, OFF_ABI, OFF_ENDIAN, OFF_HSIZE, OFF_GEN, OFF_TOTAL = 8, 12, 16, 20, 24, 32
OFF_NODE = 40
OFF_NSECTIONS = 40 + 64 + 24 + 32 + 32
OFF_FLAGS = OFF_NSECTIONS + 4
OFF_CAPACITY = OFF_FLAGS + 4  # 8 x u32


def boundary_values(old, width):
    top = (1 << (8 * width)) - 1
    vals = [0, 1, 2, 7, 8, 63, 64, 88, 89, 255, 256, 65535, 65536, top, top - 1, top >> 1,
            (top >> 1) + 1, old + 1, old - 1, old * 2, old + 8, old - 8, old ^ 0x80]
    return [v & top for v in vals]


def sections(b):
    n = struct.unpack_from("<I", b, OFF_NSECTIONS)[0]
    out = []
    for i in range(min(n, 16)):
        if HEADER + SECTION * (i + 1) > len(b):
            break
        t, es, off, cnt = struct.unpack_from("<IIQQ", b, HEADER + SECTION * i)
        out.append((i, t, es, off, cnt))
    return out


def redigest(b):
    if len(b) >= DIGEST:
        b[-DIGEST:] = hashlib.sha256(bytes(b[:-DIGEST])).digest()


def mutate(orig, rng):
    b = bytearray(orig)
    secs = sections(b)
    kind = rng.randrange(16)
    fix = rng.random() < 0.67
    if kind == 0:
        cut = rng.randrange(len(b))
        b = b[:cut]
        if fix and len(b) >= HEADER:
            struct.pack_into("<Q", b, OFF_TOTAL, len(b))
        what = "truncate to %d" % cut
    elif kind == 1:
        flips = rng.randint(1, 4)
        for _ in range(flips):
            i = rng.randrange(len(b) - (DIGEST if fix else 0))
            b[i] ^= 1 << rng.randrange(8)
        what = "flip %d bits" % flips
    elif kind == 2:
        i = rng.randrange(HEADER)
        b[i] = rng.randrange(256)
        what = "header byte %d" % i
    elif kind == 3 and secs:
        i, t, es, off, cnt = rng.choice(secs)
        field = rng.randrange(4)
        base = HEADER + SECTION * i
        if field < 2:
            old = struct.unpack_from("<I", b, base + 4 * field)[0]
            struct.pack_into("<I", b, base + 4 * field, rng.choice(boundary_values(old, 4)))
        else:
            o = base + 8 + 8 * (field - 2)
            old = struct.unpack_from("<Q", b, o)[0]
            vals = boundary_values(old, 8) + [len(b), len(b) - DIGEST, len(b) + 8, (1 << 64) - 8]
            struct.pack_into("<Q", b, o, rng.choice(vals) & ((1 << 64) - 1))
        what = "section %d field %s" % (t, ["type", "entry_size", "offset", "count"][field])
    elif kind == 4 and len(secs) >= 2:
        (i, *_), (k, *_) = rng.sample(secs, 2)
        a, c = HEADER + SECTION * i, HEADER + SECTION * k
        b[a:a + SECTION], b[c:c + SECTION] = b[c:c + SECTION], b[a:a + SECTION]
        what = "swap section entries %d and %d" % (i, k)
    elif kind == 5:
        live = [s for s in secs if s[4] and s[3] + s[2] * s[4] <= len(b) - DIGEST]
        if len(live) >= 2:
            s1, s2 = rng.sample(live, 2)
            n = min(s1[2] * s1[4], s2[2] * s2[4], 64)
            b[s1[3]:s1[3] + n], b[s2[3]:s2[3] + n] = b[s2[3]:s2[3] + n], b[s1[3]:s1[3] + n]
            what = "swap %d payload bytes of sections %d and %d" % (n, s1[1], s2[1])
        else:
            what = "swap payloads (none)"
    elif kind == 6:
        j = rng.randrange(8)
        o = OFF_CAPACITY + 4 * j
        old = struct.unpack_from("<I", b, o)[0]
        struct.pack_into("<I", b, o, rng.choice(boundary_values(old, 4)))
        what = "capacity field %d" % j
    elif kind in (7, 8, 9) and secs:
        live = [s for s in secs if s[4] and s[2] >= 4 and s[3] + s[2] * s[4] <= len(b) - DIGEST]
        if live:
            i, t, es, off, cnt = rng.choice(live)
            r = rng.randrange(cnt)
            w = rng.randrange(es // 4)
            o = off + es * r + 4 * w
            old = struct.unpack_from("<I", b, o)[0]
            struct.pack_into("<I", b, o, rng.choice(boundary_values(old, 4)))
            what = "section %d record %d word %d" % (t, r, w)
        else:
            what = "record (none)"
    elif kind == 10 and secs:
        live = [s for s in secs if s[4] >= 2 and s[3] + s[2] * s[4] <= len(b) - DIGEST]
        if live:
            i, t, es, off, cnt = rng.choice(live)
            r = rng.randrange(cnt - 1)
            src, dst = (r, r + 1) if rng.random() < 0.5 else (r + 1, r)
            b[off + es * dst:off + es * (dst + 1)] = b[off + es * src:off + es * (src + 1)]
            what = "section %d record %d copied onto %d" % (t, src, dst)
        else:
            what = "copy record (none)"
    elif kind == 11:
        start = rng.randrange(len(b))
        n = rng.randint(1, 256)
        end = min(len(b) - (DIGEST if fix else 0), start + n)
        b[start:end] = bytes(max(0, end - start))
        what = "zero %d bytes at %d" % (max(0, end - start), start)
    elif kind == 12:
        n = rng.choice([1, 7, 8, 24, 4096])
        b[-DIGEST:-DIGEST] = bytes(rng.randrange(256) for _ in range(n))
        if fix:
            struct.pack_into("<Q", b, OFF_TOTAL, len(b))
        what = "insert %d bytes before the digest" % n
    elif kind == 13:
        field, fmt = rng.choice([(OFF_FORMAT, "<I"), (OFF_ABI, "<I"), (OFF_ENDIAN, "<I"),
                                 (OFF_HSIZE, "<I"), (OFF_TOTAL, "<Q"), (OFF_NSECTIONS, "<I"),
                                 (OFF_FLAGS, "<I"), (OFF_GEN, "<Q")])
        old = struct.unpack_from(fmt, b, field)[0]
        struct.pack_into(fmt, b, field, rng.choice(boundary_values(old, struct.calcsize(fmt))))
        what = "header field at %d" % field
    elif kind == 14:
        node = bytes(rng.choice([b"x" * 64, b"", b"worker1\xff", b"../etc", b"a" * 63]))
        b[OFF_NODE:OFF_NODE + 64] = (node + bytes(64))[:64]
        what = "node name %r" % node[:16]
    else:
        i = rng.randrange(len(b))
        n = rng.randint(1, 16)
        b[i:i + n] = bytes(rng.randrange(256) for _ in range(min(n, len(b) - i)))
        what = "overwrite %d bytes at %d" % (n, i)
    if fix:
        redigest(b)
    return bytes(b), what, "redigest" if fix else "stale"


def main():
    image, outdir, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    orig = open(image, "rb").read()
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "manifest.tsv"), "w") as man:
        for n in range(count):
            data, what, dig = mutate(orig, rng)
            while data[:-DIGEST] == orig[:-DIGEST] and len(data) == len(orig):
                data, what, dig = mutate(orig, rng)  # a no-op: try another
            name = "%05d.polc" % n
            open(os.path.join(outdir, name), "wb").write(data)
            man.write("%s\t%s\t%s\n" % (name, what, dig))


if __name__ == "__main__":
    main()
