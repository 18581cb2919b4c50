#pragma once
// Expert parallelism: the routed experts of every MoE layer split across ranks.
//
// The world of N data-parallel ranks is cut into expert groups of P consecutive ranks (P divides
// N); rank r of a group holds experts [r E/P, (r + 1) E/P) of each layer, and the N/P ranks at
// the same place in their groups hold replicas of the same experts (its replica group), as
// Megatron-Core and DeepSpeed place the expert-parallel group inside the data-parallel world.
// Everything else (attention, dense and shared experts, the router) stays data-parallel: every
// rank routes its own tokens, so routing and its statistics are what they are without experts
// split, and only the rows of the routed experts travel:
//
//   forward   per-expert counts -> all ranks of the group (all_to_all_v on the host: the grouped
//             GEMM sizes), rows -> the ranks holding their experts (all_to_all_v), local experts
//             as one grouped GEMM, results back the same way;
//   backward  the gradients of the results out, of the inputs back; the local experts' weight
//             gradients sum the rows of every rank of the group, and then (the optimizer step)
//             over the replica group only.
//
// ExpertParallel<B> holds the two groups behind a small virtual interface, so that a model or a
// layer built once runs over any communicator (SingleProcess, Mpi, Nccl); ExpertDispatch<B, T>
// is one layer's exchange plan and buffers.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/moe/dispatch.hpp"

namespace rlmoe::moe {

namespace detail {

template <class T>
VectorView<T> view_of(std::vector<T>& v) { return {v.data(), Extents<1>{static_cast<index_t>(v.size())}}; }

/// The collectives expert parallelism needs, over the expert group and the replica group.
template <Backend B>
struct ExpertLinks {
  virtual ~ExpertLinks() = default;
  virtual void exchange(VectorView<const float> send, std::span<const index_t> send_counts, VectorView<float> recv,
                        std::span<const index_t> recv_counts) const = 0;
  virtual void exchange(VectorView<const double> send, std::span<const index_t> send_counts, VectorView<double> recv,
                        std::span<const index_t> recv_counts) const = 0;
  virtual void exchange(VectorView<const bfloat16> send, std::span<const index_t> send_counts, VectorView<bfloat16> recv,
                        std::span<const index_t> recv_counts) const = 0;
  /// Host memory: the per-expert counts.
  virtual void exchange_counts(VectorView<const std::int32_t> send, std::span<const index_t> send_counts,
                               VectorView<std::int32_t> recv, std::span<const index_t> recv_counts) const = 0;
  virtual void sum_over_group(VectorView<double> values) const = 0;
  /// Host memory: a flag of every rank (1 or 0), and-ed.
  virtual void min_over_group(VectorView<std::int32_t> flags) const = 0;
  virtual void sum_over_replicas(VectorView<float> values) const = 0;
  virtual void sum_over_replicas(VectorView<double> values) const = 0;
};

template <Backend B, dist::Communicator Comm>
struct ExpertLinksOf final : ExpertLinks<B> {
  B backend;
  Comm group, replicas;
  ExpertLinksOf(const B& b, Comm g, Comm r) : backend(b), group(std::move(g)), replicas(std::move(r)) {}

  template <class T>
  void rows(VectorView<const T> send, std::span<const index_t> sc, VectorView<T> recv, std::span<const index_t> rc) const {
    dist::all_to_all_v(group, backend, send, sc, recv, rc);
  }
  void exchange(VectorView<const float> s, std::span<const index_t> sc, VectorView<float> r, std::span<const index_t> rc) const override {
    rows(s, sc, r, rc);
  }
  void exchange(VectorView<const double> s, std::span<const index_t> sc, VectorView<double> r, std::span<const index_t> rc) const override {
    rows(s, sc, r, rc);
  }
  void exchange(VectorView<const bfloat16> s, std::span<const index_t> sc, VectorView<bfloat16> r,
                std::span<const index_t> rc) const override {
    rows(s, sc, r, rc);
  }
  void exchange_counts(VectorView<const std::int32_t> s, std::span<const index_t> sc, VectorView<std::int32_t> r,
                       std::span<const index_t> rc) const override {
    dist::all_to_all_v(group, Host{1}, s, sc, r, rc);
  }
  void sum_over_group(VectorView<double> values) const override { dist::all_reduce(group, backend, values, Sum{}); }
  void min_over_group(VectorView<std::int32_t> flags) const override { dist::all_reduce(group, Host{1}, flags, Min{}); }
  void sum_over_replicas(VectorView<float> values) const override {
    if (replicas.size() > 1) dist::all_reduce_in_buckets(replicas, backend, values, Sum{});
  }
  void sum_over_replicas(VectorView<double> values) const override {
    if (replicas.size() > 1) dist::all_reduce_in_buckets(replicas, backend, values, Sum{});
  }
};

}  // namespace detail

/// Where this rank stands in expert parallelism. Default: one rank holds every expert.
template <Backend B>
class ExpertParallel {
 public:
  ExpertParallel() = default;

