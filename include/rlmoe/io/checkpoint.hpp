#pragma once
// Training checkpoints in the safetensors format: every parameter tensor under its layout name,
// the optimizer's two moments under "optimizer.m." and "optimizer.v." + name, each MoE layer's
// routing bias under "layers.<l>.moe.router_bias", optionally a frozen reference model under
// "reference." + those names, and in the metadata the format, the Spec (as JSON), the step, the
// optimizer's step count and whatever trainer state the caller adds (counters, the data
// position). Written atomically (safetensors.hpp); loading refuses a file whose format, Spec,
// tensor names, dtypes or shapes differ from the model's, naming what differs.
// Under expert parallelism a checkpoint still holds the whole model as one process holds it (each
// expert group's experts gathered for the writer, each reader taking its own out:
// nn/whole_model.hpp), so that a run resumes on any number of ranks and expert-parallel size.
// A bfloat16 model's checkpoint holds its float master parameters (F32), so it loads into a float
// model of the same Spec and back; a float64 model's (the checks of whole runs) holds F64 tensors.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/safetensors.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/nn/whole_model.hpp"
#include "rlmoe/optim/adamw.hpp"

namespace rlmoe::io {

/// Version 2 carries a checksum of the header and of every tensor, all required; version 1 (before
/// 2026-11-30) lacks the header's and is still read.
inline constexpr const char* kCheckpointFormat = "rlmoe-checkpoint/2";
inline constexpr const char* kCheckpointFormatVersion1 = "rlmoe-checkpoint/1";

/// Trainer state stored with the model: the step and any further key/value pairs.
struct CheckpointState {
  std::int64_t step = 0;
  std::vector<std::pair<std::string, std::string>> values;

