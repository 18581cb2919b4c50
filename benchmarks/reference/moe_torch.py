#!/usr/bin/env python3
"""PyTorch twin of benchmarks/moe_bench.cpp: the same MoE layer (sigmoid gate with selection
bias, top-k, normalised gates, SwiGLU experts, shared experts), forward + backward by autograd,
in the two shapes of the benchmark. Two implementations:

  torch-loop          DeepSeek-V3's reference code (inference/model.py): a Python loop over the
                      experts, each gathering its tokens with torch.where, float32;
  torch-grouped-mm    torch._grouped_mm over the expert-sorted tokens, where this PyTorch has it
                      (it takes bfloat16, so it is not the same precision as rlmoe's float32).

Prints one JSON line per case in the benchmark's format.

    python3 benchmarks/reference/moe_torch.py [--quick] [--device cuda]
"""
import argparse
import json

import torch
import torch.nn.functional as F

from timing import median_ms

CASES = [
    ("8x2048_top2", dict(tokens=16384, d=1024, h=2048, experts=8, top_k=2, shared=0)),
    ("64x512_top8_shared1", dict(tokens=16384, d=1024, h=512, experts=64, top_k=8, shared=1)),
]


class Weights:
    def __init__(self, d, h, experts, shared, device, dtype=torch.float32):
        g = torch.Generator(device="cpu").manual_seed(1)
        def param(*shape, fan_in):
            w = torch.randn(*shape, generator=g) / fan_in ** 0.5
            return w.to(device=device, dtype=dtype).requires_grad_(True)
        self.router = param(experts, d, fan_in=d)
        self.bias = torch.zeros(experts, device=device)
        self.w_gate = param(experts, d, h, fan_in=d)
        self.w_up = param(experts, d, h, fan_in=d)
        self.w_down = param(experts, h, d, fan_in=h)
        hs = shared * h
        self.shared = [param(d, hs, fan_in=d), param(d, hs, fan_in=d), param(hs, d, fan_in=hs)] if hs else []

    def parameters(self):
        return [self.router, self.w_gate, self.w_up, self.w_down] + self.shared


def gate(x, w, top_k):
    scores = torch.sigmoid(x @ w.router.t())
    indices = torch.topk(scores + w.bias, top_k, dim=-1)[1]
    weights = scores.gather(1, indices)
    return weights / weights.sum(dim=-1, keepdim=True), indices


def shared_experts(x, w):
    if not w.shared:
        return 0
    g, u, dn = w.shared
    return (F.silu(x @ g) * (x @ u)) @ dn


def moe_loop(x, w, top_k):
    """DeepSeek-V3's MoE.forward: one gather and SwiGLU per expert."""
    weights, indices = gate(x, w, top_k)
    y = torch.zeros_like(x)
    counts = torch.bincount(indices.flatten(), minlength=w.router.shape[0]).tolist()
    for i, count in enumerate(counts):
        if count == 0:
            continue
        idx, top = torch.where(indices == i)
        xi = x[idx]
        out = (F.silu(xi @ w.w_gate[i]) * (xi @ w.w_up[i])) @ w.w_down[i]
        y = y.index_add(0, idx, out * weights[idx, top, None])
    return y + shared_experts(x, w)


def moe_grouped(x, w, top_k):
    """The expert GEMMs as torch._grouped_mm over the tokens sorted by expert (bfloat16)."""
    weights, indices = gate(x.float(), w, top_k)
    flat = indices.flatten()
    order = torch.argsort(flat, stable=True)
    token = order // top_k
    counts = torch.bincount(flat, minlength=w.router.shape[0])
    offsets = torch.cumsum(counts, 0).to(torch.int32)
    xs = x[token].to(torch.bfloat16)
    gate_out = torch._grouped_mm(xs, w.w_gate.to(torch.bfloat16), offs=offsets)
    up_out = torch._grouped_mm(xs, w.w_up.to(torch.bfloat16), offs=offsets)
    out = torch._grouped_mm(F.silu(gate_out) * up_out, w.w_down.to(torch.bfloat16), offs=offsets)
    out = out.float() * weights.flatten()[order, None]
    y = torch.zeros_like(x).index_add(0, token, out)
    return y + shared_experts(x, w)



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = args.device
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    variants = [("torch-loop", moe_loop)]
    if device == "cuda" and hasattr(torch, "_grouped_mm"):
        variants.append(("torch-grouped-mm-bf16", moe_grouped))
    for case, shape in CASES:
        tokens = 256 if args.quick or device != "cuda" else shape["tokens"]
        d, h, top_k = shape["d"], shape["h"], shape["top_k"]
        w = Weights(d, h, shape["experts"], shape["shared"], device)
        x = torch.randn(tokens, d, device=device)
        dy = torch.randn(tokens, d, device=device)
        slots = tokens * top_k
        forward_flops = 6.0 * d * h * slots + 6.0 * d * shape["shared"] * h * tokens + 2.0 * d * shape["experts"] * tokens
        for variant, fn in variants:
            def forward():
                with torch.no_grad():
                    fn(x, w, top_k)

            def step():
                for p in w.parameters():
                    p.grad = None
                fn(x, w, top_k).backward(dy)

            reps = 20 if device == "cuda" else 2
            forward_ms = median_ms(forward, device, reps, warmup=2)
            step_ms = median_ms(step, device, reps, warmup=2)
            print(json.dumps({"bench": f"moe_{case}", "backend": variant, "device": name, "tokens": tokens,
                              "forward_ms": forward_ms, "forward_backward_ms": step_ms,
                              "tflop_per_s": 3.0 * forward_flops / (step_ms * 1e-3) / 1e12}), flush=True)


if __name__ == "__main__":
    main()
