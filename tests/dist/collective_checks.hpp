#pragma once
// Checks of a communicator's collectives on a backend against references computed on every rank:
// each rank makes the data of every rank from (seed, rank), so it knows what each collective must
// give without trusting any of them. Integer-valued floats keep sums exact in any order, so the
// checks compare bit for bit.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

/// Rank r's input of `size` elements for the collective numbered `what`.
template <class T>
std::vector<T> rank_data(int rank, index_t size, std::uint64_t what) {
  return random_integers<T>(static_cast<std::size_t>(size), 1000 * what + static_cast<std::uint64_t>(rank), -100, 100);
}

template <class T, class B>
std::vector<T> on_backend_and_back(const B& backend, const std::vector<T>& values, auto&& operation) {
  Buffer<T, B> buffer = to_backend(backend, values);
  operation(buffer.view());
  return to_host(backend, buffer.view());
}

template <class T, class C, class B>
void check_all_reduce(const C& comm, const B& backend) {
  for (const index_t size : {index_t{0}, index_t{1}, index_t{7}, index_t{1000}, index_t{65537}}) {
    std::vector<T> sum(static_cast<std::size_t>(size), T(0)), max(static_cast<std::size_t>(size), Max::identity<T>());
    for (int r = 0; r < comm.size(); ++r) {
      const std::vector<T> x = rank_data<T>(r, size, 1);
      for (std::size_t i = 0; i < x.size(); ++i) {
        sum[i] += x[i];
        max[i] = std::max(max[i], x[i]);
      }
    }
    const std::vector<T> mine = rank_data<T>(comm.rank(), size, 1);
    const auto summed = on_backend_and_back(backend, mine, [&](VectorView<T> v) { dist::all_reduce(comm, backend, v, Sum{}); });
    const auto maxed = on_backend_and_back(backend, mine, [&](VectorView<T> v) { dist::all_reduce(comm, backend, v, Max{}); });
    BOOST_TEST(summed == sum, "all_reduce sum of " << size << " elements on " << comm.name());
    BOOST_TEST(maxed == max, "all_reduce max of " << size << " elements on " << comm.name());
  }
}

template <class T, class C, class B>
void check_reduce_scatter_and_all_gather(const C& comm, const B& backend) {
  const index_t n = comm.size();
  for (const index_t block : {index_t{0}, index_t{1}, index_t{33}, index_t{4097}}) {
    std::vector<T> sum(static_cast<std::size_t>(block * n), T(0));
    for (int r = 0; r < n; ++r) {
      const std::vector<T> x = rank_data<T>(r, block * n, 2);
      for (std::size_t i = 0; i < x.size(); ++i) sum[i] += x[i];
    }
    const Buffer<T, B> input = to_backend(backend, rank_data<T>(comm.rank(), block * n, 2));
    Buffer<T, B> shard(backend, block);
    dist::reduce_scatter(comm, backend, input.view(), shard.view(), Sum{});
    const std::vector<T> expected_shard(sum.begin() + comm.rank() * block, sum.begin() + (comm.rank() + 1) * block);
    BOOST_TEST(to_host(backend, shard.view()) == expected_shard, "reduce_scatter of blocks of " << block << " on " << comm.name());

    Buffer<T, B> gathered(backend, block * n);
    dist::all_gather(comm, backend, VectorView<const T>(shard.view()), gathered.view());
    BOOST_TEST(to_host(backend, gathered.view()) == sum, "all_gather of blocks of " << block << " on " << comm.name());
  }
}

