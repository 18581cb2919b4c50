#!/usr/bin/env bash
# The main job: installs what is missing (when root), builds, and trains example 01 — GRPO on a
# small Mixture-of-Experts transformer, on the GPU when one is present and otherwise on the CPU —
# with its embedded default configuration. Writes runs/quickstart/metrics.jsonl, curves.png and
# checkpoint.safetensors, and prints the final held-out accuracy.
#   scripts/quickstart.sh                          the default run
#   scripts/quickstart.sh --steps 500 --seed 7     options go to the example (see --help there):
#                                                  --task, --steps, --cold-start, --seed, --out,
#                                                  --resume CHECKPOINT, --stop-after N, --quiet
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/common.sh

rlmoe_ensure_packages
rlmoe_find_cuda
build_dir="${BUILD_DIR:-build}"

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
example="$build_dir/examples/01_grpo_quickstart"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && command -v nvcc >/dev/null 2>&1; then
  cmake --build "$build_dir" -j "$(rlmoe_jobs)" --target 01_grpo_quickstart_cuda
  example="${example}_cuda"
else
  cmake --build "$build_dir" -j "$(rlmoe_jobs)" --target 01_grpo_quickstart
fi
mkdir -p runs
time "$example" "$@"
