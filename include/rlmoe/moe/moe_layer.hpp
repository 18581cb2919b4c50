#pragma once
// A DeepSeek-style Mixture-of-Experts feed-forward layer, forward and backward, on any backend:
//   y = sum_{shared} FFN_s(u) + sum_{i in TopK(u)} g_i(u) FFN_i(u)
// or, with the gates on the expert inputs (GatePlacement::Input, Llama 4), FFN_i(g_i(u) u)
// (the residual connection belongs to the surrounding block). The layer owns its routing state
// (the selection bias, which update_bias() moves under aux-loss-free balancing and a loaded
// checkpoint may set, and the load since the last bias update) and the activations its backward pass
// needs; parameters and gradients are views into the caller's flat buffers (parameters.hpp).
//
// Forward, all on the backend:
//   logits = u W_r^T                           gemm
//   scores, top-K ids, gates, z-loss terms     one kernel per token (router.hpp)
//   balance-loss terms                         one kernel per (segment, expert) (balancing.hpp)
//   counts, offsets                            histogram, scan; offsets copied to the host (the
//                                              grouped GEMM sizes)
//   stable sort of slots by expert             sort_pairs (CUB radix sort on Cuda)
//   gather -> experts -> scatter -> combine    dispatch.hpp, experts.hpp (grouped GEMMs); under
//                                              expert parallelism the expert-sorted rows travel to
//                                              the ranks that hold their experts and back
//                                              (expert_parallel.hpp)
//   shared experts                             dense SwiGLU, added into y
// Backward mirrors it; the router weights get their gradient through the gates (and the balance
// and z losses), never through the discrete selection.
//
// Stored as bfloat16, the layer's rows and expert products are bf16 while routing stays in float
// (as DeepSeek-V3 gates in fp32): the router's logits accumulate in float, and its scores, gates,
// balance terms and their gradients are float; the parameter gradients are float (master_t<T>).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/histogram.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/scan.hpp"
#include "rlmoe/backend/sort.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/layers/mlp.hpp"
#include "rlmoe/moe/balancing.hpp"
#include "rlmoe/moe/config.hpp"
#include "rlmoe/moe/dispatch.hpp"
#include "rlmoe/moe/expert_parallel.hpp"
#include "rlmoe/moe/experts.hpp"
#include "rlmoe/moe/metrics.hpp"
#include "rlmoe/moe/parameters.hpp"
#include "rlmoe/moe/router.hpp"

namespace rlmoe::moe {

namespace detail {

/// aux[0] = balance + z_scale * z_sum.
struct CombineAuxLoss {
  VectorView<double> aux;
  const double* balance;
  const double* z_sum;
  double z_scale;
  RLMOE_HOST_DEVICE void operator()(index_t) const { aux[0] = *balance + z_scale * *z_sum; }
};

/// local_experts: the routed experts this rank holds (all of them without expert parallelism).
template <class T>
void check_moe_parameters(const MoeParameters<T>& p, const MoeConfig& c, index_t local_experts, const std::string& what) {
  const index_t e = c.routed_experts, d = c.model_dim, h = c.expert_hidden, hs = c.shared_width();
  require_shape(p.router, Extents<2>{e, d}, what + " router");
  require_shape(p.expert_gate_up, Extents<3>{local_experts, d, 2 * h}, what + " expert_gate_up");
  require_shape(p.expert_down, Extents<3>{local_experts, h, d}, what + " expert_down");
  if (hs > 0) {
    require_shape(p.shared_gate_up, Extents<2>{d, 2 * hs}, what + " shared_gate_up");
    require_shape(p.shared_down, Extents<2>{hs, d}, what + " shared_down");
  }
}

}  // namespace detail

template <Backend B, class T = float>
class MoeLayer {
  using C = compute_t<T>;
  using G = master_t<T>;

 public:
  struct ForwardOptions {
    /// Tokens per sequence, for the sequence-wise balance loss; 0: the whole batch is one sequence.
    index_t sequence_length = 0;
    /// [T, K] experts to use instead of selecting them (routing replay); empty: select.
    MatrixView<const std::int32_t> replay;
    /// Count this pass's routing towards the next aux-loss-free bias update (training passes).
    bool accumulate_load = true;

