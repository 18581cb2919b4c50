// backend/: every primitive of the Host backend against float64 references.
#define BOOST_TEST_MODULE rlmoe host backend
#include "support/boost_test.hpp"

#include <omp.h>

#include "backend/primitive_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Host;

BOOST_AUTO_TEST_SUITE(host_memory)
BOOST_AUTO_TEST_CASE(buffers_and_copies) { t::check_memory(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_parallel_for)
BOOST_AUTO_TEST_CASE(every_index_once) { t::check_parallel_for(Host{}); }
BOOST_AUTO_TEST_CASE(fill_contiguous_and_strided) { t::check_fill(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_reduce)
BOOST_AUTO_TEST_CASE(float32) { t::check_reduce<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(float64) { t::check_reduce<Host, double>(Host{}); }
BOOST_AUTO_TEST_CASE(result_does_not_depend_on_thread_count) {
  const auto values = t::random_uniform<float>(1'000'003, 17);
  const float one = t::reduce_on(Host{1}, values, rlmoe::Sum{}, 0.0f);
  const float two = t::reduce_on(Host{2}, values, rlmoe::Sum{}, 0.0f);
  const float seven = t::reduce_on(Host{7}, values, rlmoe::Sum{}, 0.0f);
  BOOST_TEST(one == two);
  BOOST_TEST(one == seven);
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_transform_reduce)
BOOST_AUTO_TEST_CASE(struct_values_and_side_effects) { t::check_transform_reduce(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_segmented_reduce)
BOOST_AUTO_TEST_CASE(float32) { t::check_segmented_reduce<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(float64) { t::check_segmented_reduce<Host, double>(Host{}); }
BOOST_AUTO_TEST_CASE(bad_offsets_are_refused) {
  const std::vector<float> values(10, 1.0f);
  const std::vector<rlmoe::index_t> decreasing = {0, 6, 4, 10}, past_end = {0, 4, 11};
  std::vector<float> out(3);
  const auto run = [&](const std::vector<rlmoe::index_t>& offsets) {
    rlmoe::segmented_reduce<Host, float>(Host{}, rlmoe::make_view(values.data(), 10),
                                         rlmoe::make_view(offsets.data(), offsets.size()),
                                         {rlmoe::make_view(out.data(), offsets.size() - 1), {}, {}});
  };
  BOOST_TEST(t::throws_with<rlmoe::ShapeError>([&] { run(decreasing); }, {"offsets[2] = 4", "[6, 10]"}));
  BOOST_TEST(t::throws_with<rlmoe::ShapeError>([&] { run(past_end); }, {"offsets[2] = 11", "[4, 10]"}));
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_exclusive_scan)
BOOST_AUTO_TEST_CASE(int32) { t::check_exclusive_scan<Host, std::int32_t>(Host{}); }
BOOST_AUTO_TEST_CASE(int64) { t::check_exclusive_scan<Host, std::int64_t>(Host{}); }
BOOST_AUTO_TEST_CASE(float32) { t::check_exclusive_scan<Host, float>(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_sort_pairs)
BOOST_AUTO_TEST_CASE(int32_keys) { t::check_sort_pairs<Host, std::int32_t>(Host{}); }
BOOST_AUTO_TEST_CASE(uint32_keys) { t::check_sort_pairs<Host, std::uint32_t>(Host{}); }
BOOST_AUTO_TEST_CASE(int64_keys) { t::check_sort_pairs<Host, std::int64_t>(Host{}); }
BOOST_AUTO_TEST_CASE(keys_outside_the_bit_range_are_refused) {
  const std::vector<std::int32_t> keys = {3, 70, 1}, values = {0, 1, 2};
  std::vector<std::int32_t> keys_out(3), values_out(3);
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>(
      [&] {
        rlmoe::sort_pairs<Host, std::int32_t, std::int32_t>(Host{}, rlmoe::make_view(keys.data(), 3),
                                                            rlmoe::make_view(values.data(), 3),
                                                            rlmoe::make_view(keys_out.data(), 3),
                                                            rlmoe::make_view(values_out.data(), 3), 6);
      },
      {"keys_in[1] = 70", "2^6"}));
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_histogram)
BOOST_AUTO_TEST_CASE(int32_keys) { t::check_histogram<Host, std::int32_t>(Host{}); }
BOOST_AUTO_TEST_CASE(uint8_keys) { t::check_histogram<Host, std::uint8_t>(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_gemm)
BOOST_AUTO_TEST_CASE(float32) { t::check_gemm<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(float64) { t::check_gemm<Host, double>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_into_float32) { t::check_gemm_bf16<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_into_bfloat16) { t::check_gemm_bf16<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_CASE(same_bits_for_every_thread_count) {
  // Real values, so that the order of additions shows in the bits; large enough for many blocks.
  for (auto [ta, tb] : {std::pair{rlmoe::Transpose::No, rlmoe::Transpose::No}, std::pair{rlmoe::Transpose::Yes, rlmoe::Transpose::Yes}}) {
    const rlmoe::index_t m = 301, n = 203, k = 517;
    const auto a = t::random_uniform<float>(m * k, 1), b = t::random_uniform<float>(k * n, 2);
    const auto product = [&](int threads) {
      std::vector<float> c(m * n);
      // The process's OpenMP thread count (what OMP_NUM_THREADS sets) and the backend's both vary.
      const int saved = omp_get_max_threads();
      omp_set_num_threads(threads);
      const Host host{threads};
      const rlmoe::MatrixView<const float> va(a.data(), rlmoe::Extents<2>{ta == rlmoe::Transpose::Yes ? k : m, ta == rlmoe::Transpose::Yes ? m : k});
      const rlmoe::MatrixView<const float> vb(b.data(), rlmoe::Extents<2>{tb == rlmoe::Transpose::Yes ? n : k, tb == rlmoe::Transpose::Yes ? k : n});
      rlmoe::gemm<Host, float>(host, ta, tb, 1.0f, va, vb, 0.0f, rlmoe::MatrixView<float>(c.data(), rlmoe::Extents<2>{m, n}));
      omp_set_num_threads(saved);
      return c;
    };
    const auto one = product(1);
    for (int threads : {2, 3}) t::check_equal(product(threads), one, "gemm with " + std::to_string(threads) + " threads vs 1");
  }
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_grouped_gemm)
BOOST_AUTO_TEST_CASE(float32) { t::check_grouped_gemm<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(float64) { t::check_grouped_gemm<Host, double>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_into_float32) { t::check_grouped_gemm_bf16<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_into_bfloat16) { t::check_grouped_gemm_bf16<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_SUITE_END()
