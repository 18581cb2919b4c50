#pragma once
// GrmReward: a generative reward model as the reward of another GrpoTrainer. Each group of the
// policy's rollout is one judging request: the group's prompt is the query and its G completions
// (each without its end token) are the n = G responses. The GRM judges every request k times,
// each over its own shuffle of the responses (grm/judge.hpp), and completion i's reward is its
// mean score over the judgments that could be read, divided by the top score:
//
//   r_i = (sum over readable judgments j of S_i,j) / (readable judgments x max_score)   in (0, 1]
//
// (Eq. 14's votes S*_i, normalised; 0 for every completion of a group none of whose judgments
// could be read, which gives that group no advantage). Completions with the same tokens are one
// answer: they get the mean of their rewards. (A sampled judgment scores two copies of an answer
// differently by chance, and GRPO's group normalisation would turn that noise into advantages of
// full size: a group of three right answers scored 10, 10, 9 would push the policy off its own
// right answer.) A RolloutReward: GrpoStep's score() calls score_rollout() with the whole
// rollout. Copies share the GRM and its judge; the GRM is not trained by the policy's steps (it
// is only sampled). The rollout's group size must be the n the judge's task judges.
//
//   tasks::WithReward judged(tasks::Addition{1},
//                            grm::GrmReward<B, GrmSpec>(grm, grm::judge_for<B, GrmSpec>(backend, judging, sampling), k, eos, seed));
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/rl/grm/judge.hpp"
#include "rlmoe/rl/rewards/tags.hpp"
#include "rlmoe/rl/rollout.hpp"
#include "rlmoe/rl/score.hpp"

namespace rlmoe::rl::grm {

/// Spec: the GRM's TransformerSpec.
template <Backend B, class Spec>
class GrmReward {
 public:
  using JudgeT = Judge<B, Spec>;
  using Grm = typename JudgeT::Grm;

  /// `grm`: the reward model, which must outlive the reward; `judge`: how requests become its
  /// prompts and how it samples; `judgments`: k per group; `policy_eos`: the end token of the
  /// policy's completions; `seed`: the shuffles' and samples' seed (each call draws anew).
  GrmReward(Grm& grm, JudgeT judge, index_t judgments, token_t policy_eos, std::uint64_t seed, std::int32_t max_score = 10)
      : state_(std::make_shared<State>(State{&grm, std::move(judge), judgments, policy_eos, seed, max_score})) {
    RLMOE_CHECK(judgments >= 1 && judgments <= kMaxJudgments, ConfigError, "grm::GrmReward: judgments is ", judgments,
                " but must lie in [1, ", kMaxJudgments, "]");
    RLMOE_CHECK(max_score >= 1, ConfigError, "grm::GrmReward: max_score is ", max_score, " but must be >= 1");
  }

  [[nodiscard]] JudgeT& judge() const { return state_->judge; }
  /// How many times score_rollout() ran (each drew its own shuffles and judgments).
  [[nodiscard]] std::uint64_t calls() const { return state_->calls; }

  void score_rollout(const RolloutView& rollout, VectorView<float> rewards) const {
    State& s = *state_;
    const index_t prompts = rollout.num_prompts(), g = rollout.group_size;
    std::vector<JudgingRequest> requests = to_requests(rollout);
    s.judge(*s.grm, requests, s.judgments, s.seed, s.calls++);
    const std::vector<std::int32_t> scores = to_host(s.judge.backend(), s.judge.scores().flatten());
    const std::vector<std::uint8_t> valid = to_host(s.judge.backend(), s.judge.valid().flatten());
    std::vector<float> out(static_cast<std::size_t>(prompts * g), 0.0f);
    for (index_t p = 0; p < prompts; ++p) {
      index_t readable = 0;
      for (index_t j = 0; j < s.judgments; ++j) readable += valid[static_cast<std::size_t>(p * s.judgments + j)];
      if (readable == 0) continue;
      for (index_t i = 0; i < g; ++i) {
        double sum = 0.0;
        for (index_t j = 0; j < s.judgments; ++j) sum += scores[static_cast<std::size_t>((p * s.judgments + j) * g + i)];
        out[static_cast<std::size_t>(p * g + i)] = static_cast<float>(sum / (static_cast<double>(readable) * s.max_score));
      }
      merge_identical(requests[static_cast<std::size_t>(p)].responses, out.data() + p * g);
    }
    copy(s.judge.backend(), rewards, VectorView<const float>(out.data(), rewards.shape()));
    synchronize(s.judge.backend());  // `out` is about to go
  }

 private:
  struct State {
    Grm* grm;
    JudgeT judge;
    index_t judgments;
    token_t policy_eos;
    std::uint64_t seed;
    std::int32_t max_score;
    std::uint64_t calls = 0;
  };

  /// Each response's reward becomes the mean over the responses with its tokens.
  static void merge_identical(const std::vector<std::vector<token_t>>& responses, float* rewards) {
    const std::size_t g = responses.size();
    std::vector<float> merged(g);
    for (std::size_t i = 0; i < g; ++i) {
      double sum = 0.0;
      int same = 0;
      for (std::size_t j = 0; j < g; ++j)
        if (responses[j] == responses[i]) sum += rewards[j], ++same;
      merged[i] = static_cast<float>(sum / same);
    }
    std::copy(merged.begin(), merged.end(), rewards);
  }

  /// Group p's prompt and its completions (without their end token), from the rollout's memory.
  std::vector<JudgingRequest> to_requests(const RolloutView& rollout) const {
    const HostRolloutCopy host(state_->judge.backend(), rollout);
    std::vector<JudgingRequest> requests(static_cast<std::size_t>(rollout.num_prompts()));
    for (index_t i = 0; i < rollout.num_completions(); ++i) {
      const Sample sample = host.view.sample(i);
      const TokenSpan response = strip_eos(sample.completion, state_->policy_eos);
      JudgingRequest& r = requests[static_cast<std::size_t>(sample.prompt)];
      if (r.responses.empty()) r.query.assign(sample.prompt_tokens.tokens, sample.prompt_tokens.tokens + sample.prompt_tokens.size);
      r.responses.emplace_back(response.tokens, response.tokens + response.size);
    }
    return requests;
  }

  std::shared_ptr<State> state_;
};

}  // namespace rlmoe::rl::grm
