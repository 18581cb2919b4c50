#pragma once
// Hugging Face checkpoints in and out: a directory with config.json and model.safetensors (or
// shards listed by model.safetensors.index.json), in F32, BF16, F16 or F64, as transformers writes
// them for the families of io/families.hpp.
//
//   load_hf_checkpoint(model, directory)   checks config.json against the Spec (hf_config.hpp),
//                                          then fills every parameter; every missing, unexpected,
//                                          mis-shaped or non-float tensor is named, all at once
//   save_hf_checkpoint(model, directory)   config.json + safetensors (sharded past a size, with
//                                          the index), each file written atomically; transformers
//                                          loads it and computes the same logits
//
// How rlmoe's parameters are made of the checkpoint's tensors is each family's recipe list
// (io/hf_recipes.hpp, io/families/*.hpp); this file runs them in both directions.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/io/atomic_file.hpp"
#include "rlmoe/io/families.hpp"
#include "rlmoe/io/hf_config.hpp"
#include "rlmoe/io/hf_recipes.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/safetensors.hpp"
#include "rlmoe/nn/transformer.hpp"

namespace rlmoe::io::hf {

/// The recipes of an architecture, by its family (v.model_type).
inline std::vector<TensorRecipe> hf_recipes(const ArchitectureValues& v) {
  std::vector<TensorRecipe> out;
  const bool known = Families::visit(v.model_type, [&](auto family) { out = decltype(family)::recipes(v); });
  RLMOE_CHECK(known, ConfigError, "hf_recipes: no family has model_type \"", v.model_type, "\" (", Families::names(), ")");
  return out;
}

/// A checkpoint directory's tensors, from model.safetensors or the shards its index names.
class HfCheckpoint {
 public:
  /// Opens config.json and the safetensors of `directory`; errors name the file.
  static HfCheckpoint open(const std::string& directory) {
    namespace fs = std::filesystem;
    HfCheckpoint c;
    c.directory_ = directory;
    c.config_ = read_json_file(directory + "/config.json");
    const std::string single = directory + "/model.safetensors", index = directory + "/model.safetensors.index.json";
    if (fs::exists(index)) {
      const Json map = read_json_file(index);
      const Json& weights = map.at("weight_map", index);
      for (const auto& [name, file] : weights.object(index + ": weight_map")) {
        const std::string& shard = file.string(index + ": weight_map[\"" + name + "\"]");
        RLMOE_CHECK(shard.find('/') == std::string::npos && shard != ".." && !shard.empty(), FormatError, index,
                    ": weight_map[\"", name, "\"] names \"", shard, "\", which is not a file in the directory");
        c.location_[name] = c.shard(directory + "/" + shard);
      }
      for (const auto& [name, where] : c.location_) {
        RLMOE_CHECK(c.shards_[where].file.contains(name), FormatError, index, " places \"", name, "\" in ", c.shards_[where].path, ", which has no such tensor");
      }
      for (const Shard& s : c.shards_)
        for (const TensorInfo& t : s.file.tensors())
          RLMOE_CHECK(c.location_.contains(t.name), FormatError, s.path, " holds \"", t.name, "\", which ", index, " does not list");
    } else {
      RLMOE_CHECK(fs::exists(single), IoError, "'", directory, "' has neither model.safetensors nor model.safetensors.index.json");
      const std::size_t s = c.shard(single);
      for (const TensorInfo& t : c.shards_[s].file.tensors()) c.location_[t.name] = s;
    }
    return c;
  }

