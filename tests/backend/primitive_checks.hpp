#pragma once
// Checks of every backend primitive against plain float64 loops, written once over the backend
// type and instantiated by the Host test program and by the CUDA test program. Inputs are random,
// at sizes that include 0, 1 and non-multiples of the block size.
//
// Where the result of an operation is exact in real arithmetic (sums and products of small
// integers stored as floats), the check is exact too, whatever the order of operations, so an
// element dropped, doubled or misplaced cannot hide inside a tolerance.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "rlmoe/rlmoe.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

// ---------------------------------------------------------------------------------------------
// memory

template <class B>
void check_memory(const B& backend) {
  for (index_t n : kSizes) {
    const auto values = random_uniform<float>(static_cast<std::size_t>(n), 100 + n);
    Buffer<float, B> first = to_backend(backend, values);
    BOOST_TEST_REQUIRE(first.size() == n);
    Buffer<float, B> second(backend, n);
    copy(backend, second.view(), VectorView<const float>(first.view()));  // backend to backend
    Buffer<float, B> moved = std::move(second);
    BOOST_TEST(second.data() == nullptr);
    BOOST_TEST(second.size() == 0);
    check_equal(to_host(backend, moved.view()), values, "round trip n=" + std::to_string(n));
  }
  Buffer<int, B> a(backend, 12), b(backend, 10);
  BOOST_TEST(throws_with<ShapeError>([&] { copy(backend, b.view(), a.view()); }, {"copy", "[10]", "[12]"}));
  BOOST_TEST(throws_with<ShapeError>([&] { (void)a.view(5, 2); }, {"[12]", "[5, 2]"}));
  BOOST_TEST((a.view(3, 4).shape() == Extents<2>{3, 4}));
}

// ---------------------------------------------------------------------------------------------
// parallel_for and fill

struct WriteAffine {
  VectorView<std::int64_t> out;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { out[i] = 3 * i + 1; }
};

template <class B>
void check_parallel_for(const B& backend) {
  std::vector<index_t> sizes = kSizes;
  sizes.push_back(50'000'000);  // more iterations than one launch has threads: the grid-stride loop
  for (index_t n : sizes) {
    std::vector<std::int64_t> poison(static_cast<std::size_t>(n), -7);
    Buffer<std::int64_t, B> out = to_backend(backend, poison);
    parallel_for(backend, n, WriteAffine{out.view()});
    const auto got = to_host(backend, out.view());
    std::size_t bad = 0;
    for (index_t i = 0; i < n; ++i) bad += got[static_cast<std::size_t>(i)] != 3 * i + 1;
    BOOST_TEST(bad == 0u, "n=" << n << ": " << bad << " elements not written exactly once");
  }
  Buffer<std::int64_t, B> out(backend, 1);
  BOOST_TEST(throws_with<ShapeError>([&] { parallel_for(backend, -1, WriteAffine{out.view()}); }, {"n is -1"}));
}

template <class B>
void check_fill(const B& backend) {
  for (index_t n : kSizes) {
    Buffer<double, B> buffer = to_backend(backend, random_uniform<double>(static_cast<std::size_t>(n), n));
    fill(backend, buffer.view(), 2.5);
    check_equal(to_host(backend, buffer.view()), std::vector<double>(static_cast<std::size_t>(n), 2.5),
                "fill n=" + std::to_string(n));
  }
  // A strided view: column 2 of a 37 x 5 matrix; every other element must stay untouched.
  const index_t rows = 37, cols = 5;
  std::vector<float> host(static_cast<std::size_t>(rows * cols));
  std::iota(host.begin(), host.end(), 0.0f);
  Buffer<float, B> matrix = to_backend(backend, host);
  const TensorView<float, 2> column(matrix.data() + 2, Extents<2>{rows, 1}, Extents<2>{cols, 1});
  fill(backend, column, -1.0f);
  for (index_t r = 0; r < rows; ++r) host[static_cast<std::size_t>(r * cols + 2)] = -1.0f;
  check_equal(to_host(backend, matrix.view()), host, "fill of a strided column");
}

// ---------------------------------------------------------------------------------------------
// reduce

template <class B, class T, class Op>
T reduce_on(const B& backend, const std::vector<T>& values, Op op, T init) {
  Buffer<T, B> input = to_backend(backend, values);
  Buffer<T, B> output(backend, 1);
  reduce(backend, input.view(), output.view(), op, init);
  return to_host(backend, output.view())[0];
}

