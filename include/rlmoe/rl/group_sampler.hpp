#pragma once
// GroupSampler: G completions for each of P prompts, by the policy, one token at a time over a KV
// cache. Each prompt is prefilled once and its cache copied to its G completions; every step then
// chooses one token per sequence (sampling.hpp) with Philox uniforms addressed by (seed, round,
// sequence, step), so a run is reproducible on any backend; a sequence stops at its
// end-of-sequence token or at max_new_tokens. It records, into RolloutBuffers, the completions,
// their loss mask, the sampling policy's log-probability of each chosen token (at temperature 1:
// the "old" policy of the importance ratio) and each MoE layer's routing at every position, for
// routing replay in the training passes. On Cuda the decode loop itself never waits for the host
// (each MoE layer's forward still does: it copies its experts' row offsets to the host for the
// grouped GEMM); on Host it stops as soon as every sequence has ended.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/rl/rollout_buffers.hpp"
#include "rlmoe/rl/sampling.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl {

/// Which sequence of the whole batch each row of a rank's rollout is, so that its random stream,
/// and so its completion, does not depend on how the batch is divided between ranks: row i is
/// sequence first + (i / block) stride + i % block (a rank holds, of each minibatch of `stride`
/// sequences, the `block` from `first` on). The default (block 0) is the identity: one process.
struct SequenceNumbering {
  index_t first = 0, block = 0, stride = 0;
  RLMOE_HOST_DEVICE index_t operator()(index_t i) const { return block == 0 ? i : first + (i / block) * stride + i % block; }
};

namespace detail {

/// sequences[i, t] = prompts[i / G, t] for t < the prompt's length; the rest is padding.
struct PlacePrompts {
  MatrixView<const token_t> prompts;
  VectorView<const std::int32_t> prompt_lengths;
  index_t group_size;
  token_t pad;
  MatrixView<token_t> sequences;
  VectorView<std::int32_t> sequence_prompt_lengths;
  VectorView<std::int32_t> positions;
  RLMOE_HOST_DEVICE void operator()(index_t k) const {
    const index_t width = sequences.extent(1), i = k / width, t = k - i * width, p = i / group_size;
    sequences(i, t) = t < prompt_lengths[p] ? prompts(p, t) : pad;
    if (t == 0) {
      sequence_prompt_lengths[i] = prompt_lengths[p];
      positions[i] = prompt_lengths[p];
    }
  }
};

/// Copies each prompt's cache and last logits to its G completions.
template <class T>
struct SpreadGroups {
  TensorView<const T, 4> src;  ///< [P, H, Lmax, dh]
  TensorView<T, 4> dst;        ///< [P G, H, Lmax, dh]
  index_t group_size;
  RLMOE_HOST_DEVICE void operator()(index_t k) const {
    const index_t per_row = dst.extent(1) * dst.extent(2) * dst.extent(3);
    const index_t i = k / per_row, rest = k - i * per_row;
    dst.data()[i * per_row + rest] = src.data()[(i / group_size) * per_row + rest];
  }
};

/// replay[i L + t, :] = prefill routing[p Lp + t, :] for the prompt positions of completion i.
struct RecordPrefillRouting {
  MatrixView<const std::int32_t> prefill;  ///< [P Lp, K]
  VectorView<const std::int32_t> prompt_lengths;
  index_t group_size, prompt_width, sequence_width;
  MatrixView<std::int32_t> replay;         ///< [N L, K]
  RLMOE_HOST_DEVICE void operator()(index_t k) const {
    const index_t top_k = replay.extent(1), per_row = prompt_width * top_k;
    const index_t i = k / per_row, rest = k - i * per_row, t = rest / top_k, j = rest - t * top_k, p = i / group_size;
    if (t < prompt_lengths[p]) replay(i * sequence_width + t, j) = prefill(p * prompt_width + t, j);
  }
};

/// One step for every sequence: choose its token, or pad once it has ended.
template <class C>
struct ChooseTokens {
  MatrixView<const C> logits;  ///< [N, V]
  SamplingConfig config;
  std::uint64_t seed, stream_base;
  SequenceNumbering numbering;
  index_t step;
  SpecialTokens special;
  VectorView<std::uint8_t> finished;
  VectorView<const std::int32_t> positions;
  VectorView<token_t> next_tokens;
  MatrixView<token_t> completions;
  VectorView<std::int32_t> completion_lengths;
  MatrixView<std::uint8_t> mask;
  MatrixView<C> old_logp;
  MatrixView<token_t> sequences;

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    if (finished[i] != 0) {
      completions(i, step) = special.pad;
      mask(i, step) = 0;
      old_logp(i, step) = C(0);
      next_tokens[i] = special.pad;
      return;
    }
    const VectorView<const C> row = logits[i];
    RandomStream stream(seed, stream_base + static_cast<std::uint64_t>(numbering(i)), static_cast<std::uint64_t>(step));
    const auto token = static_cast<token_t>(choose_token(row, config, stream.uniform()));
    C max = row[0];
    for (index_t v = 1; v < row.size(); ++v) max = math::max(max, row[v]);
    C sum = C(0);
    for (index_t v = 0; v < row.size(); ++v) sum += math::exp(row[v] - max);
    completions(i, step) = token;
    mask(i, step) = 1;
    old_logp(i, step) = row[token] - max - math::log(sum);
    completion_lengths[i] = static_cast<std::int32_t>(step + 1);
    sequences(i, positions[i]) = token;
    next_tokens[i] = token;
    if (token == special.eos) finished[i] = 1;
  }
};