  [[nodiscard]] const Json& config() const { return config_; }
  [[nodiscard]] std::string config_path() const { return directory_ + "/config.json"; }
  [[nodiscard]] bool contains(const std::string& name) const { return location_.contains(name); }
  [[nodiscard]] const TensorInfo& info(const std::string& name) const { return file(name).tensor(name); }
  [[nodiscard]] std::vector<double> read(const std::string& name, const Shape& shape) const { return file(name).read_as_double(name, shape); }
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, where] : location_) out.push_back(name);
    return out;
  }
  [[nodiscard]] const std::string& directory() const { return directory_; }

 private:
  struct Shard {
    std::string path;
    SafetensorsFile file;
  };

  std::size_t shard(const std::string& path) {
    for (std::size_t i = 0; i < shards_.size(); ++i)
      if (shards_[i].path == path) return i;
    shards_.push_back({path, SafetensorsFile::read(path)});
    return shards_.size() - 1;
  }
  const SafetensorsFile& file(const std::string& name) const {
    const auto it = location_.find(name);
    RLMOE_CHECK(it != location_.end(), FormatError, "'", directory_, "' has no tensor \"", name, "\"");
    return shards_[it->second].file;
  }

  std::string directory_;
  Json config_;
  std::vector<Shard> shards_;
  std::map<std::string, std::size_t> location_;  // tensor -> shard
};

namespace detail {

inline bool is_floating(Dtype d) { return d == Dtype::F32 || d == Dtype::F64 || d == Dtype::BF16 || d == Dtype::F16; }

/// Whether a tensor belongs to one of the checkpoint's multi-token-prediction layers
/// (model.layers.L .. L + mtp_layers - 1, after the L decoder layers), which rlmoe skips.
inline bool is_mtp_tensor(const std::string& name, const ArchitectureValues& v) {
  const std::string prefix = "model.layers.";
  if (v.mtp_layers == 0 || !name.starts_with(prefix)) return false;
  index_t layer = 0;
  const char* first = name.data() + prefix.size();
  const auto [end, error] = std::from_chars(first, name.data() + name.size(), layer);
  return error == std::errc() && end != first && *end == '.' && layer >= v.layers && layer < v.layers + v.mtp_layers;
}

/// Every problem of the checkpoint against the recipes: missing, mis-shaped, non-float and
/// unexpected tensors; thrown together, so that one run shows what to fix.
inline void check_tensors(const HfCheckpoint& checkpoint, const std::vector<TensorRecipe>& recipes, const ArchitectureValues& v) {
  std::vector<std::string> problems;
  std::unordered_set<std::string> used;
  for (const TensorRecipe& r : recipes)
    for (std::size_t k = 0; k < r.sources.size(); ++k) {
      const std::string& name = r.sources[k];
      if (!used.insert(name).second) continue;  // a tensor split into several parameters
      if (!checkpoint.contains(name)) {
        problems.push_back(rlmoe::detail::message("missing \"", name, "\" ", SafetensorsFile::shape_string(r.source_shapes[k]),
                                                  " (for rlmoe's ", r.parameter, ")"));
        continue;
      }
      const TensorInfo& t = checkpoint.info(name);
      if (t.shape != r.source_shapes[k])
        problems.push_back(rlmoe::detail::message("\"", name, "\" has shape ", SafetensorsFile::shape_string(t.shape), " but ",
                                                  SafetensorsFile::shape_string(r.source_shapes[k]), " is expected"));
      if (!is_floating(t.dtype))
        problems.push_back(rlmoe::detail::message("\"", name, "\" has dtype ", dtype_name(t.dtype), "; weights must be F32, BF16, F16 or F64"));
    }
  for (const std::string& name : checkpoint.names())
    if (!used.contains(name) && !(v.tied_embeddings && name == v.tensor_prefix + "lm_head.weight") && !is_mtp_tensor(name, v) &&
        std::none_of(v.skipped_tensor_prefixes.begin(), v.skipped_tensor_prefixes.end(), [&](const std::string& p) { return name.starts_with(p); }))
      problems.push_back(rlmoe::detail::message("unexpected \"", name, "\": rlmoe's architecture has no such tensor"));
  if (problems.empty()) return;
  std::string message = rlmoe::detail::message("'", checkpoint.directory(), "' does not hold the compiled Spec's weights (",
                                               problems.size(), " problem", problems.size() == 1 ? "" : "s", "):");
  const std::size_t shown = std::min<std::size_t>(problems.size(), 30);
  for (std::size_t i = 0; i < shown; ++i) message += "\n  " + problems[i];
  if (shown < problems.size()) message += rlmoe::detail::message("\n  ... and ", problems.size() - shown, " more");
  throw FormatError(message);
}

/// The checkpoint layout a recipe list is made for: the Spec's values with the checkpoint's own
/// rotary layout and multi-token-prediction layers.
inline ArchitectureValues checkpoint_layout(ArchitectureValues spec, const ArchitectureValues& config) {
  spec.model_type = config.model_type;
  spec.rope_interleave = config.rope_interleave;
  spec.mtp_layers = config.mtp_layers;
  spec.tensor_prefix = config.tensor_prefix;
  spec.skipped_tensor_prefixes = config.skipped_tensor_prefixes;
  return spec;
}

}  // namespace detail