template <class B, class T>
void check_reduce(const B& backend) {
  for (index_t n : kSizes) {
    const std::string where = " n=" + std::to_string(n);
    // Integers in [-8, 8]: every partial sum is exact in float up to n = 2^20.
    const auto values = random_integers<T>(static_cast<std::size_t>(n), 200 + n, -8, 8);
    double sum = 3.0, max = static_cast<double>(T(-1e30)), min = static_cast<double>(T(1e30));
    for (T x : values) {
      sum += static_cast<double>(x);
      max = std::max(max, static_cast<double>(x));
      min = std::min(min, static_cast<double>(x));
    }
    BOOST_TEST(static_cast<double>(reduce_on(backend, values, Sum{}, T(3))) == sum, "sum" << where);
    BOOST_TEST(static_cast<double>(reduce_on(backend, values, Max{}, T(-1e30))) == max, "max" << where);
    BOOST_TEST(static_cast<double>(reduce_on(backend, values, Min{}, T(1e30))) == min, "min" << where);
  }
  // Real values: the sum agrees with float64 to rounding of a balanced reduction tree.
  const auto values = random_uniform<T>(1'000'003, 7, 0.0, 1.0);
  double sum = 0.0;
  for (T x : values) sum += static_cast<double>(x);
  const double tolerance = 64.0 * std::numeric_limits<T>::epsilon() * sum;
  BOOST_TEST(std::abs(static_cast<double>(reduce_on(backend, values, Sum{}, T(0))) - sum) <= tolerance);
}

// ---------------------------------------------------------------------------------------------
// transform_reduce

/// Two statistics reduced together, as a fused loss kernel reduces its loss and metrics.
struct CountAndMax {
  std::int64_t count;
  std::int64_t max;
};
struct CombineCountAndMax {
  RLMOE_HOST_DEVICE CountAndMax operator()(const CountAndMax& a, const CountAndMax& b) const {
    return {a.count + b.count, a.max > b.max ? a.max : b.max};
  }
};

/// Marks index i as visited (a plain increment: a second call would leave 2) and returns
/// (i % 7, 5 * i mod 1009).
struct VisitOnce {
  VectorView<std::int32_t> visits;
  RLMOE_HOST_DEVICE CountAndMax operator()(index_t i) const {
    visits[i] = visits[i] + 1;
    return {i % 7, (5 * i) % 1009};
  }
};

template <class B>
void check_transform_reduce(const B& backend) {
  std::vector<index_t> sizes = kSizes;
  sizes.push_back(10'000'019);
  for (index_t n : sizes) {
    Buffer<std::int32_t, B> visits = to_backend(backend, std::vector<std::int32_t>(static_cast<std::size_t>(n), 0));
    Buffer<CountAndMax, B> out(backend, 1);
    transform_reduce(backend, n, VisitOnce{visits.view()}, out.view(), CombineCountAndMax{}, CountAndMax{100, -1});
    CountAndMax expected{100, -1};
    for (index_t i = 0; i < n; ++i) expected = CombineCountAndMax{}(expected, {i % 7, (5 * i) % 1009});
    const CountAndMax got = to_host(backend, out.view())[0];
    BOOST_TEST(got.count == expected.count, "count n=" << n);
    BOOST_TEST(got.max == expected.max, "max n=" << n);
    check_equal(to_host(backend, visits.view()), std::vector<std::int32_t>(static_cast<std::size_t>(n), 1),
                "each index visited exactly once, n=" + std::to_string(n));
  }
}

// ---------------------------------------------------------------------------------------------
// segmented_reduce

/// Segment offsets for the given lengths.
inline std::vector<index_t> offsets_from_lengths(const std::vector<index_t>& lengths) {
  std::vector<index_t> offsets(lengths.size() + 1, 0);
  std::partial_sum(lengths.begin(), lengths.end(), offsets.begin() + 1);
  return offsets;
}

