#pragma once
// The device arrays of one batch of rollouts, in two layouts that views share:
//  - the RolloutView layout that rewards, advantages and losses read (prompts [P, Lp], references
//    [P, Lr], completions [N, T] with lengths, mask and the sampling policy's log-probs);
//  - the training layout the policy's forward pass reads: each row prompt then completion,
//    [N, Lp + T], with the MoE routing recorded while sampling, [N (Lp + T), K] per MoE layer.
// Rows can be gathered into another RolloutBuffers (whole groups at a time): dynamic sampling
// keeps the groups whose rewards differ; over several ranks, exchange_groups moves the kept groups
// to the ranks that train on them (one all-to-all per array).
#include <cstdint>
#include <span>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/nn/sequence_batch.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

namespace detail {

/// dst[r, :] = src[rows[r], :] over a [rows, width] matrix.
template <class T>
struct GatherRows {
  MatrixView<const T> src;
  VectorView<const std::int32_t> rows;
  MatrixView<T> dst;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t width = dst.extent(1), r = i / width, c = i - r * width;
    dst(r, c) = src(rows[r], c);
  }
};

/// Replay rows default to experts 0..K-1: positions never processed while sampling (padding, the
/// last sampled token) must still name valid experts, and they influence no scored token.
struct DefaultRouting {
  MatrixView<std::int32_t> ids;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t k = ids.extent(1);
    ids(i / k, i % k) = static_cast<std::int32_t>(i % k);
  }
};

}  // namespace detail

/// C: the type of the sampling policy's log-probabilities, its compute type (float; double for a
/// float64 policy).
/// Where a group lives over several ranks: that rank's group number in its buffer.
struct GroupAddress {
  int rank = 0;
  index_t group = 0;
};

template <Backend B, class C = float>
class RolloutBuffers {
 public:
  RolloutBuffers(const B& backend, index_t prompts, index_t group_size, index_t prompt_width, index_t reference_width,
                 index_t completion_width, index_t moe_layers, index_t top_k)
      : backend_(backend),
        prompts_(prompts),
        group_size_(group_size),
        prompt_width_(prompt_width),
        reference_width_(reference_width),
        completion_width_(completion_width),
        top_k_(top_k),
        prompt_tokens_(backend, prompts * prompt_width),
        prompt_lengths_(backend, prompts),
        reference_tokens_(backend, prompts * reference_width),
        reference_lengths_(backend, prompts),
        completion_tokens_(backend, completions() * completion_width),
        completion_lengths_(backend, completions()),
        mask_(backend, completions() * completion_width),
        old_logp_(backend, completions() * completion_width),
        sequences_(backend, completions() * sequence_width()),
        sequence_lengths_(backend, completions()),
        sequence_prompt_lengths_(backend, completions()) {
    for (index_t l = 0; l < moe_layers; ++l) replay_.emplace_back(backend, completions() * sequence_width() * top_k);
    reset_routing();
  }

  /// Every position's recorded routing back to the default (experts 0..K-1), before sampling:
  /// positions the sampler does not reach must not keep an earlier batch's routing.
  void reset_routing() {
    for (index_t l = 0; l < static_cast<index_t>(replay_.size()); ++l)
      parallel_for(backend_, replay(l).size(), detail::DefaultRouting{replay(l)});
  }

  [[nodiscard]] index_t num_prompts() const { return prompts_; }
  [[nodiscard]] index_t group_size() const { return group_size_; }
  [[nodiscard]] index_t completions() const { return prompts_ * group_size_; }
  [[nodiscard]] index_t prompt_width() const { return prompt_width_; }
  [[nodiscard]] index_t completion_width() const { return completion_width_; }
  [[nodiscard]] index_t sequence_width() const { return prompt_width_ + completion_width_; }

  MatrixView<token_t> prompt_tokens() { return {prompt_tokens_.data(), Extents<2>{prompts_, prompt_width_}}; }
  VectorView<std::int32_t> prompt_lengths() { return prompt_lengths_.view(); }
  MatrixView<token_t> reference_tokens() { return {reference_tokens_.data(), Extents<2>{prompts_, reference_width_}}; }
  VectorView<std::int32_t> reference_lengths() { return reference_lengths_.view(); }
  MatrixView<token_t> completion_tokens() { return {completion_tokens_.data(), Extents<2>{completions(), completion_width_}}; }
  VectorView<std::int32_t> completion_lengths() { return completion_lengths_.view(); }
  MatrixView<std::uint8_t> mask() { return {mask_.data(), Extents<2>{completions(), completion_width_}}; }
  MatrixView<C> old_logp() { return {old_logp_.data(), Extents<2>{completions(), completion_width_}}; }
  MatrixView<token_t> sequences() { return {sequences_.data(), Extents<2>{completions(), sequence_width()}}; }
  VectorView<std::int32_t> sequence_lengths() { return sequence_lengths_.view(); }
  VectorView<std::int32_t> sequence_prompt_lengths() { return sequence_prompt_lengths_.view(); }
  MatrixView<std::int32_t> replay(index_t layer) {
    return {replay_[static_cast<std::size_t>(layer)].data(), Extents<2>{completions() * sequence_width(), top_k_}};
  }

