#!/usr/bin/env python3
"""TRL's GRPO formulas (GRPOTrainer: group-normalised advantages, clipped surrogate, k3 KL, the
"bnpo" and "grpo" aggregations, GSPO's sequence-level ratio) written in numpy over the synthetic
batch of benchmarks/grpo_loss_bench.cpp, whose hash this mirrors. Runs the benchmark with --quick
(Host backend, 1M tokens) and checks that rlmoe's loss values match.

    trl_formulas_numpy.py <path to grpo_loss_bench>       exit 0: match, 1: mismatch, 77: no numpy
"""
import json
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    # Under CI a cross-check that cannot run is a failure, never a silent skip.
    print("numpy is not installed: " + ("failing (CI=true)" if os.environ.get("CI") == "true" else "skipping"))
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

WIDTH, GROUP_SIZE, MASK32 = 1024, 16, 0xFFFFFFFF


def hash32(x):
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & MASK32
    return x ^ (x >> 16)


def hashed_uniform(k, s):
    return (hash32((k * 4 + s) & MASK32) >> 8).astype(np.float32) * np.float32(1.0 / 16777216.0)


def batch(tokens):
    k = np.arange(tokens, dtype=np.uint64)
    logp = np.float32(-3.0) + np.float32(2.9) * hashed_uniform(k, 0)
    old = logp + np.float32(0.8) * (hashed_uniform(k, 1) - np.float32(0.5))
    ref = logp + (hashed_uniform(k, 2) - np.float32(0.5))
    n = tokens // WIDTH
    i = np.arange(n, dtype=np.uint64)
    lengths = 1 + hash32((i * 4 + 3) & MASK32) % WIDTH
    mask = (np.arange(WIDTH)[None, :] < lengths[:, None]).astype(np.float64)
    rewards = ((hash32((i * 4 + 2) & MASK32) >> 31) != 0).astype(np.float64)
    grouped = rewards.reshape(-1, GROUP_SIZE)
    advantages = ((grouped - grouped.mean(1, keepdims=True)) / (grouped.std(1, ddof=1, keepdims=True) + 1e-4)).reshape(-1)
    as_matrix = lambda a: a.reshape(n, WIDTH).astype(np.float64)
    return as_matrix(logp), as_matrix(old), as_matrix(ref), mask, advantages


def trl_loss(logp, old, ref, mask, advantages, eps_low, eps_high, beta, sequence_ratio, loss_type):
    log_ratio = logp - old
    if sequence_ratio:
        log_ratio = ((log_ratio * mask).sum(-1) / np.maximum(mask.sum(-1), 1.0))[:, None] * np.ones_like(logp)
    coef_1 = np.exp(log_ratio)
    coef_2 = np.clip(coef_1, 1 - eps_low, 1 + eps_high)
    per_token = -np.minimum(coef_1 * advantages[:, None], coef_2 * advantages[:, None])
    if beta != 0.0:
        per_token = per_token + beta * (np.exp(ref - logp) - (ref - logp) - 1)
    if loss_type == "bnpo":
        return (per_token * mask).sum() / max(mask.sum(), 1.0)
    return ((per_token * mask).sum(-1) / np.maximum(mask.sum(-1), 1.0)).mean()


CASES = {
    "grpo_loss_token_mean_k3": dict(eps_low=0.2, eps_high=0.28, beta=0.04, sequence_ratio=False, loss_type="bnpo"),
    "grpo_loss_gspo": dict(eps_low=3e-4, eps_high=4e-4, beta=0.0, sequence_ratio=True, loss_type="grpo"),
}


def main():
    output = subprocess.run([sys.argv[1], "--quick"], check=True, capture_output=True, text=True).stdout
    checked = 0
    for line in output.splitlines():
        result = json.loads(line)
        if result["backend"] != "host" or result["bench"] not in CASES:
            continue
        expected = trl_loss(*batch(result["tokens"]), **CASES[result["bench"]])
        # rlmoe computes in float32 with float64 sums; the reference in float64 throughout.
        ok = abs(result["loss"] - expected) <= 1e-5 * max(abs(expected), 1e-3)
        print(f"{result['bench']}: rlmoe {result['loss']:.9g}, TRL formulas {expected:.9g}: {'ok' if ok else 'MISMATCH'}")
        checked += 1 if ok else -100
    sys.exit(0 if checked == len(CASES) else 1)


if __name__ == "__main__":
    main()
