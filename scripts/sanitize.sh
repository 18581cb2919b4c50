#!/usr/bin/env bash
# Builds the Host test programs of core, io, text, rl and the trainer with AddressSanitizer and
# UndefinedBehaviorSanitizer (g++) and runs them; any report fails.
#   scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/common.sh

rlmoe_ensure_packages
build_dir="${SANITIZE_BUILD_DIR:-build-sanitize}"
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRLMOE_ENABLE_CUDA=OFF -DRLMOE_BUILD_EXAMPLES=OFF \
  -DRLMOE_BUILD_BENCHMARKS=OFF -DRLMOE_INSTALL=OFF -DRLMOE_NATIVE_ARCH=OFF "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_EXE_LINKER_FLAGS=$flags" >/dev/null
programs=(core_tests io_tests text_tests host_rl_tests host_trainer_tests)
cmake --build "$build_dir" -j "$(rlmoe_jobs)" --target "${programs[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for program in "${programs[@]}"; do
  echo "$program (ASan + UBSan)"
  OMP_NUM_THREADS=2 "$build_dir/tests/$program" --report_level=short
done
