#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each
# for SECONDS (default 600) from the seed corpus in tests/fuzz/corpus, growing a working corpus in
# the build folder. Any crash, leak or sanitizer report fails the script (and leaves the input that
# caused it in the build folder).
#   scripts/fuzz.sh          ten minutes per target
#   scripts/fuzz.sh 20       CI's bounded run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/common.sh

seconds="${1:-600}"
rlmoe_ensure_packages clang libclang-rt-14-dev
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"
CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRLMOE_BUILD_FUZZERS=ON \
  -DRLMOE_BUILD_TESTS=OFF -DRLMOE_BUILD_EXAMPLES=OFF -DRLMOE_BUILD_BENCHMARKS=OFF -DRLMOE_ENABLE_CUDA=OFF \
  -DRLMOE_INSTALL=OFF -DRLMOE_NATIVE_ARCH=OFF >/dev/null
cmake --build "$build_dir" -j "$(rlmoe_jobs)"
for target in json safetensors checkpoint tokenizer; do
  corpus="$build_dir/corpus/$target"
  mkdir -p "$corpus" "$build_dir/crashes/$target"
  echo "fuzz_$target: $seconds s"
  log="$build_dir/fuzz_$target.log"
  status=0
  "$build_dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build_dir/crashes/$target/" "$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|stat::peak_rss|Done|ERROR|SUMMARY|==[0-9]+==|runtime error" "$log" || true
  if [[ $status -ne 0 ]]; then
    tail -n 40 "$log" >&2
    echo "fuzz_$target found a problem (exit $status): see $log and $build_dir/crashes/$target/" >&2
    exit 1
  fi
done