template <class B, class T>
void check_segmented_reduce_case(const B& backend, const std::vector<index_t>& lengths, std::uint64_t seed,
                                 int ddof, const std::string& what) {
  const std::vector<index_t> offsets = offsets_from_lengths(lengths);
  const auto values = random_uniform<T>(static_cast<std::size_t>(offsets.back()), seed, -3.0, 5.0);
  const std::size_t segments = lengths.size();
  // Reference in long double; the tolerance is one rounding to T plus the error bound of a double
  // summation of `count` terms, count * eps_double * sum|x| (relative, for the squared deviations).
  const double rounding = 2.0 * std::numeric_limits<T>::epsilon();
  const double eps = std::numeric_limits<double>::epsilon();
  std::vector<double> sum(segments), mean(segments), stddev(segments), sum_tol(segments), mean_tol(segments),
      stddev_tol(segments);
  for (std::size_t s = 0; s < segments; ++s) {
    long double total = 0.0L, absolute = 0.0L;
    for (index_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      total += values[static_cast<std::size_t>(i)];
      absolute += std::abs(static_cast<long double>(values[static_cast<std::size_t>(i)]));
    }
    const index_t count = lengths[s];
    const long double m = count > 0 ? total / count : 0.0L;
    long double squares = 0.0L;
    for (index_t i = offsets[s]; i < offsets[s + 1]; ++i) {
      const long double d = values[static_cast<std::size_t>(i)] - m;
      squares += d * d;
    }
    sum[s] = static_cast<double>(total);
    mean[s] = static_cast<double>(m);
    stddev[s] = count > ddof ? static_cast<double>(std::sqrt(squares / (count - ddof))) : 0.0;
    const double summation = static_cast<double>(count + 1) * eps;
    sum_tol[s] = rounding * std::abs(sum[s]) + summation * static_cast<double>(absolute) + 1e-300;
    mean_tol[s] = count > 0 ? rounding * std::abs(mean[s]) + summation * static_cast<double>(absolute) / count : 0.0;
    stddev_tol[s] = (rounding + summation) * stddev[s] + (count > 0 ? mean_tol[s] : 0.0);
  }
  Buffer<T, B> device_values = to_backend(backend, values);
  Buffer<index_t, B> device_offsets = to_backend(backend, offsets);
  const auto n = static_cast<index_t>(segments);
  Buffer<T, B> out_sum(backend, n), out_mean(backend, n), out_stddev(backend, n);
  segmented_reduce<B, T>(backend, device_values.view(), device_offsets.view(),
                         {out_sum.view(), out_mean.view(), out_stddev.view()}, ddof);
  check_within(to_host(backend, out_sum.view()), sum, sum_tol, what + " sum");
  check_within(to_host(backend, out_mean.view()), mean, mean_tol, what + " mean");
  check_within(to_host(backend, out_stddev.view()), stddev, stddev_tol, what + " stddev");

  // Only the mean requested: the others stay unwritten (and empty views are accepted).
  Buffer<T, B> only_mean(backend, n);
  segmented_reduce<B, T>(backend, device_values.view(), device_offsets.view(), {{}, only_mean.view(), {}}, ddof);
  check_within(to_host(backend, only_mean.view()), mean, mean_tol, what + " mean alone");
}

template <class B, class T>
void check_segmented_reduce(const B& backend) {
  std::mt19937_64 engine(11);
  const auto lengths = [&](std::size_t count, index_t lo, index_t hi) {
    std::uniform_int_distribution<index_t> d(lo, hi);
    std::vector<index_t> out(count);
    for (index_t& x : out) x = d(engine);
    return out;
  };
  for (int ddof : {0, 1}) {
    const std::string d = " ddof=" + std::to_string(ddof);
    check_segmented_reduce_case<B, T>(backend, {}, 1, ddof, "no segments" + d);
    check_segmented_reduce_case<B, T>(backend, {0, 1, 0, 2, 0}, 2, ddof, "empty and tiny segments" + d);
    check_segmented_reduce_case<B, T>(backend, std::vector<index_t>(1000, 16), 3, ddof, "GRPO groups of 16" + d);
    check_segmented_reduce_case<B, T>(backend, lengths(3001, 0, 70), 4, ddof, "ragged short segments" + d);
    check_segmented_reduce_case<B, T>(backend, lengths(37, 1000, 9000), 5, ddof, "long segments" + d);
    check_segmented_reduce_case<B, T>(backend, {1 << 20}, 6, ddof, "one segment of 2^20" + d);
  }
  // A constant segment has exactly zero spread, not a cancellation residue.
  const std::vector<T> constant(100, T(0.1));
  Buffer<T, B> values = to_backend(backend, constant);
  Buffer<index_t, B> offsets = to_backend(backend, std::vector<index_t>{0, 100});
  Buffer<T, B> stddev(backend, 1);
  segmented_reduce<B, T>(backend, values.view(), offsets.view(), {{}, {}, stddev.view()}, 1);
  BOOST_TEST(to_host(backend, stddev.view())[0] < T(1e-7));

  Buffer<T, B> out(backend, 2);
  BOOST_TEST(throws_with<ShapeError>(
      [&] { segmented_reduce<B, T>(backend, values.view(), offsets.view(), {out.view(), {}, {}}); },
      {"sum", "[2]", "1 segments"}));
  BOOST_TEST(throws_with<ConfigError>(
      [&] { segmented_reduce<B, T>(backend, values.view(), offsets.view(), {{}, out.view().slice(0, 1), {}}, 2); },
      {"ddof is 2"}));
}

