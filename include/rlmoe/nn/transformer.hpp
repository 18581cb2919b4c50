#pragma once
// Transformer<Backend, Spec>: a decoder-only language model whose feed-forward blocks are dense
// SwiGLU (layers before Spec::kFirstMoeLayer, as DeepSeek keeps its first layers dense) or the
// MoE layer, with pre-RMSNorm blocks, rotary causal attention (multi-head, or grouped-query with
// Spec::kKvHeads, optionally with Qwen3's per-head q/k norm, or DeepSeek's Multi-head Latent
// Attention with Spec::kKvLoraRank) and a tied or separate LM head:
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
//
// A model stored in bfloat16 keeps float master parameters and float gradients (what the
// optimizer updates and the checkpoints hold) and computes from a bf16 copy of the parameters,
// refreshed before the next pass whenever the parameters may have changed (any non-const access
// to them). Its logits (so that sampling and training score tokens alike), log-probabilities,
// entropies and their gradients are float.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
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
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/layers/attention.hpp"
#include "rlmoe/layers/embedding.hpp"
#include "rlmoe/layers/init.hpp"
#include "rlmoe/layers/log_softmax.hpp"
#include "rlmoe/layers/mlp.hpp"
#include "rlmoe/layers/rmsnorm.hpp"
#include "rlmoe/moe/expert_parallel.hpp"
#include "rlmoe/moe/moe_layer.hpp"
#include "rlmoe/moe/parameters.hpp"
#include "rlmoe/nn/decode_state.hpp"
#include "rlmoe/nn/sequence_batch.hpp"
#include "rlmoe/nn/transformer_block.hpp"
#include "rlmoe/nn/transformer_spec.hpp"

namespace rlmoe::nn {

/// Training hyperparameters of the MoE layers (the architecture is in the Spec).
struct MoeTraining {
  moe::Balancing balancing = moe::Balancing::AuxLossFree;
  float bias_update_rate = 1e-3f;
  float aux_loss_coef = 1e-4f;
  float z_loss_coef = 0.0f;
};

namespace detail {

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

/// Spec: a TransformerSpec (a refused one is named by one message per missing member); T: the
/// storage type, the Spec's by default (float unless it says bfloat16); double for checks.
template <Backend B, class SpecArg, class T = storage_t<SpecArg>>
class Transformer {
  using C = compute_t<T>;
  using G = master_t<T>;

 public:
  using Spec = checked_spec_t<SpecArg>;
  static constexpr index_t kVocab = Spec::kVocab, kDim = Spec::kModelDim, kLayers = Spec::kLayers;
  static constexpr index_t kHeads = Spec::kHeads, kKvHeads = kv_heads_v<Spec>, kHeadDim = head_dim_v<Spec>;
  static constexpr index_t kValueDim = value_head_dim_v<Spec>;
  /// The widths of q, k, v and the attention's output: [N, H dh], [N, Hkv dh], [N, Hkv dv], [N, H dv].
  static constexpr index_t kQWidth = kHeads * kHeadDim, kKvWidth = kKvHeads * kHeadDim;
  static constexpr index_t kVWidth = kKvHeads * kValueDim, kOutWidth = kHeads * kValueDim;
  static constexpr bool kQkNorm = qk_norm_v<Spec>;
  /// q and k are kept as projected (before Qwen's norm) or as rotated (before Llama 4's weightless one).
  static constexpr bool kKeepsProjected = kQkNorm || qk_weightless_norm_v<Spec>;
  /// The widths the q and k norms run over: a head (Qwen3), or the whole of q and of k (OLMoE).
  static constexpr index_t kQNormWidth = qk_norm_full_width_v<Spec> ? kQWidth : kHeadDim;
  static constexpr index_t kKNormWidth = qk_norm_full_width_v<Spec> ? kKvWidth : kHeadDim;
  static constexpr index_t kQNormRows = kQWidth / kQNormWidth, kKNormRows = kKvWidth / kKNormWidth;  // per token
  /// Multi-head Latent Attention: the kv latent's rank, q's bottleneck rank (0: none), the rotated
  /// width of a head and its unrotated rest.
  static constexpr bool kLatent = latent_attention_v<Spec>;
  static constexpr index_t kKvRank = kv_lora_rank_v<Spec>, kQRank = q_lora_rank_v<Spec>;
  static constexpr index_t kRopeDim = rope_dim_v<Spec>, kNopeDim = kHeadDim - kRopeDim;

  /// Routing replay for a forward pass: per MoE layer (in layer order), the [B L, K] experts to
  /// use; empty: select.
  using RoutingReplay = std::vector<MatrixView<const std::int32_t>>;
  using DecodeState = nn::DecodeState<B, Spec, T>;
  using MoeOptions = typename moe::MoeLayer<B, T>::ForwardOptions;

