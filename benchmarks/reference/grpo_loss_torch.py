#!/usr/bin/env python3
"""PyTorch twin of benchmarks/grpo_loss_bench.cpp: GRPO advantages and the clipped-surrogate loss
with TRL's formulas (GRPOTrainer._compute_loss), the gradient by autograd, over the same synthetic
batch (grpo_inputs.hpp's hash, mirrored here). Prints one JSON line per case, in the same format,
with the loss value so that the two programs can be compared.

    python3 benchmarks/reference/grpo_loss_torch.py [--quick] [--compile] [--device cuda]
"""
import argparse
import json

import torch

from timing import median_ms

WIDTH = 1024
GROUP_SIZE = 16
MASK32 = 0xFFFFFFFF


def hash32(x):
    """lowbias32 on int64 tensors holding 32-bit values (products wrap, the low bits stay exact)."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & MASK32
    return x ^ (x >> 16)


def hashed_uniform(k, s):
    return (hash32((k * 4 + s) & MASK32) >> 8).to(torch.float32) * (1.0 / 16777216.0)


def make_batch(tokens, device):
    k = torch.arange(tokens, dtype=torch.int64, device=device)
    logp = -3.0 + 2.9 * hashed_uniform(k, 0)
    old = logp + 0.8 * (hashed_uniform(k, 1) - 0.5)
    ref = logp + (hashed_uniform(k, 2) - 0.5)
    n = tokens // WIDTH
    i = torch.arange(n, dtype=torch.int64, device=device)
    lengths = 1 + hash32((i * 4 + 3) & MASK32) % WIDTH
    t = torch.arange(WIDTH, device=device)
    mask = (t.unsqueeze(0) < lengths.unsqueeze(1)).to(torch.float32)
    rewards = ((hash32((i * 4 + 2) & MASK32) >> 31) != 0).to(torch.float32)
    shape = (n, WIDTH)
    return logp.view(shape), old.view(shape), ref.view(shape), mask, rewards


def advantages_grpo(rewards):
    """TRL: (r - mean) / (std + 1e-4) per group, std unbiased (torch.std)."""
    grouped = rewards.view(-1, GROUP_SIZE)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True)
    return ((grouped - mean) / (std + 1e-4)).view(-1)


def trl_loss(logp, old, ref, mask, advantages, eps_low, eps_high, beta, level, loss_type):
    per_token_kl = torch.exp(ref - logp) - (ref - logp) - 1 if beta != 0.0 else None
    log_ratio = logp - old
    if level == "sequence":
        log_weights = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    else:
        log_weights = log_ratio
    coef_1 = torch.exp(log_weights)
    coef_2 = torch.clamp(coef_1, 1 - eps_low, 1 + eps_high)
    per_token_loss = -torch.min(coef_1 * advantages.unsqueeze(1), coef_2 * advantages.unsqueeze(1))
    if beta != 0.0:
        per_token_loss = per_token_loss + beta * per_token_kl
    if loss_type == "bnpo":
        return (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0)
    return ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()  # "grpo"


CASES = {
    "token_mean_k3": dict(eps_low=0.2, eps_high=0.28, beta=0.04, level="token", loss_type="bnpo"),
    "gspo": dict(eps_low=3e-4, eps_high=4e-4, beta=0.0, level="sequence", loss_type="grpo"),
}



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of the loss")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = args.device
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    m = 1 << 20
    sizes = [m] if args.quick else ([m, 4 * m, 16 * m, 64 * m] if device == "cuda" else [m, 4 * m, 16 * m])
    variants = [("eager", trl_loss)]
    if args.compile:
        variants.append(("compiled", torch.compile(trl_loss)))
    for tokens in sizes:
        logp, old, ref, mask, rewards = make_batch(tokens, device)
        for case, config in CASES.items():
            for variant, loss_fn in variants:
                x = logp.clone().requires_grad_(True)
                state = {}

                def step():
                    advantages = advantages_grpo(rewards)
                    loss = loss_fn(x, old, ref, mask, advantages, **config)
                    x.grad = None
                    loss.backward()
                    state["loss"] = loss

                ms = median_ms(step, device, repetitions=30 if device == "cuda" else 5)
                print(json.dumps({"bench": f"grpo_loss_{case}", "backend": f"torch-{variant}", "device": name,
                                  "tokens": tokens, "advantages_plus_loss_ms": ms,
                                  "loss": float(state["loss"].detach())}), flush=True)


if __name__ == "__main__":
    main()
