#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses into DIR/<harness>/ (scripts/fuzz).

fuzz_ir: every .dlc file of the repository (tests/lit, examples). fuzz_idx: small IDX
files of every element type, plain and gzip. fuzz_safetensors: small checkpoints of every
dtype, with and without metadata. fuzz_graph starts from libFuzzer's own inputs.
"""
import gzip
import json
import os
import pathlib
import shutil
import struct
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = pathlib.Path(sys.argv[1])
shutil.rmtree(out, ignore_errors=True)

ir = out / "fuzz_ir"
ir.mkdir(parents=True)
for i, p in enumerate(sorted(list((root / "tests/lit").rglob("*.dlc")) + list((root / "examples").glob("*.dlc")))):
    shutil.copy(p, ir / f"{i:03d}-{p.name}")

idx = out / "fuzz_idx"
idx.mkdir(parents=True)
types = {0x08: "B", 0x09: "b", 0x0B: "h", 0x0C: "i", 0x0D: "f", 0x0E: "d"}
for code, fmt in types.items():
    for dims in ([5], [2, 3], [2, 2, 3], []):
        n = 1
        for d in dims:
            n *= d
        values = [(i * 7) % 100 - (0 if fmt == "B" else 50) for i in range(n)]
        body = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
        body += struct.pack(">" + fmt * n, *values)
        name = f"t{code:02x}-r{len(dims)}"
        (idx / f"{name}.idx").write_bytes(body)
        (idx / f"{name}.idx.gz").write_bytes(gzip.compress(body, mtime=0))

st = out / "fuzz_safetensors"
st.mkdir(parents=True)
dtypes = {"F32": ("<f", 4), "F64": ("<d", 8), "I32": ("<i", 4), "I64": ("<q", 8), "BOOL": ("<B", 1)}


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        fmt, size = dtypes[dtype]
        blob = b"".join(struct.pack(fmt, v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


st.joinpath("empty.safetensors").write_bytes(safetensors([]))
st.joinpath("one.safetensors").write_bytes(safetensors([("w", "F32", [2, 2], [1.0, -2.0, 0.5, 3.0])]))
st.joinpath("all.safetensors").write_bytes(safetensors(
    [("a", "F64", [2], [1.5, -0.0]), ("b", "I64", [1, 2], [7, -7]), ("c", "F32", [], [2.0]),
     ("d", "I32", [3], [1, 2, 3]), ("e", "BOOL", [2], [0, 1])], {"format": "pt", "step": "3"}))
st.joinpath("zero.safetensors").write_bytes(safetensors([("z", "F32", [0, 3], [])]))
