#pragma once
// The model families rlmoe reads and writes, by config.json's "model_type": one file each under
// io/families/, and one line in the list below. A family is a struct with
//   kModelType, kArchitecture        config.json's model_type and architectures[0]
//   read(ConfigReader)               the ArchitectureValues of its config.json; every field it
//                                    does not read is refused by name (ConfigReader::finish)
//   mismatch(ArchitectureValues)     why a Spec is not of this family ("" when it is)
//   write(values, ConfigWriter&)     its config.json fields for a Spec (besides the common ones)
//   recipes(values)                  the checkpoint tensors each rlmoe parameter is made of
// Adding a family: its file, one entry in Families, its fixture and its tests.
#include <string>
#include <string_view>

#include "rlmoe/io/families/deepseek_v2.hpp"
#include "rlmoe/io/families/deepseek_v3.hpp"
#include "rlmoe/io/families/llama4.hpp"
#include "rlmoe/io/families/mixtral.hpp"
#include "rlmoe/io/families/olmoe.hpp"
#include "rlmoe/io/families/qwen3.hpp"

namespace rlmoe::io::hf {

template <class... Family>
struct FamilyList {
  /// Calls f(Family{}) for the family of `model_type`; false when there is none.
  template <class F>
  static bool visit(std::string_view model_type, F&& f) {
    return ((model_type == Family::kModelType ? (f(Family{}), true) : false) || ...);
  }
  /// Calls f(Family{}) for each family in order until it returns true; whether one did.
  template <class F>
  static bool find_first(F&& f) {
    return (f(Family{}) || ...);
  }
  /// "qwen3_moe, qwen3, ...": every model_type, for messages.
  static std::string names() {
    std::string out;
    ((out += (out.empty() ? "" : ", ") + std::string(Family::kModelType)), ...);
    return out;
  }
};

/// Every family, in the order a Spec's family is looked for when exporting without a model_type.
using Families = FamilyList<families::Qwen3Moe,
                            families::Qwen3,
                            families::Olmoe,
                            families::DeepseekV3,
                            families::Mixtral,
                            families::DeepseekV2,
                            families::Llama4Text,
                            families::Llama4>;

}  // namespace rlmoe::io::hf
