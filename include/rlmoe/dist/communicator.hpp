#pragma once
// Collectives over a group of processes (ranks), for data and expert parallelism. A communicator
// is a small object, like a backend, passed first to every collective:
//
//   dist::all_reduce(comm, backend, gradients, Sum{});          // in place, every rank the sum
//   dist::reduce_scatter(comm, backend, gradients, shard, Sum{}); // rank r: the sum of block r
//   dist::all_gather(comm, backend, shard, parameters);          // block r from rank r
//   dist::all_to_all_v(comm, backend, send, send_counts, recv, recv_counts);
//   dist::broadcast(comm, backend, data, root);  dist::barrier(comm);
//
// The buffers are in the backend's memory; element counts of the v form are on the host (MPI and
// NCCL both need them there). Each (communicator, backend) pair is one specialization of
// impl::Collectives, as the backend primitives are written: SingleProcess (any backend: the
// identity), Mpi (Host; a device backend by staging through host memory), Nccl (Cuda, on its
// stream). Every rank of a communicator must call the same collectives in the same order.
#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe::dist {

/// A collective failed or waited past its communicator's timeout; the message names the
/// collective, the communicator and the ranks it waited for.
class CommunicationError : public Error {
 public:
  using Error::Error;
};

/// What every communicator offers besides its collectives: its rank, its size, a name for messages,
/// and split(color, key): the sub-communicators of the ranks that pass the same color, ordered by
/// key (the data- and expert-parallel groups).
template <class C>
concept Communicator = std::copy_constructible<C> && requires(const C& comm, int color, int key) {
  { comm.rank() } -> std::convertible_to<int>;
  { comm.size() } -> std::convertible_to<int>;
  { comm.name() } -> std::convertible_to<std::string>;
  { comm.split(color, key, std::string{}) } -> std::same_as<C>;
};

/// The reductions every communicator implements.
template <class Op>
concept ReductionOp = std::same_as<Op, Sum> || std::same_as<Op, Max> || std::same_as<Op, Min>;

/// Element types the reducing collectives take (the others move any trivially copyable type).
template <class T>
concept Reducible = std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, std::int32_t> ||
                    std::same_as<T, std::int64_t> || std::same_as<T, std::uint8_t>;

namespace impl {

template <class C, class B>
struct Collectives {
  static_assert(dependent_false<C>,
                "rlmoe::dist: this communicator has no collectives for this backend in this translation unit "
                "(Mpi: include rlmoe/dist/mpi.hpp and link rlmoe::mpi; Nccl: rlmoe/dist/nccl.hpp in a .cu file, "
                "rlmoe::nccl)");
};

}  // namespace impl

/// In place: every rank's data becomes the elementwise reduction over the ranks.
template <Communicator C, Backend B, Reducible T, ReductionOp Op>
void all_reduce(const C& comm, const B& backend, VectorView<T> data, const Op& op) {
  require_contiguous(data, "all_reduce: data");
  impl::Collectives<C, B>::all_reduce(comm, backend, data, op);
}

/// input [size * m] on every rank; rank r's output [m] is the reduction over the ranks of block r.
template <Communicator C, Backend B, Reducible T, ReductionOp Op>
void reduce_scatter(const C& comm, const B& backend, VectorView<const T> input, VectorView<T> output, const Op& op) {
  RLMOE_CHECK(input.size() == output.size() * comm.size(), ShapeError, "reduce_scatter on ", comm.name(), ": input holds ",
              input.size(), " elements but must hold size x output = ", comm.size(), " x ", output.size());
  require_contiguous(input, "reduce_scatter: input");
  require_contiguous(output, "reduce_scatter: output");
  impl::Collectives<C, B>::reduce_scatter(comm, backend, input, output, op);
}

/// input [m] on every rank; output [size * m], block r from rank r.
template <Communicator C, Backend B, class T>
  requires std::is_trivially_copyable_v<T>
