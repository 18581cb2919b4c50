#!/usr/bin/env python3
"""What rlmoe writes, read by transformers: each fixture that has a tokenizer.json (what example 04 trains on) is
trained for a few GRPO steps by examples/04_hf_grpo and exported (the others are exported as loaded); transformers loads the export (and a bfloat16, sharded re-export of it) and its logits on
fixed batches must equal rlmoe's within 1e-4 relative (float32), as they do for the fixture itself.

    check_with_transformers.py <04_hf_grpo> <hf_model_tool> <scratch dir> <fixture dir>...
Needs torch and transformers (CPU is enough); exits 77 without them. (CI has neither: PyPI's torch
brings several GB of CUDA libraries. The fixtures' recorded logits cover loading there.)
"""
import json
import os
import shutil
import subprocess
import sys

try:
    import torch
    from transformers import AutoModelForCausalLM
except Exception as e:  # ImportError, or torch's own missing libraries
    print(f"torch and transformers are not available ({type(e).__name__}): skipping")
    sys.exit(77)

trainer, tool, scratch = sys.argv[1:4]
fixtures = sys.argv[4:]
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
lengths = [16, 11, 6]
mask = (torch.arange(16)[None, :] < torch.tensor(lengths)[:, None]).long()

problems = []
for fixture in fixtures:
    out = os.path.join(scratch, os.path.basename(fixture))
    trained = os.path.join(out, "model")
    with open(os.path.join(fixture, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    tokens = torch.randint(0, vocab, (3, 16), generator=torch.Generator().manual_seed(3))
    request = os.path.join(scratch, os.path.basename(fixture) + "_tokens.json")
    with open(request, "w") as f:
        json.dump({"tokens": tokens.tolist(), "lengths": lengths}, f)
    if os.path.exists(os.path.join(fixture, "tokenizer.json")):
        subprocess.run([trainer, "--model", fixture, "--steps", "3", "--cold-start", "2", "--quiet", "--no-check", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
    else:
        subprocess.run([tool, "export", fixture, trained], check=True)
    sharded = os.path.join(out, "model_bf16_sharded")
    subprocess.run([tool, "export", trained, sharded, "bf16", "150000"], check=True)
    for name, directory in [("fixture", fixture), ("exported", trained), ("re-exported in bf16 shards", sharded)]:
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
        with torch.no_grad():
            expected = model(input_ids=tokens, attention_mask=mask).logits
        got = json.loads(subprocess.run([tool, "logits", directory, request], check=True, capture_output=True, text=True).stdout)
        error, scale = 0.0, 0.0
        for s, length in enumerate(lengths):
            g = torch.tensor(got[s], dtype=torch.float64)
            e = expected[s, :length].double()
            error = max(error, (g - e).abs().max().item())
            scale = max(scale, e.abs().max().item())
        relative = error / scale
        files = sorted(f for f in os.listdir(directory) if f.endswith(".safetensors") or f.endswith(".json"))
        print(f"{name}: {directory} ({', '.join(files)}): rlmoe vs transformers logits, relative error {relative:.2e}")
        if not relative < 1e-4:
            problems.append(f"{directory}: relative error {relative:.3e} >= 1e-4")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"ok: transformers {__import__('transformers').__version__} (torch {torch.__version__}) computes rlmoe's logits on what rlmoe exports")
