#pragma once
// Judge: samples a generative reward model's judgments of many requests at once, as DeepSeek-GRM
// does at inference time. A request is a query and its n responses; each of its k judgments sees
// the responses in its own shuffled order (a Philox draw keyed on (seed, round, request,
// judgment)), is sampled by the GRM (one GroupSampler pass over all E k prompts), and has its
// scores read (f_extract) and mapped back to the responses' original order:
//
//   requests (E, each n responses) -> E k shuffled prompts -> judgments -> scores [E, k, n], valid [E, k]
//
// The task says how a request becomes the GRM's prompt (`prompt_of`); voting (grm/voting.hpp),
// the meta RM (grm/meta_rm.hpp), the VotingEvaluator and GrmReward all start from here.
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/rl/grm/judgment.hpp"
#include "rlmoe/rl/grm/voting.hpp"
#include "rlmoe/rl/group_sampler.hpp"
#include "rlmoe/rl/rollout_buffers.hpp"
#include "rlmoe/rl/sampling.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::grm {

/// The GRM's prompt for a query and its responses, in the order given.
using PromptOf = std::function<std::vector<token_t>(const std::vector<token_t>& query, const std::vector<std::vector<token_t>>& responses)>;

/// The Philox stream of the judgments' shuffles (apart from the sampler's and voting's).
inline constexpr std::uint64_t kJudgeShuffleStream = 0x73687566ull;  // "shuf"

/// order[i]: the original index of the response shown at position i of judgment j of request e;
/// the identity without `shuffle`. A Fisher-Yates shuffle, the same on every backend.
inline std::vector<index_t> judgment_order(index_t n, bool shuffle, std::uint64_t seed, std::uint64_t round, std::uint64_t judgment) {
  if (!shuffle) {
    std::vector<index_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), index_t{0});
    return order;
  }
  RandomStream stream(seed + round * 0x9E3779B97F4A7C15ull, kJudgeShuffleStream ^ (judgment << 8));
  return shuffled_order(n, stream);
}

/// Spec: the GRM's TransformerSpec, whose vocabulary is the judging task's.
template <Backend B, class SpecArg>
class Judge {
 public:
  using Spec = nn::checked_spec_t<SpecArg>;
  using Grm = nn::Transformer<B, Spec>;

  /// `max_prompt_length`: the longest prompt prompt_of writes; `sampling`: the judgments'
  /// temperature and length (max_new_tokens: the longest judgment).
  Judge(const B& backend, PromptOf prompt_of, const JudgmentLayout& layout, SpecialTokens special, index_t max_prompt_length,
        const SamplingConfig& sampling)
      : backend_(backend), prompt_of_(std::move(prompt_of)), layout_(layout), special_(special), max_prompt_length_(max_prompt_length),
        sampler_(backend, sampling, special) {
    layout_.validate();
    RLMOE_CHECK(max_prompt_length >= 1, ConfigError, "grm::Judge: max_prompt_length is ", max_prompt_length, " but must be >= 1");
  }

  [[nodiscard]] const B& backend() const { return backend_; }
  [[nodiscard]] const SamplingConfig& sampling() const { return sampler_.config(); }
  /// The temperature and filters of the next judgments; their length (max_new_tokens) stays.
  void set_sampling(SamplingConfig sampling) {
    sampling.max_new_tokens = sampler_.config().max_new_tokens;
    sampler_.set_config(sampling);
  }