/// Fills `model` from a Hugging Face checkpoint directory; see the file comment. The MoE layers'
/// selection biases come from DeepSeek-V3's e_score_correction_bias, or are zeroed (Qwen3's
/// routers have none).
template <Backend B, class Spec, class T>
void load_hf_checkpoint(nn::Transformer<B, Spec, T>& model, const std::string& directory) {
  using G = master_t<T>;
  using Checked = typename nn::Transformer<B, Spec, T>::Spec;
  RLMOE_CHECK(model.expert_parallel().size() == 1, ConfigError, "load_hf_checkpoint: '", directory, "': the model's experts are split over ",
              model.expert_parallel().name(), "; load it into a model without expert parallelism and start the expert-parallel run "
              "from an rlmoe checkpoint of it (io/checkpoint.hpp holds the whole model)");
  const HfCheckpoint checkpoint = HfCheckpoint::open(directory);
  check_config<Checked>(checkpoint.config(), checkpoint.config_path());
  const ArchitectureValues v =
      detail::checkpoint_layout(architecture_of<Checked>(), architecture_of(checkpoint.config(), checkpoint.config_path()));
  const std::vector<TensorRecipe> recipes = hf_recipes(v);
  detail::check_tensors(checkpoint, recipes, v);
  const B& backend = model.backend();
  for (auto& layer : model.moe_layers()) fill(backend, layer.bias(), 0.0f);
  const VectorView<G> parameters = model.parameters();
  for (const TensorRecipe& r : recipes) {
    std::vector<std::vector<double>> sources;
    for (std::size_t k = 0; k < r.sources.size(); ++k) sources.push_back(checkpoint.read(r.sources[k], r.source_shapes[k]));
    if (r.target == TensorRecipe::Target::RoutingBias) {
      const std::vector<float> bias(sources[0].begin(), sources[0].end());
      copy(backend, model.moe_layer(r.layer).bias(), VectorView<const float>(bias.data(), Extents<1>{static_cast<index_t>(bias.size())}));
      continue;
    }
    const auto& entry = model.layout().find(r.parameter);
    std::vector<G> values(static_cast<std::size_t>(entry.size));
    r.for_each_element([&](std::int64_t i, std::size_t k, std::int64_t j) {
      values[static_cast<std::size_t>(i)] = static_cast<G>(sources[k][static_cast<std::size_t>(j)]);
    });
    copy(backend, parameters.slice(entry.offset, entry.offset + entry.size), VectorView<const G>(values.data(), Extents<1>{entry.size}));
  }
  if (v.tied_embeddings && checkpoint.contains("lm_head.weight")) {
    const Shape shape{v.vocab, v.model_dim};
    RLMOE_CHECK(checkpoint.read("lm_head.weight", shape) == checkpoint.read("model.embed_tokens.weight", shape), FormatError, "'",
                directory, "': lm_head.weight differs from model.embed_tokens.weight but tie_word_embeddings is true");
  }
  synchronize(backend);
}

struct SaveOptions {
  Dtype dtype = Dtype::F32;                           ///< F32 or BF16
  std::int64_t max_shard_bytes = 5'000'000'000;       ///< larger models go to several files and an index
  Json base_config = Json(Json::Object{});            ///< fields kept in config.json (token ids, ...)
};

