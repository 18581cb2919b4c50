// Backend primitives: copy (the bandwidth ceiling), reduce, segmented reduce, scan, sort, gemm (fp32,
// and bf16 with fp32 accumulation) and grouped gemm. One JSON line per case with the median time and the achieved GB/s (memory-bound
// primitives, counting each input read once and each output written once, against the measured
// copy bandwidth) or GFLOP/s (products).
//
//   primitives_bench [--quick] [--cuda-only]      Host backend (and, when built by nvcc and a GPU is present, Cuda)
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

using rlmoe::Buffer;
using rlmoe::index_t;
using rlmoe::bench::JsonLine;
using rlmoe::bench::median_ms;

struct Sizes {
  index_t copy_bytes;
  index_t reduce;
  index_t segmented;
  std::vector<index_t> group_sizes;
  index_t sort;
  index_t gemm;
  index_t moe_rows, moe_width, moe_hidden, moe_experts;
  int repetitions;
};

template <rlmoe::Backend B>
JsonLine line(const B& backend, const std::string& bench) {
  JsonLine out;
  out.add("bench", bench).add("backend", B::kName.data()).add("device", rlmoe::bench::device_name(backend));
  return out;
}

double gb_per_s(double bytes, double ms) { return bytes / (ms * 1e-3) / 1e9; }

/// A device-to-device copy of copy_bytes: read plus written bytes per second is the ceiling of
/// every memory-bound primitive.
template <rlmoe::Backend B>
double bench_copy(const B& backend, const Sizes& s) {
  const index_t n = s.copy_bytes / 4;
  Buffer<float, B> src = rlmoe::bench::random_buffer<B, float>(backend, n, 1), dst(backend, n);
  const double ms = median_ms(backend, [&] { rlmoe::copy(backend, dst.view(), src.view()); }, 3, s.repetitions);
  const double gbs = gb_per_s(2.0 * n * 4, ms);
  line(backend, "copy").add("bytes", n * 4).add("median_ms", ms).add("gb_per_s", gbs).print();
  return gbs;
}

template <rlmoe::Backend B>
void bench_reduce(const B& backend, const Sizes& s, double copy_gbs) {
  Buffer<float, B> x = rlmoe::bench::random_buffer<B, float>(backend, s.reduce, 2), out(backend, 1);
  const double ms = median_ms(backend, [&] { rlmoe::reduce(backend, x.view(), out.view()); }, 3, s.repetitions);
  const double gbs = gb_per_s(4.0 * s.reduce, ms);
  line(backend, "reduce_sum_f32").add("n", s.reduce).add("median_ms", ms).add("gb_per_s", gbs)
      .add("pct_of_copy", 100.0 * gbs / copy_gbs).print();
}

struct GroupOffsets {
  rlmoe::VectorView<index_t> offsets;
  index_t group;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { offsets[i] = i * group; }
};

template <rlmoe::Backend B>
void bench_segmented_reduce(const B& backend, const Sizes& s, double copy_gbs) {
  Buffer<float, B> x = rlmoe::bench::random_buffer<B, float>(backend, s.segmented, 3);
  for (index_t group : s.group_sizes) {
    const index_t segments = s.segmented / group;
    Buffer<index_t, B> offsets(backend, segments + 1);
    rlmoe::parallel_for(backend, segments + 1, GroupOffsets{offsets.view(), group});
    Buffer<float, B> mean(backend, segments), stddev(backend, segments);
    const double ms = median_ms(
        backend,
        [&] {
          rlmoe::segmented_reduce<B, float>(backend, x.view().slice(0, segments * group), offsets.view(),
                                            {{}, mean.view(), stddev.view()}, 1);
        },
        3, s.repetitions);
    // Values and offsets read once, mean and stddev written once.
    const double bytes = 4.0 * segments * group + 8.0 * (segments + 1) + 2 * 4.0 * segments;
    const double gbs = gb_per_s(bytes, ms);
    line(backend, "segmented_mean_std_f32").add("n", segments * group).add("segment_length", group)
        .add("segments", segments).add("median_ms", ms).add("gb_per_s", gbs)
        .add("pct_of_copy", 100.0 * gbs / copy_gbs).print();
  }
}