/// Uneven counts, with zeros: rank r sends (r + 2 p) % 5 elements to rank p (none when that is 0).
template <class C, class B>
void check_all_to_all_v(const C& comm, const B& backend) {
  const int n = comm.size(), me = comm.rank();
  const auto count = [](int from, int to) { return static_cast<index_t>((from + 2 * to) % 5); };
  // Element j of what `from` sends to `to`: a value that says where it came from.
  const auto value = [](int from, int to, index_t j) { return static_cast<std::int64_t>(1000000 * from + 1000 * to + j); };
  std::vector<index_t> send_counts(static_cast<std::size_t>(n)), recv_counts(static_cast<std::size_t>(n));
  std::vector<std::int64_t> send, expected;
  for (int p = 0; p < n; ++p) {
    send_counts[static_cast<std::size_t>(p)] = count(me, p);
    recv_counts[static_cast<std::size_t>(p)] = count(p, me);
    for (index_t j = 0; j < count(me, p); ++j) send.push_back(value(me, p, j));
    for (index_t j = 0; j < count(p, me); ++j) expected.push_back(value(p, me, j));
  }
  const Buffer<std::int64_t, B> send_buffer = to_backend(backend, send);
  Buffer<std::int64_t, B> recv_buffer(backend, static_cast<index_t>(expected.size()));
  dist::all_to_all_v(comm, backend, send_buffer.view(), std::span<const index_t>(send_counts), recv_buffer.view(),
                     std::span<const index_t>(recv_counts));
  BOOST_TEST(to_host(backend, recv_buffer.view()) == expected, "all_to_all_v on " << comm.name());
}

struct Pair {
  std::int32_t id;
  float weight;
  bool operator==(const Pair&) const = default;
};

template <class C, class B>
void check_broadcast(const C& comm, const B& backend) {
  for (int root = 0; root < comm.size(); ++root) {
    const std::vector<double> expected = rank_data<double>(root, 257, 3);
    const auto got = on_backend_and_back(backend, rank_data<double>(comm.rank(), 257, 3),
                                         [&](VectorView<double> v) { dist::broadcast(comm, backend, v, root); });
    BOOST_TEST(got == expected, "broadcast from root " << root << " on " << comm.name());
  }
  // Any trivially copyable element moves as bytes.
  std::vector<Pair> pairs = {{comm.rank(), 0.5f * static_cast<float>(comm.rank())}, {7, 2.0f}};
  const auto got = on_backend_and_back(backend, pairs, [&](VectorView<Pair> v) { dist::broadcast(comm, backend, v, 0); });
  BOOST_TEST((got == std::vector<Pair>{{0, 0.0f}, {7, 2.0f}}));
  BOOST_TEST(dist::all_reduce_value(comm, std::int64_t{comm.rank() + 1}) == comm.size() * (comm.size() + 1) / 2);
  BOOST_TEST(dist::all_reduce_value(comm, static_cast<double>(comm.rank()), Max{}) == comm.size() - 1);
  dist::barrier(comm);
}

template <class C, class B>
void check_every_collective(const C& comm, const B& backend) {
  check_all_reduce<float>(comm, backend);
  check_all_reduce<double>(comm, backend);
  check_all_reduce<std::int32_t>(comm, backend);
  check_all_reduce<std::int64_t>(comm, backend);
  check_reduce_scatter_and_all_gather<float>(comm, backend);
  check_reduce_scatter_and_all_gather<double>(comm, backend);
  check_all_to_all_v(comm, backend);
  check_broadcast(comm, backend);
}

/// Even and odd ranks in groups of their own (the shape of data- and expert-parallel groups),
/// ordered by descending world rank.
template <class C, class B>
void check_split(const C& world, const B& backend) {
  const C group = world.split(world.rank() % 2, -world.rank(), "parity");
  const int members = (world.size() - world.rank() % 2 + 1) / 2;
  BOOST_TEST(group.size() == members);
  BOOST_TEST(group.rank() == (world.size() - 1 - world.rank()) / 2);  // the members above this rank come first
  // The sum of the world ranks of the group, and every collective inside it.
  std::int64_t expected = 0;
  for (int r = world.rank() % 2; r < world.size(); r += 2) expected += r;
  BOOST_TEST(dist::all_reduce_value(group, std::int64_t{world.rank()}) == expected);
  check_every_collective(group, backend);
}

}  // namespace rlmoe::test
