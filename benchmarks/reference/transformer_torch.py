#!/usr/bin/env python3
"""PyTorch twin of benchmarks/transformer_bench.cpp: the same model (tied embeddings, pre-RMSNorm
blocks, half-split rotary embeddings, causal attention through F.scaled_dot_product_attention,
a dense SwiGLU first layer, then MoE layers with a sigmoid gate, top-2 of 16 experts in
DeepSeek-V3's per-expert loop and one shared expert), scoring every token and back-propagating
the mean log-probability, as a GRPO training pass does. --precision picks float32 products (fp32),
TF32 tensor cores for float32 products (tf32), or bf16 autocast (bf16). Prints one JSON line in
the benchmark's format.

    python3 benchmarks/reference/transformer_torch.py [--quick] [--device cuda] [--compile] [--precision fp32|tf32|bf16]
"""
import argparse
import json

import torch
import torch.nn.functional as F

from timing import median_ms

VOCAB, DIM, LAYERS, HEADS, DENSE_HIDDEN, FIRST_MOE = 8192, 512, 6, 8, 1408, 1
EXPERTS, TOP_K, EXPERT_HIDDEN, SHARED = 16, 2, 352, 1
EPS, ROPE_BASE = 1e-6, 10000.0


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rope(x, positions):
    half = x.shape[-1] // 2
    freq = ROPE_BASE ** (-2.0 * torch.arange(half, device=x.device, dtype=torch.float64) / x.shape[-1])
    angle = positions[:, None].double() * freq[None, :]
    cos, sin = angle.cos().float()[:, None, :], angle.sin().float()[:, None, :]  # [L, 1, half]: over heads
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def swiglu(x, w_gate_up, w_down):
    h = w_down.shape[0]
    gu = x @ w_gate_up
    return (F.silu(gu[..., :h]) * gu[..., h:]) @ w_down


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        def param(*shape, fan_in):
            return torch.nn.Parameter(torch.randn(*shape, generator=g) / fan_in ** 0.5)
        self.embed = param(VOCAB, DIM, fan_in=DIM)
        self.layers = torch.nn.ModuleList()
        for l in range(LAYERS):
            layer = torch.nn.Module()
            layer.attn_norm = torch.nn.Parameter(torch.ones(DIM))
            layer.ffn_norm = torch.nn.Parameter(torch.ones(DIM))
            for name in ("wq", "wk", "wv", "wo"):
                setattr(layer, name, param(DIM, DIM, fan_in=DIM))
            if l < FIRST_MOE:
                layer.gate_up = param(DIM, 2 * DENSE_HIDDEN, fan_in=DIM)
                layer.down = param(DENSE_HIDDEN, DIM, fan_in=DENSE_HIDDEN)
            else:
                layer.router = param(EXPERTS, DIM, fan_in=DIM)
                layer.register_buffer("bias", torch.zeros(EXPERTS))
                layer.experts_gate_up = param(EXPERTS, DIM, 2 * EXPERT_HIDDEN, fan_in=DIM)
                layer.experts_down = param(EXPERTS, EXPERT_HIDDEN, DIM, fan_in=EXPERT_HIDDEN)
                layer.shared_gate_up = param(DIM, 2 * SHARED * EXPERT_HIDDEN, fan_in=DIM)
                layer.shared_down = param(SHARED * EXPERT_HIDDEN, DIM, fan_in=SHARED * EXPERT_HIDDEN)
            self.layers.append(layer)
        self.final_norm = torch.nn.Parameter(torch.ones(DIM))

    @staticmethod
    def moe(layer, x):
        scores = torch.sigmoid(x @ layer.router.t())
        indices = torch.topk(scores + layer.bias, TOP_K, dim=-1)[1]
        weights = scores.gather(1, indices)
        weights = weights / weights.sum(-1, keepdim=True)
        y = torch.zeros_like(x)
        counts = torch.bincount(indices.flatten(), minlength=EXPERTS).tolist()
        for i, count in enumerate(counts):
            if count == 0:
                continue
            idx, top = torch.where(indices == i)
            expert = swiglu(x[idx], layer.experts_gate_up[i], layer.experts_down[i]) * weights[idx, top, None]
            y = y.index_add(0, idx, expert.to(y.dtype))  # bf16 under autocast, y float
        return y + swiglu(x, layer.shared_gate_up, layer.shared_down)

    def forward(self, tokens):
        b, length = tokens.shape
        positions = torch.arange(length, device=tokens.device)
        x = self.embed[tokens].view(b * length, DIM)
        for l, layer in enumerate(self.layers):
            a = rmsnorm(x, layer.attn_norm)
            def heads(t):
                return t.view(b, length, HEADS, DIM // HEADS)
            q = rope(heads(a @ layer.wq), positions)
            k = rope(heads(a @ layer.wk), positions)
            v = heads(a @ layer.wv)
            o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
            x = x + o.transpose(1, 2).reshape(b * length, DIM) @ layer.wo
            f = rmsnorm(x, layer.ffn_norm)
            x = x + (swiglu(f, layer.gate_up, layer.down) if l < FIRST_MOE else self.moe(layer, f))
        logits = rmsnorm(x, self.final_norm) @ self.embed.t()
        logp = torch.log_softmax(logits.view(b, length, VOCAB)[:, :-1], dim=-1)
        return logp.gather(-1, tokens[:, 1:, None]).squeeze(-1)



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    args = parser.parse_args()
    device = args.device
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"  # fp32: float32 products, as rlmoe's
        torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
    sequences, length = (2, 128) if args.quick else ((16, 512) if device == "cuda" else (1, 256))
    model = Model().to(device)
    forward = torch.compile(model) if args.compile else model
    tokens = torch.randint(0, VOCAB, (sequences, length), device=device)

    def autocast():
        return torch.autocast(device, dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def forward_only():
        with torch.no_grad(), autocast():
            forward(tokens)

    def step():
        model.zero_grad(set_to_none=True)
        with autocast():
            logp = forward(tokens)
        logp.float().mean().backward()

    reps = 10 if device == "cuda" else 3
    forward_ms = median_ms(forward_only, device, reps, warmup=1)
    step_ms = median_ms(step, device, reps, warmup=1)
    n = sequences * length
    print(json.dumps({"bench": "transformer_forward_backward", "backend": "torch-compiled" if args.compile else "torch",
                      "precision": args.precision,
                      "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "sequences": sequences,
                      "length": length, "forward_ms": forward_ms, "forward_backward_ms": step_ms,
                      "tokens_per_s": n / (step_ms * 1e-3)}), flush=True)


if __name__ == "__main__":
    main()
