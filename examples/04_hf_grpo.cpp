// 04: GRPO on a Hugging Face model. Loads a checkpoint of any family rlmoe reads (Qwen3-MoE,
// DeepSeek-V3, DeepSeek-V2, OLMoE, Mixtral, Llama 4: config.json checked against the compiled Spec of its
// family, model.safetensors or shards) and its tokenizer.json from a directory, trains it on
// arithmetic word problems in DeepSeek-R1's format (prompt through R1's chat template, reward =
// answer accuracy + 0.2 for the "...</think> <answer>N</answer>" format), then exports the trained
// policy as a Hugging Face checkpoint that transformers loads.
//
//   04_hf_grpo [--model DIR] [--family F] [--steps N] [--cold-start N] [--seed S] [--out DIR] [--quiet] [--no-check]
//
// Without --model it makes a small random model (of --family) and a byte-level BPE tokenizer
// (trained on the task's text) of the same format itself, in OUT/starter, so that it always runs.
// The family comes from config.json's model_type; its Spec below fixes the sizes (those of the
// family's fixture in tests/io/fixtures/hf). Another size needs its Spec: examples/hf_spec prints it.
//
// Built with g++ it trains on the CPU; 04_hf_grpo_cuda trains on the GPU when there is one.
#include <rlmoe/rlmoe.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "available_backend.hpp"
#include "command_line.hpp"