  /// Samples k judgments of every request (all with the same number n of responses), each over
  /// its own shuffle of the responses unless `shuffle` is false. `round` tells apart the batches
  /// of one seed. Afterwards scores(), valid(), judgments() and order() describe them.
  void operator()(Grm& grm, const std::vector<JudgingRequest>& requests, index_t k, std::uint64_t seed, std::uint64_t round,
                  bool shuffle = true) {
    const index_t e = static_cast<index_t>(requests.size());
    RLMOE_CHECK(e >= 1, ConfigError, "grm::Judge: no requests");
    RLMOE_CHECK(k >= 1 && k <= kMaxJudgments, ConfigError, "grm::Judge: k is ", k, " but must lie in [1, ", kMaxJudgments, "]");
    const index_t n = static_cast<index_t>(requests.front().responses.size());
    RLMOE_CHECK(n >= 1 && n <= kMaxResponses, ConfigError, "grm::Judge: a request has ", n, " responses but must have 1 to ",
                kMaxResponses);
    std::vector<tasks::Problem> prompts;
    std::vector<std::int32_t> orders;
    std::vector<std::vector<token_t>> shown(static_cast<std::size_t>(n));
    for (index_t r = 0; r < e; ++r) {
      const JudgingRequest& request = requests[static_cast<std::size_t>(r)];
      RLMOE_CHECK(static_cast<index_t>(request.responses.size()) == n, ConfigError, "grm::Judge: request ", r, " has ",
                  request.responses.size(), " responses but request 0 has ", n);
      for (index_t j = 0; j < k; ++j) {
        const std::vector<index_t> order = judgment_order(n, shuffle, seed, round, static_cast<std::uint64_t>(r * k + j));
        for (index_t i = 0; i < n; ++i) {
          shown[static_cast<std::size_t>(i)] = request.responses[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])];
          orders.push_back(static_cast<std::int32_t>(order[static_cast<std::size_t>(i)]));
        }
        prompts.push_back({prompt_of_(request.query, shown), {}});
      }
    }
    prepare(e, k, n);
    sampler_.sample(grm, prompts, *rollout_, seed, round);
    copy(backend_, order_.view(), VectorView<const std::int32_t>(orders.data(), order_.view().shape()));
    // The judgments are a rollout of E k prompts with one completion each: f_extract reads them
    // as [E k, 1, n], then unshuffling writes [E, k, n].
    extract_judgments(backend_, rollout_->view(), layout_, special_.eos, shown_scores_.view().reshape(Extents<3>{e * k, 1, n}),
                      valid_.view().reshape(Extents<2>{e * k, 1}));
    unshuffle_scores(backend_, TensorView<const std::int32_t, 3>(shown_scores_.data(), Extents<3>{e, k, n}), order(), scores());
    synchronize(backend_);  // `orders` is about to go
  }

  [[nodiscard]] index_t requests() const { return requests_; }
  [[nodiscard]] index_t judgments_per_request() const { return k_; }
  [[nodiscard]] index_t responses() const { return n_; }
  /// [E, k, n]: each judgment's scores in the responses' original order (zero where unreadable).
  [[nodiscard]] TensorView<std::int32_t, 3> scores() { return {scores_.data(), Extents<3>{requests_, k_, n_}}; }
  /// [E, k]: 1 where the judgment's scores could be read.
  [[nodiscard]] MatrixView<std::uint8_t> valid() { return valid_.view(requests_, k_); }
  /// [E, k, n]: the original index of the response shown at each position.
  [[nodiscard]] TensorView<const std::int32_t, 3> order() const { return {order_.data(), Extents<3>{requests_, k_, n_}}; }
  /// The judgments as sampled: prompt e k + j shown to the GRM and its one completion.
  [[nodiscard]] RolloutView judgments() const { return rollout_->view(); }
  [[nodiscard]] index_t max_prompt_length() const { return max_prompt_length_; }

 private:
  void prepare(index_t e, index_t k, index_t n) {
    if (!rollout_ || rollout_->num_prompts() != e * k)
      rollout_ = std::make_unique<RolloutBuffers<B>>(backend_, e * k, 1, max_prompt_length_, 1, sampler_.config().max_new_tokens,
                                                     nn::moe_layer_count_v<Spec>, Spec::kTopK);
    const auto ensure = [&](auto& buffer, index_t size) {
      if (buffer.size() != size) buffer = std::remove_reference_t<decltype(buffer)>(backend_, size);
    };
    ensure(order_, e * k * n);
    ensure(shown_scores_, e * k * n);
    ensure(scores_, e * k * n);
    ensure(valid_, e * k);
    requests_ = e;
    k_ = k;
    n_ = n;
  }

  B backend_;
  PromptOf prompt_of_;
  JudgmentLayout layout_;
  SpecialTokens special_;
  index_t max_prompt_length_;
  GroupSampler<B, Spec> sampler_;
  std::unique_ptr<RolloutBuffers<B>> rollout_;
  Buffer<std::int32_t, B> order_{}, shown_scores_{}, scores_{};
  Buffer<std::uint8_t, B> valid_{};
  index_t requests_ = 0, k_ = 0, n_ = 0;
};

}  // namespace rlmoe::rl::grm