template <rlmoe::Backend B>
void bench_scan(const B& backend, const Sizes& s, double copy_gbs) {
  Buffer<float, B> x = rlmoe::bench::random_buffer<B, float>(backend, s.reduce, 4), y(backend, s.reduce);
  const double ms = median_ms(backend, [&] { rlmoe::exclusive_scan(backend, x.view(), y.view()); }, 3, s.repetitions);
  const double gbs = gb_per_s(8.0 * s.reduce, ms);
  line(backend, "exclusive_scan_f32").add("n", s.reduce).add("median_ms", ms).add("gb_per_s", gbs)
      .add("pct_of_copy", 100.0 * gbs / copy_gbs).print();
}

template <rlmoe::Backend B>
void bench_sort(const B& backend, const Sizes& s, double copy_gbs) {
  for (int bits : {6, 32}) {
    Buffer<std::uint32_t, B> keys(backend, s.sort), keys_out(backend, s.sort);
    rlmoe::parallel_for(backend, s.sort, rlmoe::bench::FillKeys<std::uint32_t>{keys.view(), 5, bits});
    Buffer<std::int32_t, B> values(backend, s.sort), values_out(backend, s.sort);
    rlmoe::fill(backend, values.view(), 1);
    const double ms = median_ms(
        backend,
        [&] {
          rlmoe::sort_pairs<B, std::uint32_t, std::int32_t>(backend, keys.view(), values.view(), keys_out.view(),
                                                            values_out.view(), bits);
        },
        2, s.repetitions);
    // The minimum traffic of any sort: keys and values read once and written once.
    const double gbs = gb_per_s(4.0 * 4.0 * s.sort, ms);
    line(backend, "sort_pairs_u32_i32").add("n", s.sort).add("key_bits", bits).add("median_ms", ms)
        .add("gkeys_per_s", s.sort / (ms * 1e-3) / 1e9).add("gb_per_s", gbs).add("pct_of_copy", 100.0 * gbs / copy_gbs)
        .print();
  }
}

template <rlmoe::Backend B>
void bench_gemm(const B& backend, const Sizes& s) {
  const index_t n = s.gemm;
  Buffer<float, B> a = rlmoe::bench::random_buffer<B, float>(backend, n * n, 6);
  Buffer<float, B> b = rlmoe::bench::random_buffer<B, float>(backend, n * n, 7), c(backend, n * n);
  const double ms = median_ms(
      backend,
      [&] {
        rlmoe::gemm<B, float>(backend, rlmoe::Transpose::No, rlmoe::Transpose::No, 1.0f, a.view(n, n), b.view(n, n),
                              0.0f, c.view(n, n));
      },
      2, s.repetitions);
  line(backend, "gemm_f32").add("m", n).add("n", n).add("k", n).add("median_ms", ms)
      .add("gflop_per_s", 2.0 * n * n * n / (ms * 1e-3) / 1e9).print();
}

/// bfloat16 A and B with float accumulation (tensor cores on Cuda), C in float and in bfloat16: the
/// rate that model FLOPs utilisation is measured against.
template <rlmoe::Backend B, class Out>
void bench_gemm_bf16(const B& backend, const Sizes& s, const char* name) {
  const index_t n = s.gemm;
  Buffer<rlmoe::bfloat16, B> a = rlmoe::bench::random_buffer<B, rlmoe::bfloat16>(backend, n * n, 6);
  Buffer<rlmoe::bfloat16, B> b = rlmoe::bench::random_buffer<B, rlmoe::bfloat16>(backend, n * n, 7);
  Buffer<Out, B> c(backend, n * n);
  const rlmoe::MatrixView<const rlmoe::bfloat16> av = a.view(n, n), bv = b.view(n, n);
  const double ms = median_ms(
      backend, [&] { rlmoe::gemm<B, Out>(backend, rlmoe::Transpose::No, rlmoe::Transpose::No, 1.0f, av, bv, 0.0f, c.view(n, n)); },
      2, s.repetitions);
  line(backend, name).add("m", n).add("n", n).add("k", n).add("median_ms", ms)
      .add("gflop_per_s", 2.0 * n * n * n / (ms * 1e-3) / 1e9).print();
}

