#!/usr/bin/env python3
"""The scaling model of docs/scaling.md: memory per GPU, compute and communication per GRPO step for
published MoE shapes on 8 to 1024 H100s. Prints the Markdown tables the page shows; every input is
named below with its source (docs/scaling.md lists them)."""

GB = 1e9

# Parameters (total, of which routed experts), active per token, MoE layers, width, top-k.
MODELS = {
    # OLMoE-1B-7B: 16 layers, d 2048, 64 experts x (3 x 2048 x 1024), top-8; 6.92B total, 1.28B active.
    "OLMoE-1B-7B": dict(total=6.92e9, experts=16 * 64 * 3 * 2048 * 1024, active=1.28e9, moe_layers=16, d=2048, k=8),
    # Qwen3-30B-A3B: 48 layers, d 2048, 128 experts x (3 x 2048 x 768), top-8; 30.5B total, 3.3B active.
    "Qwen3-30B-A3B": dict(total=30.5e9, experts=48 * 128 * 3 * 2048 * 768, active=3.3e9, moe_layers=48, d=2048, k=8),
    # DeepSeek-V3: 61 layers (3 dense), d 7168, 256 routed x (3 x 7168 x 2048), top-8; 671B, 37B active.
    "DeepSeek-V3": dict(total=671e9, experts=58 * 256 * 3 * 7168 * 2048, active=37e9, moe_layers=58, d=7168, k=8),
}

# Bytes per parameter of the model states: bf16 weights, float32 master weights, AdamW's two float32
# moments, float32 gradients (rlmoe keeps gradients in the master type).
W, MASTER, ADAM, GRAD = 2, 4, 8, 4

# The step: 256 prompts x 16 completions, 512 prompt + 1536 completion tokens each.
PROMPTS, GROUP, PROMPT_LEN, COMPLETION_LEN = 256, 16, 512, 1536
SEQUENCES = PROMPTS * GROUP
TOKENS = SEQUENCES * (PROMPT_LEN + COMPLETION_LEN)
GENERATED = SEQUENCES * COMPLETION_LEN

# Rates. bf16 dense GEMM and rlmoe's bf16 MoE layer, measured (docs/benchmarks.md, H200 2026-11-30:
# 750 TFLOP/s dense 4096^3, 230 TFLOP/s for the MoE layer forward+backward, 8 experts x 2048);
# an H100 SXM is taken at 0.8 of that (its HBM and clocks; an assumption). Decode: assumed 10% of
# the dense rate (memory-bound: every step reads the active weights and the KV cache).
TRAIN_RATE = 0.8 * 230e12
DECODE_RATE = 0.10 * 0.8 * 750e12
# Links, per GPU and direction: NVLink 4 450 GB/s (H100 SXM datasheet: 900 GB/s bidirectional), of
# which NCCL's ring all-reduce is taken to reach 80%; InfiniBand NDR 400 Gb/s = 50 GB/s per GPU,
# 80% reached. The all-to-all: DeepEP's measured 153 GB/s intranode (NVLink, H800) and 43-58 GB/s
# internode (RDMA, CX7 400 Gb/s); rlmoe's NCCL all_to_all_v is assumed at 0.7 of those.
NVLINK_ALLREDUCE, IB_ALLREDUCE = 0.8 * 450 * GB, 0.8 * 50 * GB
NVLINK_A2A, IB_A2A = 0.7 * 153 * GB, 0.7 * 45 * GB
GPU_MEMORY = 80 * GB
STATE_BUDGET = 60 * GB  # of 80 GB: the rest for activations (recomputed), the KV cache, workspaces


def memory_per_gpu(m, n, ep, zero):
    """Model-state bytes per GPU on n GPUs, experts split ep ways, ZeRO stage 0, 1 or 2 over the
    data-parallel replicas (n for the dense part, n / ep for each expert)."""
    dense, experts = m["total"] - m["experts"], m["experts"] / ep
    def states(params, replicas):
        if zero == 0:
            return params * (W + MASTER + ADAM + GRAD)
        if zero == 1:
            return params * (W + GRAD + (MASTER + ADAM) / replicas)
        return params * (W + (MASTER + ADAM + GRAD) / replicas)
    return states(dense, n) + states(experts, n / ep)


def step_times(m, n, ep):
    """Seconds per step on n GPUs: compute (training, old-policy pass, rollout), the gradient
    all-reduce and the expert all-to-all, without overlap."""
    train = (6 + 2) * m["active"] * TOKENS / (TRAIN_RATE * n)  # forward+backward, and the old-policy forward
    rollout = 2 * m["active"] * GENERATED / (DECODE_RATE * n)
    intranode = n <= 8
    # Gradients (float32): a ring all-reduce sends and receives 2 (r - 1) / r of them per GPU; the
    # dense part over n replicas, each expert over n / ep.
    def allreduce(params, replicas):
        return 0.0 if replicas <= 1 else 2 * (replicas - 1) / replicas * params * GRAD
    grad_bytes = allreduce(m["total"] - m["experts"], n) + allreduce(m["experts"] / ep, n / ep)
    grads = grad_bytes / (NVLINK_ALLREDUCE if intranode else IB_ALLREDUCE)
    # All-to-all: per token and MoE layer, k rows of d bf16 dispatched and combined in each of the
    # forward, backward (twice) and old-policy passes and each generated token's decode, the
    # fraction (ep - 1) / ep leaving the GPU; the tokens are divided over the n GPUs.
    if ep > 1:
        passes = 2 * (TOKENS * (1 + 2 + 1) + GENERATED)
        a2a_bytes = passes * m["moe_layers"] * m["k"] * m["d"] * 2 * (ep - 1) / ep / n
        a2a = a2a_bytes / (NVLINK_A2A if ep <= 8 else IB_A2A)
    else:
        a2a_bytes, a2a = 0.0, 0.0
    return dict(train=train, rollout=rollout, grads=grads, a2a=a2a, grad_gb=grad_bytes / GB, a2a_gb=a2a_bytes / GB)


def main():
    print(f"Step: {PROMPTS} prompts x {GROUP} completions, {TOKENS / 1e6:.1f}M tokens ({GENERATED / 1e6:.1f}M generated)\n")
    for name, m in MODELS.items():
        print(f"### {name}: {m['total'] / 1e9:.1f}B parameters ({m['experts'] / 1e9:.1f}B in routed experts), "
              f"{m['active'] / 1e9:.2f}B active\n")
        print("| GPUs | EP | GB/GPU: DP | ZeRO-1 | ZeRO-2 | fits (ZeRO-2, 60 GB) | compute s | gradients GB/GPU, s | "
              "all-to-all GB/GPU, s | step s | communication |")
        print("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for n in (8, 64, 256, 1024):
            for ep in (1, 8, 64, 256):
                if ep > n:
                    continue
                mem = [memory_per_gpu(m, n, ep, z) / GB for z in (0, 1, 2)]
                t = step_times(m, n, ep)
                compute = t["train"] + t["rollout"]
                comm = t["grads"] + t["a2a"]
                fits = "yes" if mem[2] * GB <= STATE_BUDGET else "no"
                print(f"| {n} | {ep} | {mem[0]:.0f} | {mem[1]:.1f} | {mem[2]:.1f} | {fits} | {compute:.1f} | "
                      f"{t['grad_gb']:.1f}, {t['grads']:.2f} | {t['a2a_gb']:.1f}, {t['a2a']:.2f} | {compute + comm:.1f} | "
                      f"{comm / (compute + comm):.0%} |")
        print()


if __name__ == "__main__":
    main()
