#pragma once
// MetaRm: DeepSeek-GRM's meta reward model, a pointwise scalar model that rates how likely a
// judgment is to be correct, trained with binary cross-entropy on judgments labelled by Eq. 10.
// Meta-RM-guided voting (grm/voting.hpp: meta_vote) then counts only the judgments it rates best.
//
// Here it is a transformer over the judging vocabulary (start it from the GRM's weights with
// initialize_from) whose scalar head is its LM head restricted to two verdict tokens: after the
// prompt and the judgment,
//
//   s = log p(yes | prompt, judgment) - log p(no | prompt, judgment)      (the softmax's norm cancels)
//   loss = mean over judgments of softplus(s) - y s,     d loss / d s = (sigmoid(s) - y) / N
//
// Each judgment is run as two rows (ending in yes and in no), whose completion log-probs are the
// two terms of s; the gradient enters the model's backward pass through them.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/nn/sequence_batch.hpp"
#include "rlmoe/nn/training.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/rl/rollout.hpp"
#include "rlmoe/rl/score.hpp"

namespace rlmoe::rl::grm {

/// The verdict rows' binary cross-entropy: reads s_i from logp [2N, 1], writes d loss / d logp,
/// returns judgment i's share of the mean loss.
template <class C>
struct VerdictCrossEntropy {
  MatrixView<const C> logp;          ///< rows 2i (yes) and 2i + 1 (no)
  VectorView<const float> labels;    ///< [N]: 1 for a correct judgment
  MatrixView<C> d_logp;              ///< [2N, 1], or empty: the loss only
  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const double n = static_cast<double>(labels.extent(0)), y = labels[i];
    const double s = static_cast<double>(logp(2 * i, 0)) - static_cast<double>(logp(2 * i + 1, 0));
    if (d_logp.data() != nullptr) {
      const double g = (1.0 / (1.0 + math::exp(-s)) - y) / n;
      d_logp(2 * i, 0) = static_cast<C>(g);
      d_logp(2 * i + 1, 0) = static_cast<C>(-g);
    }
    return (math::max(s, 0.0) + math::log(1.0 + math::exp(-math::abs(s))) - y * s) / n;  // softplus(s) - y s, stably
  }
};

/// The rows a meta RM reads from judgments: each prompt then its completion (end included).
template <Backend B>
std::vector<std::vector<token_t>> judgment_rows(const B& backend, const RolloutView& judgments) {
  const HostRolloutCopy host(backend, judgments);
  std::vector<std::vector<token_t>> rows;
  for (index_t i = 0; i < judgments.num_completions(); ++i) {
    const Sample s = host.view.sample(i);
    rows.emplace_back(s.prompt_tokens.tokens, s.prompt_tokens.tokens + s.prompt_tokens.size);
    rows.back().insert(rows.back().end(), s.completion.tokens, s.completion.tokens + s.completion.size);
  }
  return rows;
}

/// Spec: the meta RM's TransformerSpec (the GRM's, to start from its weights); T: its storage
/// (double for checks).
template <Backend B, class SpecArg, class T = nn::storage_t<nn::checked_spec_t<SpecArg>>>
class MetaRm {
 public:
  using Spec = nn::checked_spec_t<SpecArg>;
  using Model = nn::Transformer<B, Spec, T>;
  using C = compute_t<T>;
  /// How many judgments one pass takes (rating and training run in chunks of this many).
  static constexpr index_t kChunk = 256;

  /// `yes` and `no`: the verdict tokens; `pad`: the padding of shorter rows.
  MetaRm(const B& backend, token_t yes, token_t no, token_t pad, const optim::AdamWConfig& adam = {})
      : backend_(backend), yes_(yes), no_(no), pad_(pad), model_(backend), adam_(adam) {
    for (const token_t t : {yes, no, pad})
      RLMOE_CHECK(t >= 0 && t < Spec::kVocab, ConfigError, "grm::MetaRm: token ", t, " (yes, no or pad) must lie in [0, Spec::kVocab = ",
                  Spec::kVocab, ")");
    RLMOE_CHECK(yes != no, ConfigError, "grm::MetaRm: the verdict tokens yes and no are both ", yes);
  }

  [[nodiscard]] Model& model() { return model_; }
  /// Starts from the GRM's weights (a fresh optimizer state).
  void initialize_from(const Model& grm) {
    model_.copy_from(grm);
    optimizer_.reset();
  }
  void initialize(std::uint64_t seed) {
    model_.initialize(seed);
    optimizer_.reset();
  }

