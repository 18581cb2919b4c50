#!/usr/bin/env bash
# Installs what is missing (when root), configures, builds and runs every test.
#   scripts/test.sh                 all tests, build in ./build
#   BUILD_DIR=/tmp/b scripts/test.sh
#   scripts/test.sh -L host         extra arguments go to ctest (here: only the host-labelled tests)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/common.sh

rlmoe_ensure_packages
rlmoe_find_cuda
build_dir="${BUILD_DIR:-build}"
jobs="$(rlmoe_jobs)"
# numpy and safetensors let two tests compare with the Python ecosystem (rlmoe's loss against TRL's
# formulas, checkpoints read by the safetensors library), from a virtual environment in the build.
python_args=()
if python="$(rlmoe_python_venv "$build_dir/python")"; then
  python_args=(-DPython3_EXECUTABLE="$python")
fi

# One GPU architecture (sm_90, the lent H100/H200) keeps the CUDA build within CI's time; a plain
# configure builds for this machine's GPU, or for sm_80 and sm_90.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 "${python_args[@]}"
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@"