namespace {

// The model each family trains here: the architecture of its tiny fixture in tests/io/fixtures/hf
// (made by transformers). A model of another size needs its own Spec: examples/hf_spec prints it.

/// Qwen3-MoE: 2 layers of width 64, the first dense, the second 8 experts top-2; grouped-query
/// attention with q/k norms.
struct Qwen3MoeExample {
  static constexpr rlmoe::index_t kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;
  static constexpr rlmoe::index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kQkNorm = true, kNormTopkProb = true;
  static constexpr rlmoe::index_t kDenseHidden = 96, kFirstMoeLayer = 1;
  static constexpr rlmoe::index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;
  static constexpr bool kTiedEmbeddings = false;
};

/// DeepSeek-V3: 3 layers of width 64, the first dense; Multi-head Latent Attention; 16 experts in 4
/// groups (2 chosen), top-2, sigmoid scores with selection biases, one shared expert, scaling 2.5.
struct DeepseekV3Example {
  static constexpr rlmoe::index_t kVocab = 1024, kModelDim = 64, kLayers = 3, kHeads = 4, kMaxLength = 256;
  static constexpr rlmoe::index_t kKvLoraRank = 16, kQLoraRank = 32;
  static constexpr rlmoe::index_t kQkNopeHeadDim = 16, kQkRopeHeadDim = 8, kVHeadDim = 16;
  static constexpr bool kNormTopkProb = true;
  static constexpr rlmoe::index_t kDenseHidden = 96, kFirstMoeLayer = 1;
  static constexpr rlmoe::index_t kRoutedExperts = 16, kTopK = 2, kExpertHidden = 32, kSharedExperts = 1, kGroups = 4, kTopkGroups = 2;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 2.5f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;
  static constexpr bool kTiedEmbeddings = false;
};

/// DeepSeek-V2 (as V2-Lite, no q bottleneck): latent attention, softmax routing over 4 groups of 4
/// experts ranked by their best (2 kept), top-2 gates not renormalised, 2 shared experts;
/// DeepSeek-V2's YaRN over an original context of 16.
struct DeepseekV2Example {
  static constexpr rlmoe::index_t kVocab = 1024, kModelDim = 64, kLayers = 3, kHeads = 4, kMaxLength = 640;
  static constexpr rlmoe::index_t kKvLoraRank = 16, kQLoraRank = 0;
  static constexpr rlmoe::index_t kQkNopeHeadDim = 16, kQkRopeHeadDim = 8, kVHeadDim = 16;
  static constexpr bool kNormTopkProb = false;
  static constexpr rlmoe::index_t kDenseHidden = 96, kFirstMoeLayer = 1;
  static constexpr rlmoe::index_t kRoutedExperts = 16, kTopK = 2, kExpertHidden = 32, kSharedExperts = 2, kGroups = 4, kTopkGroups = 2;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Softmax;
  static constexpr rlmoe::moe::GroupScore kGroupScore = rlmoe::moe::GroupScore::Max;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;
  static constexpr bool kTiedEmbeddings = false;
  static constexpr rlmoe::layers::RopeScaling kRopeScaling{.type = rlmoe::layers::RopeType::Yarn, .factor = 40.0, .original_max_position = 16,
                                                           .beta_fast = 32.0, .beta_slow = 1.0, .mscale = 0.707, .mscale_all_dim = 0.707};
};

/// OLMoE: 2 MoE layers of 8 experts top-2 (gates not renormalised), q/k norms over whole rows.
struct OlmoeExample {
  static constexpr rlmoe::index_t kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;
  static constexpr rlmoe::index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kQkNorm = true, kNormTopkProb = false, kQkNormFullWidth = true;
  static constexpr rlmoe::index_t kDenseHidden = 0, kFirstMoeLayer = 0;
  static constexpr rlmoe::index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-05f;
  static constexpr bool kTiedEmbeddings = false;
};

/// Mixtral: 2 MoE layers of 8 experts top-2 (renormalised), grouped-query attention without q/k
/// norms, rope_theta 1e6.
struct MixtralExample {
  static constexpr rlmoe::index_t kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;
  static constexpr rlmoe::index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kNormTopkProb = true;
  static constexpr rlmoe::index_t kDenseHidden = 0, kFirstMoeLayer = 0;
  static constexpr rlmoe::index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 1000000.0f, kNormEpsilon = 1e-05f;
  static constexpr bool kTiedEmbeddings = false;
};

/// Llama 4 (its text model): 4 layers, MoE every second (8 experts, top-1 by sigmoid scaling the
/// expert's input, a shared expert); every fourth layer without rotation and temperature-tuned,
/// the others attending in chunks of 8 with weightless q/k norms; Scout's llama3 scaling.
struct Llama4Example {
  static constexpr rlmoe::index_t kVocab = 1024, kModelDim = 64, kLayers = 4, kHeads = 4, kMaxLength = 640;
  static constexpr rlmoe::index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kNormTopkProb = false;
  static constexpr rlmoe::index_t kDenseHidden = 96, kFirstMoeLayer = 0, kMoeLayerStep = 2;
  static constexpr rlmoe::index_t kRoutedExperts = 8, kTopK = 1, kExpertHidden = 32, kSharedExperts = 1, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr rlmoe::moe::GatePlacement kGatePlacement = rlmoe::moe::GatePlacement::Input;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 500000.0f, kNormEpsilon = 1e-05f;
  static constexpr bool kTiedEmbeddings = false;
  static constexpr rlmoe::layers::RopeScaling kRopeScaling{.type = rlmoe::layers::RopeType::Llama3, .factor = 16.0, .original_max_position = 16,
                                                           .low_freq_factor = 1.0, .high_freq_factor = 1.0};
  static constexpr rlmoe::index_t kNoRopeInterval = 4, kAttentionChunk = 8;
  static constexpr rlmoe::layers::AttentionTemperature kAttentionTemperature{.floor_scale = 8.0, .scale = 0.1};
  static constexpr bool kQkWeightlessNorm = true;
};

/// A family and the Spec this example trains it with. DeepSeek-V3 balances its experts by the
/// selection bias (aux-loss-free), which the export carries; the other families' routers have
/// none, so their experts are balanced by nothing rlmoe adds.
template <class Family, class Spec, rlmoe::moe::Balancing kBalancing = rlmoe::moe::Balancing::None>
struct ExampleModel {
  using family = Family;
  using spec = Spec;
  static constexpr rlmoe::moe::Balancing balancing = kBalancing;
};

namespace families = rlmoe::io::hf::families;
using ExampleModels = std::tuple<ExampleModel<families::Qwen3Moe, Qwen3MoeExample>,
                                 ExampleModel<families::DeepseekV3, DeepseekV3Example, rlmoe::moe::Balancing::AuxLossFree>,
                                 ExampleModel<families::DeepseekV2, DeepseekV2Example>,
                                 ExampleModel<families::Olmoe, OlmoeExample>,
                                 ExampleModel<families::Mixtral, MixtralExample>,
                                 ExampleModel<families::Llama4Text, Llama4Example>>;

/// "qwen3_moe, deepseek_v3, ...": the model_types this example trains.
std::string example_families() {
  std::string names;
  std::apply([&](auto... m) { ((names += (names.empty() ? "" : ", ") + std::string(decltype(m)::family::kModelType)), ...); }, ExampleModels{});
  return names;
}

/// Calls f(ExampleModel{}) for the model of `model_type`; false when this example has none.
template <class F>
bool visit_example_model(const std::string& model_type, F&& f) {
  return std::apply([&](auto... m) { return ((model_type == decltype(m)::family::kModelType ? (f(m), true) : false) || ...); },
                    ExampleModels{});
}

/// The tokenizer's ids the trainer needs at compile time: <｜end▁of▁sentence｜> ends a completion and
/// pads. The fixture's tokenizer and the one made here both give it id 1.
struct HfExampleVocabulary {
  static constexpr rlmoe::index_t kSize = 1024;
  static constexpr rlmoe::rl::token_t kEos = 1, kPad = 1;
};

using Task = rlmoe::rl::tasks::ArithmeticWordProblems<HfExampleVocabulary>;

struct Options {
  std::string model, family = "qwen3_moe", out = "runs/hf_grpo";
  long long steps = 150, cold_start = 60;
  unsigned long long seed = 1;
  bool quiet = false, check = true;
};

constexpr const char* kUsage =
    "usage: 04_hf_grpo [--model DIR] [--family F] [--steps N] [--cold-start N] [--seed S] [--out DIR] [--quiet] [--no-check]\n"
    "  --model       a Hugging Face directory (config.json, model.safetensors, tokenizer.json) of one\n"
    "                of the families below, with their example's sizes; default: a random one in OUT/starter\n"
    "  --family      the random model's model_type: qwen3_moe, deepseek_v3, deepseek_v2, olmoe, mixtral or\n"
    "                llama4_text\n"
    "                (default qwen3_moe)\n"
    "  --steps       GRPO steps, >= 1 (default 150)\n"
    "  --cold-start  supervised steps on demonstrations before RL, >= 0 (default 60)\n"
    "  --seed        problems, sampling and the starter model, >= 0 (default 1)\n"
    "  --out         metrics.jsonl, curves.png, and the trained model in OUT/model (default runs/hf_grpo)\n"
    "  --quiet       no progress line\n"
    "  --no-check    do not check that the reward rose\n";

Options parse(int argc, char** argv) {
  Options o;
  examples::CommandLine line(argc, argv, kUsage);
  for (std::string_view flag; line.next(flag);) {
    if (flag == "--model") o.model = line.text(flag);
    else if (flag == "--family") {
      o.family = line.text(flag);
      if (!visit_example_model(o.family, [](auto) {})) line.refuse(flag, o.family, example_families());
    }
    else if (flag == "--steps") o.steps = line.integer(flag, 1);
    else if (flag == "--cold-start") o.cold_start = line.integer(flag, 0);
    else if (flag == "--seed") o.seed = static_cast<unsigned long long>(line.integer(flag, 0));
    else if (flag == "--out") o.out = line.text(flag);
    else if (flag == "--quiet") o.quiet = true;
    else if (flag == "--no-check") o.check = false;
    else line.unknown(flag);
  }
  return o;
}

/// The task: one operation on numbers below 10, in R1's format.
Task make_task(std::shared_ptr<const rlmoe::text::Tokenizer> tokenizer) {
  Task task;
  task.tokenizer = std::move(tokenizer);
  task.min_steps = task.max_steps = 1;
  task.max_start = 9;
  task.max_operand = 9;
  task.completion_tokens = 40;
  task.prompt_tokens = 256 - task.completion_tokens;  // every example Spec's kMaxLength is >= 256
  return task;
}

/// A random model of Spec and a byte-level BPE tokenizer learned from the task's text, written as
/// a Hugging Face directory: what --model would read.
template <class Model>
std::string make_starter_model(const std::string& directory, std::uint64_t seed) {
  using Spec = typename Model::spec;
  namespace fs = std::filesystem;
  fs::create_directories(directory);
  // The tokenizer: R1's special tokens at ids 0-3 (BOS, EOS, User, Assistant), its tags after them,
  // merges learned from problems, solutions and the template.
  const std::vector<rlmoe::text::TrainerToken> added = {
      {"<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>", true}, {"<\uFF5Cend\u2581of\u2581sentence\uFF5C>", true},
      {"<\uFF5CUser\uFF5C>", true}, {"<\uFF5CAssistant\uFF5C>", true},
      {"<think>", false}, {"</think>", false}, {"<answer>", false}, {"</answer>", false}};
  const Task probe = make_task(nullptr);
  std::vector<std::string> corpus;
  for (rlmoe::index_t i = 0; i < 2000; ++i) {
    const auto text = probe.text(seed + 1000, i);
    corpus.push_back(text.question + " " + probe.instruction);
    corpus.push_back(text.solution);
  }
  const rlmoe::io::Json tokenizer = rlmoe::text::train_byte_level_bpe(corpus, added, 600);
  rlmoe::io::write_text_atomically(directory + "/tokenizer.json", tokenizer.dump(), "04_hf_grpo");
  // The model: rlmoe's seeded initialisation, exported with the token ids in config.json.
  rlmoe::nn::Transformer<rlmoe::Host, Spec> model(rlmoe::Host{}, {rlmoe::moe::Balancing::None});
  model.initialize(seed);
  rlmoe::io::hf::SaveOptions options;
  options.dtype = rlmoe::io::Dtype::BF16;
  options.base_config = rlmoe::io::Json::parse(R"({"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1})");
  rlmoe::io::hf::save_hf_checkpoint(model, directory, options);
  std::printf("made a random %s model and a %zu-token tokenizer in %s\n", Model::family::kModelType,
              rlmoe::text::Tokenizer::from_json(tokenizer.dump()).vocab_size(), directory.c_str());
  return directory;
}

