#pragma once
// Transformer<Backend, Spec>: a decoder-only language model whose feed-forward blocks are dense
// SwiGLU (layers before Spec::kFirstMoeLayer, as DeepSeek keeps its first layers dense) or the
// MoE layer, with pre-RMSNorm blocks, rotary causal attention and a tied or separate LM head:
//
//   x = embed[tokens]
//   per layer: x += attention(rmsnorm(x)) Wo;  x += ffn(rmsnorm(x))
//   logits = rmsnorm(x) W_lm   (W_lm = embed^T when tied)
//
// It is the policy GRPO trains. forward() scores the completion tokens of a batch of
// prompt + completion sequences: the log-probability (and entropy) of each completion token given
// everything before it, [B, Tc]; backward() takes d loss / d logp (and d loss / d entropy) from
// there and accumulates the gradient of every parameter into one flat buffer. prefill() and
// decode() run the same model one token at a time over a KV cache, for sampling.
//
// Parameters and gradients are two flat buffers with one ParameterLayout (names below); the
// per-tensor views come from it. Initialisation: N(0, 1/d) for the embedding (so that tied
// logits start O(1)), N(0, 1/fan_in) for every projection, ones for the norm weights.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/parameter_layout.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/moe/moe_layer.hpp"
#include "rlmoe/moe/parameters.hpp"
#include "rlmoe/nn/attention.hpp"
#include "rlmoe/nn/embedding.hpp"
#include "rlmoe/nn/init.hpp"
#include "rlmoe/nn/log_softmax.hpp"
#include "rlmoe/nn/mlp.hpp"
#include "rlmoe/nn/rmsnorm.hpp"
#include "rlmoe/nn/rope.hpp"
#include "rlmoe/nn/transformer_spec.hpp"

namespace rlmoe::nn {

/// Training hyperparameters of the MoE layers (the architecture is in the Spec).
struct MoeTraining {
  moe::Balancing balancing = moe::Balancing::AuxLossFree;
  float bias_update_rate = 1e-3f;
  float aux_loss_coef = 1e-4f;
  float z_loss_coef = 0.0f;
};

/// Prompt-then-completion sequences, right-padded to a common length L.
struct SequenceBatch {
  MatrixView<const std::int32_t> tokens;          ///< [B, L]
  VectorView<const std::int32_t> lengths;         ///< [B]: prompt + completion tokens, <= L
  VectorView<const std::int32_t> prompt_lengths;  ///< [B]: >= 1
  index_t completion_width = 0;                   ///< Tc: width of the [B, Tc] outputs
};

namespace detail {

/// a += b, elementwise.
template <class T>
struct AddInPlace {
  MatrixView<T> a;
  MatrixView<const T> b;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { a.at_flat(i) += b.at_flat(i); }
};

/// Position of each row of a [B, L] batch: t.
struct RowPositions {
  VectorView<std::int32_t> positions;
  index_t length;
  RLMOE_HOST_DEVICE void operator()(index_t n) const { positions[n] = static_cast<std::int32_t>(n % length); }
};

/// For completion token j of sequence b (output i = b Tc + j): the logits row that predicts it
/// (the position before it) and the token, or row -1 past the end of the completion.
struct CompletionRows {
  SequenceBatch batch;
  VectorView<std::int32_t> rows, targets;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t width = batch.completion_width, length = batch.tokens.extent(1);
    const index_t b = i / width, position = batch.prompt_lengths[b] + (i - b * width);
    const bool inside = position < batch.lengths[b];
    rows[i] = inside ? static_cast<std::int32_t>(b * length + position - 1) : -1;
    targets[i] = inside ? batch.tokens(b, position) : 0;
  }
};

/// out[b, :] = in[b L + last[b] - 1, :]: the row of each sequence's last token.
template <class T>
struct GatherLastRows {
  MatrixView<const T> in;
  VectorView<const std::int32_t> lengths;
  index_t length;
  MatrixView<T> out;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t width = out.extent(1), b = i / width, c = i - b * width;
    out(b, c) = in(b * length + lengths[b] - 1, c);
  }
};

/// cache[b, h, t, :] = rows[b L + t, h dh ..]: a prefilled batch's keys or values into the cache.
template <class T>
struct FillKvCache {
  MatrixView<const T> rows;  ///< [B L, H dh]
  index_t length;
  TensorView<T, 4> cache;    ///< [B, H, Lmax, dh]
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t heads = cache.extent(1), dh = cache.extent(3), width = heads * dh;
    const index_t n = i / width, c = i - n * width, b = n / length, t = n - b * length, h = c / dh;
    cache(b, h, t, c - h * dh) = rows(n, c);
  }
};

}  // namespace detail

