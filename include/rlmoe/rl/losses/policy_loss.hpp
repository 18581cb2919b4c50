#pragma once
// policy_loss(backend, loss, inputs, grad_logp, metrics): the batch policy loss, its gradient
// d loss / d logp for every token, and the loss metrics, for any PolicyLoss.
//
// Two passes over the batch, both on the backend, no host round-trip:
//  1. per sequence: its active tokens |o_i| (and, for a sequence-level ratio, the mean of its
//     tokens' log-ratios), reduced into the batch's active tokens;
//  2. per token, one fused transform_reduce: the loss rule, the gradient written out, and the
//     weighted loss and metrics summed.
//
// With the aggregation weight w_i shared by the active tokens of sequence i, the batch loss is
// J = sum_it m_it w_i L_it, and
//   dJ/dlogp_it = w_i (dL_it/dlog_ratio + dL_it/dlogp)   for active tokens, 0 for the others.
// That holds for both ratio levels: with a per-sequence ratio, log_ratio_i is the mean of |o_i|
// token log-ratios, so its derivative in each is 1/|o_i|, and the |o_i| equal terms that depend on
// it sum back to w_i dL/dlog_ratio.
#include <cstdint>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/rl/concept_checks.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/token_loss.hpp"

namespace rlmoe::rl {

/// Per-token inputs, all [N, T] over completions, and per-sequence advantages [N].
template <class T>
struct PolicyLossInputs {
  MatrixView<const T> logp;                    ///< log pi_theta of each completion token
  MatrixView<const T> old_logp;                ///< log pi_old (the sampling policy); empty: on-policy, ratio 1
  MatrixView<const T> ref_logp;                ///< log pi_ref; empty when the loss uses no reference
  MatrixView<const std::uint8_t> mask;         ///< 1 where the token counts
  VectorView<const T> advantages;              ///< one per sequence
};

/// Sums over the active tokens of the batch, reduced by the loss kernel. `loss` is the aggregated
/// loss itself; the others become means through the accessors.
struct PolicyLossMetrics {
  double loss = 0.0;
  double active_tokens = 0.0;
  double clipped_low = 0.0;   ///< tokens whose gradient the lower clip removed
  double clipped_high = 0.0;  ///< tokens whose gradient the upper clip removed
  double ratio_sum = 0.0;
  double kl_sum = 0.0;

  RLMOE_HOST_DEVICE friend PolicyLossMetrics operator+(const PolicyLossMetrics& a, const PolicyLossMetrics& b) {
    return {a.loss + b.loss,           a.active_tokens + b.active_tokens, a.clipped_low + b.clipped_low,
            a.clipped_high + b.clipped_high, a.ratio_sum + b.ratio_sum,  a.kl_sum + b.kl_sum};
  }

  [[nodiscard]] double per_token(double sum) const { return active_tokens > 0.0 ? sum / active_tokens : 0.0; }
  [[nodiscard]] double clip_fraction_low() const { return per_token(clipped_low); }
  [[nodiscard]] double clip_fraction_high() const { return per_token(clipped_high); }
  [[nodiscard]] double clip_fraction() const { return per_token(clipped_low + clipped_high); }
  [[nodiscard]] double ratio_mean() const { return per_token(ratio_sum); }
  [[nodiscard]] double kl_mean() const { return per_token(kl_sum); }
};

namespace detail {

template <class T>
struct SequenceTerms {
  std::int32_t active;  ///< |o_i|
  T mean_log_ratio;     ///< mean over active tokens of logp - old_logp (sequence-level ratio only)
};

/// Pass 1, per sequence; returns |o_i| for the batch total.
template <class T, RatioLevel kLevel>
struct SequencePass {
  PolicyLossInputs<T> in;
  VectorView<SequenceTerms<T>> out;

  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const index_t width = in.mask.extent(1);
    std::int32_t active = 0;
    double log_ratio_sum = 0.0;
    for (index_t t = 0; t < width; ++t) {
      if (in.mask(i, t) == 0) continue;
      ++active;
      if constexpr (kLevel == RatioLevel::Sequence)
        if (in.old_logp.data() != nullptr) log_ratio_sum += static_cast<double>(in.logp(i, t) - in.old_logp(i, t));
    }
    out[i] = {active, static_cast<T>(active > 0 ? log_ratio_sum / active : 0.0)};
    return static_cast<double>(active);
  }
};

/// Pass 2, per token: runs the loss rule, writes d loss / d logp, returns the token's share of
/// the loss and metrics.
template <class T, class Loss>
struct TokenPass {
  Loss loss;
  PolicyLossInputs<T> in;
  VectorView<const SequenceTerms<T>> sequences;
  const double* batch_active;
  index_t batch_sequences;  ///< N of the whole batch (over every rank)
  index_t max_completion_length;
  MatrixView<T> grad;