namespace detail {

/// Recipes written together: a run of consecutive recipes that share source tensors (DeepSeek's
/// kv_a_proj_with_mqa holds wkv_a and wk_rope), with their distinct sources in order.
struct ExportUnit {
  std::size_t first = 0, last = 0;  ///< recipes [first, last)
  std::vector<std::string> sources;
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  std::int64_t bytes = 0;
};

inline std::vector<ExportUnit> export_units(const std::vector<TensorRecipe>& recipes, Dtype dtype) {
  std::vector<ExportUnit> units;
  for (std::size_t i = 0; i < recipes.size(); ++i) {
    const TensorRecipe& r = recipes[i];
    const bool shares = !units.empty() && std::any_of(r.sources.begin(), r.sources.end(), [&](const std::string& name) {
      return std::find(units.back().sources.begin(), units.back().sources.end(), name) != units.back().sources.end();
    });
    if (!shares) units.push_back({i, i, {}, {}, {}, 0});
    ExportUnit& unit = units.back();
    unit.last = i + 1;
    for (std::size_t k = 0; k < r.sources.size(); ++k) {
      if (std::find(unit.sources.begin(), unit.sources.end(), r.sources[k]) != unit.sources.end()) continue;
      // Routing biases stay F32, as transformers keeps e_score_correction_bias.
      const Dtype d = r.target == TensorRecipe::Target::RoutingBias ? Dtype::F32 : dtype;
      std::int64_t n = static_cast<std::int64_t>(dtype_size(d));
      for (std::int64_t e : r.source_shapes[k]) n *= e;
      unit.sources.push_back(r.sources[k]);
      unit.shapes.push_back(r.source_shapes[k]);
      unit.dtypes.push_back(d);
      unit.bytes += n;
    }
  }
  return units;
}

}  // namespace detail

