#pragma once
// The runtime configuration of a GRPO run, with its defaults, checked at construction: every
// refused value is named with its allowed range.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/rl/sampling.hpp"

namespace rlmoe::rl {

struct GrpoConfig {
  std::uint64_t seed = 0;
  index_t steps = 200;             ///< GRPO steps (optimizer steps are steps x updates x minibatches)
  index_t prompts_per_step = 32;   ///< P
  index_t group_size = 8;          ///< G completions per prompt
  SamplingConfig sampling{1.0f, 0, 1.0f, 0.0f, 0};  ///< max_new_tokens 0: the task's maximum completion length
  index_t updates_per_batch = 1;   ///< mu: passes over each batch (> 1 makes the ratio matter)
  index_t minibatches = 1;         ///< optimizer steps per pass; must divide prompts_per_step

  double learning_rate = 1e-3;     ///< peak, after warmup
  double min_learning_rate = 1e-4; ///< cosine floor
  index_t warmup_steps = 10;
  optim::AdamWConfig adam{0.9, 0.99, 1e-8, 0.0, 1.0};

  index_t reference_refresh_every = 0;  ///< replace the reference policy by the policy every N steps (R1: 400); 0: never
  bool track_reference_kl = false;      ///< keep a reference policy for the KL metric even when the loss has no KL term

  bool dynamic_sampling = false;         ///< DAPO: drop groups whose rewards are all equal and refill from oversampling
  index_t dynamic_sampling_oversample = 2;  ///< sample this many times prompts_per_step prompts to refill from

  index_t cold_start_steps = 0;          ///< supervised steps on demonstrations before RL (R1's cold start)
  index_t cold_start_batch = 64;
  double cold_start_learning_rate = 3e-3;

  index_t eval_every = 25;               ///< held-out evaluation every N steps (and at the start and end of RL); 0: start and end only
  index_t eval_prompts = 200;
  index_t pass_at_k = 4;                 ///< pass@k of the evaluation; 0: skip
  float eval_temperature = 1.0f;         ///< sampling temperature of pass@k

  std::string output_dir;                ///< metrics.jsonl, curves.png, checkpoint.safetensors; empty: no files
  index_t checkpoint_every = 0;          ///< 0: only at the end
  bool progress = true;                  ///< the live progress line on stderr
  /// Resume from a checkpoint whose run was configured otherwise (a field of trajectory()
  /// differs): each difference is printed. Off: such a resume is refused.
  bool allow_resume_with_changes = false;

  /// The settings that shape the training trajectory, by name: a resumed run must have the same
  /// ones (the evaluation, output and progress settings may change).
  [[nodiscard]] std::vector<std::pair<std::string, io::Json>> trajectory() const {
    const auto integer = [](index_t v) { return io::Json(static_cast<std::int64_t>(v)); };
    return {{"seed", io::Json(std::to_string(seed))},
            {"steps", integer(steps)},
            {"prompts_per_step", integer(prompts_per_step)},
            {"group_size", integer(group_size)},
            {"sampling.temperature", io::Json(static_cast<double>(sampling.temperature))},
            {"sampling.top_k", integer(sampling.top_k)},
            {"sampling.top_p", io::Json(static_cast<double>(sampling.top_p))},
            {"sampling.min_p", io::Json(static_cast<double>(sampling.min_p))},
            {"sampling.max_new_tokens", integer(sampling.max_new_tokens)},
            {"updates_per_batch", integer(updates_per_batch)},
            {"minibatches", integer(minibatches)},
            {"learning_rate", io::Json(learning_rate)},
            {"min_learning_rate", io::Json(min_learning_rate)},
            {"warmup_steps", integer(warmup_steps)},
            {"adam.beta1", io::Json(adam.beta1)},
            {"adam.beta2", io::Json(adam.beta2)},
            {"adam.epsilon", io::Json(adam.epsilon)},
            {"adam.weight_decay", io::Json(adam.weight_decay)},
            {"adam.max_grad_norm", io::Json(adam.max_grad_norm)},
            {"reference_refresh_every", integer(reference_refresh_every)},
            {"track_reference_kl", io::Json(track_reference_kl)},
            {"dynamic_sampling", io::Json(dynamic_sampling)},
            {"dynamic_sampling_oversample", integer(dynamic_sampling_oversample)},
            {"cold_start_steps", integer(cold_start_steps)},
            {"cold_start_batch", integer(cold_start_batch)},
            {"cold_start_learning_rate", io::Json(cold_start_learning_rate)}};
  }