    /// A pass that does not count towards balancing: sampling, scoring with a frozen model.
    static ForwardOptions inference() {
      ForwardOptions options;
      options.accumulate_load = false;
      return options;
    }
  };

  /// ep: the expert-parallel place of this rank; its parameters then hold only its own experts
  /// (ep.local_experts(), from ep.first_expert()), and every rank of its expert group must run
  /// the same passes in the same order (each pass exchanges rows with all of them).
  MoeLayer(const B& backend, const MoeConfig& config, const ExpertParallel<B>& ep = {})
      : backend_(backend),
        config_(config),
        ep_(ep),
        local_experts_(ep.local_experts(config.routed_experts)),
        dispatch_(backend, ep),
        bias_(backend, config.routed_experts),
        load_(backend, config.routed_experts),
        counts_(backend, config.routed_experts),
        offsets_(backend, config.routed_experts + 1),
        aux_(backend, 3) {
    config_.validate();
    RLMOE_CHECK(config_.topk_groups <= kMaxTopkGroups, ConfigError, "MoeConfig: topk_groups is ", config_.topk_groups,
                " but at most ", kMaxTopkGroups, " are supported");
    fill(backend, bias_.view(), 0.0f);
    fill(backend, load_.view(), std::int64_t{0});
    fill(backend, counts_.view(), 0);
    fill(backend, aux_.view(), 0.0);
  }

  [[nodiscard]] const MoeConfig& config() const { return config_; }
  [[nodiscard]] const ExpertParallel<B>& expert_parallel() const { return ep_; }

  /// y = MoE(x) for x, y [T, d]. x must stay alive and unchanged until backward().
  void forward(const MoeParameters<const T>& p, MatrixView<const T> x, MatrixView<T> y, const ForwardOptions& options = {}) {
    const B& backend = backend_;
    const index_t d = config_.model_dim, e = config_.routed_experts, k = config_.top_k;
    const index_t tokens = x.extent(0);
    detail::check_moe_parameters(p, config_, local_experts_, "MoeLayer::forward: parameters");
    require_shape(x, Extents<2>{tokens, d}, "MoeLayer::forward: x");
    require_shape(y, Extents<2>{tokens, d}, "MoeLayer::forward: y");
    if (options.replay.data() != nullptr) require_shape(options.replay, Extents<2>{tokens, k}, "MoeLayer::forward: replay");
    // The sequence-wise balance loss works on sequences, the Switch loss on the whole batch.
    const bool per_sequence = config_.balancing == Balancing::SequenceAux && options.sequence_length > 0;
    segment_length_ = per_sequence ? options.sequence_length : std::max<index_t>(tokens, 1);
    RLMOE_CHECK(tokens % segment_length_ == 0, ShapeError, "MoeLayer::forward: ", tokens,
                " tokens are not a whole number of sequences of length ", segment_length_);
    tokens_ = tokens;
    x_ = x;
    allocate(tokens);
    if (tokens == 0) {
      // Under expert parallelism a rank without tokens still runs its experts for the others.
      host_offsets_.assign(static_cast<std::size_t>(e + 1), 0);
      if (ep_.size() > 1) routed_experts_forward(p);
      return;
    }

    // Router.
    gemm<B, C>(backend, Transpose::No, Transpose::Yes, C(1), x, p.router, C(0), logits());
    const RoutingRule rule = RoutingRule::from(config_);
    // The selection bias always steers: zero unless aux-loss-free balancing has moved it or a
    // checkpoint set it (DeepSeek-V3's e_score_correction_bias routes its inference too).
    transform_reduce(backend, tokens,
                     RouteTokens<C>{rule, logits(), VectorView<const float>(bias_.view()), options.replay, scores(), score_sums_.view().slice(0, tokens),
                                    ids(), gates()},
                     aux_.view().slice(2, 3), Sum{}, 0.0);
    if (uses_balance_loss()) {
      transform_reduce(backend, (tokens / segment_length_) * e,
                       BalanceLossTerms<C>{scores(), score_sums_.view().slice(0, tokens), ids(), segment_length_,
                                           config_.aux_loss_coef, balance_grad()},
                       aux_.view().slice(1, 2), Sum{}, 0.0);
    } else {
      fill(backend, aux_.view().slice(1, 2), 0.0);
    }
    parallel_for(backend, 1,
                 detail::CombineAuxLoss{aux_.view().slice(0, 1), aux_.data() + 1, aux_.data() + 2,
                                        static_cast<double>(config_.z_loss_coef) / static_cast<double>(tokens)});

    // Dispatch: expert ranges, and the slots sorted by expert.
    const index_t slots = tokens * k;
    const VectorView<const std::int32_t> flat_ids(ids_.data(), Extents<1>{slots});
    histogram<B, std::int32_t>(backend, flat_ids, counts_.view());
    if (options.accumulate_load && config_.balancing == Balancing::AuxLossFree) {
      parallel_for(backend, e, AccumulateLoad{counts_.view(), load_.view()});
      slots_since_update_ += slots;
    }
    exclusive_scan(backend, counts_.view(), offsets_.view());
    const std::vector<std::int32_t> offsets = to_host(backend, offsets_.view());
    host_offsets_.assign(offsets.begin(), offsets.end());
    parallel_for(backend, slots, SlotIndices{slot_indices_.view().slice(0, slots)});
    sort_pairs<B, std::int32_t, std::int32_t>(backend, flat_ids, slot_indices_.view().slice(0, slots),
                                              sorted_ids_.view().slice(0, slots), sorted_slots(), key_bits());

    // Routed experts, then back to slot order and combined, each gate applied to its expert's
    // input or to its output.
    const bool gated_input = config_.gate_placement == GatePlacement::Input;
    parallel_for(backend, slots * d, GatherSlotRows<T>{x, sorted_slots(), k, gated_input ? gates() : MatrixView<C>{}, x_sorted()});
    routed_experts_forward(p);
    parallel_for(backend, slots * d, ScatterToSlots<T>{expert_out(), sorted_slots(), slot_rows()});
    parallel_for(backend, tokens * d, CombineSlots<T>{slot_rows(), gated_input ? MatrixView<C>{} : gates(), k, C(0), y});
    if (config_.shared_width() > 0)
      layers::swiglu_mlp_forward<B, T>(backend, x, p.shared_gate_up, p.shared_down, shared_activations(), y, C(1));
  }