// ---------------------------------------------------------------------------------------------
// exclusive_scan

template <class B, class T>
void check_exclusive_scan(const B& backend) {
  for (index_t n : kSizes) {
    const std::string where = " n=" + std::to_string(n);
    const auto values = random_integers<T>(static_cast<std::size_t>(n), 300 + n, 0, 9);
    std::vector<T> expected(static_cast<std::size_t>(n) + 1, T(0));
    for (std::size_t i = 0; i < values.size(); ++i) expected[i + 1] = expected[i] + values[i];
    Buffer<T, B> input = to_backend(backend, values);

    Buffer<T, B> with_total(backend, n + 1);
    exclusive_scan(backend, input.view(), with_total.view());
    check_equal(to_host(backend, with_total.view()), expected, "scan with total" + where);

    Buffer<T, B> without_total(backend, n);
    exclusive_scan(backend, input.view(), without_total.view());
    expected.pop_back();
    check_equal(to_host(backend, without_total.view()), expected, "scan" + where);

    exclusive_scan(backend, input.view(), input.view());  // in place
    check_equal(to_host(backend, input.view()), expected, "scan in place" + where);
  }
  Buffer<T, B> input(backend, 5), output(backend, 7);
  BOOST_TEST(throws_with<ShapeError>([&] { exclusive_scan(backend, input.view(), output.view()); },
                                     {"[7]", "[5]", "5 or 6"}));
}

// ---------------------------------------------------------------------------------------------
// sort_pairs

template <class B, class K>
void check_sort_pairs_case(const B& backend, const std::vector<K>& keys, int key_bits, const std::string& what) {
  const auto n = static_cast<index_t>(keys.size());
  std::vector<std::int32_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return keys[a] < keys[b]; });
  std::vector<K> sorted_keys(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) sorted_keys[i] = keys[static_cast<std::size_t>(order[i])];

  std::vector<std::int32_t> identity(keys.size());
  std::iota(identity.begin(), identity.end(), 0);
  Buffer<K, B> keys_in = to_backend(backend, keys);
  Buffer<std::int32_t, B> values_in = to_backend(backend, identity);
  Buffer<K, B> keys_out(backend, n);
  Buffer<std::int32_t, B> values_out(backend, n);
  sort_pairs<B, K, std::int32_t>(backend, keys_in.view(), values_in.view(), keys_out.view(), values_out.view(), key_bits);
  check_equal(to_host(backend, keys_out.view()), sorted_keys, what + " keys");
  check_equal(to_host(backend, values_out.view()), order, what + " values (stable order)");
}

template <class B, class K>
void check_sort_pairs(const B& backend) {
  for (index_t n : kSizes) {
    const std::string where = " n=" + std::to_string(n);
    const auto count = static_cast<std::size_t>(n);
    const std::int64_t lo = std::is_signed_v<K> ? -1000 : 0;
    check_sort_pairs_case<B, K>(backend, random_integers<K>(count, 400 + n, lo, 1000), sizeof(K) * 8, "full width" + where);
    // Expert ids of a 64-expert layer: many equal keys, 6 bits.
    check_sort_pairs_case<B, K>(backend, random_integers<K>(count, 500 + n, 0, 63), 6, "6-bit keys" + where);
  }
  std::vector<K> extremes = {std::numeric_limits<K>::max(), 0, std::numeric_limits<K>::min(), 1, 0,
                             std::numeric_limits<K>::max(), static_cast<K>(std::numeric_limits<K>::min() + 1)};
  check_sort_pairs_case<B, K>(backend, extremes, sizeof(K) * 8, "extreme keys");
}

// ---------------------------------------------------------------------------------------------
// histogram