  /// What rewards, advantages and losses read.
  [[nodiscard]] RolloutView view() {
    return {group_size_,     prompt_tokens(),      prompt_lengths(), reference_tokens(), reference_lengths(),
            completion_tokens(), completion_lengths(), mask()};
  }

  /// What the policy's forward pass reads: rows [begin, end) of the training layout.
  [[nodiscard]] nn::SequenceBatch sequence_batch(index_t begin, index_t end) {
    return {sequences().slice(begin, end), sequence_lengths().slice(begin, end), sequence_prompt_lengths().slice(begin, end),
            completion_width_};
  }
  /// The recorded routing of rows [begin, end), per MoE layer.
  [[nodiscard]] std::vector<MatrixView<const std::int32_t>> routing(index_t begin, index_t end) {
    std::vector<MatrixView<const std::int32_t>> out;
    for (index_t l = 0; l < static_cast<index_t>(replay_.size()); ++l)
      out.push_back(replay(l).slice(begin * sequence_width(), end * sequence_width()));
    return out;
  }

  /// Copies the given groups of `source` (same widths) into this buffer's groups 0, 1, ...
  void gather_groups(RolloutBuffers& source, const std::vector<index_t>& groups) {
    RLMOE_CHECK(static_cast<index_t>(groups.size()) == prompts_, ShapeError, "RolloutBuffers::gather_groups: ", groups.size(),
                " groups for a buffer of ", prompts_);
    std::vector<std::int32_t> prompt_rows, completion_rows, replay_rows;
    for (index_t g : groups) {
      prompt_rows.push_back(static_cast<std::int32_t>(g));
      for (index_t j = 0; j < group_size_; ++j) {
        const index_t row = g * group_size_ + j;
        completion_rows.push_back(static_cast<std::int32_t>(row));
        for (index_t t = 0; t < sequence_width(); ++t) replay_rows.push_back(static_cast<std::int32_t>(row * sequence_width() + t));
      }
    }
    const Buffer<std::int32_t, B> by_prompt = to_backend(backend_, prompt_rows), by_completion = to_backend(backend_, completion_rows),
                                  by_position = to_backend(backend_, replay_rows);
    gather(source.prompt_tokens(), by_prompt, prompt_tokens());
    gather(column(source.prompt_lengths()), by_prompt, column(prompt_lengths()));
    gather(source.reference_tokens(), by_prompt, reference_tokens());
    gather(column(source.reference_lengths()), by_prompt, column(reference_lengths()));
    gather(source.completion_tokens(), by_completion, completion_tokens());
    gather(column(source.completion_lengths()), by_completion, column(completion_lengths()));
    gather(source.mask(), by_completion, mask());
    gather(source.old_logp(), by_completion, old_logp());
    gather(source.sequences(), by_completion, sequences());
    gather(column(source.sequence_lengths()), by_completion, column(sequence_lengths()));
    gather(column(source.sequence_prompt_lengths()), by_completion, column(sequence_prompt_lengths()));
    for (index_t l = 0; l < static_cast<index_t>(replay_.size()); ++l) gather(source.replay(l), by_position, replay(l));
    synchronize(backend_);  // the row lists are about to go
  }

