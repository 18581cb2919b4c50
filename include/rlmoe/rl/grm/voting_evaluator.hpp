#pragma once
// VotingEvaluator: a generative reward model's accuracy on held-out judging examples, greedy and
// scaled at inference time (DeepSeek-GRM's Figure 1 at any size):
//  - greedy: one judgment at temperature 0 of the responses in their given order, correct by Eq. 10;
//  - voting@k: k judgments sampled over shuffles, Eq. 14's vote, correct when the vote's pick is
//    the known best response (or a copy of it);
//  - meta-RM voting@k: the same k judgments, only the max(1, k / 2) the meta RM rates highest voting.
// Voting@k for every k reads the first k of the same K = max k judgments, so the curve is one
// sample's, as the paper's is. The examples are problems 0 .. E - 1 of the seed given: pass one
// that training never draws from.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/rl/grm/judge.hpp"
#include "rlmoe/rl/grm/judgment.hpp"
#include "rlmoe/rl/grm/meta_rm.hpp"
#include "rlmoe/rl/grm/voting.hpp"
#include "rlmoe/rl/sampling.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::grm {

/// A Task whose problems are judging examples (reference [n, truth]) and that says how a problem
/// becomes a JudgingRequest and a request becomes the GRM's prompt (grm/arithmetic_judging.hpp).
template <class T>
concept JudgingTask = tasks::Task<T> && requires(const T& task, const tasks::Problem& problem, const JudgingRequest& request) {
  { task.request(problem) } -> std::same_as<JudgingRequest>;
  { task.prompt(request.query, request.responses) } -> std::same_as<std::vector<token_t>>;
  { T::Vocabulary::kLayout } -> std::convertible_to<JudgmentLayout>;
};

/// The truth a judging task's problem carries in its reference tokens, [n, truth] or
/// [n, truth, copies] (grm/judgment.hpp).
inline JudgmentTruth problem_truth(const tasks::Problem& problem) {
  return read_truth(TokenSpan{problem.reference.data(), static_cast<index_t>(problem.reference.size())});
}

/// The judge a judging task implies: its prompts, layout, end token and lengths.
template <Backend B, class Spec, JudgingTask TaskT>
Judge<B, Spec> judge_for(const B& backend, const TaskT& task, SamplingConfig sampling) {
  sampling.max_new_tokens = task.max_completion_length();
  return Judge<B, Spec>(
      backend, [task](const std::vector<token_t>& query, const std::vector<std::vector<token_t>>& responses) { return task.prompt(query, responses); },
      TaskT::Vocabulary::kLayout, tasks::special_tokens<TaskT>(), task.max_prompt_length(), sampling);
}

/// Held-out accuracies of one GRM: greedy and the voting curves.
struct VotingCurve {
  double greedy = NAN;
  std::vector<index_t> k;
  std::vector<double> voting;       ///< voting@k, one per k
  std::vector<double> meta_voting;  ///< meta-RM voting@k; empty without a meta RM
};

template <Backend B, class Spec, JudgingTask TaskT>
class VotingEvaluator {
 public:
  using Grm = typename Judge<B, Spec>::Grm;
  using Meta = MetaRm<B, Spec>;

  /// `examples` held-out problems of `seed` (n >= 2 responses each: a vote picks one), judged at
  /// `sampling`'s temperature for voting; `ks` the numbers of judgments voted over.
  VotingEvaluator(const B& backend, const TaskT& task, index_t examples, std::uint64_t seed, const SamplingConfig& sampling,
                  std::vector<index_t> ks = {1, 2, 4, 8, 16, 32})
      : backend_(backend), sampling_(sampling), seed_(seed), ks_(std::move(ks)), judge_(judge_for<B, Spec>(backend, task, sampling)) {
    RLMOE_CHECK(examples >= 1, ConfigError, "grm::VotingEvaluator: examples is ", examples, " but must be >= 1");
    RLMOE_CHECK(!ks_.empty() && std::is_sorted(ks_.begin(), ks_.end()) && ks_.front() >= 1 && ks_.back() <= kMaxJudgments, ConfigError,
                "grm::VotingEvaluator: ks must be increasing numbers in [1, ", kMaxJudgments, "]");
    for (index_t e = 0; e < examples; ++e) {
      const tasks::Problem p = task.problem(seed, e);
      const JudgmentTruth t = problem_truth(p);
      RLMOE_CHECK(t.responses >= 2, ConfigError, "grm::VotingEvaluator: example ", e, " has ", t.responses,
                  " responses; voting picks one of n >= 2");
      requests_.push_back(task.request(p));
      truth_.push_back(t);
    }
  }

