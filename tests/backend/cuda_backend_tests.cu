// backend/: every primitive of the Cuda backend against float64 references and against the Host
// backend on the same inputs; Philox on the device against Philox on the host.
#include "support/cuda_test_main.hpp"

#include <cstdint>
#include <vector>

#include "backend/primitive_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Buffer;
using rlmoe::Cuda;
using rlmoe::Host;
using rlmoe::index_t;

using rlmoe::test::gpu;

BOOST_AUTO_TEST_SUITE(cuda_memory)
BOOST_AUTO_TEST_CASE(buffers_and_copies) { t::check_memory(gpu()); }
BOOST_AUTO_TEST_CASE(failed_calls_name_the_call_and_the_error) {
  BOOST_TEST(t::throws_with<rlmoe::CudaError>([] { Cuda bad(1 << 20); }, {"cudaSetDevice", "cudaErrorInvalidDevice"}));
  // The caught error does not poison the next launch (the runtime's last error was cleared).
  BOOST_TEST(cudaPeekAtLastError() == cudaSuccess);
  Buffer<int, Cuda> out(gpu(), 100);
  rlmoe::fill(gpu(), out.view(), 7);
  const auto values = rlmoe::to_host(gpu(), out.view());
  BOOST_TEST((values == std::vector<int>(100, 7)));
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_parallel_for)
BOOST_AUTO_TEST_CASE(every_index_once) { t::check_parallel_for(gpu()); }
BOOST_AUTO_TEST_CASE(fill_contiguous_and_strided) { t::check_fill(gpu()); }
BOOST_AUTO_TEST_CASE(device_lambdas) {
  Buffer<float, Cuda> out(gpu(), 1000);
  const rlmoe::VectorView<float> view = out.view();
  rlmoe::parallel_for(gpu(), out.size(), [=] __host__ __device__(index_t i) { view[i] = 0.5f * static_cast<float>(i); });
  std::vector<float> expected(1000);
  for (int i = 0; i < 1000; ++i) expected[i] = 0.5f * static_cast<float>(i);
  t::check_equal(rlmoe::to_host(gpu(), out.view()), expected, "lambda");
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_reduce)
BOOST_AUTO_TEST_CASE(float32) { t::check_reduce<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(float64) { t::check_reduce<Cuda, double>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_transform_reduce)
BOOST_AUTO_TEST_CASE(struct_values_and_side_effects) { t::check_transform_reduce(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_segmented_reduce)
BOOST_AUTO_TEST_CASE(float32) { t::check_segmented_reduce<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(float64) { t::check_segmented_reduce<Cuda, double>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_exclusive_scan)
BOOST_AUTO_TEST_CASE(int32) { t::check_exclusive_scan<Cuda, std::int32_t>(gpu()); }
BOOST_AUTO_TEST_CASE(int64) { t::check_exclusive_scan<Cuda, std::int64_t>(gpu()); }
BOOST_AUTO_TEST_CASE(float32) { t::check_exclusive_scan<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_sort_pairs)
BOOST_AUTO_TEST_CASE(int32_keys) { t::check_sort_pairs<Cuda, std::int32_t>(gpu()); }
BOOST_AUTO_TEST_CASE(uint32_keys) { t::check_sort_pairs<Cuda, std::uint32_t>(gpu()); }
BOOST_AUTO_TEST_CASE(int64_keys) { t::check_sort_pairs<Cuda, std::int64_t>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_histogram)
BOOST_AUTO_TEST_CASE(int32_keys) { t::check_histogram<Cuda, std::int32_t>(gpu()); }
BOOST_AUTO_TEST_CASE(uint8_keys) { t::check_histogram<Cuda, std::uint8_t>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_gemm)
BOOST_AUTO_TEST_CASE(float32) { t::check_gemm<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(float64) { t::check_gemm<Cuda, double>(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16_into_float32) { t::check_gemm_bf16<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16_into_bfloat16) { t::check_gemm_bf16<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_grouped_gemm)
BOOST_AUTO_TEST_CASE(float32) { t::check_grouped_gemm<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(float64) { t::check_grouped_gemm<Cuda, double>(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16_into_float32) { t::check_grouped_gemm_bf16<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16_into_bfloat16) { t::check_grouped_gemm_bf16<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

// The same random real-valued inputs through both backends.
BOOST_AUTO_TEST_SUITE(cuda_vs_host)

BOOST_AUTO_TEST_CASE(reduce) {
  for (index_t n : t::kSizes) {
    const auto values = t::random_uniform<float>(static_cast<std::size_t>(n), 1000 + n, 0.0, 1.0);
    const float host = t::reduce_on(Host{}, values, rlmoe::Sum{}, 0.0f);
    const float device = t::reduce_on(gpu(), values, rlmoe::Sum{}, 0.0f);
    BOOST_TEST(std::abs(host - device) <= 64.0f * FLT_EPSILON * std::max(1.0f, host), "n=" << n);
    BOOST_TEST(t::reduce_on(Host{}, values, rlmoe::Max{}, -1.0f) == t::reduce_on(gpu(), values, rlmoe::Max{}, -1.0f));
  }
}

BOOST_AUTO_TEST_CASE(segmented_reduce) {
  std::vector<index_t> lengths;
  for (int s = 0; s < 5000; ++s) lengths.push_back((s * 7919) % 97);
  lengths.push_back(200000);
  const std::vector<index_t> offsets = t::offsets_from_lengths(lengths);
  const auto values = t::random_uniform<float>(static_cast<std::size_t>(offsets.back()), 77);
  const auto n = static_cast<index_t>(lengths.size());
  const auto run = [&](const auto& backend) {
    using B = std::decay_t<decltype(backend)>;
    Buffer<float, B> v = rlmoe::to_backend(backend, values);
    Buffer<index_t, B> o = rlmoe::to_backend(backend, offsets);
    Buffer<float, B> mean(backend, n), stddev(backend, n);
    rlmoe::segmented_reduce<B, float>(backend, v.view(), o.view(), {{}, mean.view(), stddev.view()}, 1);
    return std::pair{rlmoe::to_host(backend, mean.view()), rlmoe::to_host(backend, stddev.view())};
  };
  const auto [host_mean, host_std] = run(Host{});
  const auto [cuda_mean, cuda_std] = run(gpu());
  // Both accumulate in double; they differ only in summation order, far below float rounding.
  t::check_close(cuda_mean, host_mean, 2.0 * FLT_EPSILON, 1e-12, "mean");
  t::check_close(cuda_std, host_std, 2.0 * FLT_EPSILON, 1e-12, "stddev");
}

BOOST_AUTO_TEST_CASE(sort_and_scan_are_identical) {
  const auto keys = t::random_integers<std::int32_t>(300001, 5, -50, 50);
  std::vector<std::int64_t> values(keys.size());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::int64_t>(i) * 3;
  const auto run = [&](const auto& backend) {
    using B = std::decay_t<decltype(backend)>;
    Buffer<std::int32_t, B> k = rlmoe::to_backend(backend, keys), k_out(backend, k.size());
    Buffer<std::int64_t, B> v = rlmoe::to_backend(backend, values), v_out(backend, v.size()), scanned(backend, v.size() + 1);
    rlmoe::sort_pairs<B, std::int32_t, std::int64_t>(backend, k.view(), v.view(), k_out.view(), v_out.view());
    rlmoe::exclusive_scan(backend, v_out.view(), scanned.view());
    return std::tuple{rlmoe::to_host(backend, k_out.view()), rlmoe::to_host(backend, v_out.view()),
                      rlmoe::to_host(backend, scanned.view())};
  };
  const auto [hk, hv, hs] = run(Host{});
  const auto [ck, cv, cs] = run(gpu());
  t::check_equal(ck, hk, "sorted keys");
  t::check_equal(cv, hv, "sorted values");
  t::check_equal(cs, hs, "scan of sorted values");
}

BOOST_AUTO_TEST_CASE(gemm) {
  const t::GemmShape s{100, 80, 513};
  for (rlmoe::Transpose ta : {rlmoe::Transpose::No, rlmoe::Transpose::Yes}) {
    const t::HostMatrix<float> a(ta == rlmoe::Transpose::Yes ? s.k : s.m, ta == rlmoe::Transpose::Yes ? s.m : s.k, 0,
                                 t::random_uniform<float>(static_cast<std::size_t>(s.m * s.k), 8));
    const t::HostMatrix<float> b(s.k, s.n, 0, t::random_uniform<float>(static_cast<std::size_t>(s.k * s.n), 9));
    const t::HostMatrix<float> c(s.m, s.n, 0, t::random_uniform<float>(static_cast<std::size_t>(s.m * s.n), 10));
    const auto run = [&](const auto& backend) {
      using B = std::decay_t<decltype(backend)>;
      t::BackendMatrix<float, B> da(backend, a), db(backend, b), dc(backend, c);
      rlmoe::gemm<B, float>(backend, ta, rlmoe::Transpose::No, 0.5f, da.view, db.view, 2.0f, dc.view);
      return rlmoe::to_host(backend, dc.buffer.view());
    };
    // Both are within k * eps * (|A| |B|)_ij <= k^2 eps of the exact result.
    t::check_close(run(gpu()), run(Host{}), 0.0, 2.0 * s.k * s.k * FLT_EPSILON, "gemm");
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Philox in a kernel against Philox on the host, word for word.
BOOST_AUTO_TEST_SUITE(cuda_random)

struct DrawStreams {
  std::uint64_t seed;
  rlmoe::VectorView<std::uint32_t> words;
  rlmoe::VectorView<float> uniforms, normals;
  rlmoe::VectorView<index_t> choices;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    rlmoe::RandomStream stream(seed, static_cast<std::uint64_t>(i));
    for (int j = 0; j < 8; ++j) words[i * 8 + j] = stream.next_u32();
    for (int j = 0; j < 4; ++j) uniforms[i * 4 + j] = stream.uniform();
    for (int j = 0; j < 4; ++j) normals[i * 4 + j] = stream.normal();
    choices[i] = stream.categorical(10, [](index_t k) { return static_cast<float>(k % 4); });
  }
};

template <class B>
auto draw(const B& backend, index_t streams) {
  Buffer<std::uint32_t, B> words(backend, streams * 8);
  Buffer<float, B> uniforms(backend, streams * 4), normals(backend, streams * 4);
  Buffer<index_t, B> choices(backend, streams);
  rlmoe::parallel_for(backend, streams, DrawStreams{1234, words.view(), uniforms.view(), normals.view(), choices.view()});
  return std::tuple{rlmoe::to_host(backend, words.view()), rlmoe::to_host(backend, uniforms.view()),
                    rlmoe::to_host(backend, normals.view()), rlmoe::to_host(backend, choices.view())};
}

BOOST_AUTO_TEST_CASE(same_bits_on_host_and_device) {
  const auto [hw, hu, hn, hc] = draw(Host{}, 100000);
  const auto [cw, cu, cn, cc] = draw(gpu(), 100000);
  t::check_equal(cw, hw, "words");
  t::check_equal(cu, hu, "uniforms");
  t::check_equal(cc, hc, "categorical choices");
  // Normals pass through log, cos and sin in double; a last-ulp difference between libm and the
  // device could flip a float rounding, so they are compared to 1 ulp rather than bit for bit.
  t::check_close(cn, hn, 2.0 * FLT_EPSILON, 1e-30, "normals");
}

BOOST_AUTO_TEST_SUITE_END()