  /// From dy [T, d] of the last forward pass: dx [T, d] (overwritten) and the parameter
  /// gradients, which accumulate into `grad`.
  void backward(const MoeParameters<const T>& p, MatrixView<const T> dy, MatrixView<T> dx, const MoeParameters<G>& grad) {
    const B& backend = backend_;
    const index_t d = config_.model_dim, k = config_.top_k, tokens = tokens_, slots = tokens * k;
    detail::check_moe_parameters(p, config_, local_experts_, "MoeLayer::backward: parameters");
    detail::check_moe_parameters(grad, config_, local_experts_, "MoeLayer::backward: gradients");
    require_shape(dy, Extents<2>{tokens, d}, "MoeLayer::backward: dy");
    require_shape(dx, Extents<2>{tokens, d}, "MoeLayer::backward: dx");
    if (tokens == 0) {
      if (ep_.size() > 1) routed_experts_backward(p, grad);
      return;
    }

    C dx_beta = C(0);
    if (config_.shared_width() > 0) {
      layers::swiglu_mlp_backward<B, T>(backend, x_, p.shared_gate_up, p.shared_down, shared_activations(), dy,
                                    shared_scratch(), grad.shared_gate_up, grad.shared_down, dx, C(0));
      dx_beta = C(1);
    }
    // Routed experts: the gradients of the gates, the expert inputs and the weights. A gate on the
    // output has d g = <FFN(u), dy>; a gate on the input d g = <u, d(g u)>.
    if (config_.gate_placement == GatePlacement::Output) {
      parallel_for(backend, slots, GateGradients<T>{slot_rows(), dy, d_gates()});
      parallel_for(backend, slots * d, GatherSlotRows<T>{dy, sorted_slots(), k, gates(), d_expert_out()});
      routed_experts_backward(p, grad);
      parallel_for(backend, slots * d, ScatterToSlots<T>{d_x_sorted(), sorted_slots(), slot_rows_grad()});
      parallel_for(backend, tokens * d, CombineSlots<T>{slot_rows_grad(), {}, k, dx_beta, dx});
    } else {
      parallel_for(backend, slots * d, GatherSlotRows<T>{dy, sorted_slots(), k, {}, d_expert_out()});
      routed_experts_backward(p, grad);
      parallel_for(backend, slots * d, ScatterToSlots<T>{d_x_sorted(), sorted_slots(), slot_rows_grad()});
      parallel_for(backend, slots, GateGradients<T>{slot_rows_grad(), x_, d_gates()});
      parallel_for(backend, tokens * d, CombineSlots<T>{slot_rows_grad(), gates(), k, dx_beta, dx});
    }

    // Router: d logits through the gates, the balance loss and the z-loss.
    const RoutingRule rule = RoutingRule::from(config_);
    parallel_for(backend, tokens,
                 RouteTokensBackward<C>{rule, logits(), scores(), score_sums_.view().slice(0, tokens), ids(), d_gates(),
                                        uses_balance_loss() ? MatrixView<const C>(balance_grad()) : MatrixView<const C>{},
                                        segment_length_,
                                        2.0 * static_cast<double>(config_.z_loss_coef) / static_cast<double>(tokens),
                                        d_logits()});
    const MatrixView<const T> d_router_logits = router_gradient();
    gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), d_router_logits, x_, C(1), grad.router);
    gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), d_router_logits, p.router, C(1), dx);
  }

  /// Aux-loss-free balancing, after an optimizer step: b_i += gamma sign(mean load - load_i) over
  /// the tokens routed since the last update; data parallel, over the tokens of every rank of
  /// `comm` (the load is all-reduced), so that the ranks' biases stay equal.
  template <dist::Communicator Comm = dist::SingleProcess>
  void update_bias(const Comm& comm = {}) {
    RLMOE_CHECK(config_.balancing == Balancing::AuxLossFree, ConfigError,
                "MoeLayer::update_bias: the layer's balancing is not AuxLossFree");
    if (comm.size() > 1) {
      dist::all_reduce(comm, backend_, load_.view(), Sum{});
      slots_since_update_ = dist::all_reduce_value(comm, slots_since_update_);
    }
    const double mean = static_cast<double>(slots_since_update_) / static_cast<double>(config_.routed_experts);
    parallel_for(backend_, config_.routed_experts, UpdateBias{load_.view(), bias_.view(), mean, config_.bias_update_rate});
    slots_since_update_ = 0;
  }

  /// The experts each token used in the last forward pass, [T, K]: record these while sampling
  /// and pass them as ForwardOptions::replay to train on the same routing.
  [[nodiscard]] MatrixView<const std::int32_t> routed_experts() const { return {ids_.data(), Extents<2>{tokens_, config_.top_k}}; }
  [[nodiscard]] MatrixView<const C> gate_values() const { return {gates_.data(), Extents<2>{tokens_, config_.top_k}}; }
  /// Tokens per expert in the last forward pass, [E].
  [[nodiscard]] VectorView<const std::int32_t> expert_counts() const { return counts_.view(); }
  /// The balance loss plus the z-loss of the last forward pass, [1] in backend memory: add it to
  /// the training loss (its gradient is already part of backward()).
  [[nodiscard]] VectorView<const double> aux_loss() const { return aux_.view().slice(0, 1); }
  [[nodiscard]] VectorView<float> bias() { return bias_.view(); }
  [[nodiscard]] VectorView<const float> bias() const { return bias_.view(); }

  /// Load metrics of the last forward pass (copies the counts to the host).
  [[nodiscard]] MoeMetrics metrics() const {
    return MoeMetrics::from_counts(to_host(backend_, counts_.view()), to_host(backend_, aux_loss())[0]);
  }

 private:
  /// x_sorted -> expert_out: this rank's rows through their experts, here or on the ranks that
  /// hold them.
  void routed_experts_forward(const MoeParameters<const T>& p) {
    if (ep_.size() == 1) {
      expert_rows_ = tokens_ * config_.top_k;
      experts_forward<B, T>(backend_, host_offsets_, x_sorted(), p.expert_gate_up, p.expert_down, expert_activations(), expert_out());
      return;
    }
    dispatch_.plan(host_offsets_, config_.model_dim);
    expert_rows_ = dispatch_.rows();
    allocate_expert_rows(expert_rows_);
    dispatch_.to_experts(x_sorted(), local_rows(local_in_));
    experts_forward<B, T>(backend_, dispatch_.local_offsets(), local_rows(local_in_), p.expert_gate_up, p.expert_down,
                          expert_activations(), local_rows(local_out_));
    dispatch_.from_experts(local_rows(local_out_), expert_out());
  }

  /// d_expert_out -> d_x_sorted, and the local experts' weight gradients (from every rank's rows).
  void routed_experts_backward(const MoeParameters<const T>& p, const MoeParameters<G>& grad) {
    if (ep_.size() == 1) {
      experts_backward<B, T>(backend_, host_offsets_, x_sorted(), p.expert_gate_up, p.expert_down, expert_activations(),
                             d_expert_out(), expert_scratch(), grad.expert_gate_up, grad.expert_down, d_x_sorted());
      return;
    }
    dispatch_.to_experts(d_expert_out(), local_rows(d_local_out_));
    experts_backward<B, T>(backend_, dispatch_.local_offsets(), local_rows(local_in_), p.expert_gate_up, p.expert_down,
                           expert_activations(), local_rows(d_local_out_), expert_scratch(), grad.expert_gate_up,
                           grad.expert_down, local_rows(d_local_in_));
    dispatch_.from_experts(local_rows(d_local_in_), d_x_sorted());
  }

  [[nodiscard]] bool uses_balance_loss() const {
    return config_.balancing == Balancing::SequenceAux || config_.balancing == Balancing::SwitchAux;
  }
  [[nodiscard]] int key_bits() const {
    return std::max(1, static_cast<int>(std::bit_width(static_cast<std::uint64_t>(config_.routed_experts - 1))));
  }

  template <class U>
  void ensure(Buffer<U, B>& buffer, index_t size) {
    if (buffer.size() < size) buffer = Buffer<U, B>(backend_, size);
  }

  /// d logits as the router's products take them: themselves, or rounded to bf16 (the GEMMs
  /// multiply two bf16 operands; the float logits' gradient is rounded once).
  MatrixView<const T> router_gradient() {
    if constexpr (std::is_same_v<T, C>) {
      return d_logits();
    } else {
      const MatrixView<T> narrow = matrix(d_logits_narrow_, tokens_, config_.routed_experts);
      parallel_for(backend_, narrow.size(), rlmoe::detail::ConvertMatrix<C, T>{d_logits(), narrow});
      return narrow;
    }
  }

  void allocate(index_t tokens) {
    const index_t d = config_.model_dim, e = config_.routed_experts, k = config_.top_k;
    const index_t slots = tokens * k, hs = config_.shared_width();
    for (auto* b : {&logits_, &scores_, &d_logits_}) ensure(*b, tokens * e);
    if constexpr (!std::is_same_v<T, C>) ensure(d_logits_narrow_, tokens * e);
    ensure(score_sums_, tokens);
    for (auto* b : {&gates_, &d_gates_}) ensure(*b, slots);
    for (auto* b : {&ids_, &slot_indices_, &sorted_ids_, &sorted_slots_}) ensure(*b, slots);
    ensure(balance_grad_, (tokens / std::max<index_t>(segment_length_, 1)) * e);
    for (auto* b : {&x_sorted_, &expert_out_, &slot_rows_, &d_expert_out_, &d_x_sorted_, &slot_rows_grad_})
      ensure(*b, slots * d);
    allocate_expert_rows(slots);
    for (auto* b : {&shared_gate_up_, &shared_d_gate_up_}) ensure(*b, tokens * 2 * hs);
    for (auto* b : {&shared_hidden_, &shared_d_hidden_}) ensure(*b, tokens * hs);
  }
  /// The rows this rank's experts run: its own slots, or under expert parallelism what it receives.
  void allocate_expert_rows(index_t rows) {
    const index_t d = config_.model_dim, h = config_.expert_hidden;
    for (auto* b : {&gate_up_, &d_gate_up_}) ensure(*b, rows * 2 * h);
    for (auto* b : {&hidden_, &d_hidden_}) ensure(*b, rows * h);
    if (ep_.size() > 1)
      for (auto* b : {&local_in_, &local_out_, &d_local_out_, &d_local_in_}) ensure(*b, rows * d);
  }
  MatrixView<T> local_rows(Buffer<T, B>& b) { return matrix(b, expert_rows_, config_.model_dim); }

  // Views of the current batch inside the (possibly larger) buffers.
  template <class U>
  MatrixView<U> matrix(Buffer<U, B>& b, index_t rows, index_t cols) {
    return {b.data(), Extents<2>{rows, cols}};
  }
  MatrixView<C> logits() { return matrix(logits_, tokens_, config_.routed_experts); }
  MatrixView<C> scores() { return matrix(scores_, tokens_, config_.routed_experts); }
  MatrixView<C> d_logits() { return matrix(d_logits_, tokens_, config_.routed_experts); }
  MatrixView<C> gates() { return matrix(gates_, tokens_, config_.top_k); }
  MatrixView<C> d_gates() { return matrix(d_gates_, tokens_, config_.top_k); }
  MatrixView<std::int32_t> ids() { return {ids_.data(), Extents<2>{tokens_, config_.top_k}}; }
  VectorView<std::int32_t> sorted_slots() { return sorted_slots_.view().slice(0, tokens_ * config_.top_k); }
  MatrixView<C> balance_grad() { return matrix(balance_grad_, tokens_ / segment_length_, config_.routed_experts); }
  MatrixView<T> slot_matrix(Buffer<T, B>& b) { return matrix(b, tokens_ * config_.top_k, config_.model_dim); }
  MatrixView<T> x_sorted() { return slot_matrix(x_sorted_); }
  MatrixView<T> expert_out() { return slot_matrix(expert_out_); }
  MatrixView<T> slot_rows() { return slot_matrix(slot_rows_); }
  MatrixView<T> d_expert_out() { return slot_matrix(d_expert_out_); }
  MatrixView<T> d_x_sorted() { return slot_matrix(d_x_sorted_); }
  MatrixView<T> slot_rows_grad() { return slot_matrix(slot_rows_grad_); }
  layers::SwigluActivations<T> expert_activations() {
    const index_t h = config_.expert_hidden;
    return {matrix(gate_up_, expert_rows_, 2 * h), matrix(hidden_, expert_rows_, h)};
  }
  layers::SwigluActivations<T> expert_scratch() {
    const index_t h = config_.expert_hidden;
    return {matrix(d_gate_up_, expert_rows_, 2 * h), matrix(d_hidden_, expert_rows_, h)};
  }
  layers::SwigluActivations<T> shared_activations() {
    const index_t hs = config_.shared_width();
    return {matrix(shared_gate_up_, tokens_, 2 * hs), matrix(shared_hidden_, tokens_, hs)};
  }
  layers::SwigluActivations<T> shared_scratch() {
    const index_t hs = config_.shared_width();
    return {matrix(shared_d_gate_up_, tokens_, 2 * hs), matrix(shared_d_hidden_, tokens_, hs)};
  }

  B backend_;  // a copy: Host is a few bytes, Cuda a shared handle
  MoeConfig config_;
  ExpertParallel<B> ep_;
  index_t local_experts_;
  ExpertDispatch<B, T> dispatch_;
  Buffer<float, B> bias_;
  Buffer<std::int64_t, B> load_;
  index_t slots_since_update_ = 0;
  Buffer<std::int32_t, B> counts_, offsets_;
  Buffer<double, B> aux_;  // [aux loss, balance loss, sum of lse^2]
  std::vector<index_t> host_offsets_;

  // The last forward pass.
  index_t tokens_ = 0;
  index_t segment_length_ = 1;
  MatrixView<const T> x_;
  Buffer<C, B> logits_, scores_, score_sums_, gates_, balance_grad_;  // routing: in the compute type
  Buffer<std::int32_t, B> ids_, slot_indices_, sorted_ids_, sorted_slots_;
  Buffer<T, B> x_sorted_, gate_up_, hidden_, expert_out_, slot_rows_, shared_gate_up_, shared_hidden_;
  // Backward scratch.
  Buffer<C, B> d_logits_, d_gates_;
  Buffer<T, B> d_logits_narrow_;  // bf16 layers only
  Buffer<T, B> d_expert_out_, d_gate_up_, d_hidden_, d_x_sorted_, slot_rows_grad_, shared_d_gate_up_, shared_d_hidden_;
  // Expert parallelism: the rows this rank's experts run (local expert order).
  index_t expert_rows_ = 0;
  Buffer<T, B> local_in_, local_out_, d_local_out_, d_local_in_;
};

}  // namespace rlmoe::moe
