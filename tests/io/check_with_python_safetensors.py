#!/usr/bin/env python3
"""Loads a checkpoint written by rlmoe with the Python safetensors library and compares every
tensor's shape and sum with what rlmoe reported; recomputes rlmoe's checksums with Python's zlib
(each tensor's CRC-32, and the header's over its metadata, names, dtypes, shapes and offsets).

    check_with_python_safetensors.py <write_checkpoint_sample> <scratch dir>    exit 77 without safetensors
"""
import json
import os
import struct
import subprocess
import sys
import zlib

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file
except ImportError:
    # Under CI a cross-check that cannot run is a failure, never a silent skip.
    print("numpy or safetensors is not installed: " + ("failing (CI=true)" if os.environ.get("CI") == "true" else "skipping"))
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

writer, scratch = sys.argv[1], sys.argv[2]
os.makedirs(scratch, exist_ok=True)
path = os.path.join(scratch, "rlmoe_sample.safetensors")
expected = json.loads(subprocess.run([writer, path], check=True, capture_output=True, text=True).stdout)
tensors = load_file(path)
with safe_open(path, framework="numpy") as f:
    metadata = f.metadata()
problems = []
if set(tensors) != set(expected):
    problems.append(f"tensor names differ: {sorted(set(tensors) ^ set(expected))}")
for name, info in expected.items():
    array = tensors.get(name)
    if array is None:
        continue
    if list(array.shape) != info["shape"] or array.dtype != np.float32:
        problems.append(f"{name}: {array.dtype} {list(array.shape)} instead of float32 {info['shape']}")
    total = float(array.astype(np.float64).sum())
    if abs(total - info["sum"]) > 1e-9 * max(1.0, abs(info["sum"])):
        problems.append(f"{name}: sum {total} instead of {info['sum']}")
for key, value in [("format", "rlmoe-checkpoint/2"), ("step", "42"), ("trainer.note", "written by rlmoe")]:
    if metadata.get(key) != value:
        problems.append(f"metadata {key} = {metadata.get(key)!r}, expected {value!r}")

# The checksums, from the raw file: zlib.crc32 of each tensor's bytes, and of the header's fields,
# each followed by a NUL byte, in the file's order (the header checksum's own entry left out).
with open(path, "rb") as raw:
    length = struct.unpack("<Q", raw.read(8))[0]
    header = json.loads(raw.read(length), object_pairs_hook=list)
    data = raw.read()
crc = 0
def field(text):
    global crc
    crc = zlib.crc32(text.encode() + b"\0", crc)
for name, entry in header:
    if name == "__metadata__":
        for key, value in entry:
            if key != "header_crc32":
                field(key)
                field(value)
        continue
    entry = dict(entry)
    begin, end = entry["data_offsets"]
    field(name)
    field(entry["dtype"])
    for extent in entry["shape"]:
        field(str(extent))
    field(f"{begin}-{end}")
    if metadata.get("crc32." + name) != str(zlib.crc32(data[begin:end])):
        problems.append(f"{name}: its crc32 metadata is not zlib's CRC-32 of its bytes")
if metadata.get("header_crc32") != str(crc):
    problems.append(f"header_crc32 = {metadata.get('header_crc32')!r}, but the header's fields give {crc}")
os.remove(path)
print(f"{len(expected)} tensors read by safetensors {'' if problems else 'match'}")
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