template <Backend B, TransformerSpec Spec, class T = float>
class Transformer {
  static_assert(CheckedSpec<Spec>::kValid);

 public:
  static constexpr index_t kVocab = Spec::kVocab, kDim = Spec::kModelDim, kLayers = Spec::kLayers;
  static constexpr index_t kHeads = Spec::kHeads, kHeadDim = Spec::kModelDim / Spec::kHeads;

  /// Routing replay for a forward pass: per MoE layer (in layer order), the [B L, K] experts to
  /// use; empty: select.
  using RoutingReplay = std::vector<MatrixView<const std::int32_t>>;

  /// The KV cache and scratch of sequences being sampled one token at a time.
  class DecodeState {
   public:
    DecodeState(const B& backend, index_t batch, index_t max_length)
        : batch_(batch), max_length_(max_length), keys_(backend, kLayers * batch * kHeads * max_length * kHeadDim),
          values_(backend, kLayers * batch * kHeads * max_length * kHeadDim) {
      RLMOE_CHECK(max_length >= 1 && max_length <= Spec::kMaxLength, ConfigError, "DecodeState: max_length is ", max_length,
                  " but must lie in [1, Spec::kMaxLength = ", Spec::kMaxLength, "]");
    }
    [[nodiscard]] index_t batch() const { return batch_; }
    [[nodiscard]] index_t max_length() const { return max_length_; }
    TensorView<T, 4> keys(index_t layer) { return cache(keys_, layer); }
    TensorView<T, 4> values(index_t layer) { return cache(values_, layer); }

   private:
    TensorView<T, 4> cache(Buffer<T, B>& buffer, index_t layer) {
      const index_t size = batch_ * kHeads * max_length_ * kHeadDim;
      return {buffer.data() + layer * size, Extents<4>{batch_, kHeads, max_length_, kHeadDim}};
    }
    index_t batch_, max_length_;
    Buffer<T, B> keys_, values_;
  };

  explicit Transformer(const B& backend, const MoeTraining& training = {})
      : backend_(backend), layout_(make_layout()), parameters_(backend, layout_.size()), gradients_(backend, layout_.size()) {
    fill(backend, parameters_.view(), T(0));
    fill(backend, gradients_.view(), T(0));
    for (index_t l = Spec::kFirstMoeLayer; l < kLayers; ++l) moe_layers_.emplace_back(backend, moe_config(training));
    layers_.resize(static_cast<std::size_t>(kLayers));
  }

  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  [[nodiscard]] static bool is_moe_layer(index_t layer) { return layer >= Spec::kFirstMoeLayer; }

  /// The MoE configuration of the Spec's MoE layers with the given training settings.
  static moe::MoeConfig moe_config(const MoeTraining& training = {}) {
    moe::MoeConfig c;
    c.model_dim = kDim;
    c.expert_hidden = Spec::kExpertHidden;
    c.routed_experts = Spec::kRoutedExperts;
    c.top_k = Spec::kTopK;
    c.shared_experts = Spec::kSharedExperts;
    c.score_function = Spec::kScoreFunction;
    c.routed_scaling = Spec::kRoutedScaling;
    c.groups = Spec::kGroups;
    c.topk_groups = Spec::kTopkGroups;
    c.balancing = training.balancing;
    c.bias_update_rate = training.bias_update_rate;
    c.aux_loss_coef = training.aux_loss_coef;
    c.z_loss_coef = training.z_loss_coef;
    return c;
  }

  static ParameterLayout make_layout() {
    ParameterLayout layout;
    layout.add("embed", {kVocab, kDim});
    for (index_t l = 0; l < kLayers; ++l) {
      const std::string p = layer_prefix(l);
      layout.add(p + "attn_norm", {kDim});
      for (const char* w : {"wq", "wk", "wv", "wo"}) layout.add(p + w, {kDim, kDim});
      layout.add(p + "ffn_norm", {kDim});
      if (is_moe_layer(l)) {
        moe::declare_moe_parameters(layout, p + "moe.", moe_config());
      } else {
        layout.add(p + "ffn.gate_up", {kDim, 2 * Spec::kDenseHidden});
        layout.add(p + "ffn.down", {Spec::kDenseHidden, kDim});
      }
    }
    layout.add("final_norm", {kDim});
    if (!Spec::kTiedEmbeddings) layout.add("lm_head", {kDim, kVocab});
    return layout;
  }

