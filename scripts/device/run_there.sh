#!/usr/bin/env bash
# Runs on the lent GPU machine, over binaries that scripts/device/build_here.sh put in .device/.
# A lease is short (minutes), so the work runs in three timed phases:
#   1. every test program and every example at full size, side by side (correctness only: they
#      share the GPU, so no timing from this phase is a figure);
#   2. the benchmarks and their PyTorch twins, one at a time, alone on the GPU;
#   3. compute-sanitizer (memcheck over every CUDA suite, racecheck/synccheck/initcheck over the
#      backend suite, racecheck over the MoE suite), side by side, until the phase's time is up.
# Each program has a time limit; one that runs out is reported as such. The logs are packed into
# $OUT/logs.tar.gz (a lease returns few files); each phase's lines of $OUT/summary.txt are printed
# as it ends.
#   RLMOE_PHASE_SECONDS="220 180 120" bash scripts/device/run_there.sh      (the defaults)
# RLMOE_SELECT, an extended regular expression, keeps only the runs whose names (as in the
# summary) match it: a rerun of what failed, say.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${OUT:-device-out}"
logs="$out/logs"
mkdir -p "$logs"
read -r phase1 phase2 phase3 <<< "${RLMOE_PHASE_SECONDS:-220 180 120}"  # 520 s: a 15-minute lease holds it and a start
export PATH="/usr/local/cuda/bin:$PATH"  # compute-sanitizer
export LD_LIBRARY_PATH="$PWD/.device/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$logs/device.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >> "$logs/device.txt" 2>&1
python3 -c "import torch; print('torch', torch.__version__, torch.version.cuda)" >> "$logs/device.txt" 2>&1

declare -A started
pids=()
names=()
# launch NAME LIMIT COMMAND...: run in the background, output to $logs/NAME.log, seconds in NAME.time.
launch() {
  local name=$1 limit=$2
  shift 2
  [[ $name =~ ${RLMOE_SELECT:-.} ]] || return 0
  (
    begin=$(date +%s%N)
    timeout --kill-after=10 "$limit" "$@" > "$logs/$name.log" 2>&1
    rc=$?
    echo "$rc $((($(date +%s%N) - begin) / 1000000))" > "$logs/$name.status"
  ) &
  pids+=($!)
  names+=("$name")
}
summarize() {
  local name rc ms verdict
  for name in "${names[@]}"; do
    read -r rc ms < "$logs/$name.status" || { rc=missing; ms=0; }
    case $rc in
      0) verdict=passed ;;
      124 | 137) verdict="TIMED OUT" ;;
      *) verdict="FAILED (rc $rc)" ;;
    esac
    printf '%-48s %-16s %5d.%d s\n' "$name" "$verdict" $((ms / 1000)) $((ms % 1000 / 100)) | tee -a "$out/summary.txt"
  done
  pids=()
  names=()
  tar -czf "$out/logs.tar.gz" -C "$out" logs  # after every phase: a lease that runs out keeps what ended
}

# Phase 1: correctness, side by side. Two OpenMP threads each: the host parts are small.
export OMP_NUM_THREADS=2
for test in .device/*_tests; do launch "$(basename "$test")" "$phase1" "$test" --log_level=test_suite --report_level=short; done
for example in .device/[0-9][0-9]_*_cuda; do launch "$(basename "$example")" "$phase1" "$example"; done
[[ -x .device/01_grpo_quickstart_cuda ]] &&
  launch 01_grpo_quickstart_cuda_bf16 "$phase1" .device/01_grpo_quickstart_cuda --bf16 --out runs/quickstart_bf16
[[ -x .device/04_hf_grpo_cuda ]] &&
  launch 04_hf_grpo_cuda_deepseek_v3 "$phase1" .device/04_hf_grpo_cuda --family deepseek_v3 --out runs/hf_grpo_deepseek_v3
wait "${pids[@]}"
find runs -name '*.png' -exec cp --parents {} "$logs/" \; 2>/dev/null  # the examples' pictures
summarize

# Phase 2: figures, one program at a time. Each benchmark and twin gets its share of the phase.
unset OMP_NUM_THREADS
deadline=$(($(date +%s) + phase2))
bench() {  # bench NAME COMMAND...
  local name=$1 left=$((deadline - $(date +%s)))
  shift
  [[ $name =~ ${RLMOE_SELECT:-.} ]] || return 0
  ((left > 5)) || { echo "$name: no time left in phase 2" | tee -a "$out/summary.txt"; return; }
  launch "$name" "$left" "$@"
  wait "${pids[@]}"
  summarize
}
reference=benchmarks/reference
bench primitives_bench_cuda .device/primitives_bench_cuda --cuda-only
bench grpo_loss_bench_cuda .device/grpo_loss_bench_cuda --cuda-only
bench grpo_loss_torch python3 "$reference/grpo_loss_torch.py" --compile  # eager and compiled
bench moe_bench_cuda .device/moe_bench_cuda --cuda-only
bench moe_torch python3 "$reference/moe_torch.py"
bench transformer_bench_cuda .device/transformer_bench_cuda --cuda-only
for precision in fp32 tf32 bf16; do
  bench "transformer_torch_$precision" python3 "$reference/transformer_torch.py" --precision "$precision"
done
for precision in bf16 tf32 fp32; do  # torch.compile takes its time: last, as far as the phase goes
  bench "transformer_torch_${precision}_compile" python3 "$reference/transformer_torch.py" --precision "$precision" --compile
done

# Phase 3: compute-sanitizer, side by side.
if command -v compute-sanitizer > /dev/null; then
  export OMP_NUM_THREADS=2
  for test in .device/cuda_*_tests; do
    filter=()  # memcheck reports the invalid device that this test asks for on purpose
    [[ $test == */cuda_backend_tests ]] && filter=(--run_test='!cuda_memory/failed_calls_name_the_call_and_the_error')
    launch "memcheck_$(basename "$test")" "$phase3" compute-sanitizer --tool memcheck --error-exitcode 1 "$test" "${filter[@]}"
  done
  for tool in racecheck synccheck initcheck; do
    launch "${tool}_cuda_backend_tests" "$phase3" compute-sanitizer --tool "$tool" --error-exitcode 1 .device/cuda_backend_tests
  done
  launch racecheck_cuda_moe_tests "$phase3" compute-sanitizer --tool racecheck --error-exitcode 1 .device/cuda_moe_tests
  wait "${pids[@]}"
  summarize
fi

rm -rf "$logs"
