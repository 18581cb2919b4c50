#pragma once
// The trainable tensors of an MoE layer, as views into a flat parameter buffer:
//   router          [E, d]      logits = u router^T
//   expert_gate_up  [E, d, 2h]  each routed expert's [W_gate | W_up]
//   expert_down     [E, h, d]   each routed expert's W_down
//   shared_gate_up  [d, 2Hs]    the shared experts fused into one SwiGLU of width Hs = S * h_s
//   shared_down     [Hs, d]
// Fusing the S shared experts is exact: a sum of SwiGLUs is one SwiGLU over the concatenated
// hidden units. The selection bias of aux-loss-free balancing is state, not a parameter: it has
// no gradient, and the layer owns it.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/core/parameter_layout.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/layers/init.hpp"
#include "rlmoe/moe/config.hpp"

namespace rlmoe::moe {

template <class T>
struct MoeParameters {
  MatrixView<T> router;
  TensorView<T, 3> expert_gate_up;
  TensorView<T, 3> expert_down;
  MatrixView<T> shared_gate_up;
  MatrixView<T> shared_down;

  /// Mutable views convert to const ones (a template, so that it is never a conversion of a type
  /// to itself).
  template <class U>
    requires(std::is_same_v<U, const T> && !std::is_const_v<T>)
  operator MoeParameters<U>() const {  // NOLINT: implicit on purpose
    return {router, expert_gate_up, expert_down, shared_gate_up, shared_down};
  }
};

/// The routed experts' tensors, `<prefix>experts.gate_up` and `.down`, of `local_experts` experts
/// (expert parallelism: the ones this rank holds; -1: all of them).
inline void declare_moe_expert_parameters(ParameterLayout& layout, const std::string& prefix, const MoeConfig& c,
                                          index_t local_experts = -1) {
  const index_t e = local_experts < 0 ? c.routed_experts : local_experts, d = c.model_dim, h = c.expert_hidden;
  layout.add(prefix + "experts.gate_up", {e, d, 2 * h});
  layout.add(prefix + "experts.down", {e, h, d});
}

/// The shared experts' tensors, `<prefix>shared.gate_up` and `.down` (none without shared experts).
inline void declare_moe_shared_parameters(ParameterLayout& layout, const std::string& prefix, const MoeConfig& c) {
  const index_t d = c.model_dim, hs = c.shared_width();
  if (hs > 0) {
    layout.add(prefix + "shared.gate_up", {d, 2 * hs});
    layout.add(prefix + "shared.down", {hs, d});
  }
}

/// Declares the layer's tensors as `<prefix>router`, `<prefix>experts.gate_up`, ... in this
/// order. (An expert-parallel model declares its experts apart: nn/transformer.hpp.)
inline void declare_moe_parameters(ParameterLayout& layout, const std::string& prefix, const MoeConfig& c) {
  c.validate();
  layout.add(prefix + "router", {c.routed_experts, c.model_dim});
  declare_moe_expert_parameters(layout, prefix, c);
  declare_moe_shared_parameters(layout, prefix, c);
}

/// Views of the layer's tensors in the flat buffer at `base` (parameters or gradients alike).
template <class T>
MoeParameters<T> moe_parameters(T* base, const ParameterLayout& layout, const std::string& prefix, const MoeConfig& c) {
  MoeParameters<T> p;
  p.router = layout.view<2>(base, prefix + "router");
  p.expert_gate_up = layout.view<3>(base, prefix + "experts.gate_up");
  p.expert_down = layout.view<3>(base, prefix + "experts.down");
  if (c.shared_width() > 0) {
    p.shared_gate_up = layout.view<2>(base, prefix + "shared.gate_up");
    p.shared_down = layout.view<2>(base, prefix + "shared.down");
  }
  return p;
}

/// Every weight ~ N(0, 1 / fan_in) (LeCun), each tensor from its own Philox streams: tensor ids
/// first_tensor_id, first_tensor_id + 1, ... With the routed experts from `first_expert` on (expert
/// parallelism), each expert gets the values it has in the whole layer.
template <Backend B, class T>
void initialize_moe_parameters(const B& backend, const MoeParameters<T>& p, const MoeConfig& c, std::uint64_t seed,
                               std::uint64_t first_tensor_id, index_t first_expert = 0) {
  const auto std_for = [](index_t fan_in) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in))); };
  const auto at_expert = [&](const auto& experts) {
    return static_cast<std::uint64_t>(first_expert * experts.extent(1) * experts.extent(2));
  };
  layers::initialize_normal(backend, p.router, std_for(c.model_dim), seed, first_tensor_id);
  layers::initialize_normal(backend, p.expert_gate_up, std_for(c.model_dim), seed, first_tensor_id + 1, at_expert(p.expert_gate_up));
  layers::initialize_normal(backend, p.expert_down, std_for(c.expert_hidden), seed, first_tensor_id + 2, at_expert(p.expert_down));
  if (c.shared_width() > 0) {
    layers::initialize_normal(backend, p.shared_gate_up, std_for(c.model_dim), seed, first_tensor_id + 3);
    layers::initialize_normal(backend, p.shared_down, std_for(c.shared_width()), seed, first_tensor_id + 4);
  }
}

}  // namespace rlmoe::moe