  [[nodiscard]] const ParameterLayout& layout() const { return layout_; }
  [[nodiscard]] VectorView<T> parameters() { return parameters_.view(); }
  [[nodiscard]] VectorView<const T> parameters() const { return parameters_.view(); }
  [[nodiscard]] VectorView<T> gradients() { return gradients_.view(); }
  [[nodiscard]] VectorView<const T> gradients() const { return gradients_.view(); }
  [[nodiscard]] std::vector<moe::MoeLayer<B, T>>& moe_layers() { return moe_layers_; }
  [[nodiscard]] const std::vector<moe::MoeLayer<B, T>>& moe_layers() const { return moe_layers_; }

  /// Seeded initialisation (see the file comment); the same values on every backend.
  void initialize(std::uint64_t seed) {
    const B& backend = backend_;
    std::uint64_t id = 0;
    const auto normal = [&](const std::string& name, index_t fan_in) {
      const auto& e = layout_.find(name);
      initialize_normal(backend, VectorView<T>(parameters_.data() + e.offset, Extents<1>{e.size}),
                        static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in))), seed, id++);
    };
    const auto ones = [&](const std::string& name) { fill(backend, layout_.view<1>(parameters_.data(), name), T(1)); };
    normal("embed", kDim);
    for (index_t l = 0; l < kLayers; ++l) {
      const std::string p = layer_prefix(l);
      ones(p + "attn_norm");
      ones(p + "ffn_norm");
      for (const char* w : {"wq", "wk", "wv", "wo"}) normal(p + w, kDim);
      if (is_moe_layer(l)) {
        moe::initialize_moe_parameters(backend, moe_parameters(parameters_.data(), l), moe_config(), seed, id);
        id += 5;
      } else {
        normal(p + "ffn.gate_up", kDim);
        normal(p + "ffn.down", Spec::kDenseHidden);
      }
    }
    ones("final_norm");
    if (!Spec::kTiedEmbeddings) normal("lm_head", kDim);
  }

  void zero_gradients() { fill(backend_, gradients_.view(), T(0)); }

  /// Copies another model's parameters and routing biases (a frozen reference policy).
  void copy_from(const Transformer& other) {
    copy(backend_, parameters_.view(), other.parameters_.view());
    for (std::size_t i = 0; i < moe_layers_.size(); ++i)
      copy(backend_, moe_layers_[i].bias(), other.moe_layers_[i].bias());
  }

  /// After an optimizer step: the aux-loss-free bias update of every MoE layer that uses it.
  void update_routing_bias() {
    for (auto& layer : moe_layers_)
      if (layer.config().balancing == moe::Balancing::AuxLossFree) layer.update_bias();
  }

  /// Log-probabilities (and entropies, when the view is given) of every completion token, [B, Tc],
  /// zero past each completion's end. Keeps what backward() needs.
  void forward(const SequenceBatch& batch, MatrixView<T> logp, MatrixView<T> entropy = {}, const RoutingReplay& replay = {},
               bool accumulate_load = true) {
    check_batch(batch);
    const index_t b = batch.tokens.extent(0), tc = batch.completion_width;
    require_shape(logp, Extents<2>{b, tc}, "Transformer::forward: logp");
    if (entropy.data() != nullptr) require_shape(entropy, Extents<2>{b, tc}, "Transformer::forward: entropy");
    RLMOE_CHECK(replay.empty() || static_cast<index_t>(replay.size()) == static_cast<index_t>(moe_layers_.size()),
                ShapeError, "Transformer::forward: routing replay has ", replay.size(), " layers but the model has ",
                moe_layers_.size(), " MoE layers");
    batch_ = batch;
    hidden_forward(batch, replay, accumulate_load);
    const B& backend = backend_;
    parallel_for(backend, b * tc, detail::CompletionRows{batch, completion_rows_.view().slice(0, b * tc),
                                                         completion_targets_.view().slice(0, b * tc)});
    parallel_for(backend, b * tc,
                 TokenLogProbs<T>{logits(), completion_rows_.view().slice(0, b * tc),
                                  completion_targets_.view().slice(0, b * tc), logp.reshape(Extents<1>{b * tc}),
                                  entropy.data() != nullptr ? entropy.reshape(Extents<1>{b * tc}) : VectorView<T>{}});
  }

  /// From d loss / d logp (and d loss / d entropy) of the last forward pass: accumulates every
  /// parameter's gradient into gradients().
  void backward(MatrixView<const T> d_logp, MatrixView<const T> d_entropy = {}) {
    const B& backend = backend_;
    const index_t b = batch_.tokens.extent(0), tc = batch_.completion_width, n = tokens_;
    require_shape(d_logp, Extents<2>{b, tc}, "Transformer::backward: d_logp");
    fill(backend, d_logits(), T(0));
    parallel_for(backend, b * tc,
                 TokenLogProbsBackward<T>{logits(), completion_rows_.view().slice(0, b * tc),
                                          completion_targets_.view().slice(0, b * tc), d_logp.reshape(Extents<1>{b * tc}),
                                          d_entropy.data() != nullptr ? d_entropy.reshape(Extents<1>{b * tc}) : VectorView<const T>{},
                                          d_logits()});
    // LM head and final norm.
    const MatrixView<T> dh = scratch(dh_, n, kDim), dx = scratch(dx_, n, kDim);
    if (Spec::kTiedEmbeddings) {
      gemm<B, T>(backend, Transpose::Yes, Transpose::No, T(1), d_logits(), final_hidden(), T(1), grad_matrix("embed"));
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), d_logits(), param_matrix("embed"), T(0), dh);
    } else {
      gemm<B, T>(backend, Transpose::Yes, Transpose::No, T(1), final_hidden(), d_logits(), T(1), grad_matrix("lm_head"));
      gemm<B, T>(backend, Transpose::No, Transpose::Yes, T(1), d_logits(), param_matrix("lm_head"), T(0), dh);
    }
    rmsnorm_backward<B, T>(backend, final_input(), param_vector("final_norm"), final_inverse_rms(), dh, dx,
                           grad_vector("final_norm"));
    for (index_t l = kLayers - 1; l >= 0; --l) layer_backward(l, dx);
    embedding_backward<B, T>(backend, token_rows(), dx, grad_matrix("embed"));
  }

  /// The auxiliary losses (balance and z) of the MoE layers in the last forward pass, summed.
  /// Add it to the training loss for reporting; its gradient is already part of backward().
  [[nodiscard]] double aux_loss() const {
    double total = 0.0;
    for (const auto& layer : moe_layers_) total += to_host(backend_, layer.aux_loss())[0];
    return total;
  }

  /// Runs the prompts [B, Lp] (lengths [B]) through the model, fills the cache's positions
  /// 0 .. Lp - 1 and writes the logits of each prompt's last token to last_logits [B, V].
  void prefill(DecodeState& state, MatrixView<const std::int32_t> prompts, VectorView<const std::int32_t> lengths,
               MatrixView<T> last_logits, bool accumulate_load = false) {
    const B& backend = backend_;
    const index_t b = prompts.extent(0), length = prompts.extent(1);
    RLMOE_CHECK(b == state.batch() && length <= state.max_length(), ShapeError, "Transformer::prefill: prompts of shape ",
                prompts.shape(), " do not fit a decode state of ", state.batch(), " sequences of ", state.max_length(),
                " positions");
    require_shape(last_logits, Extents<2>{b, kVocab}, "Transformer::prefill: last_logits");
    const SequenceBatch batch{prompts, lengths, lengths, 0};
    check_batch(batch);
    hidden_forward(batch, {}, accumulate_load);
    for (index_t l = 0; l < kLayers; ++l) {
      const index_t size = tokens_ * kDim;
      parallel_for(backend, size, detail::FillKvCache<T>{matrix(layers_[l].k, tokens_, kDim), length, state.keys(l)});
      parallel_for(backend, size, detail::FillKvCache<T>{matrix(layers_[l].v, tokens_, kDim), length, state.values(l)});
    }
    parallel_for(backend, b * kVocab, detail::GatherLastRows<T>{logits(), lengths, length, last_logits});
  }

  /// One token per sequence: tokens [B] at positions [B] (each attends to the cache up to its
  /// position, which it fills); logits [B, V] of the next token.
  void decode(DecodeState& state, VectorView<const std::int32_t> tokens, VectorView<const std::int32_t> positions,
              MatrixView<T> out_logits) {
    const B& backend = backend_;
    const index_t b = state.batch();
    require_shape(tokens, Extents<1>{b}, "Transformer::decode: tokens");
    require_shape(positions, Extents<1>{b}, "Transformer::decode: positions");
    require_shape(out_logits, Extents<2>{b, kVocab}, "Transformer::decode: logits");
    ensure(decode_x_, b * kDim);
    ensure(decode_a_, b * kDim);
    ensure(decode_q_, b * kDim);
    ensure(decode_k_, b * kDim);
    ensure(decode_v_, b * kDim);
    ensure(decode_o_, b * kDim);
    ensure(decode_inverse_rms_, b);
    ensure(decode_scores_, b * kHeads * state.max_length());
    ensure(decode_gate_up_, b * 2 * std::max<index_t>(Spec::kDenseHidden, 1));
    ensure(decode_hidden_, b * std::max<index_t>(Spec::kDenseHidden, 1));
    const MatrixView<T> x = matrix(decode_x_, b, kDim), a = matrix(decode_a_, b, kDim), q = matrix(decode_q_, b, kDim),
                        k = matrix(decode_k_, b, kDim), v = matrix(decode_v_, b, kDim), o = matrix(decode_o_, b, kDim);
    const VectorView<T> inverse_rms = decode_inverse_rms_.view().slice(0, b);
    embedding_forward<B, T>(backend, param_matrix("embed"), tokens, x);
    for (index_t l = 0; l < kLayers; ++l) {
      const std::string p = layer_prefix(l);
      rmsnorm_forward<B, T>(backend, x, param_vector(p + "attn_norm"), static_cast<T>(Spec::kNormEpsilon), a, inverse_rms);
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), a, param_matrix(p + "wq"), T(0), q);
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), a, param_matrix(p + "wk"), T(0), k);
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), a, param_matrix(p + "wv"), T(0), v);
      parallel_for(backend, b * kDim / 2, RotaryEmbedding<T>{q, positions, kHeadDim, Spec::kRopeBase, false});
      parallel_for(backend, b * kDim / 2, RotaryEmbedding<T>{k, positions, kHeadDim, Spec::kRopeBase, false});
      parallel_for(backend, b * kDim, WriteKvCache<T>{k, positions, state.keys(l)});
      parallel_for(backend, b * kDim, WriteKvCache<T>{v, positions, state.values(l)});
      parallel_for(backend, b * kHeads,
                   DecodeAttention<T>{q, state.keys(l), state.values(l), positions,
                                      TensorView<T, 3>(decode_scores_.data(), Extents<3>{b, kHeads, state.max_length()}), o});
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), o, param_matrix(p + "wo"), T(1), x);
      rmsnorm_forward<B, T>(backend, x, param_vector(p + "ffn_norm"), static_cast<T>(Spec::kNormEpsilon), a, inverse_rms);
      if (is_moe_layer(l)) {
        moe_layer(l).forward(moe_parameters(parameters_.data(), l), a, o, moe::MoeLayer<B, T>::ForwardOptions::inference());
        parallel_for(backend, b * kDim, detail::AddInPlace<T>{x, o});
      } else {
        swiglu_mlp_forward<B, T>(backend, a, param_matrix(p + "ffn.gate_up"), param_matrix(p + "ffn.down"),
                                 {matrix(decode_gate_up_, b, 2 * Spec::kDenseHidden), matrix(decode_hidden_, b, Spec::kDenseHidden)},
                                 x, T(1));
      }
    }
    rmsnorm_forward<B, T>(backend, x, param_vector("final_norm"), static_cast<T>(Spec::kNormEpsilon), a, inverse_rms);
    project_to_vocabulary(a, out_logits);
  }

  /// The MoE layer at model layer `layer` (which must be an MoE layer).
  moe::MoeLayer<B, T>& moe_layer(index_t layer) { return moe_layers_[static_cast<std::size_t>(layer - Spec::kFirstMoeLayer)]; }

 private:
  struct LayerActivations {
    Buffer<T, B> input, normed, inverse_rms, q, k, v, probs, attended, middle, ffn_input, ffn_inverse_rms, gate_up, hidden;
  };

  static std::string layer_prefix(index_t l) { return "layers." + std::to_string(l) + "."; }

  moe::MoeParameters<T> moe_parameters(T* base, index_t l) const {
    return moe::moe_parameters(base, layout_, layer_prefix(l) + "moe.", moe_config());
  }
  MatrixView<T> param_matrix(const std::string& name) { return layout_.view<2>(parameters_.data(), name); }
  VectorView<T> param_vector(const std::string& name) { return layout_.view<1>(parameters_.data(), name); }
  MatrixView<T> grad_matrix(const std::string& name) { return layout_.view<2>(gradients_.data(), name); }
  VectorView<T> grad_vector(const std::string& name) { return layout_.view<1>(gradients_.data(), name); }

  template <class U>
  void ensure(Buffer<U, B>& buffer, index_t size) {
    if (buffer.size() < size) buffer = Buffer<U, B>(backend_, size);
  }
  template <class U>
  static MatrixView<U> matrix(Buffer<U, B>& buffer, index_t rows, index_t cols) {
    return {buffer.data(), Extents<2>{rows, cols}};
  }
  MatrixView<T> scratch(Buffer<T, B>& buffer, index_t rows, index_t cols) {
    ensure(buffer, rows * cols);
    return matrix(buffer, rows, cols);
  }

  void check_batch(const SequenceBatch& batch) const {
    const index_t b = batch.tokens.extent(0), length = batch.tokens.extent(1);
    RLMOE_CHECK(length >= 1 && length <= Spec::kMaxLength, ShapeError, "Transformer: tokens has shape ", batch.tokens.shape(),
                " but sequences must hold 1 to Spec::kMaxLength = ", Spec::kMaxLength, " tokens");
    require_contiguous(batch.tokens, "Transformer: tokens");
    require_shape(batch.lengths, Extents<1>{b}, "Transformer: lengths");
    require_shape(batch.prompt_lengths, Extents<1>{b}, "Transformer: prompt_lengths");
  }

  /// Embedding, every layer and the final norm and LM head over the batch; keeps the activations.
  void hidden_forward(const SequenceBatch& batch, const RoutingReplay& replay, bool accumulate_load) {
    const B& backend = backend_;
    const index_t b = batch.tokens.extent(0), length = batch.tokens.extent(1), n = b * length;
    tokens_ = n;
    shape_ = AttentionShape{b, length, kHeads, kHeadDim};
    lengths_ = batch.lengths;
    token_rows_ = batch.tokens;
    ensure(positions_, n);
    ensure(completion_rows_, b * std::max<index_t>(batch.completion_width, 1));
    ensure(completion_targets_, b * std::max<index_t>(batch.completion_width, 1));
    parallel_for(backend, n, detail::RowPositions{positions_.view().slice(0, n), length});
    for (index_t l = 0; l < kLayers; ++l) {
      LayerActivations& a = layers_[static_cast<std::size_t>(l)];
      for (auto* buffer : {&a.input, &a.normed, &a.q, &a.k, &a.v, &a.attended, &a.middle, &a.ffn_input}) ensure(*buffer, n * kDim);
      ensure(a.inverse_rms, n);
      ensure(a.ffn_inverse_rms, n);
      ensure(a.probs, b * kHeads * length * length);
      if (!is_moe_layer(l)) {
        ensure(a.gate_up, n * 2 * Spec::kDenseHidden);
        ensure(a.hidden, n * Spec::kDenseHidden);
      }
    }
    ensure(final_input_, n * kDim);
    ensure(final_hidden_, n * kDim);
    ensure(final_inverse_rms_, n);
    ensure(logits_, n * kVocab);
    ensure(d_logits_, n * kVocab);

    MatrixView<T> x = matrix(layers_[0].input, n, kDim);
    embedding_forward<B, T>(backend, param_matrix("embed"), token_rows(), x);
    for (index_t l = 0; l < kLayers; ++l) {
      LayerActivations& a = layers_[static_cast<std::size_t>(l)];
      const std::string p = layer_prefix(l);
      const MatrixView<T> normed = matrix(a.normed, n, kDim), q = matrix(a.q, n, kDim), k = matrix(a.k, n, kDim),
                          v = matrix(a.v, n, kDim), attended = matrix(a.attended, n, kDim), middle = matrix(a.middle, n, kDim),
                          ffn_input = matrix(a.ffn_input, n, kDim);
      const MatrixView<T> input = matrix(a.input, n, kDim);
      rmsnorm_forward<B, T>(backend, input, param_vector(p + "attn_norm"), static_cast<T>(Spec::kNormEpsilon), normed,
                            a.inverse_rms.view().slice(0, n));
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), normed, param_matrix(p + "wq"), T(0), q);
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), normed, param_matrix(p + "wk"), T(0), k);
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), normed, param_matrix(p + "wv"), T(0), v);
      parallel_for(backend, n * kDim / 2, RotaryEmbedding<T>{q, positions(), kHeadDim, Spec::kRopeBase, false});
      parallel_for(backend, n * kDim / 2, RotaryEmbedding<T>{k, positions(), kHeadDim, Spec::kRopeBase, false});
      attention_forward<B, T>(backend, shape_, q, k, v, lengths_, probs(a), attended);
      copy(backend, middle, MatrixView<const T>(input));
      gemm<B, T>(backend, Transpose::No, Transpose::No, T(1), attended, param_matrix(p + "wo"), T(1), middle);
      rmsnorm_forward<B, T>(backend, middle, param_vector(p + "ffn_norm"), static_cast<T>(Spec::kNormEpsilon), ffn_input,
                            a.ffn_inverse_rms.view().slice(0, n));
      const MatrixView<T> next = l + 1 < kLayers ? matrix(layers_[static_cast<std::size_t>(l + 1)].input, n, kDim)
                                                 : matrix(final_input_, n, kDim);
      if (is_moe_layer(l)) {
        typename moe::MoeLayer<B, T>::ForwardOptions options;
        options.sequence_length = length;
        options.accumulate_load = accumulate_load;
        if (!replay.empty()) options.replay = replay[static_cast<std::size_t>(l - Spec::kFirstMoeLayer)];
        moe_layer(l).forward(moe_parameters(parameters_.data(), l), ffn_input, next, options);
        parallel_for(backend, n * kDim, detail::AddInPlace<T>{next, middle});
      } else {
        copy(backend, next, MatrixView<const T>(middle));
        swiglu_mlp_forward<B, T>(backend, ffn_input, param_matrix(p + "ffn.gate_up"), param_matrix(p + "ffn.down"),
                                 dense_activations(a), next, T(1));
      }
    }
    rmsnorm_forward<B, T>(backend, final_input(), param_vector("final_norm"), static_cast<T>(Spec::kNormEpsilon),
                          final_hidden(), final_inverse_rms());
    project_to_vocabulary(final_hidden(), logits());
  }

  void project_to_vocabulary(MatrixView<const T> hidden, MatrixView<T> out) {
    if (Spec::kTiedEmbeddings)
      gemm<B, T>(backend_, Transpose::No, Transpose::Yes, T(1), hidden, param_matrix("embed"), T(0), out);
    else
      gemm<B, T>(backend_, Transpose::No, Transpose::No, T(1), hidden, param_matrix("lm_head"), T(0), out);
  }

  /// dx holds d loss / d (output of layer l); on return, d loss / d (input of layer l).
  void layer_backward(index_t l, MatrixView<T> dx) {
    const B& backend = backend_;
    const index_t n = tokens_;
    LayerActivations& a = layers_[static_cast<std::size_t>(l)];
    const std::string p = layer_prefix(l);
    const MatrixView<T> d_ffn_input = scratch(d_ffn_input_, n, kDim), d_middle = scratch(d_middle_, n, kDim),
                        d_normed = scratch(d_normed_, n, kDim), d_attended = scratch(d_attended_, n, kDim),
                        dq = scratch(dq_, n, kDim), dk = scratch(dk_, n, kDim), dv = scratch(dv_, n, kDim);
    const MatrixView<T> input = matrix(a.input, n, kDim), normed = matrix(a.normed, n, kDim), q = matrix(a.q, n, kDim),
                        k = matrix(a.k, n, kDim), v = matrix(a.v, n, kDim), attended = matrix(a.attended, n, kDim),
                        middle = matrix(a.middle, n, kDim), ffn_input = matrix(a.ffn_input, n, kDim);
    // Feed-forward block: output = middle + ffn(norm(middle)).
    if (is_moe_layer(l)) {
      moe_layer(l).backward(moe_parameters(parameters_.data(), l), dx, d_ffn_input, moe_parameters(gradients_.data(), l));
    } else {
      ensure(d_gate_up_, n * 2 * Spec::kDenseHidden);
      ensure(d_hidden_, n * Spec::kDenseHidden);
      swiglu_mlp_backward<B, T>(backend, ffn_input, param_matrix(p + "ffn.gate_up"), param_matrix(p + "ffn.down"),
                                dense_activations(a), dx,
                                {matrix(d_gate_up_, n, 2 * Spec::kDenseHidden), matrix(d_hidden_, n, Spec::kDenseHidden)},
                                grad_matrix(p + "ffn.gate_up"), grad_matrix(p + "ffn.down"), d_ffn_input, T(0));
    }
    rmsnorm_backward<B, T>(backend, middle, param_vector(p + "ffn_norm"), a.ffn_inverse_rms.view().slice(0, n), d_ffn_input,
                           d_middle, grad_vector(p + "ffn_norm"));
    parallel_for(backend, n * kDim, detail::AddInPlace<T>{d_middle, dx});
    // Attention block: middle = input + attention(norm(input)) Wo.
    gemm<B, T>(backend, Transpose::Yes, Transpose::No, T(1), attended, d_middle, T(1), grad_matrix(p + "wo"));
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, T(1), d_middle, param_matrix(p + "wo"), T(0), d_attended);
    ensure(d_probs_, shape_.batch * kHeads * shape_.length * shape_.length);
    attention_backward<B, T>(backend, shape_, q, k, v, probs(a), d_attended,
                             TensorView<T, 3>(d_probs_.data(), Extents<3>{shape_.batch * kHeads, shape_.length, shape_.length}),
                             dq, dk, dv);
    parallel_for(backend, n * kDim / 2, RotaryEmbedding<T>{dq, positions(), kHeadDim, Spec::kRopeBase, true});
    parallel_for(backend, n * kDim / 2, RotaryEmbedding<T>{dk, positions(), kHeadDim, Spec::kRopeBase, true});
    gemm<B, T>(backend, Transpose::Yes, Transpose::No, T(1), normed, dq, T(1), grad_matrix(p + "wq"));
    gemm<B, T>(backend, Transpose::Yes, Transpose::No, T(1), normed, dk, T(1), grad_matrix(p + "wk"));
    gemm<B, T>(backend, Transpose::Yes, Transpose::No, T(1), normed, dv, T(1), grad_matrix(p + "wv"));
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, T(1), dq, param_matrix(p + "wq"), T(0), d_normed);
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, T(1), dk, param_matrix(p + "wk"), T(1), d_normed);
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, T(1), dv, param_matrix(p + "wv"), T(1), d_normed);
    rmsnorm_backward<B, T>(backend, input, param_vector(p + "attn_norm"), a.inverse_rms.view().slice(0, n), d_normed, dx,
                           grad_vector(p + "attn_norm"));
    parallel_for(backend, n * kDim, detail::AddInPlace<T>{dx, d_middle});
  }

  SwigluActivations<T> dense_activations(LayerActivations& a) {
    return {matrix(a.gate_up, tokens_, 2 * Spec::kDenseHidden), matrix(a.hidden, tokens_, Spec::kDenseHidden)};
  }
  TensorView<T, 3> probs(LayerActivations& a) {
    return {a.probs.data(), Extents<3>{shape_.batch * kHeads, shape_.length, shape_.length}};
  }
  VectorView<const std::int32_t> positions() { return positions_.view().slice(0, tokens_); }
  VectorView<const std::int32_t> token_rows() const { return token_rows_.reshape(Extents<1>{tokens_}); }
  MatrixView<T> logits() { return matrix(logits_, tokens_, kVocab); }
  MatrixView<T> d_logits() { return matrix(d_logits_, tokens_, kVocab); }
  MatrixView<T> final_input() { return matrix(final_input_, tokens_, kDim); }
  MatrixView<T> final_hidden() { return matrix(final_hidden_, tokens_, kDim); }
  VectorView<T> final_inverse_rms() { return final_inverse_rms_.view().slice(0, tokens_); }

  B backend_;  // a copy: Host is a few bytes, Cuda a shared handle
  ParameterLayout layout_;
  Buffer<T, B> parameters_, gradients_;
  std::vector<moe::MoeLayer<B, T>> moe_layers_;

  // The last forward pass.
  SequenceBatch batch_;
  index_t tokens_ = 0;
  AttentionShape shape_;
  VectorView<const std::int32_t> lengths_;
  MatrixView<const std::int32_t> token_rows_;
  std::vector<LayerActivations> layers_;
  Buffer<std::int32_t, B> positions_, completion_rows_, completion_targets_;
  Buffer<T, B> final_input_, final_hidden_, final_inverse_rms_, logits_;
  // Backward scratch.
  Buffer<T, B> d_logits_, dh_, dx_, d_ffn_input_, d_middle_, d_normed_, d_attended_, dq_, dk_, dv_, d_probs_, d_gate_up_,
      d_hidden_;
  // Decoding scratch.
  Buffer<T, B> decode_x_, decode_a_, decode_q_, decode_k_, decode_v_, decode_o_, decode_inverse_rms_, decode_scores_,
      decode_gate_up_, decode_hidden_;
};

}  // namespace rlmoe::nn
