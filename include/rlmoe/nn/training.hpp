#pragma once
// Training steps around a Transformer:
//  - optimizer_step: AdamW over the flat parameter buffer, then the MoE layers' aux-loss-free
//    bias update, which belongs right after every optimizer step;
//  - supervised_loss: cross-entropy on given completion tokens (the demonstrations of an R1-style
//    cold start): forward, the mean negative log-likelihood over the completion tokens, and the
//    backward pass into the model's gradients.
#include <cstdint>
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/optim/sharded_adamw.hpp"

namespace rlmoe::nn {

/// One AdamW step of the model's (master) parameters from its gradients, then the routing-bias
/// update. Data parallel (`comm` over several ranks, each with the gradients of its share of the
/// batch): the gradients are summed over the ranks first, in buckets, so that every rank makes the
/// same step; the routing bias follows the load of every rank.
/// Optimizer: optim::AdamW<B, master_t<T>>, or an optimizer that sums the gradients over the ranks
/// itself (optim::ShardedAdamW over `comm`).
/// Expert parallel (the model's experts split over expert groups of `comm`): the tensors every
/// rank holds are summed over `comm`, the rank's experts over their replicas only, and the clipping
/// norm counts each expert once.
template <Backend B, TransformerSpec Spec, class T, class Optimizer, dist::Communicator Comm = dist::SingleProcess>
void optimizer_step(Transformer<B, Spec, T>& model, Optimizer& optimizer, double learning_rate, const Comm& comm = {}) {
  const moe::ExpertParallel<B>& ep = model.expert_parallel();
  if (ep.size() > 1) {
    RLMOE_CHECK(!optim::reduces_gradients_v<Optimizer>, ConfigError,
                "optimizer_step: ShardedAdamW does not shard expert-parallel models yet (", ep.name(), "); use AdamW");
    RLMOE_CHECK(comm.size() == ep.size() * ep.replicas(), ConfigError, "optimizer_step: the model's experts are split over ",
                ep.size(), " ranks with ", ep.replicas(), " replicas each, but ", comm.name(), " has ", comm.size(),
                " ranks; pass the world the ExpertParallel was made from");
    if constexpr (!optim::reduces_gradients_v<Optimizer>) {
      const index_t replicated = model.replicated_size(), n = model.gradients().size();
      if (comm.size() > 1) dist::all_reduce_in_buckets(comm, model.backend(), model.gradients().slice(0, replicated), Sum{});
      ep.sum_over_replicas(model.gradients().slice(replicated, n));
      optimizer.step(model.parameters(), model.gradients(), learning_rate, replicated,
                     [&](VectorView<double> values) { ep.sum_over_group(values); });
    }
  } else {
    if constexpr (!optim::reduces_gradients_v<Optimizer>)
      if (comm.size() > 1) dist::all_reduce_in_buckets(comm, model.backend(), model.gradients(), Sum{});
    optimizer.step(model.parameters(), model.gradients(), learning_rate);
  }
  model.update_routing_bias(comm);
}

namespace detail {

/// For completion token j of sequence b: 1 when it exists (j < length - prompt length).
struct CompletionTokenCount {
  SequenceBatch batch;
  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const index_t b = i / batch.completion_width, j = i - b * batch.completion_width;
    return j < batch.lengths[b] - batch.prompt_lengths[b] ? 1.0 : 0.0;
  }
};

/// d loss / d logp = -1 / count on existing completion tokens; returns -logp / count.
template <class T>
struct NegativeLogLikelihood {
  SequenceBatch batch;
  MatrixView<const T> logp;
  const double* count;
  MatrixView<T> d_logp;
  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const index_t b = i / batch.completion_width, j = i - b * batch.completion_width;
    const bool exists = j < batch.lengths[b] - batch.prompt_lengths[b];
    const double scale = *count > 0.0 ? 1.0 / *count : 0.0;
    d_logp(b, j) = exists ? static_cast<T>(-scale) : T(0);
    return exists ? -scale * static_cast<double>(logp(b, j)) : 0.0;
  }
};

}  // namespace detail

/// Scratch of supervised_loss, reused across steps.
template <Backend B, class T = float>
struct SupervisedScratch {
  Buffer<T, B> logp, d_logp;
  Buffer<double, B> count, loss;
  SupervisedScratch(const B& backend, index_t outputs)
      : logp(backend, outputs), d_logp(backend, outputs), count(backend, 1), loss(backend, 1) {}
};

/// Forward and backward of the mean token cross-entropy on the completion tokens of `batch`;
/// gradients accumulate into the model. The loss stays in backend memory: scratch.loss[0].
/// (A bf16 model's log-probabilities are float: the scratch is of compute_t<T>.) Data parallel
/// (`comm` over several ranks, `batch` this rank's share): the mean is over the tokens of every
/// rank, so the ranks' losses and gradients sum to the whole batch's.
template <Backend B, TransformerSpec Spec, class T, dist::Communicator Comm = dist::SingleProcess>
void supervised_loss(const B& backend, Transformer<B, Spec, T>& model, const SequenceBatch& batch,
                     SupervisedScratch<B, compute_t<T>>& scratch, const Comm& comm = {}) {
  using C = compute_t<T>;
  const index_t rows = batch.tokens.extent(0), width = batch.completion_width;
  RLMOE_CHECK(scratch.logp.size() >= rows * width, ShapeError, "supervised_loss: the scratch holds ", scratch.logp.size(),
              " outputs but the batch has ", rows * width);
  const MatrixView<C> logp(scratch.logp.data(), Extents<2>{rows, width}), d_logp(scratch.d_logp.data(), Extents<2>{rows, width});
  model.forward(batch, logp);
  transform_reduce(backend, rows * width, detail::CompletionTokenCount{batch}, scratch.count.view(), Sum{}, 0.0);
  if (comm.size() > 1) dist::all_reduce(comm, backend, scratch.count.view(), Sum{});
  transform_reduce(backend, rows * width, detail::NegativeLogLikelihood<C>{batch, logp, scratch.count.data(), d_logp},
                   scratch.loss.view(), Sum{}, 0.0);
  model.backward(d_logp);
}

}  // namespace rlmoe::nn