/// Records the routing of the tokens just processed at `positions`, then advances them.
struct RecordDecodeRouting {
  MatrixView<const std::int32_t> ids;  ///< [N, K]
  VectorView<const std::int32_t> positions;
  index_t sequence_width;
  MatrixView<std::int32_t> replay;     ///< [N L, K]
  RLMOE_HOST_DEVICE void operator()(index_t k) const {
    const index_t top_k = ids.extent(1), i = k / top_k, j = k - i * top_k;
    replay(i * sequence_width + positions[i], j) = ids(i, j);
  }
};

struct AdvancePositions {
  VectorView<std::int32_t> positions;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { positions[i] += 1; }
};

struct SequenceLengths {
  VectorView<const std::int32_t> prompt_lengths, completion_lengths;
  VectorView<std::int32_t> lengths;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { lengths[i] = prompt_lengths[i] + completion_lengths[i]; }
};

}  // namespace detail

/// T: the policy's storage type (float, or bfloat16 for a mixed-precision policy, whose logits
/// are float too; double for float64 checks, whose logits and log-probabilities are double).
template <Backend B, nn::TransformerSpec Spec, class T = nn::storage_t<Spec>>
class GroupSampler {
  using C = compute_t<T>;

 public:
  using Policy = nn::Transformer<B, Spec, T>;
  using Rollout = RolloutBuffers<B, C>;

  /// `special`: the task's end-of-sequence token, which ends a completion, and its padding.
  GroupSampler(const B& backend, const SamplingConfig& config, SpecialTokens special)
      : backend_(backend), config_(config), special_(special) {
    config_.validate();
    RLMOE_CHECK(special.eos >= 0 && special.eos < Spec::kVocab && special.pad >= 0 && special.pad < Spec::kVocab, ConfigError,
                "GroupSampler: the end-of-sequence token (", special.eos, ") and the padding token (", special.pad,
                ") must lie in [0, Spec::kVocab = ", Spec::kVocab, ")");
  }

  [[nodiscard]] const SamplingConfig& config() const { return config_; }
  void set_config(const SamplingConfig& config) {
    config.validate();
    config_ = config;
  }