  /// This configuration for a task whose completions take at most `max_completion_length` tokens:
  /// sampling.max_new_tokens 0 becomes that length; then validated.
  [[nodiscard]] GrpoConfig resolved(index_t max_completion_length) const {
    GrpoConfig c = *this;
    if (c.sampling.max_new_tokens == 0) c.sampling.max_new_tokens = max_completion_length;
    c.validate();
    c.sampling.validate();
    return c;
  }

  void validate() const {
    const auto positive = [](index_t v, const char* field) {
      RLMOE_CHECK(v >= 1, ConfigError, "GrpoConfig: ", field, " is ", v, " but must be >= 1");
    };
    positive(prompts_per_step, "prompts_per_step");
    positive(updates_per_batch, "updates_per_batch");
    positive(minibatches, "minibatches");
    positive(eval_prompts, "eval_prompts");
    RLMOE_CHECK(steps >= 0, ConfigError, "GrpoConfig: steps is ", steps, " but must be >= 0");
    RLMOE_CHECK(group_size >= 2, ConfigError, "GrpoConfig: group_size is ", group_size,
                " but group-relative advantages need at least 2 completions per prompt");
    RLMOE_CHECK(prompts_per_step % minibatches == 0, ConfigError, "GrpoConfig: minibatches (", minibatches,
                ") must divide prompts_per_step (", prompts_per_step, ") so that minibatches hold whole groups");
    RLMOE_CHECK(learning_rate > 0.0 && std::isfinite(learning_rate) && min_learning_rate >= 0.0 && min_learning_rate <= learning_rate,
                ConfigError, "GrpoConfig: learning_rate (", learning_rate, ") must be finite and > 0 and min_learning_rate (",
                min_learning_rate, ") must lie in [0, learning_rate]");
    RLMOE_CHECK(warmup_steps >= 0, ConfigError, "GrpoConfig: warmup_steps is ", warmup_steps, " but must be >= 0");
    adam.validate();
    if (sampling.max_new_tokens != 0) sampling.validate();
    RLMOE_CHECK(reference_refresh_every >= 0, ConfigError, "GrpoConfig: reference_refresh_every is ", reference_refresh_every,
                " but must be >= 0 (0: never)");
    RLMOE_CHECK(dynamic_sampling_oversample >= 1, ConfigError, "GrpoConfig: dynamic_sampling_oversample is ",
                dynamic_sampling_oversample, " but must be >= 1");
    RLMOE_CHECK(cold_start_steps >= 0 && cold_start_batch >= 1 && cold_start_learning_rate > 0.0 &&
                    std::isfinite(cold_start_learning_rate),
                ConfigError, "GrpoConfig: cold_start_steps (", cold_start_steps, ") must be >= 0, cold_start_batch (",
                cold_start_batch, ") >= 1 and cold_start_learning_rate (", cold_start_learning_rate, ") finite and > 0");
    RLMOE_CHECK(eval_every >= 0 && pass_at_k >= 0 && eval_temperature > 0.0f && std::isfinite(eval_temperature), ConfigError,
                "GrpoConfig: eval_every (", eval_every, ") and pass_at_k (", pass_at_k, ") must be >= 0 and eval_temperature (",
                eval_temperature, ") finite and > 0");
    RLMOE_CHECK(checkpoint_every >= 0, ConfigError, "GrpoConfig: checkpoint_every is ", checkpoint_every, " but must be >= 0");
  }
};

}  // namespace rlmoe::rl