  /// s of every row (a prompt and its judgment), the higher the likelier correct.
  std::vector<double> rate(const std::vector<std::vector<token_t>>& rows) {
    std::vector<double> out;
    for (std::size_t begin = 0; begin < rows.size(); begin += kChunk) {
      const std::vector<std::vector<token_t>> chunk(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                                                    rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), begin + kChunk)));
      forward(chunk);
      const std::vector<C> logp = to_host(backend_, logp_.view().slice(0, 2 * static_cast<index_t>(chunk.size())));
      for (std::size_t i = 0; i < chunk.size(); ++i) out.push_back(static_cast<double>(logp[2 * i]) - static_cast<double>(logp[2 * i + 1]));
    }
    return out;
  }

  /// The mean binary cross-entropy of `rows` (at most kChunk) against `labels` (1: correct), with
  /// its gradient accumulated into model().gradients().
  double loss_and_gradients(const std::vector<std::vector<token_t>>& rows, const std::vector<float>& labels) {
    const index_t n = static_cast<index_t>(rows.size());
    RLMOE_CHECK(n >= 1 && n <= kChunk, ShapeError, "grm::MetaRm: a training batch of ", n, " judgments; 1 to ", kChunk, " fit");
    RLMOE_CHECK(labels.size() == rows.size(), ShapeError, "grm::MetaRm: ", labels.size(), " labels for ", n, " judgments");
    for (std::size_t i = 0; i < labels.size(); ++i)
      RLMOE_CHECK(labels[i] == 0.0f || labels[i] == 1.0f, ConfigError, "grm::MetaRm: label ", i, " is ", labels[i], " but must be 0 or 1");
    forward(rows);
    const Buffer<float, B> device_labels = to_backend(backend_, labels);
    const MatrixView<C> logp(logp_.data(), Extents<2>{2 * n, 1}), d_logp(d_logp_.data(), Extents<2>{2 * n, 1});
    transform_reduce(backend_, n, VerdictCrossEntropy<C>{logp, device_labels.view(), d_logp}, loss_.view(), Sum{}, 0.0);
    const double loss = to_host(backend_, loss_.view())[0];
    RLMOE_CHECK(std::isfinite(loss), NumericError, "grm::MetaRm: the BCE of ", n, " judgments is ", loss,
                " (a non-finite verdict log-probability); no gradient was taken");
    model_.backward(d_logp);
    return loss;
  }

  /// One AdamW step on a batch of labelled judgments; returns the batch's loss before it.
  double train_step(const std::vector<std::vector<token_t>>& rows, const std::vector<float>& labels, double learning_rate)
    requires std::is_same_v<master_t<T>, float>
  {
    if (!optimizer_) optimizer_ = std::make_unique<optim::AdamW<B>>(backend_, model_.parameters().size(), adam_);
    model_.zero_gradients();
    const double loss = loss_and_gradients(rows, labels);
    nn::optimizer_step(model_, *optimizer_, learning_rate);
    return loss;
  }

 private:
  /// Runs rows 2i = rows[i] + yes and 2i + 1 = rows[i] + no; logp_[r] is the verdict's log-prob.
  void forward(const std::vector<std::vector<token_t>>& rows) {
    const index_t n = static_cast<index_t>(rows.size());
    index_t width = 0;
    for (const auto& row : rows) width = std::max(width, static_cast<index_t>(row.size()) + 1);
    RLMOE_CHECK(width <= Spec::kMaxLength, ShapeError, "grm::MetaRm: a judgment of ", width - 1,
                " tokens and its verdict exceed the model's maximum length ", Spec::kMaxLength);
    std::vector<token_t> tokens;
    std::vector<std::int32_t> lengths, prompt_lengths;
    for (const auto& row : rows) {
      RLMOE_CHECK(!row.empty(), ShapeError, "grm::MetaRm: an empty judgment row");
      for (const token_t verdict : {yes_, no_}) {
        const std::size_t start = tokens.size();
        tokens.insert(tokens.end(), row.begin(), row.end());
        tokens.push_back(verdict);
        tokens.resize(start + static_cast<std::size_t>(width), pad_);
        lengths.push_back(static_cast<std::int32_t>(row.size() + 1));
        prompt_lengths.push_back(static_cast<std::int32_t>(row.size()));
      }
    }
    tokens_ = to_backend(backend_, tokens);
    lengths_ = to_backend(backend_, lengths);
    prompt_lengths_ = to_backend(backend_, prompt_lengths);
    if (logp_.size() < 2 * n) {
      logp_ = Buffer<C, B>(backend_, 2 * n);
      d_logp_ = Buffer<C, B>(backend_, 2 * n);
    }
    const nn::SequenceBatch batch{tokens_.view(2 * n, width), lengths_.view(), prompt_lengths_.view(), 1};
    model_.forward(batch, MatrixView<C>(logp_.data(), Extents<2>{2 * n, 1}));
  }

  B backend_;
  token_t yes_, no_, pad_;
  Model model_;
  optim::AdamWConfig adam_;
  std::unique_ptr<optim::AdamW<B>> optimizer_;
  Buffer<token_t, B> tokens_{};
  Buffer<std::int32_t, B> lengths_{}, prompt_lengths_{};
  Buffer<C, B> logp_{}, d_logp_{};
  Buffer<double, B> loss_{backend_, 1};
};

}  // namespace rlmoe::rl::grm