  /// The value of `key`, or nullptr.
  [[nodiscard]] const std::string* find(const std::string& key) const {
    for (const auto& [k, v] : values)
      if (k == key) return &v;
    return nullptr;
  }
  /// The value of `key`; throws FormatError when there is none.
  [[nodiscard]] const std::string& value(const std::string& key) const {
    const std::string* v = find(key);
    if (v == nullptr) throw FormatError(rlmoe::detail::message("checkpoint: no trainer value '", key, "'"));
    return *v;
  }
};

/// The Spec's constants as JSON, stored in checkpoints and compared on load.
template <nn::TransformerSpec Spec>
std::string spec_json() {
  Json::Object spec{{"vocab", Json(static_cast<std::int64_t>(Spec::kVocab))},
                    {"model_dim", Json(static_cast<std::int64_t>(Spec::kModelDim))},
                    {"layers", Json(static_cast<std::int64_t>(Spec::kLayers))},
                    {"heads", Json(static_cast<std::int64_t>(Spec::kHeads))},
                    {"max_length", Json(static_cast<std::int64_t>(Spec::kMaxLength))},
                    {"dense_hidden", Json(static_cast<std::int64_t>(Spec::kDenseHidden))},
                    {"first_moe_layer", Json(static_cast<std::int64_t>(Spec::kFirstMoeLayer))},
                    {"routed_experts", Json(static_cast<std::int64_t>(Spec::kRoutedExperts))},
                    {"top_k", Json(static_cast<std::int64_t>(Spec::kTopK))},
                    {"expert_hidden", Json(static_cast<std::int64_t>(Spec::kExpertHidden))},
                    {"shared_experts", Json(static_cast<std::int64_t>(Spec::kSharedExperts))},
                    {"groups", Json(static_cast<std::int64_t>(Spec::kGroups))},
                    {"topk_groups", Json(static_cast<std::int64_t>(Spec::kTopkGroups))},
                    {"score_function", Json(Spec::kScoreFunction == moe::ScoreFunction::Sigmoid ? "sigmoid" : "softmax")},
                    {"routed_scaling", Json(static_cast<double>(Spec::kRoutedScaling))},
                    {"rope_base", Json(static_cast<double>(Spec::kRopeBase))},
                    {"norm_epsilon", Json(static_cast<double>(Spec::kNormEpsilon))},
                    {"tied_embeddings", Json(Spec::kTiedEmbeddings)}};
  // Optional members, written when they are not their default (so that earlier checkpoints stay valid).
  if (nn::moe_layer_step_v<Spec> != 1) spec.emplace_back("moe_layer_step", Json(static_cast<std::int64_t>(nn::moe_layer_step_v<Spec>)));
  return Json(std::move(spec)).dump();
}

namespace detail {

inline std::vector<std::int64_t> shape_of(const ParameterLayout::Entry& e) { return {e.shape.begin(), e.shape.end()}; }

/// The name of the routing bias of the moe_index-th MoE layer.
template <class Spec>
std::string bias_name(std::size_t moe_index) {
  return "layers." + std::to_string(nn::moe_layer_at<Spec>(static_cast<index_t>(moe_index))) + ".moe.router_bias";
}

}  // namespace detail

namespace detail {

/// Flat values in `layout`, each tensor under prefix + its name.
template <class G>
void add_tensors(SafetensorsWriter& writer, const ParameterLayout& layout, const std::vector<G>& values, const std::string& prefix) {
  for (const auto& e : layout.entries())
    writer.add<G>(prefix + e.name, shape_of(e), std::span<const G>(values.data() + e.offset, static_cast<std::size_t>(e.size)));
}

/// A model's (whole) parameters and routing biases, each tensor under prefix + its name.
template <Backend B, nn::TransformerSpec Spec, class T>
void add_model(SafetensorsWriter& writer, const B& backend, const nn::Transformer<B, Spec, T>& model,
               const std::vector<master_t<T>>& whole_parameters, const std::string& prefix) {
  add_tensors(writer, nn::Transformer<B, Spec, T>::make_layout(), whole_parameters, prefix);
  for (std::size_t i = 0; i < model.moe_layers().size(); ++i) {
    const auto bias = to_host(backend, model.moe_layers()[i].bias());
    writer.add<float>(prefix + bias_name<Spec>(i), {static_cast<std::int64_t>(bias.size())}, bias);
  }
}

/// A model's values read from a checkpoint, in host memory: the flat (master) parameters and each
/// MoE layer's routing bias.
template <class G>
struct ModelValues {
  std::vector<G> parameters;
  std::vector<std::vector<float>> biases;
};

/// The tensors prefix + name of every layout entry, as one flat buffer; every value finite, and
/// >= 0 for the second moment (`non_negative`). Throws FormatError naming the tensor otherwise.
template <class G>
std::vector<G> read_flat(const SafetensorsFile& file, const std::string& path, const ParameterLayout& layout,
                         const std::string& prefix, bool non_negative = false) {
  std::vector<G> values(static_cast<std::size_t>(layout.size()), G(0));
  for (const auto& e : layout.entries()) {
    const std::span<G> tensor(values.data() + e.offset, static_cast<std::size_t>(e.size));
    file.read_into<G>(prefix + e.name, shape_of(e), tensor);
    for (std::size_t i = 0; i < tensor.size(); ++i)
      RLMOE_CHECK(std::isfinite(tensor[i]) && !(non_negative && tensor[i] < G(0)), FormatError, "checkpoint '", path, "': tensor '",
                  prefix, e.name, "' holds ", tensor[i], " at element ", i, "; ", non_negative ? "finite values >= 0" : "finite values",
                  " are expected");
  }
  return values;
}

template <Backend B, class Spec, class T>
ModelValues<master_t<T>> read_model(const SafetensorsFile& file, const std::string& path, const nn::Transformer<B, Spec, T>& model,
                                    const std::string& prefix) {
  const ParameterLayout whole = nn::Transformer<B, Spec, T>::make_layout();
  ModelValues<master_t<T>> out{nn::own_model_values(model, read_flat<master_t<T>>(file, path, whole, prefix)), {}};
  for (std::size_t i = 0; i < model.moe_layers().size(); ++i) {
    const std::string name = prefix + bias_name<typename nn::Transformer<B, Spec, T>::Spec>(i);
    std::vector<float> bias(static_cast<std::size_t>(model.moe_layers()[i].bias().size()));
    file.read_into<float>(name, {static_cast<std::int64_t>(bias.size())}, std::span<float>(bias));
    for (float b : bias) RLMOE_CHECK(std::isfinite(b), FormatError, "checkpoint '", path, "': routing bias '", name, "' holds ", b);
    out.biases.push_back(std::move(bias));
  }
  return out;
}

template <Backend B, class Spec, class T>
void restore_model(const B& backend, const ModelValues<master_t<T>>& values, nn::Transformer<B, Spec, T>& model) {
  copy(backend, model.parameters(), VectorView<const master_t<T>>(values.parameters.data(), model.parameters().shape()));
  for (std::size_t i = 0; i < model.moe_layers().size(); ++i) {
    const VectorView<float> bias = model.moe_layers()[i].bias();
    copy(backend, bias, VectorView<const float>(values.biases[i].data(), bias.shape()));
  }
  synchronize(backend);  // the host values are about to go
}

}  // namespace detail

/// Writes model, optimizer state, an optional reference model and the trainer state atomically.
/// Under expert parallelism every rank of the model's expert group calls it (their experts are
/// gathered), and only the one passing `write` (its group's rank 0) writes.
template <Backend B, nn::TransformerSpec Spec, class T>
void save_checkpoint(const std::string& path, const B& backend, const nn::Transformer<B, Spec, T>& model,
                     const optim::AdamW<B, master_t<T>>& optimizer, const CheckpointState& state,
                     const nn::Transformer<B, Spec, T>* reference = nullptr, bool write = true) {
  const auto parameters = nn::whole_model_values(model, model.parameters());
  const auto m = nn::whole_model_values(model, optimizer.first_moment());
  const auto v = nn::whole_model_values(model, optimizer.second_moment());
  const auto frozen = reference != nullptr ? nn::whole_model_values(*reference, reference->parameters()) : decltype(parameters){};
  if (!write) return;
  RLMOE_CHECK(model.expert_parallel().rank() == 0, ConfigError, "save_checkpoint: '", path, "' must be written by rank 0 of ",
              model.expert_parallel().name(), ", which gathers its experts, not by its rank ", model.expert_parallel().rank());
  SafetensorsWriter writer;
  detail::add_model(writer, backend, model, parameters, "");
  const ParameterLayout whole = nn::Transformer<B, Spec, T>::make_layout();
  detail::add_tensors(writer, whole, m, "optimizer.m.");
  detail::add_tensors(writer, whole, v, "optimizer.v.");
  if (reference != nullptr) detail::add_model(writer, backend, *reference, frozen, "reference.");
  writer.set_metadata("format", kCheckpointFormat);
  writer.set_metadata("spec", spec_json<Spec>());
  writer.set_metadata("step", std::to_string(state.step));
  writer.set_metadata("optimizer_steps", std::to_string(optimizer.steps()));
  for (const auto& [key, value] : state.values) writer.set_metadata("trainer." + key, value);
  writer.write(path);
}

/// Restores model, optimizer and (when given) the reference model from `path`; returns the
/// trainer state stored with them. Transactional: everything is read and checked first (the
/// format, the Spec, every tensor's shape and checksum, that every value is finite and every
/// second moment >= 0, then `accept(state)`, which throws to refuse the trainer state), and only
/// then is anything written; a refused checkpoint leaves model, optimizer and reference as they
/// were.
template <Backend B, class Spec, class T>
CheckpointState load_checkpoint(const std::string& path, const B& backend, nn::Transformer<B, Spec, T>& model,
                                optim::AdamW<B, master_t<T>>& optimizer, nn::Transformer<B, Spec, T>* reference = nullptr,
                                const std::function<void(const CheckpointState&)>& accept = {}) {
  using ModelSpec = typename nn::Transformer<B, Spec, T>::Spec;
  const SafetensorsFile file = SafetensorsFile::read(path);
  const std::string& format = file.metadata("format");
  RLMOE_CHECK(format == kCheckpointFormat || format == kCheckpointFormatVersion1, FormatError, "checkpoint '", path,
              "' has format '", format, "' but '", kCheckpointFormat, "' is expected");
  // A flipped bit in a checksum's own key would otherwise switch that checksum off.
  RLMOE_CHECK(format == kCheckpointFormatVersion1 || file.fully_checksummed(), FormatError, "checkpoint '", path,
              "' lacks a checksum that rlmoe writes (of its header or of a tensor): it is corrupt");
  RLMOE_CHECK(file.metadata("spec") == spec_json<ModelSpec>(), FormatError, "checkpoint '", path,
              "' was written for another model: its spec is ", file.metadata("spec"), " but this model's is ",
              spec_json<ModelSpec>());
  using G = master_t<T>;
  const detail::ModelValues<G> policy = detail::read_model(file, path, model, "");
  const ParameterLayout whole = nn::Transformer<B, Spec, T>::make_layout();
  const std::vector<G> m = nn::own_model_values(model, detail::read_flat<G>(file, path, whole, "optimizer.m."));
  const std::vector<G> v = nn::own_model_values(model, detail::read_flat<G>(file, path, whole, "optimizer.v.", true));
  const detail::ModelValues<G> frozen =
      reference != nullptr ? detail::read_model(file, path, *reference, "reference.") : detail::ModelValues<G>{};
  const index_t optimizer_steps = parse_integer(file.metadata("optimizer_steps"), "checkpoint '" + path + "': optimizer_steps");
  RLMOE_CHECK(optimizer_steps >= 0, FormatError, "checkpoint '", path, "': optimizer_steps is ", optimizer_steps);
  CheckpointState state;
  state.step = parse_integer(file.metadata("step"), "checkpoint '" + path + "': step");
  RLMOE_CHECK(state.step >= 0, FormatError, "checkpoint '", path, "': step is ", state.step);
  for (const auto& [key, value] : file.metadata_entries())
    if (key.rfind("trainer.", 0) == 0) state.values.emplace_back(key.substr(8), value);
  if (accept) accept(state);

  detail::restore_model(backend, policy, model);
  copy(backend, optimizer.first_moment(), VectorView<const G>(m.data(), optimizer.first_moment().shape()));
  copy(backend, optimizer.second_moment(), VectorView<const G>(v.data(), optimizer.second_moment().shape()));
  if (reference != nullptr) detail::restore_model(backend, frozen, *reference);
  optimizer.set_steps(optimizer_steps);
  synchronize(backend);  // m and v are about to go
  return state;
}

}  // namespace rlmoe::io