  /// Writes the problems' prompts and references into `out` (whose sizes fit them) and samples
  /// its completions. `round` tells apart the batches of one run (the step, say); `numbering`
  /// places a rank's rows in the whole batch (data parallel).
  void sample(Policy& policy, const std::vector<tasks::Problem>& problems, Rollout& out, std::uint64_t seed,
              std::uint64_t round, SequenceNumbering numbering = {}) {
    const index_t p = out.num_prompts(), g = out.group_size(), n = out.completions(), t = out.completion_width();
    const index_t lp = out.prompt_width(), width = out.sequence_width();
    RLMOE_CHECK(static_cast<index_t>(problems.size()) == p, ShapeError, "GroupSampler::sample: ", problems.size(),
                " problems for a rollout of ", p, " prompts");
    RLMOE_CHECK(t == config_.max_new_tokens, ShapeError, "GroupSampler::sample: the rollout holds ", t,
                " completion tokens but max_new_tokens is ", config_.max_new_tokens);
    RLMOE_CHECK(width <= Spec::kMaxLength, ConfigError, "GroupSampler: prompts of up to ", lp, " tokens plus ", t,
                " new tokens exceed the model's maximum length ", Spec::kMaxLength);
    upload_problems(problems, out);
    out.reset_routing();
    completions_ = n;  // the views below are this batch's first n entries of buffers kept from larger ones
    ensure(next_tokens_, n);
    ensure(positions_, n);
    ensure(finished_, n);
    ensure(prompt_logits_, p * Spec::kVocab);
    ensure(logits_, n * Spec::kVocab);
    const B& backend = backend_;
    parallel_for(backend, n * width,
                 detail::PlacePrompts{out.prompt_tokens(), out.prompt_lengths(), g, special_.pad, out.sequences(),
                                      out.sequence_prompt_lengths(), positions()});
    fill(backend, finished(), std::uint8_t{0});
    fill(backend, out.completion_lengths(), 0);

    // Prefill each prompt once, then give every completion its prompt's cache and logits.
    typename Policy::DecodeState prompt_state(backend, p, width), state(backend, n, width);
    const MatrixView<C> prompt_logits(prompt_logits_.data(), Extents<2>{p, Spec::kVocab});
    const MatrixView<C> logits(logits_.data(), Extents<2>{n, Spec::kVocab});
    policy.prefill(prompt_state, out.prompt_tokens(), out.prompt_lengths(), prompt_logits);
    for (index_t l = 0; l < Spec::kLayers; ++l)
      for (int i = 0; i < Policy::DecodeState::kCachesPerLayer; ++i)
        parallel_for(backend, state.cache(l, i).size(), detail::SpreadGroups<T>{prompt_state.cache(l, i), state.cache(l, i), g});
    parallel_for(backend, n * Spec::kVocab,
                 detail::SpreadGroups<C>{TensorView<const C, 4>(prompt_logits.data(), Extents<4>{p, 1, 1, Spec::kVocab}),
                                         TensorView<C, 4>(logits.data(), Extents<4>{n, 1, 1, Spec::kVocab}), g});
    for (index_t i = 0; i < nn::moe_layer_count_v<Spec>; ++i)
      parallel_for(backend, n * lp * Spec::kTopK,
                   detail::RecordPrefillRouting{policy.moe_layer(nn::moe_layer_at<Spec>(i)).routed_experts(), out.prompt_lengths(), g,
                                                lp, width, out.replay(i)});

    for (index_t step = 0; step < t; ++step) {
      parallel_for(backend, n,
                   detail::ChooseTokens<C>{logits, config_, seed, round << 32, numbering, step, special_, finished(), positions(), next_tokens(),
                                        out.completion_tokens(), out.completion_lengths(), out.mask(), out.old_logp(),
                                        out.sequences()});
      if (step + 1 == t) break;
      if constexpr (!B::kIsDevice) {
        if (policy.expert_parallel().all(all_finished())) {  // under expert parallelism: on every rank of the group
          for (index_t rest = step + 1; rest < t; ++rest) pad_step(out, rest);
          break;
        }
      }
      policy.decode(state, next_tokens(), positions(), logits);
      for (index_t i = 0; i < nn::moe_layer_count_v<Spec>; ++i)
        parallel_for(backend, n * Spec::kTopK,
                     detail::RecordDecodeRouting{policy.moe_layer(nn::moe_layer_at<Spec>(i)).routed_experts(), positions(), width,
                                                 out.replay(i)});
      parallel_for(backend, n, detail::AdvancePositions{positions()});
    }
    parallel_for(backend, n, detail::SequenceLengths{out.sequence_prompt_lengths(), out.completion_lengths(), out.sequence_lengths()});
  }

