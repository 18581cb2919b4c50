#!/usr/bin/env python3
"""Loads a checkpoint written by rlmoe with the Python safetensors library and compares every
tensor's shape and sum with what rlmoe reported; recomputes rlmoe's checksums with Python's zlib
(each tensor's CRC-32, and the header's over its metadata, names, dtypes, shapes and offsets).
Then bfloat16 both ways: rlmoe's BF16 tensors load in safetensors and equal ml_dtypes' rounding
of the same floats, and a BF16 file written by safetensors reads in rlmoe with the same bits.

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
    from safetensors.numpy import load_file, save_file
    import ml_dtypes
except ImportError:
    # Under CI a cross-check that cannot run is a failure, never a silent skip.
    print("numpy, safetensors or ml_dtypes is not installed: " + ("failing (CI=true)" if os.environ.get("CI") == "true" else "skipping"))
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

# bfloat16, rlmoe -> Python: rlmoe's rounding against ml_dtypes' (round to nearest even), bit for bit.
bf16_path = os.path.join(scratch, "rlmoe_bf16.safetensors")
subprocess.run([writer, "--bf16", bf16_path], check=True)
written = load_file(bf16_path)
inputs, rounded = written["inputs"], written["rounded"]
if rounded.dtype != ml_dtypes.bfloat16:
    problems.append(f"rounded: dtype {rounded.dtype}, not bfloat16")
else:
    with np.errstate(invalid="ignore"):  # casting NaN is what is tested
        theirs = inputs.astype(ml_dtypes.bfloat16)
    nan = np.isnan(inputs)
    differ = (rounded.view(np.uint16) != theirs.view(np.uint16)) & ~nan
    differ |= nan & ~np.isnan(rounded.astype(np.float32))
    print(f"{int(differ.sum())} of {inputs.size} bf16 roundings by rlmoe differ from ml_dtypes'")
    for i in np.flatnonzero(differ)[:10]:
        problems.append(f"bf16({inputs[i]!r}): rlmoe {rounded.view(np.uint16)[i]:#06x}, ml_dtypes {theirs.view(np.uint16)[i]:#06x}")
    # Python -> rlmoe: safetensors writes ml_dtypes' rounding; rlmoe reads it and compares with its own.
    python_path = os.path.join(scratch, "python_bf16.safetensors")
    save_file({"inputs": inputs, "rounded": theirs}, python_path)
    check = subprocess.run([writer, "--check-bf16", python_path], capture_output=True, text=True)
    print(check.stdout.strip())
    if check.returncode != 0:
        problems.append("rlmoe read a BF16 file written by safetensors differently: " + check.stderr.strip())
    os.remove(python_path)
os.remove(bf16_path)
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