void all_gather(const C& comm, const B& backend, VectorView<const T> input, VectorView<T> output) {
  RLMOE_CHECK(output.size() == input.size() * comm.size(), ShapeError, "all_gather on ", comm.name(), ": output holds ",
              output.size(), " elements but must hold size x input = ", comm.size(), " x ", input.size());
  require_contiguous(input, "all_gather: input");
  require_contiguous(output, "all_gather: output");
  impl::Collectives<C, B>::all_gather(comm, backend, input, output);
}

/// Rank r sends send_counts[p] elements to each rank p, in rank order from the start of `send`,
/// and receives recv_counts[p] from each p, in rank order into `recv`; counts are on the host and
/// must agree pairwise (rank r's send_counts[p] is rank p's recv_counts[r]).
template <Communicator C, Backend B, class T>
  requires std::is_trivially_copyable_v<T>
void all_to_all_v(const C& comm, const B& backend, VectorView<const T> send, std::span<const index_t> send_counts,
                  VectorView<T> recv, std::span<const index_t> recv_counts) {
  const auto n = static_cast<std::size_t>(comm.size());
  RLMOE_CHECK(send_counts.size() == n && recv_counts.size() == n, ShapeError, "all_to_all_v on ", comm.name(), ": ",
              send_counts.size(), " send counts and ", recv_counts.size(), " receive counts for ", n, " ranks");
  index_t sent = 0, received = 0;
  for (std::size_t p = 0; p < n; ++p) {
    RLMOE_CHECK(send_counts[p] >= 0 && recv_counts[p] >= 0, ShapeError, "all_to_all_v on ", comm.name(),
                ": a negative count for rank ", p);
    sent += send_counts[p];
    received += recv_counts[p];
  }
  RLMOE_CHECK(sent <= send.size() && received <= recv.size(), ShapeError, "all_to_all_v on ", comm.name(), ": the counts send ",
              sent, " and receive ", received, " elements but the buffers hold ", send.size(), " and ", recv.size());
  require_contiguous(send, "all_to_all_v: send");
  require_contiguous(recv, "all_to_all_v: recv");
  impl::Collectives<C, B>::all_to_all_v(comm, backend, send, send_counts, recv, recv_counts);
}

/// all_reduce of a large buffer (the flat gradients) in buckets of at most `bucket` elements, one
/// collective each: staging through host memory (Mpi with a device backend) then needs one bucket
/// at a time, and each bucket could start as soon as its part of the backward pass is done.
template <Communicator C, Backend B, Reducible T, ReductionOp Op>
void all_reduce_in_buckets(const C& comm, const B& backend, VectorView<T> data, const Op& op,
                           index_t bucket = index_t{1} << 24) {
  RLMOE_CHECK(bucket >= 1, ConfigError, "all_reduce_in_buckets on ", comm.name(), ": bucket is ", bucket, " but must be >= 1");
  for (index_t begin = 0; begin < data.size(); begin += bucket)
    all_reduce(comm, backend, data.slice(begin, std::min(data.size(), begin + bucket)), op);
}

/// Every rank's data becomes root's.
template <Communicator C, Backend B, class T>
  requires std::is_trivially_copyable_v<T>
void broadcast(const C& comm, const B& backend, VectorView<T> data, int root) {
  RLMOE_CHECK(root >= 0 && root < comm.size(), ConfigError, "broadcast on ", comm.name(), ": root is ", root,
              " but must lie in [0, ", comm.size(), ")");
  require_contiguous(data, "broadcast: data");
  impl::Collectives<C, B>::broadcast(comm, backend, data, root);
}

/// Returns when every rank has called it.
template <Communicator C>
void barrier(const C& comm) {
  impl::Collectives<C, Host>::barrier(comm);
}

/// One host value reduced over the ranks (a count, a metric): for the few scalars of a step.
template <Communicator C, Reducible T, ReductionOp Op = Sum>
[[nodiscard]] T all_reduce_value(const C& comm, T value, const Op& op = {}) {
  impl::Collectives<C, Host>::all_reduce(comm, Host{1}, VectorView<T>(&value, Extents<1>{1}), op);
  return value;
}

}  // namespace rlmoe::dist
