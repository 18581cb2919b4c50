"""Timing shared by the PyTorch twins: the median of repeated runs after warm-up, with CUDA
events on the GPU (so only device time counts) and a wall clock on the CPU."""
import statistics
import time

import torch


def median_ms(fn, device, repetitions, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repetitions):
        if device == "cuda":
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(stop))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)
