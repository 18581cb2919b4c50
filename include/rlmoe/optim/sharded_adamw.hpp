#pragma once
// ShardedAdamW: AdamW whose state is split across the data-parallel ranks (ZeRO, Rajbhandari et
// al. 2020): rank r owns elements [r s, (r + 1) s) of the flat parameter vector, s = ceil(n / N),
// and keeps the two moments of those only, so that optimizer state costs 1/N per rank.
//
//   ZeRO-1 (ZeroStage::OptimizerState): the gradients are all-reduced (every rank holds their sum),
//     each rank updates its shard, and the shards are all-gathered into every rank's parameters.
//   ZeRO-2 (ZeroStage::Gradients): the gradients are reduce-scattered instead, so that each rank
//     receives only the sum of its own shard (half the traffic of an all-reduce), then the same.
//
// The clipping norm is the whole vector's (the shards' squared norms summed over the ranks), so a
// step is the step of AdamW on one process up to the order of the sums. The update itself is
// AdamW's, over the shard. The parameters stay whole on every rank (the forward pass needs them);
// the gradient buffer too, since backward writes it whole: ZeRO-2 here saves traffic, not yet the
// memory of the gradients.
//
// It sums the gradients itself (kReducesGradients), so nn::optimizer_step does not all-reduce them
// before it.
#include <algorithm>
#include <cstdint>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/optim/adamw.hpp"

namespace rlmoe::optim {

enum class ZeroStage { OptimizerState = 1, Gradients = 2 };

template <Backend B, class T, dist::Communicator Comm>
class ShardedAdamW {
 public:
  static constexpr bool kReducesGradients = true;

  /// Over a flat parameter vector of `size` elements, split across the ranks of `comm`.
  ShardedAdamW(const B& backend, index_t size, const AdamWConfig& config, const Comm& comm,
               ZeroStage stage = ZeroStage::Gradients)
      : backend_(backend),
        comm_(comm),
        stage_(stage),
        size_(size),
        shard_((size + comm.size() - 1) / comm.size()),
        begin_(std::min(size, shard_ * comm.rank())),
        end_(std::min(size, begin_ + shard_)),
        inner_(backend, end_ - begin_, config) {
    const index_t padded = shard_ * comm.size();
    if (padded != size) {  // the collectives move whole shards: the last one is padded
      padded_ = Buffer<T, B>(backend, padded);
      fill(backend, padded_.view(), T(0));
    }
    if (stage == ZeroStage::Gradients) gradient_shard_ = Buffer<T, B>(backend, shard_);
    parameter_shard_ = Buffer<T, B>(backend, shard_);
    fill(backend, parameter_shard_.view(), T(0));  // the padding of the last shard is gathered too
  }

  /// One step: sum the gradients (all-reduce or reduce-scatter), update this rank's shard, gather
  /// the shards into `parameters` (whole on every rank). Waits for the collectives.
  void step(VectorView<T> parameters, VectorView<T> gradients, double learning_rate) {
    require_shape(parameters, Extents<1>{size_}, "ShardedAdamW::step: parameters");
    require_shape(gradients, Extents<1>{size_}, "ShardedAdamW::step: gradients");
    const index_t count = end_ - begin_;
    VectorView<const T> shard_gradients = gradients.slice(begin_, end_);
    if (stage_ == ZeroStage::OptimizerState) {
      dist::all_reduce_in_buckets(comm_, backend_, gradients, Sum{});
    } else {
      dist::reduce_scatter(comm_, backend_, whole(gradients), gradient_shard_.view(), Sum{});
      shard_gradients = gradient_shard_.view().slice(0, count);
    }
    const VectorView<T> shard = parameter_shard_.view().slice(0, count);
    copy(backend_, shard, VectorView<const T>(parameters.slice(begin_, end_)));
    inner_.step(shard, shard_gradients, learning_rate, comm_);
    gather(parameters);
  }

  /// The gradient norm of the last step, over the whole vector (see AdamW::grad_norm).
  [[nodiscard]] double grad_norm() { return inner_.grad_norm(); }
  [[nodiscard]] const AdamWConfig& config() const { return inner_.config(); }
  [[nodiscard]] index_t steps() const { return inner_.steps(); }
  void set_steps(index_t steps) { inner_.set_steps(steps); }
  [[nodiscard]] ZeroStage stage() const { return stage_; }
  /// The elements [begin, end) of the flat vector whose state this rank holds.
  [[nodiscard]] index_t shard_begin() const { return begin_; }
  [[nodiscard]] index_t shard_end() const { return end_; }
  /// Bytes of optimizer state this rank holds (its shard's moments), and of the unsharded optimizer.
  [[nodiscard]] index_t state_bytes() const { return inner_.state_bytes(); }
  [[nodiscard]] index_t unsharded_state_bytes() const { return 2 * size_ * static_cast<index_t>(sizeof(T)); }
  /// This rank's shard of the moments, for checkpoints.
  [[nodiscard]] VectorView<T> first_moment() { return inner_.first_moment(); }
  [[nodiscard]] VectorView<T> second_moment() { return inner_.second_moment(); }

 private:
  /// The vector as the collectives see it: N whole shards (a padded copy when n is not a multiple
  /// of N).
  VectorView<const T> whole(VectorView<const T> v) {
    if (padded_.empty()) return v;
    copy(backend_, padded_.view().slice(0, size_), v);
    return padded_.view();
  }

  void gather(VectorView<T> parameters) {
    const VectorView<const T> shard = parameter_shard_.view();
    if (padded_.empty()) {
      dist::all_gather(comm_, backend_, shard, parameters);
    } else {
      dist::all_gather(comm_, backend_, shard, padded_.view());
      copy(backend_, parameters, VectorView<const T>(padded_.view().slice(0, size_)));
    }
  }

  B backend_;
  Comm comm_;
  ZeroStage stage_;
  index_t size_, shard_, begin_, end_;
  AdamW<B, T> inner_;
  Buffer<T, B> padded_, gradient_shard_, parameter_shard_;
};

/// Whether an optimizer sums the data-parallel gradients itself (ShardedAdamW) or needs them summed.
template <class Optimizer>
inline constexpr bool reduces_gradients_v = requires { requires Optimizer::kReducesGradients; };

}  // namespace rlmoe::optim
