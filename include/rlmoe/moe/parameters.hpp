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

/// Declares the layer's tensors as `<prefix>router`, `<prefix>experts.gate_up`, ...
inline void declare_moe_parameters(ParameterLayout& layout, const std::string& prefix, const MoeConfig& c) {
  c.validate();
  const index_t e = c.routed_experts, d = c.model_dim, h = c.expert_hidden, hs = c.shared_width();
  layout.add(prefix + "router", {e, d});
  layout.add(prefix + "experts.gate_up", {e, d, 2 * h});
  layout.add(prefix + "experts.down", {e, h, d});
  if (hs > 0) {
    layout.add(prefix + "shared.gate_up", {d, 2 * hs});
    layout.add(prefix + "shared.down", {hs, d});
  }
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
/// first_tensor_id, first_tensor_id + 1, ...
template <Backend B, class T>
void initialize_moe_parameters(const B& backend, const MoeParameters<T>& p, const MoeConfig& c, std::uint64_t seed,
                               std::uint64_t first_tensor_id) {
  const auto std_for = [](index_t fan_in) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in))); };
  layers::initialize_normal(backend, p.router, std_for(c.model_dim), seed, first_tensor_id);
  layers::initialize_normal(backend, p.expert_gate_up, std_for(c.model_dim), seed, first_tensor_id + 1);
  layers::initialize_normal(backend, p.expert_down, std_for(c.expert_hidden), seed, first_tensor_id + 2);
  if (c.shared_width() > 0) {
    layers::initialize_normal(backend, p.shared_gate_up, std_for(c.model_dim), seed, first_tensor_id + 3);
    layers::initialize_normal(backend, p.shared_down, std_for(c.shared_width()), seed, first_tensor_id + 4);
  }
}

}  // namespace rlmoe::moe