 private:
  template <class U>
  void ensure(Buffer<U, B>& buffer, index_t size) {
    if (buffer.size() < size) buffer = Buffer<U, B>(backend_, size);
  }
  VectorView<token_t> next_tokens() { return next_tokens_.view().slice(0, completions_); }
  VectorView<std::int32_t> positions() { return positions_.view().slice(0, completions_); }
  VectorView<std::uint8_t> finished() { return finished_.view().slice(0, completions_); }

  [[nodiscard]] bool all_finished() const {
    const auto flags = to_host(backend_, finished_.view().slice(0, completions_));
    return std::all_of(flags.begin(), flags.end(), [](std::uint8_t f) { return f != 0; });
  }

  /// Marks step `step` of every sequence as padding (they have all ended).
  void pad_step(Rollout& out, index_t step) {
    const index_t n = out.completions();
    fill(backend_, TensorView<token_t, 2>(&out.completion_tokens()(0, step), Extents<2>{n, 1}, Extents<2>{out.completion_width(), 1}), special_.pad);
    fill(backend_, TensorView<std::uint8_t, 2>(&out.mask()(0, step), Extents<2>{n, 1}, Extents<2>{out.completion_width(), 1}),
         std::uint8_t{0});
    fill(backend_, TensorView<C, 2>(&out.old_logp()(0, step), Extents<2>{n, 1}, Extents<2>{out.completion_width(), 1}), C(0));
  }

  void upload_problems(const std::vector<tasks::Problem>& problems, Rollout& out) {
    const index_t lp = out.prompt_width(), lr = out.reference_tokens().extent(1);
    std::vector<token_t> prompts, references;
    std::vector<std::int32_t> prompt_lengths, reference_lengths;
    for (const tasks::Problem& problem : problems) {
      RLMOE_CHECK(!problem.prompt.empty() && static_cast<index_t>(problem.prompt.size()) <= lp &&
                      static_cast<index_t>(problem.reference.size()) <= lr,
                  ShapeError, "GroupSampler: a problem has a prompt of ", problem.prompt.size(), " tokens and a reference of ",
                  problem.reference.size(), " but the rollout holds 1 to ", lp, " and up to ", lr);
      for (index_t i = 0; i < lp; ++i) prompts.push_back(i < static_cast<index_t>(problem.prompt.size()) ? problem.prompt[i] : special_.pad);
      for (index_t i = 0; i < lr; ++i)
        references.push_back(i < static_cast<index_t>(problem.reference.size()) ? problem.reference[i] : special_.pad);
      prompt_lengths.push_back(static_cast<std::int32_t>(problem.prompt.size()));
      reference_lengths.push_back(static_cast<std::int32_t>(problem.reference.size()));
    }
    copy(backend_, out.prompt_tokens().reshape(Extents<1>{static_cast<index_t>(prompts.size())}),
         VectorView<const token_t>(prompts.data(), Extents<1>{static_cast<index_t>(prompts.size())}));
    copy(backend_, out.reference_tokens().reshape(Extents<1>{static_cast<index_t>(references.size())}),
         VectorView<const token_t>(references.data(), Extents<1>{static_cast<index_t>(references.size())}));
    copy(backend_, out.prompt_lengths(), VectorView<const std::int32_t>(prompt_lengths.data(), out.prompt_lengths().shape()));
    copy(backend_, out.reference_lengths(),
         VectorView<const std::int32_t>(reference_lengths.data(), out.reference_lengths().shape()));
    synchronize(backend_);  // the host vectors are about to go
  }

  B backend_;
  SamplingConfig config_;
  SpecialTokens special_;
  Buffer<token_t, B> next_tokens_;
  Buffer<std::int32_t, B> positions_;
  Buffer<std::uint8_t, B> finished_;
  index_t completions_ = 0;  // of the batch being sampled
  Buffer<C, B> prompt_logits_, logits_;
};

}  // namespace rlmoe::rl
