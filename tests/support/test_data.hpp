#pragma once
// Random test inputs and comparisons shared by the test programs. Inputs come from std::mt19937_64
// (independent of the library's Philox) and every comparison reports the worst element, so a
// failing check says where and by how much.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rlmoe/core/types.hpp"

namespace rlmoe::test {

/// Sizes every primitive is tested at: empty, one, around warp and block sizes, and large.
inline const std::vector<index_t> kSizes = {0, 1, 2, 7, 31, 32, 33, 255, 256, 257, 1000, 4097, 65537, 1 << 20};

template <class T>
std::vector<T> random_uniform(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> distribution(lo, hi);
  std::vector<T> out(n);
  for (T& x : out) x = static_cast<T>(distribution(engine));
  return out;
}

/// Integers in [lo, hi] stored as T. Small integer-valued floats add and multiply exactly (while
/// partial results stay below 2^24), so sums and products over them can be compared bit for bit
/// whatever the order of operations: a dropped or doubled element cannot hide in a tolerance.
template <class T>
std::vector<T> random_integers(std::size_t n, std::uint64_t seed, std::int64_t lo, std::int64_t hi) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<std::int64_t> distribution(lo, hi);
  std::vector<T> out(n);
  for (T& x : out) x = static_cast<T>(distribution(engine));
  return out;
}

/// Checks |actual[i] - expected[i]| <= atol + rtol * |expected[i]| for every i, NaN never passing.
template <class A, class E>
void check_close(std::span<const A> actual, std::span<const E> expected, double rtol, double atol,
                 std::string_view what) {
  BOOST_TEST_REQUIRE(actual.size() == expected.size(), what << ": " << actual.size() << " values, expected "
                                                            << expected.size());
  std::size_t bad = 0, worst = 0;
  double worst_excess = -1.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    const double allowed = atol + rtol * std::abs(e);
    const double error = std::abs(a - e);
    const bool ok = (std::isnan(a) && std::isnan(e)) || error <= allowed || a == e;  // a == e: equal infinities
    const double excess = ok ? error - allowed : INFINITY;
    if (!ok) ++bad;
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = i;
    }
  }
  BOOST_TEST(bad == 0u, what << ": " << bad << " of " << actual.size() << " values differ; worst at [" << worst
                             << "]: " << (actual.empty() ? 0.0 : static_cast<double>(actual[worst])) << " vs "
                             << (expected.empty() ? 0.0 : static_cast<double>(expected[worst])) << " (rtol "
                             << rtol << ", atol " << atol << ")");
}

template <class A, class E>
void check_close(const std::vector<A>& actual, const std::vector<E>& expected, double rtol, double atol,
                 std::string_view what) {
  check_close(std::span<const A>(actual), std::span<const E>(expected), rtol, atol, what);
}

/// Checks |actual[i] - expected[i]| <= tolerance[i] for every i (a bound derived per element).
template <class A>
void check_within(const std::vector<A>& actual, const std::vector<double>& expected,
                  const std::vector<double>& tolerance, std::string_view what) {
  BOOST_TEST_REQUIRE(actual.size() == expected.size(), what << ": " << actual.size() << " values, expected "
                                                            << expected.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(static_cast<double>(actual[i]) - expected[i]);
    if (!(error <= tolerance[i]) && bad++ == 0) first = i;
  }
  BOOST_TEST(bad == 0u, what << ": " << bad << " of " << actual.size() << " values out of bounds; first at [" << first
                             << "]: " << (bad ? static_cast<double>(actual[first]) : 0.0) << " vs "
                             << (bad ? expected[first] : 0.0) << " (tolerance " << (bad ? tolerance[first] : 0.0) << ")");
}

/// max |a - ref| / max |ref|: the relative error of a whole vector.
template <class T>
double relative_error(const std::vector<T>& got, const std::vector<double>& expected) {
  double error = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - expected[i]);
    error = std::isnan(e) ? INFINITY : std::max(error, e);
    scale = std::max(scale, std::abs(expected[i]));
  }
  return scale > 0.0 ? error / scale : error;
}

template <class T>
std::vector<double> as_double(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

/// Bitwise equality of two arrays, reporting the first difference.
template <class T>
void check_equal(const std::vector<T>& actual, const std::vector<T>& expected, std::string_view what) {
  BOOST_TEST_REQUIRE(actual.size() == expected.size(), what << ": " << actual.size() << " values, expected "
                                                            << expected.size());
  std::size_t bad = 0, first = actual.size();
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != expected[i] && !(actual[i] != actual[i] && expected[i] != expected[i])) {
      if (bad++ == 0) first = i;
    }
  }
  if (bad == 0) {
    BOOST_TEST(true);
    return;
  }
  BOOST_TEST(bad == 0u, what << ": " << bad << " of " << actual.size() << " values differ; first at [" << first
                             << "]: " << +actual[first] << " vs " << +expected[first]);
}

/// True when calling f throws E whose message contains every one of `parts`.
template <class E, class F>
bool throws_with(F&& f, std::initializer_list<std::string_view> parts) {
  try {
    f();
  } catch (const E& error) {
    const std::string_view message = error.what();
    for (std::string_view part : parts) {
      if (message.find(part) == std::string_view::npos) {
        BOOST_TEST_MESSAGE("message \"" << message << "\" lacks \"" << part << "\"");
        return false;
      }
    }
    return true;
  }
  return false;
}

}  // namespace rlmoe::test
