#!/usr/bin/env bash
# Runs on the lent GPU machine, over binaries that scripts/device/build_here.sh put in .device/:
# every test program, compute-sanitizer over the CUDA tests, the examples and the benchmarks.
# Logs go to $OUT (or ./device-out); the last lines printed are a summary.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${OUT:-device-out}"
mkdir -p "$out"
nvidia-smi -L | tee "$out/device.txt"
summary=()
record() { summary+=("$(printf '%-44s %s' "$1" "$2")"); }

for test in .device/*_tests; do
  name=$(basename "$test")
  "$test" --report_level=short > "$out/$name.log" 2>&1
  rc=$?
  record "$name" "$([[ $rc == 0 ]] && echo passed || echo "FAILED (rc $rc)")"
done
if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck synccheck initcheck; do
    compute-sanitizer --tool "$tool" --error-exitcode 1 .device/cuda_backend_tests > "$out/sanitizer_$tool.log" 2>&1
    rc=$?
    record "compute-sanitizer $tool" "$([[ $rc == 0 ]] && echo clean || echo "ERRORS (rc $rc)")"
  done
fi
for example in .device/[0-9][0-9]_*_cuda; do
  [[ -x "$example" ]] || continue
  "$example" > "$out/$(basename "$example").log" 2>&1
  record "$(basename "$example")" "$([[ $? == 0 ]] && echo passed || echo FAILED)"
done
if [[ -x .device/04_hf_grpo_cuda ]]; then  # the same example on a random DeepSeek-V3 (latent attention) model
  .device/04_hf_grpo_cuda --family deepseek_v3 --out runs/hf_grpo_deepseek_v3 > "$out/04_hf_grpo_cuda_deepseek_v3.log" 2>&1
  record "04_hf_grpo_cuda --family deepseek_v3" "$([[ $? == 0 ]] && echo passed || echo FAILED)"
fi
for bench in .device/*_bench_cuda; do
  [[ -x "$bench" ]] || continue
  "$bench" > "$out/$(basename "$bench").jsonl" 2> "$out/$(basename "$bench").err"
  record "$(basename "$bench")" "rc $? ($(wc -l < "$out/$(basename "$bench").jsonl") cases)"
done
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