template <class B, class K>
void check_histogram(const B& backend) {
  for (index_t n : kSizes) {
    for (index_t bins : {1, 8, 64, 1000}) {
      // Keys from -3 to bins + 3: the out-of-range ones must not be counted.
      const std::int64_t lo = std::is_signed_v<K> ? -3 : 0;
      const auto keys = random_integers<K>(static_cast<std::size_t>(n), 700 + n + bins, lo, bins + 3);
      std::vector<std::int32_t> expected(static_cast<std::size_t>(bins), 0);
      for (K key : keys)
        if (static_cast<std::int64_t>(key) >= 0 && static_cast<std::int64_t>(key) < bins) ++expected[static_cast<std::size_t>(key)];
      Buffer<K, B> device_keys = to_backend(backend, keys);
      Buffer<std::int32_t, B> counts = to_backend(backend, std::vector<std::int32_t>(static_cast<std::size_t>(bins), -1));
      histogram<B, K>(backend, device_keys.view(), counts.view());
      check_equal(to_host(backend, counts.view()), expected,
                  "histogram n=" + std::to_string(n) + " bins=" + std::to_string(bins));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// gemm and grouped_gemm

/// A row-major matrix in host memory with `pad` unused elements at the end of each row.
template <class T>
struct HostMatrix {
  index_t rows = 0, cols = 0, ld = 1;
  std::vector<T> storage;

  HostMatrix(index_t r, index_t c, index_t pad, std::vector<T> values) : rows(r), cols(c), ld(std::max<index_t>(1, c + pad)) {
    storage.assign(static_cast<std::size_t>(std::max<index_t>(1, r * ld)), std::numeric_limits<T>::quiet_NaN());
    for (index_t i = 0; i < r; ++i)
      for (index_t j = 0; j < c; ++j) storage[static_cast<std::size_t>(i * ld + j)] = values[static_cast<std::size_t>(i * c + j)];
  }
  double at(index_t i, index_t j) const { return static_cast<double>(storage[static_cast<std::size_t>(i * ld + j)]); }
};

/// A HostMatrix uploaded to the backend, viewed with its leading dimension.
template <class T, class B>
struct BackendMatrix {
  Buffer<T, B> buffer;
  MatrixView<T> view;
  BackendMatrix(const B& backend, const HostMatrix<T>& m)
      : buffer(to_backend(backend, m.storage)), view(buffer.data(), Extents<2>{m.rows, m.cols}, Extents<2>{m.ld, 1}) {}
};

/// alpha * op(A) * op(B) + beta * C in float64, with beta == 0 not reading C.
template <class T, class TC>
std::vector<double> reference_gemm(Transpose ta, Transpose tb, double alpha, const HostMatrix<T>& a,
                                   const HostMatrix<T>& b, double beta, const HostMatrix<TC>& c) {
  const index_t m = c.rows, n = c.cols, k = ta == Transpose::Yes ? a.rows : a.cols;
  std::vector<double> out(static_cast<std::size_t>(c.storage.size()));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(c.storage[i]);  // padding kept
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (index_t l = 0; l < k; ++l)
        acc += (ta == Transpose::Yes ? a.at(l, i) : a.at(i, l)) * (tb == Transpose::Yes ? b.at(j, l) : b.at(l, j));
      out[static_cast<std::size_t>(i * c.ld + j)] = alpha * acc + (beta == 0.0 ? 0.0 : beta * c.at(i, j));
    }
  return out;
}

struct GemmShape {
  index_t m, n, k;
};

inline const std::vector<GemmShape> kGemmShapes = {{0, 3, 4},  {3, 0, 4},    {3, 4, 0},    {1, 1, 1},   {5, 7, 3},
                                                   {17, 33, 65}, {64, 64, 64}, {129, 70, 257}, {1, 300, 2}};

/// Operands for one product: op(A) is m x k, op(B) is k x n, small integers (exact products).
template <class T>
struct GemmOperands {
  HostMatrix<T> a, b, c;
  GemmOperands(GemmShape s, Transpose ta, Transpose tb, index_t pad, bool c_is_nan, std::uint64_t seed)
      : a(ta == Transpose::Yes ? s.k : s.m, ta == Transpose::Yes ? s.m : s.k, pad,
          random_integers<T>(static_cast<std::size_t>(s.m * s.k), seed, -4, 4)),
        b(tb == Transpose::Yes ? s.n : s.k, tb == Transpose::Yes ? s.k : s.n, pad,
          random_integers<T>(static_cast<std::size_t>(s.k * s.n), seed + 1, -4, 4)),
        c(s.m, s.n, pad,
          c_is_nan ? std::vector<T>(static_cast<std::size_t>(s.m * s.n), std::numeric_limits<T>::quiet_NaN())
                   : random_integers<T>(static_cast<std::size_t>(s.m * s.n), seed + 2, -4, 4)) {}
};

inline const char* name(Transpose t) { return t == Transpose::Yes ? "T" : "N"; }

template <class B, class T>
void check_gemm(const B& backend) {
  std::uint64_t seed = 600;
  for (const GemmShape& s : kGemmShapes)
    for (Transpose ta : {Transpose::No, Transpose::Yes})
      for (Transpose tb : {Transpose::No, Transpose::Yes})
        for (index_t pad : {0, 3})
          for (double beta : {0.0, -1.0}) {
            const std::string what = "gemm " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
                                     std::to_string(s.k) + " " + name(ta) + name(tb) + " pad " + std::to_string(pad) +
                                     " beta " + std::to_string(beta);
            // With beta == 0, C starts as NaN: BLAS semantics say it is not read.
            const GemmOperands<T> ops(s, ta, tb, pad, beta == 0.0, seed += 3);
            BackendMatrix<T, B> a(backend, ops.a), b(backend, ops.b), c(backend, ops.c);
            gemm<B, T>(backend, ta, tb, T(2), a.view, b.view, T(beta), c.view);
            const auto expected = reference_gemm(ta, tb, 2.0, ops.a, ops.b, beta, ops.c);
            check_close(to_host(backend, c.buffer.view()), expected, 0.0, 0.0, what);
          }
  // Real values: float64 reference, error within the textbook bound k * eps * (|A| |B|)_ij.
  const GemmShape s{65, 47, 300};
  const HostMatrix<T> a(s.m, s.k, 0, random_uniform<T>(static_cast<std::size_t>(s.m * s.k), 1));
  const HostMatrix<T> b(s.k, s.n, 0, random_uniform<T>(static_cast<std::size_t>(s.k * s.n), 2));
  const HostMatrix<T> c(s.m, s.n, 0, std::vector<T>(static_cast<std::size_t>(s.m * s.n), T(0)));
  BackendMatrix<T, B> da(backend, a), db(backend, b), dc(backend, c);
  gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), da.view, db.view, T(0), dc.view);
  const auto expected = reference_gemm(Transpose::No, Transpose::No, 1.0, a, b, 0.0, c);
  // |a|, |b| <= 1, so (|A| |B|)_ij <= k.
  const double bound = static_cast<double>(s.k) * std::numeric_limits<T>::epsilon() * static_cast<double>(s.k);
  check_close(to_host(backend, dc.buffer.view()), expected, 0.0, bound, "gemm real values");

  BOOST_TEST(throws_with<ShapeError>(
      [&] { gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), da.view, da.view, T(0), dc.view); },
      {"gemm", "op(A) has shape [65, 300]", "op(B) has shape [65, 300]", "inner extents"}));
  BOOST_TEST(throws_with<ShapeError>(
      [&] { gemm<B, T>(backend, Transpose::No, Transpose::Yes, T(1), da.view, db.view.slice(0, 47), T(0), dc.view); },
      {"gemm", "inner extents", "B [47, 47] transposed"}));
  const MatrixView<T> strided(dc.buffer.data(), Extents<2>{65, 20}, Extents<2>{47, 2});
  BOOST_TEST(throws_with<ShapeError>(
      [&] { gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), da.view, db.view, T(0), strided); },
      {"gemm: C", "unit stride"}));
}