/// Writes `model` as a Hugging Face checkpoint into `directory` (created if needed); see the file
/// comment. A Qwen3 model whose routing uses selection biases (trained with aux-loss-free
/// balancing) is refused: Qwen3's routers have none, so transformers would route differently.
/// DeepSeek-V3 keeps them (e_score_correction_bias).
template <Backend B, class Spec, class T>
void save_hf_checkpoint(const nn::Transformer<B, Spec, T>& model, const std::string& directory, const SaveOptions& options = {}) {
  using Model = nn::Transformer<B, Spec, T>;
  RLMOE_CHECK(model.expert_parallel().size() == 1, ConfigError, "save_hf_checkpoint: '", directory, "': the model's experts are split over ",
              model.expert_parallel().name(), "; resume its rlmoe checkpoint (the whole model) without expert parallelism and export that");
  RLMOE_CHECK(options.dtype == Dtype::F32 || options.dtype == Dtype::BF16, ConfigError, "save_hf_checkpoint: dtype ",
              dtype_name(options.dtype), " is not one of F32 and BF16");
  RLMOE_CHECK(options.max_shard_bytes > 0, ConfigError, "save_hf_checkpoint: max_shard_bytes must be > 0");
  const B& backend = model.backend();
  const Json config = config_json<typename Model::Spec>(options.base_config);
  const ArchitectureValues v = detail::checkpoint_layout(architecture_of<typename Model::Spec>(), architecture_of(config, "config_json"));
  const std::vector<TensorRecipe> recipes = hf_recipes(v);
  const bool holds_biases = std::any_of(recipes.begin(), recipes.end(), [](const TensorRecipe& r) { return r.target == TensorRecipe::Target::RoutingBias; });
  if (!holds_biases)
    for (std::size_t l = 0; l < model.moe_layers().size(); ++l) {
      const auto bias = to_host(backend, model.moe_layers()[l].bias());
      RLMOE_CHECK(std::all_of(bias.begin(), bias.end(), [](float b) { return b == 0.0f; }), ConfigError,
                  "save_hf_checkpoint: MoE layer ", l, " has nonzero selection biases (aux-loss-free balancing), which the ",
                  v.model_type, " format cannot hold; train with moe::Balancing::None or SwitchAux");
    }
  const std::vector<detail::ExportUnit> units = detail::export_units(recipes, options.dtype);
  std::filesystem::create_directories(directory);

  // Plan the shards: units in recipe order, a new file when the next would pass the limit.
  std::vector<std::int64_t> shard_of_unit;
  std::vector<std::int64_t> shard_bytes{0};
  for (const detail::ExportUnit& u : units) {
    if (shard_bytes.back() > 0 && shard_bytes.back() + u.bytes > options.max_shard_bytes) shard_bytes.push_back(0);
    shard_bytes.back() += u.bytes;
    shard_of_unit.push_back(static_cast<std::int64_t>(shard_bytes.size()) - 1);
  }
  const std::size_t shards = shard_bytes.size();
  const auto shard_name = [&](std::size_t s) {
    if (shards == 1) return std::string("model.safetensors");
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards);
    return std::string(name);
  };
  // A recipe's values: its parameter's, or its MoE layer's selection bias.
  const auto values_of = [&](const TensorRecipe& r) {
    if (r.target == TensorRecipe::Target::RoutingBias) {
      const auto bias = to_host(backend, model.moe_layers()[static_cast<std::size_t>(nn::moe_index<typename Model::Spec>(r.layer))].bias());
      return std::vector<double>(bias.begin(), bias.end());
    }
    const auto& entry = model.layout().find(r.parameter);
    const auto values = to_host(backend, model.parameters().slice(entry.offset, entry.offset + entry.size));
    return std::vector<double>(values.begin(), values.end());
  };

  Json::Object weight_map;
  std::int64_t total = 0;
  std::size_t next = 0;
  for (std::size_t s = 0; s < shards; ++s) {
    SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (; next < units.size() && shard_of_unit[next] == static_cast<std::int64_t>(s); ++next) {
      const detail::ExportUnit& u = units[next];
      std::vector<std::vector<double>> sources(u.sources.size());
      for (std::size_t k = 0; k < u.sources.size(); ++k) {
        std::int64_t n = 1;
        for (std::int64_t e : u.shapes[k]) n *= e;
        sources[k].resize(static_cast<std::size_t>(n));
      }
      for (std::size_t i = u.first; i < u.last; ++i) {
        const TensorRecipe& r = recipes[i];
        std::vector<std::size_t> slot(r.sources.size());  // the recipe's source k in the unit's list
        for (std::size_t k = 0; k < r.sources.size(); ++k)
          slot[k] = static_cast<std::size_t>(std::find(u.sources.begin(), u.sources.end(), r.sources[k]) - u.sources.begin());
        const std::vector<double> values = values_of(r);
        r.for_each_element([&](std::int64_t e, std::size_t k, std::int64_t j) {
          sources[slot[k]][static_cast<std::size_t>(j)] = values[static_cast<std::size_t>(e)];
        });
      }
      for (std::size_t k = 0; k < u.sources.size(); ++k) {
        if (u.dtypes[k] == Dtype::BF16) {
          const std::vector<bfloat16> b(sources[k].begin(), sources[k].end());
          writer.add(u.sources[k], u.shapes[k], std::span<const bfloat16>(b));
        } else {
          const std::vector<float> f(sources[k].begin(), sources[k].end());
          writer.add(u.sources[k], u.shapes[k], std::span<const float>(f));
        }
        weight_map.emplace_back(u.sources[k], shard_name(s));
        total += static_cast<std::int64_t>(sources[k].size() * dtype_size(u.dtypes[k]));
      }
    }
    writer.write(directory + "/" + shard_name(s));
  }
  if (shards > 1) {
    const Json index(Json::Object{{"metadata", Json::Object{{"total_size", total}}}, {"weight_map", std::move(weight_map)}});
    write_text_atomically(directory + "/model.safetensors.index.json", index.dump(), "save_hf_checkpoint");
  } else {
    std::filesystem::remove(directory + "/model.safetensors.index.json");  // a stale one would name other files
  }
  write_text_atomically(directory + "/config.json", config.dump(), "save_hf_checkpoint");
}

}  // namespace rlmoe::io::hf