  /// Expert groups of `size` consecutive ranks of `world` (size divides world.size()). Collective:
  /// every rank of `world` constructs it with the same size.
  template <dist::Communicator Comm>
  ExpertParallel(const B& backend, const Comm& world, int size) : size_(size) {
    RLMOE_CHECK(size >= 1 && world.size() % size == 0, ConfigError, "ExpertParallel: ", size, " expert-parallel ranks do not divide the ",
                world.size(), " ranks of ", world.name());
    rank_ = world.rank() % size;
    const int group = world.rank() / size;
    name_ = "expert group " + std::to_string(group) + " of " + world.name();
    Comm experts = world.split(group, world.rank(), name_);
    Comm replicas = world.split(rank_, world.rank(), "expert replicas " + std::to_string(rank_) + " of " + world.name());
    replicas_ = replicas.size();
    links_ = std::make_shared<detail::ExpertLinksOf<B, Comm>>(backend, std::move(experts), std::move(replicas));
  }

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  /// Ranks that hold the same experts as this one (world size / size).
  [[nodiscard]] int replicas() const { return replicas_; }
  [[nodiscard]] const std::string& name() const { return name_; }

  /// This rank's experts of a layer of `experts`: [first_expert, first_expert + local_experts).
  [[nodiscard]] index_t local_experts(index_t experts) const {
    RLMOE_CHECK(experts % size_ == 0, ConfigError, "ExpertParallel: ", experts, " routed experts cannot be split evenly over the ",
                size_, " ranks of ", name_);
    return experts / size_;
  }
  [[nodiscard]] index_t first_expert(index_t experts) const { return rank_ * local_experts(experts); }

  /// all_to_all_v over the expert group (rows in backend memory, counts in host memory).
  template <class T>
  void exchange(VectorView<const T> send, std::span<const index_t> send_counts, VectorView<T> recv,
                std::span<const index_t> recv_counts) const {
    links().exchange(send, send_counts, recv, recv_counts);
  }
  void exchange_counts(VectorView<const std::int32_t> send, std::span<const index_t> send_counts, VectorView<std::int32_t> recv,
                       std::span<const index_t> recv_counts) const {
    links().exchange_counts(send, send_counts, recv, recv_counts);
  }
  /// Sums over the expert group (a gradient norm's share of the experts).
  void sum_over_group(VectorView<double> values) const {
    if (size_ > 1) links().sum_over_group(values);
  }
  /// Whether `value` holds on every rank of the expert group (a sampler stops early only when every
  /// rank's sequences have ended, since each decode step exchanges rows with all of them).
  [[nodiscard]] bool all(bool value) const {
    if (size_ == 1) return value;
    std::int32_t flag = value ? 1 : 0;
    links().min_over_group(VectorView<std::int32_t>(&flag, Extents<1>{1}));
    return flag != 0;
  }
  /// Sums over the replica group (the local experts' gradients).
  template <class G>
  void sum_over_replicas(VectorView<G> values) const {
    if (links_) links().sum_over_replicas(values);
  }

 private:
  const detail::ExpertLinks<B>& links() const {
    RLMOE_CHECK(links_ != nullptr, ConfigError, "ExpertParallel: no communicator (one rank holds every expert)");
    return *links_;
  }

  int rank_ = 0, size_ = 1, replicas_ = 1;
  std::string name_ = "one rank";
  std::shared_ptr<const detail::ExpertLinks<B>> links_;
};

/// One MoE layer's exchange under expert parallelism. plan() takes this rank's slots sorted by
/// expert (offsets over every expert) and learns from the group which rows it will receive for
/// its own experts; to_experts() sends the rows and orders what arrives by local expert (for the
/// grouped GEMM); from_experts() undoes both. Received rows come source-major (rank 0's for each
/// local expert, then rank 1's, ...); the local order is expert-major, each expert's rows in
/// source order, so an expert's rows are contiguous.
template <Backend B, class T>
class ExpertDispatch {
 public:
  ExpertDispatch(const B& backend, const ExpertParallel<B>& ep) : backend_(backend), ep_(ep) {}