/// bfloat16 A and B, C in float or bfloat16 (Out). Small integers first, whose products and sums
/// are exact in float, so C must be the exact result rounded once; then real values against a
/// float64 reference of the same bf16 inputs, within float accumulation's bound plus C's rounding.
template <class B, class Out>
void check_gemm_bf16(const B& backend) {
  const auto rounded_once = [](const std::vector<double>& exact) {
    std::vector<double> out(exact.size());
    for (std::size_t i = 0; i < exact.size(); ++i) out[i] = static_cast<double>(static_cast<float>(Out(static_cast<float>(exact[i]))));
    return out;
  };
  std::uint64_t seed = 900;
  for (const GemmShape& s : kGemmShapes)
    for (Transpose ta : {Transpose::No, Transpose::Yes})
      for (Transpose tb : {Transpose::No, Transpose::Yes})
        for (double beta : {0.0, -1.0}) {
          const std::string what = "bf16 gemm " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) +
                                   " " + name(ta) + name(tb) + " beta " + std::to_string(beta);
          const GemmOperands<bfloat16> ops(s, ta, tb, 3, false, seed += 3);
          HostMatrix<Out> c_start(s.m, s.n, 3, random_integers<Out>(static_cast<std::size_t>(s.m * s.n), seed + 7, -4, 4));
          if (beta == 0.0)  // BLAS semantics: C is not read
            for (index_t i = 0; i < s.m; ++i)
              for (index_t j = 0; j < s.n; ++j) c_start.storage[static_cast<std::size_t>(i * c_start.ld + j)] = std::numeric_limits<Out>::quiet_NaN();
          BackendMatrix<bfloat16, B> a(backend, ops.a), b(backend, ops.b);
          BackendMatrix<Out, B> c(backend, c_start);
          gemm<B, Out>(backend, ta, tb, 2.0f, MatrixView<const bfloat16>(a.view), MatrixView<const bfloat16>(b.view),
                       static_cast<float>(beta), c.view);
          const auto expected = rounded_once(reference_gemm(ta, tb, 2.0, ops.a, ops.b, beta, c_start));
          check_close(as_double(to_host(backend, c.buffer.view())), expected, 0.0, 0.0, what);
        }
  // Real values in [-1, 1].
  const GemmShape s{65, 47, 300};
  const HostMatrix<bfloat16> a(s.m, s.k, 0, random_uniform<bfloat16>(static_cast<std::size_t>(s.m * s.k), 11));
  const HostMatrix<bfloat16> b(s.k, s.n, 0, random_uniform<bfloat16>(static_cast<std::size_t>(s.k * s.n), 12));
  const HostMatrix<Out> c0(s.m, s.n, 0, random_uniform<Out>(static_cast<std::size_t>(s.m * s.n), 13));
  BackendMatrix<bfloat16, B> da(backend, a), db(backend, b);
  BackendMatrix<Out, B> dc(backend, c0);
  gemm<B, Out>(backend, Transpose::No, Transpose::No, 1.0f,
               MatrixView<const bfloat16>(da.view), MatrixView<const bfloat16>(db.view), 0.5f, dc.view);
  const auto expected = reference_gemm(Transpose::No, Transpose::No, 1.0, a, b, 0.5, c0);
  const auto got = as_double(to_host(backend, dc.buffer.view()));
  // |a|, |b| <= 1: float accumulation errs by at most k * eps_float * k (+ beta C's rounding); C
  // then rounds once, by at most half a bf16 step of the result.
  const double accumulation = static_cast<double>(s.k) * std::numeric_limits<float>::epsilon() * (static_cast<double>(s.k) + 1.0);
  const double c_rounding = std::is_same_v<Out, bfloat16> ? 0.5 * std::ldexp(1.0, -7) : 0.0;
  std::size_t outside = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - expected[i]) <= accumulation + c_rounding * (std::abs(expected[i]) + accumulation))) ++outside;
  BOOST_TEST(outside == 0u, "bf16 gemm real values: " << outside << " of " << got.size() << " outside the error bound");
  BOOST_TEST(throws_with<ShapeError>(
      [&] {
        gemm<B, Out>(backend, Transpose::No, Transpose::No, 1.0f, MatrixView<const bfloat16>(da.view),
                     MatrixView<const bfloat16>(da.view), 0.0f, dc.view);
      },
      {"gemm", "op(A) has shape [65, 300]", "inner extents"}));
}

