#pragma once
// The umbrella header: every public header of rlmoe, layer by layer in the order the
// dependencies point (each layer includes only the ones above it; tests/headers checks that).
// Under nvcc the Cuda backend comes with it.

// core: macros, errors, tensor views, random numbers, UTF-8
#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/debug_checks.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/parameter_layout.hpp"
#include "rlmoe/core/philox.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/type_name.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/core/utf8.hpp"

// backend: Host (and, under nvcc, Cuda) and their primitives
#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/finite.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/grouped_gemm.hpp"
#include "rlmoe/backend/histogram.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/reduce.hpp"
#include "rlmoe/backend/scan.hpp"
#include "rlmoe/backend/segmented_reduce.hpp"
#include "rlmoe/backend/sort.hpp"
#include "rlmoe/backend/timing.hpp"
#include "rlmoe/backend/transform_reduce.hpp"

// layers: the building blocks of models
#include "rlmoe/layers/attention.hpp"
#include "rlmoe/layers/embedding.hpp"
#include "rlmoe/layers/init.hpp"
#include "rlmoe/layers/log_softmax.hpp"
#include "rlmoe/layers/mlp.hpp"
#include "rlmoe/layers/rmsnorm.hpp"
#include "rlmoe/layers/rope.hpp"
#include "rlmoe/layers/swiglu.hpp"

// moe: the Mixture-of-Experts layer
#include "rlmoe/moe/balancing.hpp"
#include "rlmoe/moe/config.hpp"
#include "rlmoe/moe/dispatch.hpp"
#include "rlmoe/moe/experts.hpp"
#include "rlmoe/moe/metrics.hpp"
#include "rlmoe/moe/moe_layer.hpp"
#include "rlmoe/moe/parameters.hpp"
#include "rlmoe/moe/router.hpp"

// optim: AdamW and learning-rate schedules
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/optim/schedule.hpp"

// nn: the Transformer policy and its training steps
#include "rlmoe/nn/decode_state.hpp"
#include "rlmoe/nn/sequence_batch.hpp"
#include "rlmoe/nn/training.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/nn/transformer_block.hpp"
#include "rlmoe/nn/transformer_spec.hpp"

// io: JSON, safetensors, checkpoints, metrics, progress, pictures
#include "rlmoe/io/checkpoint.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/learning_curves.hpp"
#include "rlmoe/io/mapped_file.hpp"
#include "rlmoe/io/metrics_log.hpp"
#include "rlmoe/io/plot.hpp"
#include "rlmoe/io/png.hpp"
#include "rlmoe/io/progress.hpp"
#include "rlmoe/io/safetensors.hpp"
#include "rlmoe/io/step_metrics.hpp"

// text: Unicode, regular expressions and the byte-level BPE tokenizers of tokenizer.json
#include "rlmoe/text/bpe.hpp"
#include "rlmoe/text/byte_level.hpp"
#include "rlmoe/text/normalization.hpp"
#include "rlmoe/text/pre_tokenizer.hpp"
#include "rlmoe/text/regex.hpp"
#include "rlmoe/text/tokenizer.hpp"
#include "rlmoe/text/unicode.hpp"
#include "rlmoe/text/unicode_tables.hpp"

// rl: rewards, advantages, losses, sampling, tasks and the GRPO trainer
#include "rlmoe/rl/advantages.hpp"
#include "rlmoe/rl/cold_start.hpp"
#include "rlmoe/rl/concept_checks.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/evaluation.hpp"
#include "rlmoe/rl/group_sampler.hpp"
#include "rlmoe/rl/grpo_config.hpp"
#include "rlmoe/rl/grpo_step.hpp"
#include "rlmoe/rl/grpo_trainer.hpp"
#include "rlmoe/rl/kl.hpp"
#include "rlmoe/rl/losses/aggregation.hpp"
#include "rlmoe/rl/losses/clipped_surrogate.hpp"
#include "rlmoe/rl/losses/policy_loss.hpp"
#include "rlmoe/rl/rewards/exact_match.hpp"
#include "rlmoe/rl/rewards/format.hpp"
#include "rlmoe/rl/rewards/host_reward.hpp"
#include "rlmoe/rl/rewards/overlong_penalty.hpp"
#include "rlmoe/rl/rewards/partial_credit.hpp"
#include "rlmoe/rl/rewards/tags.hpp"
#include "rlmoe/rl/rewards/weighted_sum.hpp"
#include "rlmoe/rl/rollout.hpp"
#include "rlmoe/rl/rollout_buffers.hpp"
#include "rlmoe/rl/sampling.hpp"
#include "rlmoe/rl/score.hpp"
#include "rlmoe/rl/tasks/addition.hpp"
#include "rlmoe/rl/tasks/digit_vocabulary.hpp"
#include "rlmoe/rl/tasks/formatted_reverse.hpp"
#include "rlmoe/rl/tasks/reverse.hpp"
#include "rlmoe/rl/tasks/task.hpp"
#include "rlmoe/rl/token_loss.hpp"

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda.hpp"
#endif
