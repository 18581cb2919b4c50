// core/: tensor views, errors, the Philox generator, the sampling helpers and bfloat16.
#define BOOST_TEST_MODULE rlmoe core
#include "support/boost_test.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/philox.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "support/test_data.hpp"

using rlmoe::Extents;
using rlmoe::index_t;
using rlmoe::TensorView;

BOOST_AUTO_TEST_SUITE(tensor_view)

BOOST_AUTO_TEST_CASE(row_major_indexing_matches_flat_offsets) {
  std::vector<int> data(2 * 3 * 4 * 5);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int>(i);
  const auto view = rlmoe::make_view(data.data(), 2, 3, 4, 5);
  BOOST_TEST(view.size() == 120);
  BOOST_TEST(view.is_contiguous());
  BOOST_TEST((view.strides() == Extents<4>{60, 20, 5, 1}));
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c)
        for (int d = 0; d < 5; ++d) BOOST_TEST_REQUIRE(view(a, b, c, d) == ((a * 3 + b) * 4 + c) * 5 + d);
  for (index_t i = 0; i < view.size(); ++i) BOOST_TEST_REQUIRE(view.at_flat(i) == i);
}

BOOST_AUTO_TEST_CASE(subviews_slices_and_strided_columns) {
  std::vector<float> data(6 * 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  const auto m = rlmoe::make_view(data.data(), 6, 4);
  const auto row2 = m[2];
  BOOST_TEST(row2.extent(0) == 4);
  BOOST_TEST(row2[3] == 11.0f);
  const auto rows = m.slice(1, 4);
  BOOST_TEST((rows.shape() == Extents<2>{3, 4}));
  BOOST_TEST(rows(0, 0) == 4.0f);
  BOOST_TEST(rows.is_contiguous());
  // Column 1 as a strided vector: not contiguous, but at_flat follows the strides.
  const TensorView<float, 1> column(data.data() + 1, Extents<1>{6}, Extents<1>{4});
  BOOST_TEST(!column.is_contiguous());
  for (index_t i = 0; i < 6; ++i) BOOST_TEST(column.at_flat(i) == static_cast<float>(4 * i + 1));
  // Columns 1..2 of every row.
  const TensorView<float, 2> block(data.data() + 1, Extents<2>{6, 2}, Extents<2>{4, 1});
  BOOST_TEST(!block.is_contiguous());
  BOOST_TEST(block.at_flat(3) == 6.0f);  // row 1, column 1 of the block
}

BOOST_AUTO_TEST_CASE(const_conversion_and_reshape) {
  std::vector<double> data(12, 0.0);
  const TensorView<double, 1> v(data.data(), Extents<1>{12});
  const TensorView<const double, 1> cv = v;  // mutable -> const converts implicitly
  BOOST_TEST(cv.data() == data.data());
  const auto m = v.reshape(Extents<3>{2, 3, 2});
  m(1, 2, 1) = 5.0;
  BOOST_TEST(data[11] == 5.0);
  BOOST_TEST(m.flatten().size() == 12);
  static_assert(!std::is_convertible_v<TensorView<const double, 1>, TensorView<double, 1>>,
                "a const view must not convert to a mutable one");
}

BOOST_AUTO_TEST_CASE(shape_errors_name_both_shapes) {
  std::vector<float> data(12);
  const auto v = rlmoe::make_view(data.data(), 12);
  BOOST_TEST(rlmoe::test::throws_with<rlmoe::ShapeError>([&] { (void)v.reshape(Extents<2>{5, 2}); },
                                                         {"reshape", "12", "[12]", "[5, 2]"}));
  const auto m = rlmoe::make_view(data.data(), 3, 4);
  const TensorView<float, 2> column(data.data(), Extents<2>{3, 1}, Extents<2>{4, 1});
  BOOST_TEST(rlmoe::test::throws_with<rlmoe::ShapeError>([&] { (void)column.reshape(Extents<1>{3}); },
                                                         {"not contiguous", "[3, 1]", "[4, 1]"}));
  BOOST_TEST(rlmoe::test::throws_with<rlmoe::ShapeError>(
      [&] { rlmoe::require_shape(m, Extents<2>{4, 3}, "layer: weight"); }, {"layer: weight", "[3, 4]", "[4, 3]"}));
  const auto other = rlmoe::make_view(data.data(), 2, 6);
  BOOST_TEST(rlmoe::test::throws_with<rlmoe::ShapeError>(
      [&] { rlmoe::require_same_shape(m, "x", other, "y"); }, {"x has shape [3, 4]", "y has shape [2, 6]"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(hierarchy_and_messages) {
  try {
    RLMOE_CHECK(1 + 1 == 3, rlmoe::ConfigError, "learning_rate is ", -1.5, " but must lie in (0, 1]");
    BOOST_FAIL("RLMOE_CHECK did not throw");
  } catch (const rlmoe::Error& error) {
    BOOST_TEST(std::string(error.what()) == "learning_rate is -1.5 but must lie in (0, 1]");
    BOOST_TEST(dynamic_cast<const rlmoe::ConfigError*>(&error) != nullptr);
  }
  BOOST_CHECK_NO_THROW(RLMOE_CHECK(true, rlmoe::NumericError, "never"));
  static_assert(std::is_base_of_v<rlmoe::Error, rlmoe::ShapeError>);
  static_assert(std::is_base_of_v<rlmoe::Error, rlmoe::NumericError>);
  static_assert(std::is_base_of_v<rlmoe::Error, rlmoe::CudaError>);
  static_assert(std::is_base_of_v<rlmoe::Error, rlmoe::CublasError>);
  static_assert(std::is_base_of_v<std::runtime_error, rlmoe::Error>);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(philox)

// Known-answer vectors of Random123 (kat_vectors, "philox4x32 10"): counter, key, output.
BOOST_AUTO_TEST_CASE(random123_known_answers) {
  struct Case {
    rlmoe::PhiloxCounter counter;
    rlmoe::PhiloxKey key;
    std::uint32_t expected[4];
  };
  const Case cases[] = {
      {{{0, 0, 0, 0}}, {{0, 0}}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       {{0xffffffffu, 0xffffffffu}},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       {{0xa4093822u, 0x299f31d0u}},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Case& c : cases) {
    const rlmoe::PhiloxBlock out = rlmoe::philox4x32_10(c.counter, c.key);
    for (int i = 0; i < 4; ++i) BOOST_TEST(out.v[i] == c.expected[i], "word " << i);
  }
}

BOOST_AUTO_TEST_CASE(usable_in_constant_expressions) {
  constexpr rlmoe::PhiloxBlock out = rlmoe::philox4x32_10({{0, 0, 0, 0}}, {{0, 0}});
  static_assert(out.v[0] == 0x6627e8d5u, "Philox must be evaluable at compile time");
  BOOST_TEST(out.v[3] == 0x9b00dbd8u);
}

BOOST_AUTO_TEST_CASE(stream_layout_is_counter_offset_then_stream) {
  rlmoe::RandomStream stream(0x0123456789abcdefull, 0xfedcba9876543210ull, 5);
  const rlmoe::PhiloxBlock expected = rlmoe::philox4x32_10({{5u, 0u, 0x76543210u, 0xfedcba98u}}, {{0x89abcdefu, 0x01234567u}});
  for (int i = 0; i < 4; ++i) BOOST_TEST(stream.next_u32() == expected.v[i]);
  BOOST_TEST(stream.offset() == 6u);
  const rlmoe::PhiloxBlock next = rlmoe::philox4x32_10({{6u, 0u, 0x76543210u, 0xfedcba98u}}, {{0x89abcdefu, 0x01234567u}});
  BOOST_TEST(stream.next_u32() == next.v[0]);
}

BOOST_AUTO_TEST_CASE(same_seed_same_numbers_other_stream_other_numbers) {
  rlmoe::RandomStream a(42, 7), b(42, 7), c(42, 8), d(43, 7);
  int equal_to_c = 0, equal_to_d = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t x = a.next_u32();
    BOOST_TEST_REQUIRE(x == b.next_u32());
    equal_to_c += x == c.next_u32();
    equal_to_d += x == d.next_u32();
  }
  BOOST_TEST(equal_to_c < 3);
  BOOST_TEST(equal_to_d < 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(random_sampling)

BOOST_AUTO_TEST_CASE(uniform_floats_are_in_open_closed_unit_interval) {
  BOOST_TEST(rlmoe::uniform_float(0u) == 1.0f / 16777216.0f);
  BOOST_TEST(rlmoe::uniform_float(0xffffffffu) == 1.0f);
  BOOST_TEST(rlmoe::uniform_double(0u, 0u) > 0.0);
  BOOST_TEST(rlmoe::uniform_double(0xffffffffu, 0xffffffffu) == 1.0);
  rlmoe::RandomStream stream(1, 2);
  const int n = 1 << 20;
  double sum = 0.0, sum_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    const float u = stream.uniform();
    BOOST_TEST_REQUIRE((u > 0.0f && u <= 1.0f));
    sum += u;
    sum_sq += static_cast<double>(u) * u;
  }
  // Mean 1/2 and variance 1/12; the bounds are 6 standard errors of each estimate.
  const double mean = sum / n, variance = sum_sq / n - mean * mean;
  BOOST_TEST(std::abs(mean - 0.5) < 6.0 * std::sqrt(1.0 / 12.0 / n));
  BOOST_TEST(std::abs(variance - 1.0 / 12.0) < 6.0 * std::sqrt(1.0 / 180.0 / n));
}

BOOST_AUTO_TEST_CASE(normals_have_standard_moments) {
  rlmoe::RandomStream stream(3, 4);
  const int n = 1 << 20;
  double sum = 0, sum2 = 0, sum3 = 0, sum4 = 0;
  int beyond_two_sigma = 0;
  for (int i = 0; i < n; ++i) {
    const double z = stream.normal();
    BOOST_TEST_REQUIRE(std::isfinite(z));
    sum += z;
    sum2 += z * z;
    sum3 += z * z * z;
    sum4 += z * z * z * z;
    beyond_two_sigma += std::abs(z) > 2.0;
  }
  // Standard errors: mean 1/sqrt(n), E[z^2] sqrt(2/n), E[z^3] sqrt(15/n), E[z^4] sqrt(96/n).
  BOOST_TEST(std::abs(sum / n) < 6.0 / std::sqrt(n));
  BOOST_TEST(std::abs(sum2 / n - 1.0) < 6.0 * std::sqrt(2.0 / n));
  BOOST_TEST(std::abs(sum3 / n) < 6.0 * std::sqrt(15.0 / n));
  BOOST_TEST(std::abs(sum4 / n - 3.0) < 6.0 * std::sqrt(96.0 / n));
  // P(|z| > 2) = 0.0455003.
  const double p = 0.0455003;
  BOOST_TEST(std::abs(beyond_two_sigma / double(n) - p) < 6.0 * std::sqrt(p * (1 - p) / n));
}

BOOST_AUTO_TEST_CASE(categorical_frequencies_match_weights) {
  const std::vector<float> weights = {0.0f, 1.0f, 0.0f, 2.0f, 3.0f, 0.5f, 0.0f};
  const double total = 6.5;
  rlmoe::RandomStream stream(5, 6);
  const int n = 400000;
  std::vector<int> counts(weights.size(), 0);
  for (int i = 0; i < n; ++i) {
    const index_t k = stream.categorical(static_cast<index_t>(weights.size()), [&](index_t j) { return weights[j]; });
    BOOST_TEST_REQUIRE((k >= 0 && k < static_cast<index_t>(weights.size())));
    ++counts[static_cast<std::size_t>(k)];
  }
  double chi_square = 0.0;
  for (std::size_t j = 0; j < weights.size(); ++j) {
    if (weights[j] == 0.0f) {
      BOOST_TEST(counts[j] == 0, "zero-weight category " << j << " was drawn");
      continue;
    }
    const double expected = n * weights[j] / total;
    chi_square += (counts[j] - expected) * (counts[j] - expected) / expected;
  }
  // 3 degrees of freedom: P(chi2 > 21.1) = 1e-4.
  BOOST_TEST(chi_square < 21.1);
}

BOOST_AUTO_TEST_CASE(categorical_edge_cases) {
  const std::vector<double> weights = {0.0, 0.0, 4.0};
  const auto weight = [&](index_t j) { return weights[j]; };
  BOOST_TEST(rlmoe::sample_categorical(3, weight, 1e-300) == 2);  // never a zero-weight prefix
  BOOST_TEST(rlmoe::sample_categorical(3, weight, 1.0) == 2);
  const auto zero = [](index_t) { return 0.0f; };
  BOOST_TEST(rlmoe::sample_categorical(4, zero, 0.5f) == -1);
  // Inverse CDF: u * total falls in the bucket [cumsum_{i-1}, cumsum_i].
  const std::vector<float> w = {1.0f, 1.0f, 2.0f};
  const auto wf = [&](index_t j) { return w[j]; };
  BOOST_TEST(rlmoe::sample_categorical(3, wf, 0.25f) == 0);
  BOOST_TEST(rlmoe::sample_categorical(3, wf, 0.26f) == 1);
  BOOST_TEST(rlmoe::sample_categorical(3, wf, 0.51f) == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bfloat16)

namespace {

using rlmoe::bfloat16;

float float_of_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

/// The bf16 nearest to x (ties to the even mantissa), found in float64 from the two bf16 values
/// around x; independent of the bit trick under test. Infinity stands for 2^128, the step after
/// the largest finite value, as in IEEE rounding.
std::uint16_t reference_rounding(float x) {
  if (std::isnan(x)) return 0x7FC0;
  const std::uint32_t u = bits_of(x);
  const std::uint16_t toward_zero = static_cast<std::uint16_t>(u >> 16);
  if ((u & 0xFFFFu) == 0) return toward_zero;  // exactly representable (also the infinities)
  const std::uint16_t away = static_cast<std::uint16_t>(toward_zero + 1);  // next magnitude, same sign
  const auto value = [](std::uint16_t b) {
    if ((b & 0x7FFFu) == 0x7F80u) return std::ldexp(1.0, 128);  // infinity, as a finite next step for the comparison
    return static_cast<double>(float_of_bits(static_cast<std::uint32_t>(b) << 16));
  };
  const double below = std::abs(value(toward_zero)), above = std::abs(value(away)), magnitude = std::abs(static_cast<double>(x));
  if (magnitude - below < above - magnitude) return toward_zero;
  if (magnitude - below > above - magnitude) return away;
  return (toward_zero & 1u) == 0 ? toward_zero : away;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_bf16_value_round_trips_through_float) {
  for (std::uint32_t b = 0; b <= 0xFFFFu; ++b) {
    const bfloat16 x = bfloat16::from_bits(static_cast<std::uint16_t>(b));
    const float f = x;
    BOOST_TEST_REQUIRE(bits_of(f) == b << 16);  // widening is exact
    const std::uint16_t back = bfloat16(f).bits;
    if (std::isnan(f))
      BOOST_TEST_REQUIRE(back == 0x7FC0u);
    else
      BOOST_TEST_REQUIRE(back == b);
  }
}

BOOST_AUTO_TEST_CASE(rounds_to_nearest_even_like_a_float64_reference) {
  // Every float whose low 16 bits are one of the interesting patterns (just below, at and just
  // above the halfway point, and the extremes), for every upper half: all signs, binades,
  // subnormals, the infinities and NaNs; plus a pseudo-random sample of all floats.
  std::size_t checked = 0;
  for (std::uint32_t upper = 0; upper <= 0xFFFFu; ++upper)
    for (std::uint32_t lower : {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu}) {
      const float x = float_of_bits(upper << 16 | lower);
      BOOST_TEST_REQUIRE(bfloat16(x).bits == reference_rounding(x), "x = " << x << " (bits " << std::hex << bits_of(x) << ")");
      ++checked;
    }
  std::uint32_t state = 12345;
  for (int i = 0; i < 1000000; ++i) {
    state = state * 1664525u + 1013904223u;
    const float x = float_of_bits(state);
    BOOST_TEST_REQUIRE(bfloat16(x).bits == reference_rounding(x), "x = " << x);
    ++checked;
  }
  BOOST_TEST(checked == 65536u * 6u + 1000000u);
}

BOOST_AUTO_TEST_CASE(named_cases) {
  BOOST_TEST(bfloat16(1.0f).bits == 0x3F80u);
  BOOST_TEST(bfloat16(-2.0f).bits == 0xC000u);
  BOOST_TEST(float(bfloat16(1.00390625f)) == 1.0f);       // 1 + 2^-8: halfway, ties to even (down)
  BOOST_TEST(float(bfloat16(1.01171875f)) == 1.015625f);  // 1 + 3 * 2^-8: halfway, ties to even (up)
  BOOST_TEST(float(bfloat16(3.14159265f)) == 3.140625f);
  const float largest = float_of_bits(0x7F7F0000u);      // 3.3895e38
  BOOST_TEST(bfloat16(std::numeric_limits<float>::max()).bits == 0x7F80u);  // past largest + half a step: infinity
  BOOST_TEST(bfloat16(largest).bits == 0x7F7Fu);
  BOOST_TEST(bfloat16(-std::numeric_limits<float>::infinity()).bits == 0xFF80u);
  BOOST_TEST(bfloat16(std::numeric_limits<float>::quiet_NaN()).bits == 0x7FC0u);
  BOOST_TEST(bfloat16(-std::numeric_limits<float>::quiet_NaN()).bits == 0x7FC0u);
  BOOST_TEST(bfloat16(float_of_bits(0x7F800001u)).bits == 0x7FC0u);  // a signalling NaN must not become infinity
  BOOST_TEST(bfloat16(-0.0f).bits == 0x8000u);
  BOOST_TEST(bfloat16(float_of_bits(0x00008000u)).bits == 0x0000u);  // the smallest subnormals: ties to even, to zero
  BOOST_TEST(bfloat16(float_of_bits(0x00018000u)).bits == 0x0002u);
  using limits = std::numeric_limits<bfloat16>;
  BOOST_TEST(float(limits::epsilon()) == std::ldexp(1.0f, 1 - limits::digits));  // 1 + epsilon is the next value
  BOOST_TEST(float(bfloat16(1.0f + float(limits::epsilon()))) == 1.0f + float(limits::epsilon()));
  BOOST_TEST(float(limits::max()) == largest);
  BOOST_TEST(float(limits::lowest()) == -largest);
  BOOST_TEST(float(limits::min()) == std::numeric_limits<float>::min());
  BOOST_TEST(float(limits::denorm_min()) == std::ldexp(1.0f, -133));
  BOOST_TEST(std::isinf(float(limits::infinity())));
  BOOST_TEST(std::isnan(float(limits::quiet_NaN())));
  bfloat16 x = 1.0f;
  x += 1.0f / 512;  // 1 + 2^-9 rounds back to 1: compound assignment rounds once per operation
  BOOST_TEST(float(x) == 1.0f);
  x *= 3.0f;
  BOOST_TEST(float(x) == 3.0f);
}

BOOST_AUTO_TEST_SUITE_END()
