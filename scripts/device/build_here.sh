#!/usr/bin/env bash
# Builds, on this (CPU-only) machine, the CUDA test programs, examples and benchmarks for sm_90 in
# a form that runs on the lent GPU machine, which has the CUDA 13 runtime and cuBLAS but no Boost:
# Boost.Test is compiled into each test program, libstdc++/libgcc are linked statically, libgomp
# travels beside them.
# The result lands in .device/ (git-ignored), which the device call carries:
#   run(command="bash scripts/device/run_there.sh", carry=[".device"])
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib/common.sh
rlmoe_ensure_packages
rlmoe_find_cuda

build_dir=build/device
cmake --preset device -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" \
      -DCMAKE_CUDA_FLAGS="-Xcompiler=-static-libstdc++" >/dev/null
cmake --build "$build_dir" -j "$(rlmoe_jobs)" "$@"

rm -rf .device && mkdir -p .device/lib
for exe in "$build_dir"/tests/*_tests "$build_dir"/examples/[0-9][0-9]_* "$build_dir"/benchmarks/*_bench*; do
  [[ -x "$exe" && -f "$exe" ]] && cp "$exe" .device/
done
# A lease carries at most 64 MiB: symbols go (the device code stays). The machine there has no
# libgomp; run_there.sh puts .device/lib on LD_LIBRARY_PATH.
find .device -maxdepth 1 -type f -exec strip {} +
cp -L "$(g++ -print-file-name=libgomp.so.1)" .device/lib/
du -sh .device