  /// offsets [E + 1]: this rank's expert-sorted slots; expert e is rows offsets[e] .. offsets[e + 1].
  void plan(const std::vector<index_t>& offsets, index_t width) {
    const int ranks = ep_.size();
    const index_t experts = static_cast<index_t>(offsets.size()) - 1, local = ep_.local_experts(experts);
    width_ = width;
    std::vector<std::int32_t> counts(static_cast<std::size_t>(experts)), received(static_cast<std::size_t>(ranks * local));
    for (index_t e = 0; e < experts; ++e) counts[static_cast<std::size_t>(e)] = static_cast<std::int32_t>(offsets[e + 1] - offsets[e]);
    const std::vector<index_t> per_rank(static_cast<std::size_t>(ranks), local);
    ep_.exchange_counts(VectorView<const std::int32_t>(detail::view_of(counts)), per_rank, detail::view_of(received), per_rank);

    send_rows_.assign(static_cast<std::size_t>(ranks), 0);
    recv_rows_.assign(static_cast<std::size_t>(ranks), 0);
    std::vector<index_t> source_start(static_cast<std::size_t>(ranks) + 1, 0);
    for (int q = 0; q < ranks; ++q) {
      send_rows_[static_cast<std::size_t>(q)] = offsets[(q + 1) * local] - offsets[q * local];
      for (index_t j = 0; j < local; ++j) recv_rows_[static_cast<std::size_t>(q)] += received[static_cast<std::size_t>(q * local + j)];
      source_start[static_cast<std::size_t>(q) + 1] = source_start[static_cast<std::size_t>(q)] + recv_rows_[static_cast<std::size_t>(q)];
    }
    rows_ = source_start.back();
    // order[p]: the received row that is local row p.
    std::vector<std::int32_t> order;
    order.reserve(static_cast<std::size_t>(rows_));
    local_offsets_.assign(1, 0);
    for (index_t j = 0; j < local; ++j) {
      for (int s = 0; s < ranks; ++s) {
        index_t start = source_start[static_cast<std::size_t>(s)];
        for (index_t i = 0; i < j; ++i) start += received[static_cast<std::size_t>(s * local + i)];
        for (index_t r = 0; r < received[static_cast<std::size_t>(s * local + j)]; ++r) order.push_back(static_cast<std::int32_t>(start + r));
      }
      local_offsets_.push_back(static_cast<index_t>(order.size()));
    }
    if (order_.size() < rows_) order_ = Buffer<std::int32_t, B>(backend_, rows_);
    if (rows_ > 0) {
      copy(backend_, order_.view().slice(0, rows_), VectorView<const std::int32_t>(detail::view_of(order)));
      synchronize(backend_);  // `order` is about to go (the plan waited on the counts anyway)
    }
    ensure(received_, rows_ * width);
    ensure(returned_, rows_ * width);
  }

  /// Rows for this rank's experts, and each local expert's range of them [local experts + 1].
  [[nodiscard]] index_t rows() const { return rows_; }
  [[nodiscard]] const std::vector<index_t>& local_offsets() const { return local_offsets_; }

  /// sorted [slots, width] (this rank's rows, expert order) -> local [rows(), width] (local experts).
  void to_experts(MatrixView<const T> sorted, MatrixView<T> local) {
    ep_.exchange(flat(sorted), scaled(send_rows_), flat(received()), scaled(recv_rows_));
    parallel_for(backend_, rows_ * width_, GatherSlotRows<T>{received(), order(), 1, {}, local});
  }
  /// local [rows(), width] -> sorted [slots, width]: every row back to the rank and place it came from.
  void from_experts(MatrixView<const T> local, MatrixView<T> sorted) {
    parallel_for(backend_, rows_ * width_, ScatterToSlots<T>{local, order(), returned()});
    ep_.exchange(flat(MatrixView<const T>(returned())), scaled(recv_rows_), flat(sorted), scaled(send_rows_));
  }

 private:
  template <class U>
  static VectorView<U> flat(MatrixView<U> m) { return {m.data(), Extents<1>{m.size()}}; }
  std::vector<index_t> scaled(const std::vector<index_t>& rows) const {
    std::vector<index_t> elements(rows);
    for (index_t& e : elements) e *= width_;
    return elements;
  }
  void ensure(Buffer<T, B>& buffer, index_t size) {
    if (buffer.size() < size) buffer = Buffer<T, B>(backend_, size);
  }
  MatrixView<T> received() { return {received_.data(), Extents<2>{rows_, width_}}; }
  MatrixView<T> returned() { return {returned_.data(), Extents<2>{rows_, width_}}; }
  VectorView<const std::int32_t> order() const { return {order_.data(), Extents<1>{rows_}}; }

  B backend_;
  ExpertParallel<B> ep_;
  index_t width_ = 0, rows_ = 0;
  std::vector<index_t> send_rows_, recv_rows_, local_offsets_;
  Buffer<std::int32_t, B> order_;
  Buffer<T, B> received_, returned_;
};

}  // namespace rlmoe::moe