/// The up-projection of an MoE layer: each expert multiplies its routed rows [m_e x width] by
/// its weights [width x hidden], with m_e skewed across experts as routing makes it.
template <rlmoe::Backend B>
void bench_grouped_gemm(const B& backend, const Sizes& s) {
  const index_t experts = s.moe_experts, width = s.moe_width, hidden = s.moe_hidden;
  // Expert e receives a share proportional to e + 1 of the routed rows.
  const index_t total = s.moe_rows, weight_sum = experts * (experts + 1) / 2;
  std::vector<index_t> rows;
  index_t assigned = 0;
  for (index_t e = 0; e < experts; ++e) {
    rows.push_back(e + 1 < experts ? total * (e + 1) / weight_sum : total - assigned);
    assigned += rows.back();
  }
  Buffer<float, B> x = rlmoe::bench::random_buffer<B, float>(backend, total * width, 8);
  Buffer<float, B> w = rlmoe::bench::random_buffer<B, float>(backend, experts * width * hidden, 9);
  Buffer<float, B> y(backend, total * hidden);
  std::vector<rlmoe::GemmProblem<float>> problems;
  index_t row = 0;
  for (index_t e = 0; e < experts; ++e) {
    const index_t m = rows[static_cast<std::size_t>(e)];
    problems.push_back({rlmoe::Transpose::No, rlmoe::Transpose::No, 1.0f,
                        x.view(total, width).slice(row, row + m),
                        w.view(experts * width, hidden).slice(e * width, (e + 1) * width), 0.0f,
                        y.view(total, hidden).slice(row, row + m)});
    row += m;
  }
  const double ms = median_ms(backend, [&] { rlmoe::grouped_gemm(backend, problems); }, 2, s.repetitions);
  line(backend, "grouped_gemm_f32").add("experts", experts).add("rows", total).add("k", width).add("n", hidden)
      .add("median_ms", ms).add("gflop_per_s", 2.0 * total * width * hidden / (ms * 1e-3) / 1e9).print();
}

template <rlmoe::Backend B>
void run_all(const B& backend, const Sizes& sizes) {
  const double copy_gbs = bench_copy(backend, sizes);
  bench_reduce(backend, sizes, copy_gbs);
  bench_segmented_reduce(backend, sizes, copy_gbs);
  bench_scan(backend, sizes, copy_gbs);
  bench_sort(backend, sizes, copy_gbs);
  bench_gemm(backend, sizes);
  bench_gemm_bf16<B, float>(backend, sizes, "gemm_bf16_into_f32");
  bench_gemm_bf16<B, rlmoe::bfloat16>(backend, sizes, "gemm_bf16");
  bench_grouped_gemm(backend, sizes);
}

}  // namespace

int main(int argc, char** argv) {
  const rlmoe::bench::Options options = rlmoe::bench::parse_options(argc, argv);
  const bool quick = options.quick;
  const Sizes host = quick ? Sizes{1 << 24, 1 << 20, 1 << 20, {16, 1024}, 1 << 18, 256, 256, 256, 512, 8, 3}
                           : Sizes{1 << 28, 1 << 24, 1 << 24, {16, 256, 4096, 1 << 20}, 1 << 22, 1024, 2048, 1024, 2048, 8, 7};
  rlmoe::Host host_backend;
  if (options.host) run_all(host_backend, host);
#if defined(__CUDACC__)
  if (rlmoe::cuda_device_count() > 0) {
    const Sizes device = quick ? host
                               : Sizes{1 << 30, 1 << 26, 1 << 26, {16, 256, 4096, 1 << 20}, 1 << 24, 4096, 16384 * 2, 1024, 2048, 8, 50};
    run_all(rlmoe::Cuda{}, device);
  }
#endif
  return 0;
}
