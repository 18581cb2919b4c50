#pragma once
// MetaRm: DeepSeek-GRM's meta reward model, a pointwise scalar model that rates how likely a
// judgment is to be correct, trained with binary cross-entropy on judgments labelled by Eq. 10.
// Meta-RM-guided voting (grm/voting.hpp: meta_vote) then counts only the judgments it rates best.
//
// Here it is a transformer over the judging vocabulary (start it from the GRM's weights with
// initialize_from) that reads the prompt and the judgment and then gives a verdict, yes or no.
// Its scalar is the judgment's log-likelihood under the meta RM plus the verdict's log-odds:
//
//   s = sum over the judgment's tokens y_t of log p(y_t | prompt, y_<t)
//       + log p(yes | prompt, judgment) - log p(no | prompt, judgment)    (the softmax's norm cancels)
//   loss = mean over judgments of softplus(s) - y s,     d loss / d s = (sigmoid(s) - y) / N
//
// Why the likelihood: a judgment goes wrong at one token (a mark, a distance, a score) among some
// fifty, and a small model cannot find that token from the verdict's position alone (a verdict-only
// meta RM of the 2-layer GRM in example 05 reached AUC 0.76 on held-out judgments after 150 steps),
// while each token's own log-probability shows a slip where it happens (the GRM's likelihood alone:
// AUC 0.88 before any training). BCE then lowers the likelihood of incorrect judgments, raises that
// of correct ones, and the verdict learns the offset.
//
// Each judgment is run as two rows, ending in yes and in no; the yes row gives the judgment's
// log-probs and the verdict's, the no row the other verdict's. The gradient enters the model's
// backward pass through them.
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

/// The verdict rows' binary cross-entropy: s_i from logp [2N, Tc] (row 2i: the judgment's tokens,
/// then yes; row 2i + 1: the same, then no), writes d loss / d logp, returns judgment i's share of
/// the mean loss.
template <class C>
struct VerdictCrossEntropy {
  MatrixView<const C> logp;                         ///< [2N, Tc]
  VectorView<const std::int32_t> judgment_lengths;  ///< [N]: J_i, the verdicts' column
  VectorView<const float> labels;                   ///< [N]: 1 for a correct judgment
  MatrixView<C> d_logp;                             ///< [2N, Tc], or empty: the loss only

  RLMOE_HOST_DEVICE double scalar(index_t i) const {
    const index_t verdict = judgment_lengths[i];
    double s = static_cast<double>(logp(2 * i, verdict)) - static_cast<double>(logp(2 * i + 1, verdict));
    for (index_t t = 0; t < verdict; ++t) s += static_cast<double>(logp(2 * i, t));
    return s;
  }
  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const double n = static_cast<double>(labels.extent(0)), y = labels[i], s = scalar(i);
    if (d_logp.data() != nullptr) {
      const double g = (1.0 / (1.0 + math::exp(-s)) - y) / n;
      const index_t verdict = judgment_lengths[i];
      for (index_t t = 0; t < d_logp.extent(1); ++t) {
        d_logp(2 * i, t) = static_cast<C>(t <= verdict ? g : 0.0);
        d_logp(2 * i + 1, t) = static_cast<C>(t == verdict ? -g : 0.0);
      }
    }
    return (math::max(s, 0.0) + math::log(1.0 + math::exp(-math::abs(s))) - y * s) / n;  // softplus(s) - y s, stably
  }
};

/// A judgment as the meta RM reads it: the prompt shown to the GRM, then the GRM's completion.
struct JudgmentRow {
  std::vector<token_t> tokens;
  index_t prompt_length = 0;  ///< tokens[0, prompt_length) are the prompt, the rest the judgment
};

