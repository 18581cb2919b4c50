#pragma once
// A task that brings its own vocabulary: 40 tokens, end of sequence 37, padding 38, and token 12
// an ordinary letter ('m', the built-in tasks' end of sequence). Checks that the sampler, the
// cold start, the trainer and evaluation use the task's ids, and that the task trains.
#include <cmath>
#include <string_view>
#include <vector>

#include "rl/trainer_checks.hpp"
#include "rlmoe/rlmoe.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

/// 26 letters (0..25), ten digits (26..35), '=', end of sequence, padding and one spare id.
struct LetterVocabulary {
  static constexpr index_t kSize = 40;
  static constexpr rl::token_t kEquals = 36, kEos = 37, kPad = 38;
  static constexpr rl::ThinkAnswerTags kPlain{rl::kNoToken, rl::kNoToken, rl::kNoToken, rl::kNoToken, kEos};
};

/// "c =" answers "d <eos>": the letter after the prompt's (z wraps to a).
struct NextLetter {
  static constexpr std::string_view kName = "next-letter";
  using Vocabulary = LetterVocabulary;
  rl::tasks::Problem problem(std::uint64_t seed, index_t index) const {
    const auto letter = static_cast<rl::token_t>(rl::tasks::problem_integer(seed, index, 0, 0, 25));
    return {{letter, Vocabulary::kEquals}, {static_cast<rl::token_t>((letter + 1) % 26)}};
  }
  std::vector<rl::token_t> demonstration(const rl::tasks::Problem& p) const { return rl::tasks::answer_then(p, Vocabulary::kEos); }
  rl::ExactMatch reward() const { return rl::ExactMatch{Vocabulary::kPlain}; }
  rl::ExactMatch accuracy() const { return rl::ExactMatch{Vocabulary::kPlain}; }
  index_t max_prompt_length() const { return 2; }
  index_t max_completion_length() const { return 3; }
};
static_assert(rl::tasks::Task<NextLetter>);

/// The trainer tests' model over the 40 tokens.
struct LetterSpec : TrainerSpec {
  static constexpr index_t kVocab = LetterVocabulary::kSize;
};

/// An untrained policy samples all 40 tokens: completions end at token 37 and only there, the
/// letter 12 does not end them, and every padded position holds 38.
template <class B>
void check_sampling_with_own_vocabulary(const B& backend) {
  nn::Transformer<B, LetterSpec> policy(backend);
  policy.initialize(3);
  const NextLetter task;
  const index_t prompts = 8, group = 8, width = 8, n = prompts * group;
  rl::RolloutBuffers<B> rollout(backend, prompts, group, task.max_prompt_length(), 1, width, 1, LetterSpec::kTopK);
  rl::GroupSampler<B, LetterSpec> sampler(backend, {1.0f, 0, 1.0f, 0.0f, width}, rl::tasks::special_tokens<NextLetter>());
  std::vector<rl::tasks::Problem> problems;
  for (index_t i = 0; i < prompts; ++i) problems.push_back(task.problem(2, i));
  sampler.sample(policy, problems, rollout, 9, 0);
  const auto tokens = to_host(backend, rollout.completion_tokens());
  const auto lengths = to_host(backend, rollout.completion_lengths());
  const auto sequences = to_host(backend, rollout.sequences());
  const auto sequence_lengths = to_host(backend, rollout.sequence_lengths());
  index_t ended = 0, continued_after_12 = 0;
  for (index_t i = 0; i < n; ++i) {
    for (index_t t = 0; t < width; ++t) {
      const rl::token_t token = tokens[i * width + t];
      if (t < lengths[i]) {
        BOOST_TEST_REQUIRE((token != LetterVocabulary::kEos || t + 1 == lengths[i]),
                           "completion " << i << " goes on after the end-of-sequence token at " << t);
        if (token == 12 && t + 1 < lengths[i]) ++continued_after_12;
      } else {
        BOOST_TEST_REQUIRE(token == LetterVocabulary::kPad, "completion " << i << " is padded with " << token << " at " << t);
      }
    }
    if (lengths[i] < width) {
      ++ended;
      BOOST_TEST_REQUIRE(tokens[i * width + lengths[i] - 1] == LetterVocabulary::kEos,
                         "completion " << i << " stopped at " << lengths[i] << " tokens without the end-of-sequence token");
    }
    for (index_t t = sequence_lengths[i]; t < task.max_prompt_length() + width; ++t)
      BOOST_TEST_REQUIRE(sequences[i * (task.max_prompt_length() + width) + t] == LetterVocabulary::kPad);
  }
  BOOST_TEST_MESSAGE("own vocabulary: " << ended << " of " << n << " completions ended early, " << continued_after_12
                                        << " went on after a letter 12");
  BOOST_TEST(ended > 0, "no completion drew the end-of-sequence token 37");
  BOOST_TEST(continued_after_12 > 0, "no completion went on after token 12, an ordinary letter of this task");
}

/// A short cold start, then GRPO: held-out accuracy above 0.9, and RL raised it.
template <class B>
void check_training_with_own_vocabulary(const B& backend) {
  rl::GrpoConfig c;
  c.seed = 4;
  c.cold_start_steps = 15;
  c.cold_start_batch = 32;
  c.steps = 100;
  c.prompts_per_step = 16;
  c.group_size = 8;
  c.learning_rate = 3e-3;
  c.warmup_steps = 0;
  c.eval_every = 0;
  c.eval_prompts = 100;
  c.pass_at_k = 0;
  c.progress = false;
  rl::GrpoTrainer<B, LetterSpec, NextLetter> trainer(backend, NextLetter{}, c);
  trainer.initialize();
  const rl::RunSummary s = trainer.run();
  BOOST_TEST_MESSAGE("next-letter: held-out accuracy " << s.rl_start_accuracy << " after the cold start, " << s.final_accuracy
                                                       << " after " << s.steps << " GRPO steps");
  BOOST_TEST(s.final_accuracy > 0.9);
  BOOST_TEST(s.final_accuracy > s.rl_start_accuracy + 0.1, "RL did not raise the held-out accuracy");
}

}  // namespace rlmoe::test