  /// Greedy accuracy: one judgment per example at temperature 0, the responses as given.
  double greedy(Grm& grm) {
    SamplingConfig greedy = sampling_;
    greedy.temperature = 0.0f;
    judge_.set_sampling(greedy);
    judge_(grm, requests_, 1, seed_, 0, false);
    const std::vector<std::int32_t> scores = to_host(backend_, judge_.scores().flatten());
    const std::vector<std::uint8_t> valid = to_host(backend_, judge_.valid().flatten());
    const index_t n = judge_.responses();
    double correct = 0.0;
    for (std::size_t e = 0; e < truth_.size(); ++e)
      correct += judgment_is_correct(judgment_scores(scores.data() + e * static_cast<std::size_t>(n), n, valid[e] != 0), truth_[e]);
    return correct / static_cast<double>(truth_.size());
  }

  /// Greedy accuracy and voting@k (and meta-RM voting@k with `meta`) for every k.
  VotingCurve operator()(Grm& grm, Meta* meta = nullptr) {
    VotingCurve curve;
    curve.greedy = greedy(grm);
    curve.k = ks_;
    const index_t e = static_cast<index_t>(requests_.size()), k_max = ks_.back();
    judge_.set_sampling(sampling_);
    judge_(grm, requests_, k_max, seed_, 1);
    const index_t n = judge_.responses();
    Buffer<float, B> ratings(backend_, meta != nullptr ? e * k_max : 0);
    if (meta != nullptr) {
      const std::vector<double> rated = meta->rate(judgment_rows(backend_, judge_.judgments()));
      const std::vector<float> values(rated.begin(), rated.end());
      copy(backend_, ratings.view(), VectorView<const float>(values.data(), ratings.view().shape()));
    }
    Buffer<std::int32_t, B> votes(backend_, e * n), best(backend_, e);
    for (const index_t k : ks_) {
      // The first k judgments of each example: views into the [E, K, n] and [E, K] results.
      const TensorView<const std::int32_t, 3> scores(judge_.scores().data(), Extents<3>{e, k, n}, Extents<3>{k_max * n, n, 1});
      const MatrixView<const std::uint8_t> valid(judge_.valid().data(), Extents<2>{e, k}, Extents<2>{k_max, 1});
      vote(backend_, scores, valid, seed_, votes.view(e, n), best.view());
      curve.voting.push_back(accuracy(best));
      if (meta != nullptr) {
        const MatrixView<const float> rated(ratings.data(), Extents<2>{e, k}, Extents<2>{k_max, 1});
        meta_vote(backend_, scores, valid, rated, std::max<index_t>(1, k / 2), seed_, votes.view(e, n), best.view());
        curve.meta_voting.push_back(accuracy(best));
      }
    }
    return curve;
  }

  /// The judge, holding the last judgments sampled (to train a meta RM on, say).
  [[nodiscard]] Judge<B, Spec>& judge() { return judge_; }

 private:
  double accuracy(const Buffer<std::int32_t, B>& best) const {
    const std::vector<std::int32_t> picks = to_host(backend_, best.view());
    double correct = 0.0;
    for (std::size_t e = 0; e < picks.size(); ++e) correct += is_best(truth_[e], picks[e]);
    return correct / static_cast<double>(picks.size());
  }

  B backend_;
  SamplingConfig sampling_;
  std::uint64_t seed_;
  std::vector<index_t> ks_;
  Judge<B, Spec> judge_;
  std::vector<JudgingRequest> requests_;
  std::vector<JudgmentTruth> truth_;
};

}  // namespace rlmoe::rl::grm