/// The rows a meta RM reads from judgments: each prompt then its completion (end included).
template <Backend B>
std::vector<JudgmentRow> judgment_rows(const B& backend, const RolloutView& judgments) {
  const HostRolloutCopy host(backend, judgments);
  std::vector<JudgmentRow> rows;
  for (index_t i = 0; i < judgments.num_completions(); ++i) {
    const Sample s = host.view.sample(i);
    JudgmentRow row{{s.prompt_tokens.tokens, s.prompt_tokens.tokens + s.prompt_tokens.size}, s.prompt_tokens.size};
    row.tokens.insert(row.tokens.end(), s.completion.tokens, s.completion.tokens + s.completion.size);
    rows.push_back(std::move(row));
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
  std::vector<double> rate(const std::vector<JudgmentRow>& rows) {
    std::vector<double> out;
    for (std::size_t begin = 0; begin < rows.size(); begin += kChunk) {
      const std::vector<JudgmentRow> chunk(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                                           rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), begin + kChunk)));
      forward(chunk);
      const index_t n = static_cast<index_t>(chunk.size());
      const std::vector<C> logp = to_host(backend_, logp_.view().slice(0, 2 * n * width_));
      const std::vector<std::int32_t> judged = to_host(backend_, judgment_lengths_.view().slice(0, n));
      const VerdictCrossEntropy<C> host{MatrixView<const C>(logp.data(), Extents<2>{2 * n, width_}),
                                        VectorView<const std::int32_t>(judged.data(), Extents<1>{n}), {}, {}};
      for (index_t i = 0; i < n; ++i) out.push_back(host.scalar(i));
    }
    return out;
  }

  /// The mean binary cross-entropy of `rows` (at most kChunk) against `labels` (1: correct), with
  /// its gradient accumulated into model().gradients().
  double loss_and_gradients(const std::vector<JudgmentRow>& rows, const std::vector<float>& labels) {
    const index_t n = static_cast<index_t>(rows.size());
    RLMOE_CHECK(n >= 1 && n <= kChunk, ShapeError, "grm::MetaRm: a training batch of ", n, " judgments; 1 to ", kChunk, " fit");
    RLMOE_CHECK(labels.size() == rows.size(), ShapeError, "grm::MetaRm: ", labels.size(), " labels for ", n, " judgments");
    for (std::size_t i = 0; i < labels.size(); ++i)
      RLMOE_CHECK(labels[i] == 0.0f || labels[i] == 1.0f, ConfigError, "grm::MetaRm: label ", i, " is ", labels[i], " but must be 0 or 1");
    forward(rows);
    const Buffer<float, B> device_labels = to_backend(backend_, labels);
    const MatrixView<C> logp(logp_.data(), Extents<2>{2 * n, width_}), d_logp(d_logp_.data(), Extents<2>{2 * n, width_});
    transform_reduce(backend_, n, VerdictCrossEntropy<C>{logp, judgment_lengths_.view().slice(0, n), device_labels.view(), d_logp},
                     loss_.view(), Sum{}, 0.0);
    const double loss = to_host(backend_, loss_.view())[0];
    RLMOE_CHECK(std::isfinite(loss), NumericError, "grm::MetaRm: the BCE of ", n, " judgments is ", loss,
                " (a non-finite log-probability); no gradient was taken");
    model_.backward(d_logp);
    return loss;
  }

  /// One AdamW step on a batch of labelled judgments; returns the batch's loss before it.
  double train_step(const std::vector<JudgmentRow>& rows, const std::vector<float>& labels, double learning_rate)
    requires std::is_same_v<master_t<T>, float>
  {
    if (!optimizer_) optimizer_ = std::make_unique<optim::AdamW<B>>(backend_, model_.parameters().size(), adam_);
    model_.zero_gradients();
    const double loss = loss_and_gradients(rows, labels);
    nn::optimizer_step(model_, *optimizer_, learning_rate);
    return loss;
  }

 private:
  /// Runs rows 2i = rows[i] + yes and 2i + 1 = rows[i] + no, each scored from its prompt on:
  /// logp_ [2n, width_] holds the log-probs of the judgment's tokens and then of the verdict.
  void forward(const std::vector<JudgmentRow>& rows) {
    const index_t n = static_cast<index_t>(rows.size());
    index_t length = 0;
    width_ = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const JudgmentRow& row = rows[i];
      const index_t size = static_cast<index_t>(row.tokens.size());
      RLMOE_CHECK(row.prompt_length >= 1 && row.prompt_length <= size, ShapeError, "grm::MetaRm: row ", i, " has ", size,
                  " tokens and a prompt of ", row.prompt_length, "; a prompt has 1 to all of them");
      length = std::max(length, size + 1);
      width_ = std::max(width_, size - row.prompt_length + 1);
    }
    RLMOE_CHECK(length <= Spec::kMaxLength, ShapeError, "grm::MetaRm: a judgment of ", length - 1,
                " tokens (prompt included) and its verdict exceed the model's maximum length ", Spec::kMaxLength);
    std::vector<token_t> tokens;
    std::vector<std::int32_t> lengths, prompt_lengths, judged;
    for (const JudgmentRow& row : rows) {
      judged.push_back(static_cast<std::int32_t>(row.tokens.size()) - static_cast<std::int32_t>(row.prompt_length));
      for (const token_t verdict : {yes_, no_}) {
        const std::size_t start = tokens.size();
        tokens.insert(tokens.end(), row.tokens.begin(), row.tokens.end());
        tokens.push_back(verdict);
        tokens.resize(start + static_cast<std::size_t>(length), pad_);
        lengths.push_back(static_cast<std::int32_t>(row.tokens.size() + 1));
        prompt_lengths.push_back(static_cast<std::int32_t>(row.prompt_length));
      }
    }
    tokens_ = to_backend(backend_, tokens);
    lengths_ = to_backend(backend_, lengths);
    prompt_lengths_ = to_backend(backend_, prompt_lengths);
    judgment_lengths_ = to_backend(backend_, judged);
    if (logp_.size() < 2 * n * width_) {
      logp_ = Buffer<C, B>(backend_, 2 * n * width_);
      d_logp_ = Buffer<C, B>(backend_, 2 * n * width_);
    }
    const nn::SequenceBatch batch{tokens_.view(2 * n, length), lengths_.view(), prompt_lengths_.view(), width_};
    model_.forward(batch, MatrixView<C>(logp_.data(), Extents<2>{2 * n, width_}));
  }

  B backend_;
  token_t yes_, no_, pad_;
  Model model_;
  optim::AdamWConfig adam_;
  std::unique_ptr<optim::AdamW<B>> optimizer_;
  Buffer<token_t, B> tokens_{};
  Buffer<std::int32_t, B> lengths_{}, prompt_lengths_{}, judgment_lengths_{};
  index_t width_ = 0;  ///< the longest judgment of the last forward pass, plus its verdict
  Buffer<C, B> logp_{}, d_logp_{};
  Buffer<double, B> loss_{backend_, 1};
};

}  // namespace rlmoe::rl::grm