  /// ep: expert parallelism (moe/expert_parallel.hpp): this rank then holds only its share of
  /// every MoE layer's routed experts, and its expert group must run the same passes.
  explicit Transformer(const B& backend, const MoeTraining& training = {}, const moe::ExpertParallel<B>& ep = {})
      : backend_(backend), ep_(ep), layout_(make_layout(ep)), parameters_(backend, layout_.size()), gradients_(backend, layout_.size()),
        working_(backend, std::is_same_v<T, G> ? 0 : layout_.size()), master_(bind(parameters_.data())),
        weights_(bind(working_parameters())), grads_(bind(gradients_.data())) {
    fill(backend, parameters_.view(), G(0));
    fill(backend, gradients_.view(), G(0));
    for (index_t i = 0; i < moe_layer_count_v<Spec>; ++i) moe_layers_.emplace_back(backend, moe_config(training), ep);
    layers_.resize(static_cast<std::size_t>(kLayers));
  }

  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  [[nodiscard]] static bool is_moe_layer(index_t layer) { return nn::is_moe_layer<Spec>(layer); }

  /// The MoE configuration of the Spec's MoE layers with the given training settings.
  static moe::MoeConfig moe_config(const MoeTraining& training = {}) {
    moe::MoeConfig c;
    c.model_dim = kDim;
    c.expert_hidden = Spec::kExpertHidden;
    c.routed_experts = Spec::kRoutedExperts;
    c.top_k = Spec::kTopK;
    c.shared_experts = Spec::kSharedExperts;
    c.score_function = Spec::kScoreFunction;
    c.normalize_gates = norm_topk_prob_v<Spec>;
    c.routed_scaling = Spec::kRoutedScaling;
    c.groups = Spec::kGroups;
    c.topk_groups = Spec::kTopkGroups;
    c.group_score = group_score_v<Spec>;
    c.gate_placement = gate_placement_v<Spec>;
    c.balancing = training.balancing;
    c.bias_update_rate = training.bias_update_rate;
    c.aux_loss_coef = training.aux_loss_coef;
    c.z_loss_coef = training.z_loss_coef;
    return c;
  }

  /// The parameters' names, shapes and places in the flat buffers. Under expert parallelism the
  /// routed experts (this rank's share) come after everything else, so that the tensors every rank
  /// holds alike are one range and this rank's experts another (replicated_size()).
  static ParameterLayout make_layout(const moe::ExpertParallel<B>& ep = {}) {
    ParameterLayout layout;
    layout.add("embed", {kVocab, kDim});
    for (index_t l = 0; l < kLayers; ++l) {
      const std::string p = layer_prefix(l);
      layout.add(p + "attn_norm", {kDim});
      if (kLatent) {
        if (kQRank > 0) {
          layout.add(p + "wq_a", {kDim, kQRank});
          layout.add(p + "q_a_norm", {kQRank});
        }
        layout.add(p + "wq", {kQRank > 0 ? kQRank : kDim, kQWidth});
        layout.add(p + "wkv_a", {kDim, kKvRank});
        layout.add(p + "kv_a_norm", {kKvRank});
        layout.add(p + "wk_rope", {kDim, kRopeDim});
        layout.add(p + "wk_nope", {kKvRank, kHeads * kNopeDim});
        layout.add(p + "wv", {kKvRank, kVWidth});
      } else {
        layout.add(p + "wq", {kDim, kQWidth});
        layout.add(p + "wk", {kDim, kKvWidth});
        layout.add(p + "wv", {kDim, kKvWidth});
      }
      layout.add(p + "wo", {kOutWidth, kDim});
      if (kQkNorm) {
        layout.add(p + "q_norm", {kQNormWidth});
        layout.add(p + "k_norm", {kKNormWidth});
      }
      layout.add(p + "ffn_norm", {kDim});
      if (is_moe_layer(l) && ep.size() > 1) {
        layout.add(p + "moe.router", {Spec::kRoutedExperts, kDim});
        moe::declare_moe_shared_parameters(layout, p + "moe.", moe_config());
      } else if (is_moe_layer(l)) {
        moe::declare_moe_parameters(layout, p + "moe.", moe_config());
      } else {
        layout.add(p + "ffn.gate_up", {kDim, 2 * Spec::kDenseHidden});
        layout.add(p + "ffn.down", {Spec::kDenseHidden, kDim});
      }
    }
    layout.add("final_norm", {kDim});
    if (!Spec::kTiedEmbeddings) layout.add("lm_head", {kDim, kVocab});
    if (ep.size() > 1)
      for (index_t i = 0; i < moe_layer_count_v<Spec>; ++i)
        moe::declare_moe_expert_parameters(layout, layer_prefix(moe_layer_at<Spec>(i)) + "moe.", moe_config(),
                                           ep.local_experts(Spec::kRoutedExperts));
    return layout;
  }

  [[nodiscard]] const moe::ExpertParallel<B>& expert_parallel() const { return ep_; }
  /// The leading elements of the flat buffers that every rank holds alike: all of them, or under
  /// expert parallelism everything before the first routed expert tensor.
  [[nodiscard]] index_t replicated_size() const {
    if (ep_.size() == 1 || moe_layer_count_v<Spec> == 0) return layout_.size();
    return layout_.find(layer_prefix(moe_layer_at<Spec>(0)) + "moe.experts.gate_up").offset;
  }

  [[nodiscard]] const ParameterLayout& layout() const { return layout_; }
  [[nodiscard]] const B& backend() const { return backend_; }
  /// The (master) parameters; mutable access means they may change, so the working copy of a
  /// bf16 model is refreshed before the next pass.
  [[nodiscard]] VectorView<G> parameters() {
    working_stale_ = true;
    return parameters_.view();
  }
  [[nodiscard]] VectorView<const G> parameters() const { return parameters_.view(); }
  [[nodiscard]] VectorView<G> gradients() { return gradients_.view(); }
  [[nodiscard]] VectorView<const G> gradients() const { return gradients_.view(); }
  [[nodiscard]] std::vector<moe::MoeLayer<B, T>>& moe_layers() { return moe_layers_; }
  [[nodiscard]] const std::vector<moe::MoeLayer<B, T>>& moe_layers() const { return moe_layers_; }

