#!/usr/bin/env python3
"""Loads a checkpoint written by rlmoe with the Python safetensors library and compares every
tensor's shape and sum with what rlmoe reported.

    check_with_python_safetensors.py <write_checkpoint_sample> <scratch dir>    exit 77 without safetensors
"""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file
except ImportError:
    print("numpy or safetensors is not installed: skipping")
    sys.exit(77)

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
for key, value in [("format", "rlmoe-checkpoint/1"), ("step", "42"), ("trainer.note", "written by rlmoe")]:
    if metadata.get(key) != value:
        problems.append(f"metadata {key} = {metadata.get(key)!r}, expected {value!r}")
os.remove(path)
print(f"{len(expected)} tensors read by safetensors {'' if problems else 'match'}")
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
