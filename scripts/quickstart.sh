#!/usr/bin/env bash
# The main job. Installs what is missing (when root), builds, and runs the examples that exist —
# on the GPU when there is one, otherwise on the CPU. (The GRPO trainer example will become the
# main job here once it exists.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/common.sh

rlmoe_ensure_packages
rlmoe_find_cuda
build_dir="${BUILD_DIR:-build}"

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRLMOE_BUILD_TESTS=OFF -DRLMOE_BUILD_BENCHMARKS=OFF
cmake --build "$build_dir" -j "$(rlmoe_jobs)"

for example in "$build_dir"/examples/[0-9][0-9]_*; do
  [[ -x "$example" && "$example" != *_cuda ]] || continue
  # The nvcc-built variant runs on the GPU when one is present.
  if [[ -x "${example}_cuda" ]] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    example="${example}_cuda"
  fi
  echo "== $(basename "$example")"
  "$example"
done