template <class B, class T>
void check_grouped_gemm(const B& backend) {
  // Expert-like problems: k varies per problem (rows routed to an expert), including zero.
  const std::vector<GemmShape> shapes = {{7, 5, 3}, {0, 5, 3}, {7, 5, 0}, {33, 17, 64}, {1, 1, 1}, {64, 96, 130}, {7, 0, 3}};
  for (Transpose ta : {Transpose::No, Transpose::Yes})
    for (Transpose tb : {Transpose::No, Transpose::Yes})
      for (double beta : {0.0, 1.0}) {
        std::vector<GemmOperands<T>> operands;
        std::vector<BackendMatrix<T, B>> a, b, c;
        std::vector<GemmProblem<T>> problems;
        std::uint64_t seed = 900;
        for (const GemmShape& s : shapes) operands.emplace_back(s, ta, tb, 1, beta == 0.0, seed += 3);
        for (const auto& ops : operands) {
          a.emplace_back(backend, ops.a);
          b.emplace_back(backend, ops.b);
          c.emplace_back(backend, ops.c);
        }
        for (std::size_t i = 0; i < shapes.size(); ++i)
          problems.push_back({ta, tb, T(1.5), a[i].view, b[i].view, T(beta), c[i].view});
        grouped_gemm(backend, problems);
        for (std::size_t i = 0; i < shapes.size(); ++i) {
          const auto expected = reference_gemm(ta, tb, 1.5, operands[i].a, operands[i].b, beta, operands[i].c);
          check_close(to_host(backend, c[i].buffer.view()), expected, 0.0, 0.0,
                      "grouped_gemm problem " + std::to_string(i) + " " + name(ta) + name(tb) + " beta " +
                          std::to_string(beta));
        }
      }
  Buffer<T, B> x(backend, 12), y(backend, 9), z(backend, 12);
  std::vector<GemmProblem<T>> problems = {{Transpose::No, Transpose::No, T(1), x.view(3, 4), x.view(4, 3), T(0), y.view(3, 3)}};
  problems.push_back({Transpose::No, Transpose::No, T(1), x.view(3, 4), x.view(3, 4), T(0), z.view(3, 4)});
  BOOST_TEST(throws_with<ShapeError>([&] { grouped_gemm(backend, problems); }, {"grouped_gemm: problem 1", "inner extents"}));
}

