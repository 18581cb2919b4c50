// 02: extending rlmoe in one short file: a new task with its own reward, an advantage estimator of
// its own, and a training loop of its own built from the steps GrpoTrainer composes.
//
// The task: sort three digits ("3 1 2 =" answers "1 2 3 <eos>"). Its reward gives partial credit
// for every position that holds the right digit, so that near misses still teach; accuracy counts
// exact answers. The estimator turns a group's rewards into centred ranks, so that the scale of
// the partial credit does not matter. The loop: a supervised cold start, GRPO steps with a line
// every 50 steps, and a held-out evaluation before and after. The program checks that
// reinforcement learning raised the held-out accuracy.
#include <rlmoe/rlmoe.hpp>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

namespace {

using rlmoe::index_t;
using rlmoe::rl::token_t;

/// The reward: the fraction of the three positions that hold the right digit, and a small penalty
/// when the completion does not end right after them. Device-callable: it runs in a kernel.
struct SortedDigitsReward {
  RLMOE_HOST_DEVICE float operator()(const rlmoe::rl::Sample& s) const {
    using Vocabulary = rlmoe::rl::tasks::DigitVocabulary;
    float right = 0.0f;
    for (index_t i = 0; i < s.reference.size && i < s.completion.size; ++i) right += s.completion[i] == s.reference[i] ? 1.0f : 0.0f;
    const bool ends = s.completion.size == s.reference.size + 1 && s.completion[s.reference.size] == Vocabulary::kEos;
    return right / static_cast<float>(s.reference.size) - (ends ? 0.0f : 0.25f);
  }
};

struct SortDigits {
  static constexpr std::string_view kName = "sort-digits";
  using Vocabulary = rlmoe::rl::tasks::DigitVocabulary;  // the built-in tokens: digits, operators, <eos>

  rlmoe::rl::tasks::Problem problem(std::uint64_t seed, index_t index) const {
    rlmoe::rl::tasks::Problem p;
    for (int i = 0; i < 3; ++i) p.prompt.push_back(static_cast<token_t>(rlmoe::rl::tasks::problem_integer(seed, index, i, 0, 9)));
    p.reference = p.prompt;
    std::sort(p.reference.begin(), p.reference.end());
    p.prompt.push_back(Vocabulary::kEquals);
    return p;
  }
  std::vector<token_t> demonstration(const rlmoe::rl::tasks::Problem& p) const {
    return rlmoe::rl::tasks::answer_then(p, Vocabulary::kEos);
  }
  SortedDigitsReward reward() const { return {}; }
  rlmoe::rl::ExactMatch accuracy() const { return rlmoe::rl::ExactMatch{Vocabulary::kPlain}; }
  index_t max_prompt_length() const { return 4; }
  index_t max_completion_length() const { return 5; }
};
static_assert(rlmoe::rl::tasks::Task<SortDigits>);

/// Advantages from ranks within the group: the best completion +1, the worst -1, ties sharing
/// their mean rank. Device-callable; it must write every advantage of the group (groups whose
/// rewards are all equal never reach it: they get 0).
struct CenteredRanks {
  template <class T>
  RLMOE_HOST_DEVICE void operator()(rlmoe::VectorView<const T> rewards, rlmoe::VectorView<T> advantages) const {
    const index_t g = rewards.size();
    for (index_t i = 0; i < g; ++i) {
      T below = 0, equal = 0;
      for (index_t j = 0; j < g; ++j) {
        below += rewards[j] < rewards[i] ? T(1) : T(0);
        equal += rewards[j] == rewards[i] ? T(1) : T(0);
      }
      const T rank = below + (equal - T(1)) / T(2);  // 0 .. G - 1
      advantages[i] = rank / (static_cast<T>(g - 1) / T(2)) - T(1);
    }
  }
};
static_assert(rlmoe::rl::AdvantageEstimator<CenteredRanks>);

/// A small MoE policy (see example 01).
struct Spec {
  static constexpr index_t kVocab = SortDigits::Vocabulary::kSize, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 16;
  static constexpr index_t kDenseHidden = 128, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 64, kSharedExperts = 1, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

template <rlmoe::Backend B>
int run(const B& backend) {
  rlmoe::rl::GrpoConfig config;
  config.seed = 3;
  config.cold_start_steps = 15;
  config.steps = 300;
  config.dynamic_sampling = true;
  const SortDigits task;

  // What GrpoTrainer owns and composes, here in a loop of our own: the policy (no reference
  // policy: this loss has no KL term), its optimizer, and the three steps.
  rlmoe::nn::Transformer<B, Spec> policy(backend);
  policy.initialize(config.seed);
  rlmoe::optim::AdamW<B> optimizer(backend, policy.parameters().size(), config.adam);
  rlmoe::rl::ColdStart<B, Spec, SortDigits> cold_start(backend, task, config);
  rlmoe::rl::GrpoStep<B, Spec, SortDigits, CenteredRanks> grpo(backend, task, config);
  rlmoe::rl::Evaluator<B, Spec, SortDigits> evaluate(backend, task, config);

  for (index_t step = 0; step < config.cold_start_steps; ++step) cold_start(policy, optimizer, step);
  const double before = evaluate(policy).accuracy;
  for (index_t step = 0; step < config.steps; ++step) {
    const rlmoe::rl::StepMetrics m = grpo(policy, nullptr, optimizer, step);
    if ((step + 1) % 50 == 0)
      std::printf("step %3lld: reward %.3f, exact %.3f, %.0f tokens/s\n", static_cast<long long>(step + 1), m.reward_mean,
                  m.accuracy, m.tokens_per_s);
  }
  const double after = evaluate(policy).accuracy;
  std::printf("sort-digits (%s): held-out accuracy %.3f after the cold start, %.3f after %lld GRPO steps\n", B::kName.data(),
              before, after, static_cast<long long>(config.steps));
  const bool ok = after >= before + 0.1;
  std::printf("check (RL raised accuracy by 0.1 or more): %s\n", ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  try {
#if defined(__CUDACC__)
    if (rlmoe::cuda_device_count() > 0) return run(rlmoe::Cuda{});
#endif
    return run(rlmoe::Host{});
  } catch (const rlmoe::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