  /// Over the ranks of `comm` (collective): this rank's groups 0, 1, ... become the groups
  /// plan[this rank][0], [1], ... of the ranks' `source` buffers. Every rank passes the same plan,
  /// one list per rank, of as many groups as its buffer holds.
  template <dist::Communicator Comm>
  void exchange_groups(const Comm& comm, RolloutBuffers& source, const std::vector<std::vector<GroupAddress>>& plan) {
    const int ranks = comm.size(), me = comm.rank();
    RLMOE_CHECK(static_cast<int>(plan.size()) == ranks && static_cast<index_t>(plan[static_cast<std::size_t>(me)].size()) == prompts_,
                ShapeError, "RolloutBuffers::exchange_groups: a plan of ", plan.size(), " ranks for ", ranks,
                ", and this rank's list must hold its ", prompts_, " groups");
    // Sent in rank order, each rank's groups in its order; received likewise, so group l of this
    // rank is the next group from its source rank.
    std::vector<std::int32_t> sent, received(static_cast<std::size_t>(prompts_));
    std::vector<index_t> send_groups(static_cast<std::size_t>(ranks), 0), recv_groups(static_cast<std::size_t>(ranks), 0);
    for (int d = 0; d < ranks; ++d)
      for (const GroupAddress& a : plan[static_cast<std::size_t>(d)]) {
        RLMOE_CHECK(a.rank >= 0 && a.rank < ranks && a.group >= 0 && a.group < source.prompts_, ShapeError,
                    "RolloutBuffers::exchange_groups: group ", a.group, " of rank ", a.rank, " does not exist");
        if (a.rank == me) {
          sent.push_back(static_cast<std::int32_t>(a.group));
          ++send_groups[static_cast<std::size_t>(d)];
        }
        if (d == me) ++recv_groups[static_cast<std::size_t>(a.rank)];
      }
    std::vector<index_t> from(static_cast<std::size_t>(ranks), 0);
    for (int r = 1; r < ranks; ++r) from[static_cast<std::size_t>(r)] = from[static_cast<std::size_t>(r - 1)] + recv_groups[static_cast<std::size_t>(r - 1)];
    for (index_t l = 0; l < prompts_; ++l)
      received[static_cast<std::size_t>(l)] = static_cast<std::int32_t>(from[static_cast<std::size_t>(plan[static_cast<std::size_t>(me)][static_cast<std::size_t>(l)].rank)]++);
    const Buffer<std::int32_t, B> send_rows = to_backend(backend_, sent), recv_rows = to_backend(backend_, received);
    const auto move = [&](auto src, auto dst, index_t per_group) {
      exchange(comm, src, dst, per_group, send_rows, send_groups, recv_rows, recv_groups);
    };
    const index_t g = group_size_, w = sequence_width(), t = completion_width_;
    move(source.prompt_tokens_.view(), prompt_tokens_.view(), prompt_width_);
    move(source.prompt_lengths_.view(), prompt_lengths_.view(), 1);
    move(source.reference_tokens_.view(), reference_tokens_.view(), reference_width_);
    move(source.reference_lengths_.view(), reference_lengths_.view(), 1);
    move(source.completion_tokens_.view(), completion_tokens_.view(), g * t);
    move(source.completion_lengths_.view(), completion_lengths_.view(), g);
    move(source.mask_.view(), mask_.view(), g * t);
    move(source.old_logp_.view(), old_logp_.view(), g * t);
    move(source.sequences_.view(), sequences_.view(), g * w);
    move(source.sequence_lengths_.view(), sequence_lengths_.view(), g);
    move(source.sequence_prompt_lengths_.view(), sequence_prompt_lengths_.view(), g);
    for (std::size_t l = 0; l < replay_.size(); ++l) move(source.replay_[l].view(), replay_[l].view(), g * w * top_k_);
    synchronize(backend_);  // the row lists are about to go
  }

 private:
  /// One array of exchange_groups: the groups to send packed in order, one all-to-all, then the
  /// received groups unpacked into this rank's order.
  template <class Comm, class T>
  void exchange(const Comm& comm, VectorView<T> src, VectorView<T> dst, index_t per_group, const Buffer<std::int32_t, B>& send_rows,
                const std::vector<index_t>& send_groups, const Buffer<std::int32_t, B>& recv_rows,
                const std::vector<index_t>& recv_groups) {
    if (per_group == 0) return;
    const index_t sending = send_rows.size(), receiving = dst.size() / per_group;
    Buffer<T, B> packed(backend_, sending * per_group), arrived(backend_, receiving * per_group);
    gather(MatrixView<T>(src.data(), Extents<2>{src.size() / per_group, per_group}), send_rows,
           MatrixView<T>(packed.data(), Extents<2>{sending, per_group}));
    std::vector<index_t> send_counts(send_groups), recv_counts(recv_groups);
    for (index_t& c : send_counts) c *= per_group;
    for (index_t& c : recv_counts) c *= per_group;
    dist::all_to_all_v(comm, backend_, VectorView<const T>(packed.view()), std::span<const index_t>(send_counts), arrived.view(),
                       std::span<const index_t>(recv_counts));
    gather(MatrixView<T>(arrived.data(), Extents<2>{receiving, per_group}), recv_rows,
           MatrixView<T>(dst.data(), Extents<2>{receiving, per_group}));
  }

  template <class T>
  static MatrixView<T> column(VectorView<T> v) {
    return {v.data(), Extents<2>{v.size(), 1}};
  }
  template <class T>
  void gather(MatrixView<T> src, const Buffer<std::int32_t, B>& rows, MatrixView<T> dst) {
    parallel_for(backend_, dst.size(), detail::GatherRows<T>{src, rows.view(), dst});
  }

  B backend_;
  index_t prompts_, group_size_, prompt_width_, reference_width_, completion_width_, top_k_;
  Buffer<token_t, B> prompt_tokens_;
  Buffer<std::int32_t, B> prompt_lengths_;
  Buffer<token_t, B> reference_tokens_;
  Buffer<std::int32_t, B> reference_lengths_;
  Buffer<token_t, B> completion_tokens_;
  Buffer<std::int32_t, B> completion_lengths_;
  Buffer<std::uint8_t, B> mask_;
  Buffer<C, B> old_logp_;
  Buffer<token_t, B> sequences_;
  Buffer<std::int32_t, B> sequence_lengths_, sequence_prompt_lengths_;
  std::vector<Buffer<std::int32_t, B>> replay_;
};

}  // namespace rlmoe::rl