/// Grouped products of bfloat16 A and B into C in float or bfloat16 (Out), the MoE layer's
/// expert GEMMs in mixed precision: small integers, whose products and sums are exact in float, so
/// each C must be the exact float64 result rounded once to Out.
template <class B, class Out>
void check_grouped_gemm_bf16(const B& backend) {
  const std::vector<GemmShape> shapes = {{7, 5, 3}, {0, 5, 3}, {7, 5, 0}, {33, 17, 64}, {1, 1, 1}, {64, 96, 130}, {7, 0, 3}};
  for (Transpose ta : {Transpose::No, Transpose::Yes})
    for (Transpose tb : {Transpose::No, Transpose::Yes})
      for (double beta : {0.0, 1.0}) {
        std::vector<GemmOperands<bfloat16>> operands;
        std::vector<HostMatrix<Out>> c_start;
        std::vector<BackendMatrix<bfloat16, B>> a, b;
        std::vector<BackendMatrix<Out, B>> c;
        std::vector<GemmProblem<bfloat16, Out>> problems;
        std::uint64_t seed = 1900;
        for (const GemmShape& s : shapes) {
          operands.emplace_back(s, ta, tb, 1, false, seed += 3);
          c_start.emplace_back(s.m, s.n, 1, beta == 0.0 ? std::vector<Out>(static_cast<std::size_t>(s.m * s.n), std::numeric_limits<Out>::quiet_NaN())
                                                         : random_integers<Out>(static_cast<std::size_t>(s.m * s.n), seed + 7, -4, 4));
        }
        for (std::size_t i = 0; i < shapes.size(); ++i) {
          a.emplace_back(backend, operands[i].a);
          b.emplace_back(backend, operands[i].b);
          c.emplace_back(backend, c_start[i]);
        }
        for (std::size_t i = 0; i < shapes.size(); ++i)
          problems.push_back({ta, tb, 1.5f, MatrixView<const bfloat16>(a[i].view), MatrixView<const bfloat16>(b[i].view),
                              static_cast<float>(beta), c[i].view});
        grouped_gemm(backend, problems);
        for (std::size_t i = 0; i < shapes.size(); ++i) {
          std::vector<double> expected = reference_gemm(ta, tb, 1.5, operands[i].a, operands[i].b, beta, c_start[i]);
          for (double& x : expected) x = static_cast<double>(static_cast<float>(Out(static_cast<float>(x))));
          check_close(as_double(to_host(backend, c[i].buffer.view())), expected, 0.0, 0.0,
                      "bf16 grouped_gemm problem " + std::to_string(i) + " " + name(ta) + name(tb) + " beta " + std::to_string(beta));
        }
      }
}

}  // namespace rlmoe::test