  /// Seeded initialisation (see the file comment); the same values on every backend.
  void initialize(std::uint64_t seed) {
    const B& backend = backend_;
    std::uint64_t id = 0;
    working_stale_ = true;
    const auto normal = [&](const std::string& name, index_t fan_in) {
      const auto& e = layout_.find(name);
      layers::initialize_normal(backend, VectorView<G>(parameters_.data() + e.offset, Extents<1>{e.size}),
                                static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in))), seed, id++);
    };
    const auto ones = [&](const std::string& name) { fill(backend, layout_.view<1>(parameters_.data(), name), G(1)); };
    normal("embed", kDim);
    for (index_t l = 0; l < kLayers; ++l) {
      const std::string p = layer_prefix(l);
      ones(p + "attn_norm");
      ones(p + "ffn_norm");
      if (kQkNorm) {
        ones(p + "q_norm");
        ones(p + "k_norm");
      }
      if (kLatent) {
        if (kQRank > 0) {
          ones(p + "q_a_norm");
          normal(p + "wq_a", kDim);
        }
        normal(p + "wq", kQRank > 0 ? kQRank : kDim);
        ones(p + "kv_a_norm");
        for (const char* w : {"wkv_a", "wk_rope"}) normal(p + w, kDim);
        for (const char* w : {"wk_nope", "wv"}) normal(p + w, kKvRank);
      } else {
        for (const char* w : {"wq", "wk", "wv"}) normal(p + w, kDim);
      }
      normal(p + "wo", kOutWidth);
      if (is_moe_layer(l)) {
        moe::initialize_moe_parameters(backend, block(master_, l).moe, moe_config(), seed, id, ep_.first_expert(Spec::kRoutedExperts));
        id += 5;
      } else {
        normal(p + "ffn.gate_up", kDim);
        normal(p + "ffn.down", Spec::kDenseHidden);
      }
    }
    ones("final_norm");
    if (!Spec::kTiedEmbeddings) normal("lm_head", kDim);
  }

  void zero_gradients() { fill(backend_, gradients_.view(), G(0)); }

  /// Copies another model's parameters and routing biases (a frozen reference policy).
  void copy_from(const Transformer& other) {
    working_stale_ = true;
    copy(backend_, parameters_.view(), other.parameters_.view());
    for (std::size_t i = 0; i < moe_layers_.size(); ++i)
      copy(backend_, moe_layers_[i].bias(), other.moe_layers_[i].bias());
  }

  /// After an optimizer step: the aux-loss-free bias update of every MoE layer that uses it, over
  /// the load of every rank of `comm`.
  template <dist::Communicator Comm = dist::SingleProcess>
  void update_routing_bias(const Comm& comm = {}) {
    for (auto& layer : moe_layers_)
      if (layer.config().balancing == moe::Balancing::AuxLossFree) layer.update_bias(comm);
  }

  /// Log-probabilities (and entropies, when the view is given) of every completion token, [B, Tc],
  /// zero past each completion's end. Keeps what backward() needs.
  void forward(const SequenceBatch& batch, MatrixView<C> logp, MatrixView<C> entropy = {}, const RoutingReplay& replay = {},
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
                 layers::TokenLogProbs<C>{logits(), completion_rows_.view().slice(0, b * tc),
                                          completion_targets_.view().slice(0, b * tc), logp.reshape(Extents<1>{b * tc}),
                                          entropy.data() != nullptr ? entropy.reshape(Extents<1>{b * tc}) : VectorView<C>{}});
  }

  /// From d loss / d logp (and d loss / d entropy) of the last forward pass: accumulates every
  /// parameter's gradient into gradients().
  void backward(MatrixView<const C> d_logp, MatrixView<const C> d_entropy = {}) {
    const B& backend = backend_;
    const index_t b = batch_.tokens.extent(0), tc = batch_.completion_width, n = tokens_;
    require_shape(d_logp, Extents<2>{b, tc}, "Transformer::backward: d_logp");
    fill(backend, d_logits(), T(0.0f));
    parallel_for(backend, b * tc,
                 layers::TokenLogProbsBackward<C, T>{logits(), completion_rows_.view().slice(0, b * tc),
                                                  completion_targets_.view().slice(0, b * tc), d_logp.reshape(Extents<1>{b * tc}),
                                                  d_entropy.data() != nullptr ? d_entropy.reshape(Extents<1>{b * tc})
                                                                              : VectorView<const C>{},
                                                  d_logits()});
    // LM head and final norm.
    const MatrixView<T> dh = scratch(dh_, n, kDim), dx = scratch(dx_, n, kDim);
    if (Spec::kTiedEmbeddings) {
      gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), d_logits(), final_hidden(), C(1), grads_.embed);
      gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), d_logits(), weights_.embed, C(0), dh);
    } else {
      gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), final_hidden(), d_logits(), C(1), grads_.lm_head);
      gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), d_logits(), weights_.lm_head, C(0), dh);
    }
    layers::rmsnorm_backward<B, T>(backend, final_input(), weights_.final_norm, final_inverse_rms(), dh, dx, grads_.final_norm);
    const BlockGradientScratch<T> s = gradient_scratch();
    for (index_t l = kLayers - 1; l >= 0; --l) {
      LayerActivations& a = layers_[static_cast<std::size_t>(l)];
      const BlockActivations<T> saved = activations(a, l);
      const auto attend_backward = [&](MatrixView<const T> d_attended, MatrixView<T> dq, MatrixView<T> dk, MatrixView<T> dv) {
        layers::attention_backward<B, T>(backend, attention_shape(l), saved.q, saved.k, saved.v, probs(a), d_attended, d_probs(), d_scores(),
                                         dq, dk, dv, grouped_kv_scratch());
      };
      block_backward<B, T>(backend, block(weights_, l), block(grads_, l), moe_at(l), positions(), block_shape(l), saved, dx, s,
                           attend_backward);
    }
    layers::embedding_backward<B, T>(backend, token_rows(), dx, grads_.embed);
  }

  /// The logits of every position of `tokens` [B, L] (sequence b holds lengths[b] tokens), into
  /// out [B L, V]: what evaluation and the comparison with other implementations read. It runs a
  /// forward pass of its own, which replaces the one backward() would use: call it after the
  /// backward pass, not between.
  void logits(MatrixView<const std::int32_t> tokens, VectorView<const std::int32_t> lengths, MatrixView<C> out) {
    const index_t b = tokens.extent(0), length = tokens.extent(1);
    require_shape(out, Extents<2>{b * length, kVocab}, "Transformer::logits: out");
    const SequenceBatch batch{tokens, lengths, lengths, 0};
    check_batch(batch);
    hidden_forward(batch, {}, false);
    copy(backend_, out, MatrixView<const C>(logits()));
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
               MatrixView<C> last_logits, bool accumulate_load = false) {
    const B& backend = backend_;
    const index_t b = prompts.extent(0), length = prompts.extent(1);
    RLMOE_CHECK(b == state.batch() && length <= state.max_length(), ShapeError, "Transformer::prefill: prompts of shape ",
                prompts.shape(), " do not fit a decode state of ", state.batch(), " sequences of ", state.max_length(),
                " positions");
    require_shape(last_logits, Extents<2>{b, kVocab}, "Transformer::prefill: last_logits");
    refresh_working_copy();
    const SequenceBatch batch{prompts, lengths, lengths, 0};
    check_batch(batch);
    hidden_forward(batch, {}, accumulate_load);
    for (index_t l = 0; l < kLayers; ++l) {
      if constexpr (kLatent) {
        const LatentActivations<T> latent = latent_activations(layers_[static_cast<std::size_t>(l)]);
        parallel_for(backend, tokens_ * (kKvRank + kRopeDim),
                     StoreLatents<T>{latent.kv_latent_normed, latent.k_rope, length, {}, state.latent(l)});
      } else {
        parallel_for(backend, tokens_ * kKvWidth, detail::FillKvCache<T>{matrix(layers_[l].k, tokens_, kKvWidth), length, state.keys(l)});
        parallel_for(backend, tokens_ * kVWidth, detail::FillKvCache<T>{matrix(layers_[l].v, tokens_, kVWidth), length, state.values(l)});
      }
    }
    parallel_for(backend, b * kVocab, detail::GatherLastRows<C>{logits(), lengths, length, last_logits});
  }

  /// One token per sequence: tokens [B] at positions [B] (each attends to the cache up to its
  /// position, which it fills); logits [B, V] of the next token.
  void decode(DecodeState& state, VectorView<const std::int32_t> tokens, VectorView<const std::int32_t> positions,
              MatrixView<C> out_logits) {
    const B& backend = backend_;
    const index_t b = state.batch(), hidden = std::max<index_t>(Spec::kDenseHidden, 1);
    require_shape(tokens, Extents<1>{b}, "Transformer::decode: tokens");
    require_shape(positions, Extents<1>{b}, "Transformer::decode: positions");
    require_shape(out_logits, Extents<2>{b, kVocab}, "Transformer::decode: logits");
    refresh_working_copy();
    // One set of activations serves every layer: the block's output overwrites its input, and
    // the normalised rows are needed only until the next projection.
    BlockActivations<T> a;
    a.input = a.output = scratch(decode_.x, b, kDim);
    a.normed = a.ffn_input = scratch(decode_.normed, b, kDim);
    a.q = scratch(decode_.q, b, kQWidth);
    a.k = scratch(decode_.k, b, kKvWidth);
    a.v = scratch(decode_.v, b, kVWidth);
    a.attended = scratch(decode_.attended, b, kOutWidth);
    if (kLatent) {
      a.latent.q_latent = scratch(decode_.q_latent, b, kQRank);
      a.latent.q_latent_normed = scratch(decode_.q_latent_normed, b, kQRank);
      a.latent.kv_latent = scratch(decode_.kv_latent, b, kKvRank);
      a.latent.kv_latent_normed = scratch(decode_.kv_latent_normed, b, kKvRank);
      a.latent.k_rope = scratch(decode_.k_rope, b, kRopeDim);
      a.latent.q_inverse_rms = scratch(decode_.q_latent_inverse_rms, b, 1).reshape(Extents<1>{b});
      a.latent.kv_inverse_rms = scratch(decode_.kv_latent_inverse_rms, b, 1).reshape(Extents<1>{b});
    }
    if (kKeepsProjected) {
      a.q_projected = scratch(decode_.q_projected, b, kQWidth);
      a.k_projected = scratch(decode_.k_projected, b, kKvWidth);
      a.q_inverse_rms = scratch(decode_.q_inverse_rms, b * kQNormRows, 1).reshape(Extents<1>{b * kQNormRows});
      a.k_inverse_rms = scratch(decode_.k_inverse_rms, b * kKNormRows, 1).reshape(Extents<1>{b * kKNormRows});
    }
    a.middle = scratch(decode_.middle, b, kDim);
    a.inverse_rms = a.ffn_inverse_rms = scratch(decode_.inverse_rms, b, 1).reshape(Extents<1>{b});  // compute type
    a.dense = {scratch(decode_.gate_up, b, 2 * hidden), scratch(decode_.hidden, b, hidden)};
    const TensorView<C, 3> scores(scratch(decode_.scores, b * kHeads, state.max_length()).data(),
                                  Extents<3>{b, kHeads, state.max_length()});
    LatentDecodeScratch<T> latent_scratch{};
    if (kLatent) latent_scratch = {scratch(decode_.q_absorbed, b, kHeads * kKvRank), scratch(decode_.out_latent, b, kHeads * kKvRank), scores};
    layers::embedding_forward<B, T>(backend, weights_.embed, tokens, a.input);
    for (index_t l = 0; l < kLayers; ++l) {
      const auto attend = [&](MatrixView<const T> q, MatrixView<const T> k, MatrixView<const T> v, MatrixView<T> out) {
        if constexpr (kLatent) {
          const BlockWeights<const T>& w = block(weights_, l);
          latent_decode_attention<B, T>(backend, w.wv, w.latent, q, a.latent, positions, kHeads, state.latent(l), latent_scratch, out,
                                        score_scale_factor());
        } else {
          parallel_for(backend, b * kKvWidth, layers::WriteKvCache<T>{k, positions, state.keys(l)});
          parallel_for(backend, b * kVWidth, layers::WriteKvCache<T>{v, positions, state.values(l)});
          parallel_for(backend, b * kHeads,
                       layers::DecodeAttention<T>{q, state.keys(l), state.values(l), positions, scores, out, attention_chunk<Spec>(l)});
        }
      };
      BlockShape shape = block_shape(l);
      shape.expand_latent = false;  // MLA attends over the cached latents; k and v are never formed
      block_forward<B, T>(backend, block(weights_, l), moe_at(l), MoeOptions::inference(), positions, shape, a, attend);
    }
    layers::rmsnorm_forward<B, T>(backend, a.output, weights_.final_norm, static_cast<C>(Spec::kNormEpsilon), a.normed,
                                  a.inverse_rms);
    project_to_vocabulary(a.normed, out_logits);
  }

  /// The MoE layer at model layer `layer` (which must be an MoE layer).
  moe::MoeLayer<B, T>& moe_layer(index_t layer) { return moe_layers_[static_cast<std::size_t>(moe_index<Spec>(layer))]; }

 private:
  /// Every tensor of the model as a typed view into one flat buffer (the parameters, their
  /// working copy or the gradients), bound once at construction.
  template <class U>
  struct ModelWeights {
    MatrixView<U> embed, lm_head;
    VectorView<U> final_norm;
    std::vector<BlockWeights<U>> blocks;
  };

  /// One layer's activations of the last forward pass, kept for the backward.
  struct LayerActivations {
    Buffer<T, B> input, normed, q, k, v, probs, attended, middle, ffn_input, gate_up, hidden;
    Buffer<C, B> inverse_rms, ffn_inverse_rms;
    Buffer<T, B> q_projected, k_projected;  // with qk_norm
    Buffer<C, B> q_inverse_rms, k_inverse_rms;
    Buffer<T, B> q_latent, q_latent_normed, kv_latent, kv_latent_normed, k_nope, k_rope;  // with MLA
    Buffer<C, B> q_latent_inverse_rms, kv_latent_inverse_rms;
  };

  /// What the passes compute from: the parameters themselves, or their bf16 copy.
  T* working_parameters() {
    if constexpr (std::is_same_v<T, G>) return parameters_.data();
    else return working_.data();
  }

  /// Rounds the master parameters into the working copy if they may have changed (bf16 models).
  void refresh_working_copy() {
    if constexpr (!std::is_same_v<T, G>) {
      if (!working_stale_) return;
      const index_t n = layout_.size();
      parallel_for(backend_, n, rlmoe::detail::ConvertMatrix<G, T>{MatrixView<const G>(parameters_.data(), Extents<2>{1, n}),
                                                                    MatrixView<T>(working_.data(), Extents<2>{1, n})});
    }
    working_stale_ = false;
  }

  static std::string layer_prefix(index_t l) { return "layers." + std::to_string(l) + "."; }

  template <class U>
  ModelWeights<U> bind(U* base) const {
    ModelWeights<U> w;
    w.embed = layout_.view<2>(base, "embed");
    w.final_norm = layout_.view<1>(base, "final_norm");
    if (!Spec::kTiedEmbeddings) w.lm_head = layout_.view<2>(base, "lm_head");
    for (index_t l = 0; l < kLayers; ++l) {
      const std::string p = layer_prefix(l);
      BlockWeights<U> b;
      b.attn_norm = layout_.view<1>(base, p + "attn_norm");
      b.ffn_norm = layout_.view<1>(base, p + "ffn_norm");
      b.wq = layout_.view<2>(base, p + "wq");
      b.wv = layout_.view<2>(base, p + "wv");
      b.wo = layout_.view<2>(base, p + "wo");
      if (kLatent) {
        if (kQRank > 0) {
          b.latent.wq_a = layout_.view<2>(base, p + "wq_a");
          b.latent.q_a_norm = layout_.view<1>(base, p + "q_a_norm");
        }
        b.latent.wkv_a = layout_.view<2>(base, p + "wkv_a");
        b.latent.kv_a_norm = layout_.view<1>(base, p + "kv_a_norm");
        b.latent.wk_rope = layout_.view<2>(base, p + "wk_rope");
        b.latent.wk_nope = layout_.view<2>(base, p + "wk_nope");
      } else {
        b.wk = layout_.view<2>(base, p + "wk");
      }
      if (kQkNorm) {
        b.q_norm = layout_.view<1>(base, p + "q_norm");
        b.k_norm = layout_.view<1>(base, p + "k_norm");
      }
      if (is_moe_layer(l)) {
        b.moe = moe::moe_parameters(base, layout_, p + "moe.", moe_config());
      } else {
        b.ffn_gate_up = layout_.view<2>(base, p + "ffn.gate_up");
        b.ffn_down = layout_.view<2>(base, p + "ffn.down");
      }
      w.blocks.push_back(b);
    }
    return w;
  }
  template <class U>
  static const BlockWeights<U>& block(const ModelWeights<U>& w, index_t l) {
    return w.blocks[static_cast<std::size_t>(l)];
  }
  moe::MoeLayer<B, T>* moe_at(index_t l) { return is_moe_layer(l) ? &moe_layer(l) : nullptr; }
  /// The batch's attention at layer l: chunked on Llama 4's rotary layers.
  [[nodiscard]] layers::AttentionShape attention_shape(index_t l) const {
    layers::AttentionShape s = shape_;
    s.chunk = attention_chunk<Spec>(l);
    return s;
  }
  /// Layer l's settings: whether it rotates (Llama 4's no-rope layers), its temperature tuning, its norms.
  static BlockShape block_shape(index_t l) {
    BlockShape shape{kHeadDim, layers::RotaryFrequencies::of(Spec::kRopeBase, kRopeDim, rope_scaling_v<Spec>), Spec::kNormEpsilon, kHeads};
    shape.rotary = uses_rope<Spec>(l);
    shape.temperature = attention_temperature_v<Spec>;
    shape.weightless_qk_norm = qk_weightless_norm_v<Spec>;
    return shape;
  }
  /// What the softmax scale 1 / sqrt(dh) is multiplied by: YaRN's mscale^2 under latent attention
  /// (as DeepSeek-V2/V3 do), else 1.
  static double score_scale_factor() { return kLatent ? layers::softmax_scale_factor(rope_scaling_v<Spec>) : 1.0; }

  template <class U>
  void ensure(Buffer<U, B>& buffer, index_t size) {
    if (buffer.size() < size) buffer = Buffer<U, B>(backend_, size);
  }
  template <class U>
  static MatrixView<U> matrix(Buffer<U, B>& buffer, index_t rows, index_t cols) {
    return {buffer.data(), Extents<2>{rows, cols}};
  }
  template <class U>
  MatrixView<U> scratch(Buffer<U, B>& buffer, index_t rows, index_t cols) {
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

  /// Layer l's activations of the last forward pass, block l + 1's input being its output.
  BlockActivations<T> activations(LayerActivations& a, index_t l) {
    const index_t n = tokens_;
    BlockActivations<T> v;
    v.input = matrix(a.input, n, kDim);
    v.normed = matrix(a.normed, n, kDim);
    v.q = matrix(a.q, n, kQWidth);
    v.k = matrix(a.k, n, kKvWidth);
    v.v = matrix(a.v, n, kVWidth);
    v.attended = matrix(a.attended, n, kOutWidth);
    if (kLatent) v.latent = latent_activations(a);
    if (kKeepsProjected) {
      v.q_projected = matrix(a.q_projected, n, kQWidth);
      v.k_projected = matrix(a.k_projected, n, kKvWidth);
      v.q_inverse_rms = a.q_inverse_rms.view().slice(0, n * kQNormRows);
      v.k_inverse_rms = a.k_inverse_rms.view().slice(0, n * kKNormRows);
    }
    v.middle = matrix(a.middle, n, kDim);
    v.ffn_input = matrix(a.ffn_input, n, kDim);
    v.output = l + 1 < kLayers ? matrix(layers_[static_cast<std::size_t>(l + 1)].input, n, kDim) : final_input();
    v.inverse_rms = a.inverse_rms.view().slice(0, n);
    v.ffn_inverse_rms = a.ffn_inverse_rms.view().slice(0, n);
    if (!is_moe_layer(l)) v.dense = {matrix(a.gate_up, n, 2 * Spec::kDenseHidden), matrix(a.hidden, n, Spec::kDenseHidden)};
    return v;
  }

  /// Layer a's latents of the last forward pass (MLA).
  LatentActivations<T> latent_activations(LayerActivations& a) {
    const index_t n = tokens_;
    return {matrix(a.q_latent, n, kQRank),           matrix(a.q_latent_normed, n, kQRank),
            matrix(a.kv_latent, n, kKvRank),         matrix(a.kv_latent_normed, n, kKvRank),
            matrix(a.k_nope, n, kHeads * kNopeDim),  matrix(a.k_rope, n, kRopeDim),
            a.q_latent_inverse_rms.view().slice(0, kQRank > 0 ? n : 0), a.kv_latent_inverse_rms.view().slice(0, n)};
  }

  BlockGradientScratch<T> gradient_scratch() {
    const index_t n = tokens_;
    BlockGradientScratch<T> s{scratch(d_ffn_input_, n, kDim),         scratch(d_middle_, n, kDim), scratch(d_normed_, n, kDim),
                              scratch(d_attended_, n, kOutWidth), scratch(dq_, n, kQWidth),    scratch(dk_, n, kKvWidth),
                              scratch(dv_, n, kVWidth),           {},                          {},
                              {},                                 {}};
    if (kLatent)
      s.latent = {scratch(d_q_latent_normed_, n, kQRank), scratch(d_q_latent_, n, kQRank),  scratch(d_kv_latent_normed_, n, kKvRank),
                  scratch(d_kv_latent_, n, kKvRank),      scratch(dk_nope_, n, kHeads * kNopeDim), scratch(dk_rope_, n, kRopeDim)};
    if (moe_layer_count_v<Spec> < kLayers)
      s.d_dense = {scratch(d_gate_up_, n, 2 * Spec::kDenseHidden), scratch(d_hidden_, n, Spec::kDenseHidden)};
    if (kKeepsProjected) {
      s.dq_projected = scratch(dq_projected_, n, kQWidth);
      s.dk_projected = scratch(dk_projected_, n, kKvWidth);
    }
    ensure(d_probs_, shape_.batch * kHeads * shape_.length * shape_.length);
    if constexpr (!std::is_same_v<T, C>) ensure(d_scores_, shape_.batch * kHeads * shape_.length * shape_.length);
    return s;
  }

  /// Embedding, every block and the final norm and LM head over the batch; keeps the activations.
  void hidden_forward(const SequenceBatch& batch, const RoutingReplay& replay, bool accumulate_load) {
    const B& backend = backend_;
    const index_t b = batch.tokens.extent(0), length = batch.tokens.extent(1), n = b * length;
    refresh_working_copy();
    tokens_ = n;
    shape_ = layers::AttentionShape{b, length, kHeads, kHeadDim, kKvHeads, kValueDim, score_scale_factor()};
    lengths_ = batch.lengths;
    token_rows_ = batch.tokens;
    ensure(positions_, n);
    ensure(completion_rows_, b * std::max<index_t>(batch.completion_width, 1));
    ensure(completion_targets_, b * std::max<index_t>(batch.completion_width, 1));
    parallel_for(backend, n, detail::RowPositions{positions_.view().slice(0, n), length});
    for (index_t l = 0; l < kLayers; ++l) {
      LayerActivations& a = layers_[static_cast<std::size_t>(l)];
      for (auto* buffer : {&a.input, &a.normed, &a.middle, &a.ffn_input}) ensure(*buffer, n * kDim);
      ensure(a.q, n * kQWidth);
      ensure(a.k, n * kKvWidth);
      ensure(a.v, n * kVWidth);
      ensure(a.attended, n * kOutWidth);
      if (kLatent) {
        for (auto* buffer : {&a.q_latent, &a.q_latent_normed}) ensure(*buffer, n * kQRank);
        for (auto* buffer : {&a.kv_latent, &a.kv_latent_normed}) ensure(*buffer, n * kKvRank);
        ensure(a.k_nope, n * kHeads * kNopeDim);
        ensure(a.k_rope, n * kRopeDim);
        ensure(a.q_latent_inverse_rms, kQRank > 0 ? n : 0);
        ensure(a.kv_latent_inverse_rms, n);
      }
      ensure(a.inverse_rms, n);
      ensure(a.ffn_inverse_rms, n);
      if (kKeepsProjected) {
        ensure(a.q_projected, n * kQWidth);
        ensure(a.k_projected, n * kKvWidth);
        ensure(a.q_inverse_rms, n * kQNormRows);
        ensure(a.k_inverse_rms, n * kKNormRows);
      }
      ensure(a.probs, b * kHeads * length * length);
      if constexpr (!std::is_same_v<T, C>) ensure(scores_, b * kHeads * length * length);
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

    layers::embedding_forward<B, T>(backend, weights_.embed, token_rows(), matrix(layers_[0].input, n, kDim));
    for (index_t l = 0; l < kLayers; ++l) {
      LayerActivations& a = layers_[static_cast<std::size_t>(l)];
      MoeOptions options;
      options.sequence_length = length;
      options.accumulate_load = accumulate_load;
      if (is_moe_layer(l) && !replay.empty()) options.replay = replay[static_cast<std::size_t>(moe_index<Spec>(l))];
      const auto attend = [&](MatrixView<const T> q, MatrixView<const T> k, MatrixView<const T> v, MatrixView<T> out) {
        layers::attention_forward<B, T>(backend, attention_shape(l), q, k, v, lengths_, scores(a), probs(a), out);
      };
      block_forward<B, T>(backend, block(weights_, l), moe_at(l), options, positions(), block_shape(l), activations(a, l), attend);
    }
    layers::rmsnorm_forward<B, T>(backend, final_input(), weights_.final_norm, static_cast<C>(Spec::kNormEpsilon),
                                  final_hidden(), final_inverse_rms());
    project_to_vocabulary(final_hidden(), logits());
  }

  void project_to_vocabulary(MatrixView<const T> hidden, MatrixView<C> out) {
    if (Spec::kTiedEmbeddings)
      gemm<B, C>(backend_, Transpose::No, Transpose::Yes, C(1), hidden, weights_.embed, C(0), out);
    else
      gemm<B, C>(backend_, Transpose::No, Transpose::No, C(1), hidden, weights_.lm_head, C(0), out);
  }

  TensorView<T, 3> probs(LayerActivations& a) {
    return {a.probs.data(), Extents<3>{shape_.batch * kHeads, shape_.length, shape_.length}};
  }
  /// The attention scores of the forward pass: probs itself, or a float scratch (bf16).
  TensorView<C, 3> scores(LayerActivations& a) {
    if constexpr (std::is_same_v<T, C>) return probs(a);
    else return {scores_.data(), Extents<3>{shape_.batch * kHeads, shape_.length, shape_.length}};
  }
  TensorView<C, 3> d_probs() { return {d_probs_.data(), Extents<3>{shape_.batch * kHeads, shape_.length, shape_.length}}; }
  /// dS: d_probs itself, or a bf16 scratch.
  TensorView<T, 3> d_scores() {
    if constexpr (std::is_same_v<T, C>) return d_probs();
    else return {d_scores_.data(), Extents<3>{shape_.batch * kHeads, shape_.length, shape_.length}};
  }
  /// Per-query-head gradients of the shared keys and values (grouped-query attention only).
  layers::GroupedKvGradients<T> grouped_kv_scratch() {
    if (kKvHeads == kHeads) return {};
    return {scratch(dk_per_head_, tokens_, kQWidth), scratch(dv_per_head_, tokens_, kOutWidth)};
  }
  VectorView<const std::int32_t> positions() { return positions_.view().slice(0, tokens_); }
  VectorView<const std::int32_t> token_rows() const { return token_rows_.reshape(Extents<1>{tokens_}); }
  MatrixView<C> logits() { return matrix(logits_, tokens_, kVocab); }
  MatrixView<T> d_logits() { return matrix(d_logits_, tokens_, kVocab); }
  MatrixView<T> final_input() { return matrix(final_input_, tokens_, kDim); }
  MatrixView<T> final_hidden() { return matrix(final_hidden_, tokens_, kDim); }
  VectorView<C> final_inverse_rms() { return final_inverse_rms_.view().slice(0, tokens_); }

  B backend_;  // a copy: Host is a few bytes, Cuda a shared handle
  moe::ExpertParallel<B> ep_;
  ParameterLayout layout_;
  Buffer<G, B> parameters_, gradients_;
  Buffer<T, B> working_;              // bf16 models: the parameters rounded, what the passes read
  bool working_stale_ = true;
  ModelWeights<G> master_;   // views into parameters_
  ModelWeights<T> weights_;  // views into the working copy (parameters_ itself for float)
  ModelWeights<G> grads_;    // views into gradients_
  std::vector<moe::MoeLayer<B, T>> moe_layers_;

  // The last forward pass.
  SequenceBatch batch_;
  index_t tokens_ = 0;
  layers::AttentionShape shape_;
  VectorView<const std::int32_t> lengths_;
  MatrixView<const std::int32_t> token_rows_;
  std::vector<LayerActivations> layers_;
  Buffer<std::int32_t, B> positions_, completion_rows_, completion_targets_;
  Buffer<T, B> final_input_, final_hidden_;
  Buffer<C, B> logits_, final_inverse_rms_, scores_;  // scores_: bf16 models' attention scores
  // Backward scratch.
  Buffer<T, B> d_logits_, dh_, dx_, d_ffn_input_, d_middle_, d_normed_, d_attended_, dq_, dk_, dv_, d_scores_, d_gate_up_,
      d_hidden_, dq_projected_, dk_projected_, dk_per_head_, dv_per_head_, d_q_latent_normed_, d_q_latent_, d_kv_latent_normed_,
      d_kv_latent_, dk_nope_, dk_rope_;
  Buffer<C, B> d_probs_;
  // Decoding scratch, one set for every layer.
  struct {
    Buffer<T, B> x, normed, q, k, v, attended, middle, gate_up, hidden, q_projected, k_projected;
    Buffer<C, B> inverse_rms, scores, q_inverse_rms, k_inverse_rms;
    Buffer<T, B> q_latent, q_latent_normed, kv_latent, kv_latent_normed, k_rope, q_absorbed, out_latent;  // MLA
    Buffer<C, B> q_latent_inverse_rms, kv_latent_inverse_rms;
  } decode_;
};

}  // namespace rlmoe::nn