template <class Model, rlmoe::Backend B>
int run(const B& backend, const Options& o, const std::string& model_dir) {
  using Spec = typename Model::spec;
  auto tokenizer = std::make_shared<const rlmoe::text::Tokenizer>(rlmoe::text::Tokenizer::from_file(model_dir + "/tokenizer.json"));
  const Task task = make_task(tokenizer);

  rlmoe::rl::GrpoConfig c;
  c.seed = o.seed;
  c.steps = o.steps;
  c.cold_start_steps = o.cold_start;
  c.prompts_per_step = 16;
  c.group_size = 8;
  c.learning_rate = 1e-3;
  c.min_learning_rate = 1e-4;
  c.warmup_steps = 5;
  c.cold_start_batch = 32;
  c.cold_start_learning_rate = 3e-3;
  c.eval_every = 50;
  c.eval_prompts = 100;
  c.pass_at_k = 0;
  c.output_dir = o.out;
  c.progress = !o.quiet;
  // DAPO's loss (token mean, clip-higher, no KL); the experts balanced as the family does.
  rlmoe::rl::ClippedSurrogate<rlmoe::rl::K3, rlmoe::rl::TokenMean> loss;
  loss.epsilon_high = 0.28f;
  const rlmoe::nn::MoeTraining balancing{Model::balancing};
  rlmoe::rl::GrpoTrainer<B, Spec, Task> trainer(backend, task, c, loss, rlmoe::rl::GroupNormalized{}, balancing);
  trainer.initialize();
  rlmoe::io::hf::load_hf_checkpoint(trainer.policy(), model_dir);
  std::printf("GRPO on %s (backend %s): %lld cold-start steps, %lld RL steps, %lld prompts x %lld completions\n",
              model_dir.c_str(), B::kName.data(), o.cold_start, o.steps, static_cast<long long>(c.prompts_per_step),
              static_cast<long long>(c.group_size));
  const rlmoe::rl::RunSummary s = trainer.run();

  const std::string exported = o.out + "/model";
  rlmoe::io::hf::SaveOptions save;
  save.base_config = rlmoe::io::hf::HfCheckpoint::open(model_dir).config();
  rlmoe::io::hf::save_hf_checkpoint(trainer.policy(), exported, save);
  std::filesystem::copy_file(model_dir + "/tokenizer.json", exported + "/tokenizer.json", std::filesystem::copy_options::overwrite_existing);

  // The mean reward of the first and last fifth of the RL steps.
  const auto& history = trainer.history();
  const std::size_t fifth = std::max<std::size_t>(history.size() / 5, 1);
  double first = 0.0, last = 0.0;
  for (std::size_t i = 0; i < fifth; ++i) {
    first += history[i].reward_mean / static_cast<double>(fifth);
    last += history[history.size() - 1 - i].reward_mean / static_cast<double>(fifth);
  }
  std::printf("mean reward %.3f over the first %zu RL steps, %.3f over the last %zu; held-out accuracy %.3f -> %.3f\n", first,
              fifth, last, fifth, s.rl_start_accuracy, s.final_accuracy);
  std::printf("wrote %s/metrics.jsonl, curves.png, and the trained model (config.json, model.safetensors, tokenizer.json) in %s\n",
              o.out.c_str(), exported.c_str());
  if (!o.check) return 0;
  const bool ok = last > first;
  std::printf("check (the reward rose during RL): %s\n", ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}

/// The model's family, from its config.json (or --family for a random one): the Spec it is trained with.
template <rlmoe::Backend B>
int run_family(const B& backend, const Options& o) {
  std::string model_dir = o.model;
  if (model_dir.empty())
    visit_example_model(o.family, [&](auto m) { model_dir = make_starter_model<decltype(m)>(o.out + "/starter", o.seed); });
  const std::string config = model_dir + "/config.json";
  const std::string model_type = rlmoe::io::read_json_file(config).at("model_type", config).string("model_type");
  int status = 0;
  if (!visit_example_model(model_type, [&](auto m) { status = run<decltype(m)>(backend, o, model_dir); }))
    throw rlmoe::ConfigError(rlmoe::detail::message(config, ": model_type is \"", model_type, "\"; this example trains ", example_families()));
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  return examples::run_on_available_backend([&](const auto& backend) { return run_family(backend, options); });
}
