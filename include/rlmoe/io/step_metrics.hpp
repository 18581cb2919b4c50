#pragma once
// The metrics schema of a GRPO run: what each step reports, one JSON object per line of
// metrics.jsonl (docs/trainer.md lists the fields), written by to_json() and read back by
// from_json() when a run resumes. NaN means "not measured at this step" and is written as null.
#include <cmath>
#include <string>
#include <utility>

#include "rlmoe/core/types.hpp"
#include "rlmoe/io/json.hpp"

namespace rlmoe::io {

struct StepMetrics {
  std::string phase;  ///< "cold_start", "rl_start" (the evaluation before the first RL step) or "rl"
  index_t step = 0;
  double reward_mean = NAN, reward_std = NAN, accuracy = NAN, kl = NAN, loss = NAN, entropy = NAN;
  double clip_frac = NAN, clip_frac_low = NAN, clip_frac_high = NAN, ratio_mean = NAN;
  double completion_len_mean = NAN, zero_variance_groups = NAN, expert_load_max_over_mean = NAN;
  double grad_norm = NAN, learning_rate = NAN, tokens_per_s = NAN, step_time_s = NAN;
  double eval_accuracy = NAN, pass_at_k = NAN;

  /// Every numeric field with its name, in the order of the JSON line.
  template <class Self, class F>
  static void for_each_number(Self& m, F&& f) {
    f("reward_mean", m.reward_mean);
    f("reward_std", m.reward_std);
    f("accuracy", m.accuracy);
    f("kl", m.kl);
    f("loss", m.loss);
    f("entropy", m.entropy);
    f("clip_frac", m.clip_frac);
    f("clip_frac_low", m.clip_frac_low);
    f("clip_frac_high", m.clip_frac_high);
    f("ratio_mean", m.ratio_mean);
    f("completion_len_mean", m.completion_len_mean);
    f("zero_variance_groups", m.zero_variance_groups);
    f("expert_load_max_over_mean", m.expert_load_max_over_mean);
    f("grad_norm", m.grad_norm);
    f("learning_rate", m.learning_rate);
    f("tokens_per_s", m.tokens_per_s);
    f("step_time_s", m.step_time_s);
    f("eval_accuracy", m.eval_accuracy);
    f("pass_at_k", m.pass_at_k);
  }

  [[nodiscard]] Json to_json() const {
    Json::Object o{{"step", Json(static_cast<std::int64_t>(step))}, {"phase", Json(phase)}};
    for_each_number(*this, [&](const char* name, double value) {
      o.emplace_back(name, std::isfinite(value) ? Json(value) : Json(nullptr));
    });
    return Json(std::move(o));
  }

  /// A metrics line back; missing or null numbers read as NaN. Throws FormatError naming the
  /// field when `step` or `phase` is missing or a number is not one.
  static StepMetrics from_json(const Json& line) {
    StepMetrics m;
    m.step = line.at("step", "metrics line").integer("metrics line: step");
    m.phase = line.at("phase", "metrics line").string("metrics line: phase");
    for_each_number(m, [&](const char* name, double& value) {
      const Json* v = line.find(name);
      value = v == nullptr || v->is_null() ? NAN : v->number(std::string("metrics line: ") + name);
    });
    return m;
  }
};

}  // namespace rlmoe::io