  RLMOE_HOST_DEVICE PolicyLossMetrics operator()(index_t k) const {
    const index_t width = in.mask.extent(1);
    // 32-bit division where it suffices: it is several times cheaper than 64-bit on the GPU.
    const index_t i = grad.size() <= index_t{0xffffffff}
                          ? static_cast<index_t>(static_cast<std::uint32_t>(k) / static_cast<std::uint32_t>(width))
                          : k / width;
    const index_t t = k - i * width;
    if (in.mask(i, t) == 0) {
      grad(i, t) = T(0);
      return {};
    }
    const SequenceTerms<T> sequence = sequences[i];
    const T logp = in.logp(i, t);
    T log_ratio = T(0);
    if constexpr (Loss::kRatioLevel == RatioLevel::Sequence)
      log_ratio = sequence.mean_log_ratio;
    else if (in.old_logp.data() != nullptr)
      log_ratio = logp - in.old_logp(i, t);
    const T ref_logp = in.ref_logp.data() != nullptr ? in.ref_logp(i, t) : T(0);
    const TokenLossTerms<T> terms = loss(TokenLossInput<T>{log_ratio, logp, ref_logp, in.advantages[i]});
    const double weight = Loss::Aggregation::sequence_weight(sequence.active, batch_sequences, *batch_active, max_completion_length);
    grad(i, t) = static_cast<T>(weight * static_cast<double>(terms.dloss_dlog_ratio + terms.dloss_dlogp));
    PolicyLossMetrics m;
    m.loss = weight * static_cast<double>(terms.loss);
    m.active_tokens = 1.0;
    m.clipped_low = terms.clipped_low ? 1.0 : 0.0;
    m.clipped_high = terms.clipped_high ? 1.0 : 0.0;
    m.ratio_sum = static_cast<double>(terms.ratio);
    m.kl_sum = static_cast<double>(terms.kl);
    return m;
  }
};

template <class T>
void check_policy_loss_shapes(const PolicyLossInputs<T>& in, const MatrixView<T>& grad, bool needs_reference,
                              index_t max_completion_length) {
  const Extents<2> shape = in.logp.shape();
  const index_t n = shape[0];
  require_shape(in.mask, shape, "policy_loss: mask");
  require_shape(grad, shape, "policy_loss: grad_logp");
  require_shape(in.advantages, Extents<1>{n}, "policy_loss: advantages");
  if (in.old_logp.data() != nullptr) require_shape(in.old_logp, shape, "policy_loss: old_logp");
  if (in.ref_logp.data() != nullptr) require_shape(in.ref_logp, shape, "policy_loss: ref_logp");
  RLMOE_CHECK(!needs_reference || in.ref_logp.data() != nullptr, ConfigError,
              "policy_loss: the loss has a KL term (beta > 0) but no ref_logp was given");
  RLMOE_CHECK(max_completion_length >= 0, ConfigError, "policy_loss: max_completion_length is ",
              max_completion_length, " but must be >= 0 (0: the width of the batch, ", shape[1], ")");
}

}  // namespace detail

/// Computes the loss for the batch: writes d loss / d logp into grad_logp ([N, T], zero on
/// inactive tokens) and the metrics into metrics[0], both in backend memory. max_completion_length
/// is T_max for SeqMeanTokenSumNorm (0: the batch width T). Loss: a PolicyLoss (a refused one gets
/// one message per missing piece, and nothing else).
///
/// Data parallel: with `comm` over several ranks, the inputs are this rank's share of the batch and
/// the aggregation's normalisers (the active tokens, the number of sequences) are the whole
/// batch's, all-reduced, so that the gradients of the ranks sum to the gradient of the whole batch
/// and the metrics' sums (each rank's) add up to the whole batch's.
template <Backend B, class Loss, class T, dist::Communicator Comm = dist::SingleProcess>
void policy_loss(const B& backend, const Loss& loss, const PolicyLossInputs<T>& inputs, MatrixView<T> grad_logp,
                 VectorView<PolicyLossMetrics> metrics, index_t max_completion_length = 0, const Comm& comm = {}) {
  if constexpr (PolicyLossCheck<Loss>::value) {
    loss.validate();
    detail::check_policy_loss_shapes(inputs, grad_logp, loss.uses_reference(), max_completion_length);
    require_shape(metrics, Extents<1>{1}, "policy_loss: metrics");
    const index_t n = inputs.logp.extent(0), width = inputs.logp.extent(1);
    PolicyLossInputs<T> in = inputs;
    if (!loss.uses_reference()) in.ref_logp = {};  // not read, so never a source of NaN

    Buffer<detail::SequenceTerms<T>, B> sequences(backend, n);
    Buffer<double, B> batch_active(backend, 1);
    transform_reduce(backend, n, detail::SequencePass<T, Loss::kRatioLevel>{in, sequences.view()}, batch_active.view(),
                     Sum{}, 0.0);
    index_t all_sequences = n;
    if (comm.size() > 1) {
      dist::all_reduce(comm, backend, batch_active.view(), Sum{});
      all_sequences = dist::all_reduce_value(comm, n);
    }
    const detail::TokenPass<T, Loss> pass{loss,
                                          in,
                                          sequences.view(),
                                          batch_active.data(),
                                          all_sequences,
                                          max_completion_length > 0 ? max_completion_length : width,
                                          grad_logp};
    transform_reduce(backend, n * width, pass, metrics, Sum{}, PolicyLossMetrics{});
  }
}

}  // namespace rlmoe::rl
