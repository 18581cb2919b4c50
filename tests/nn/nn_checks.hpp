#pragma once
// Checks of the transformer layers and of Transformer<Spec>, written once over the backend:
// forwards against the float64 references of nn_reference.hpp, gradients against central finite
// differences in double, the KV-cache decode against the full forward, and an overfitting run.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "moe/moe_reference.hpp"
#include "nn/nn_reference.hpp"
#include "nn/tiny_specs.hpp"
#include "rlmoe/nn/training.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/rlmoe.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

/// Central differences of f at x, every coordinate.
template <class F>
std::vector<double> finite_differences(std::vector<double> x, const F& f, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double plus = f(x);
    x[i] = saved - h;
    const double minus = f(x);
    x[i] = saved;
    g[i] = (plus - minus) / (2 * h);
  }
  return g;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

template <class B>
std::vector<double> on(const B& backend, const Buffer<double, B>& buffer) {
  return to_host(backend, buffer.view());
}

// ---------------------------------------------------------------------------------------------
// layers, stored as T (double, or bfloat16: computed in float, with float statistics and weight
// gradients), against float64 references and finite differences at the same (T-valued) inputs:
// double to its precision; bf16 forwards within 1e-2 and gradients within 2e-2 (relative to the
// largest value), the budget of a few bf16 roundings of intermediate and output values (2^-9 each).

template <class T>
constexpr double kLayerForward = std::is_same_v<T, double> ? 1e-13 : 1e-2;
template <class T>
constexpr double kLayerBackward = std::is_same_v<T, double> ? 1e-7 : 2e-2;

/// `values` rounded to T, as float64 (exact), and as T.
template <class T>
std::vector<double> representable(const std::vector<double>& values) {
  std::vector<double> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<double>(static_cast<T>(values[i]));
  return out;
}
template <class T>
std::vector<T> stored(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

template <class B, class T = double>
void check_rmsnorm(const B& backend) {
  using C = compute_t<T>;
  using G = master_t<T>;
  const index_t rows = 7, d = 10;
  const auto x = representable<T>(random_uniform<double>(rows * d, 1, -2.0, 2.0)), w = representable<T>(random_uniform<double>(d, 2, 0.5, 1.5)),
             dy = representable<T>(random_uniform<double>(rows * d, 3));
  Buffer<T, B> xb = to_backend(backend, stored<T>(x)), wb = to_backend(backend, stored<T>(w)), y(backend, rows * d),
               dyb = to_backend(backend, stored<T>(dy)), dx(backend, rows * d);
  Buffer<C, B> inv(backend, rows);
  Buffer<G, B> dw = to_backend(backend, std::vector<G>(d, G(0)));
  layers::rmsnorm_forward<B, T>(backend, xb.view(rows, d), wb.view(), C(1e-6), y.view(rows, d), inv.view());
  BOOST_TEST(relative_error(to_host(backend, y.view()), reference_rmsnorm(x, w, d, 1e-6)) < kLayerForward<T>);
  layers::rmsnorm_backward<B, T>(backend, xb.view(rows, d), wb.view(), inv.view(), dyb.view(rows, d), dx.view(rows, d), dw.view());
  const auto fd_x = finite_differences(x, [&](const std::vector<double>& v) { return dot(dy, reference_rmsnorm(v, w, d, 1e-6)); });
  const auto fd_w = finite_differences(w, [&](const std::vector<double>& v) { return dot(dy, reference_rmsnorm(x, v, d, 1e-6)); });
  BOOST_TEST(relative_error(to_host(backend, dx.view()), fd_x) < kLayerBackward<T>);
  BOOST_TEST(relative_error(to_host(backend, dw.view()), fd_w) < kLayerBackward<T>);
}

template <class B, class T = double>
void check_rope(const B& backend) {
  const index_t rows = 6, heads = 2, dh = 8, width = heads * dh;
  const auto x = representable<T>(random_uniform<double>(rows * width, 4));
  const std::vector<std::int32_t> positions = {0, 1, 2, 5, 17, 300};
  Buffer<T, B> buffer = to_backend(backend, stored<T>(x));
  Buffer<std::int32_t, B> pos = to_backend(backend, positions);
  parallel_for(backend, rows * width / 2, layers::RotaryEmbedding<T>{buffer.view(rows, width), pos.view(), dh, 10000.0, false});
  BOOST_TEST(relative_error(to_host(backend, buffer.view()), reference_rope(x, positions, heads, dh, 10000.0)) < kLayerForward<T>);
  // The backward rotation is the transpose: it undoes the forward one.
  parallel_for(backend, rows * width / 2, layers::RotaryEmbedding<T>{buffer.view(rows, width), pos.view(), dh, 10000.0, true});
  BOOST_TEST(relative_error(to_host(backend, buffer.view()), x) < kLayerForward<T>);
}

/// Causal attention over keys within `chunk` positions (0: all); bf16 keeps float scores, dP and
/// softmax and rounds P and dS once.
template <class B, class T>
void check_attention(const B& backend, index_t chunk) {
  using C = compute_t<T>;
  layers::AttentionShape s{3, 5, 2, 4};
  s.chunk = chunk;
  const index_t n = s.tokens(), width = s.width(), scores = s.batch * s.heads * s.length * s.length;
  const std::vector<std::int32_t> lengths = {5, 3, 1};
  const auto q = representable<T>(random_uniform<double>(n * width, 5)), k = representable<T>(random_uniform<double>(n * width, 6)),
             v = representable<T>(random_uniform<double>(n * width, 7)), d_out = representable<T>(random_uniform<double>(n * width, 8));
  Buffer<T, B> qb = to_backend(backend, stored<T>(q)), kb = to_backend(backend, stored<T>(k)), vb = to_backend(backend, stored<T>(v)),
               out(backend, n * width), probs(backend, scores), d_scores(backend, scores), dob = to_backend(backend, stored<T>(d_out)),
               dq(backend, n * width), dk(backend, n * width), dv(backend, n * width);
  Buffer<C, B> score_buffer(backend, scores), d_probs(backend, scores);
  Buffer<std::int32_t, B> lb = to_backend(backend, lengths);
  const Extents<3> shape{s.batch * s.heads, s.length, s.length};
  const TensorView<T, 3> p(probs.data(), shape);
  layers::attention_forward<B, T>(backend, s, qb.view(n, width), kb.view(n, width), vb.view(n, width), lb.view(),
                                  TensorView<C, 3>(score_buffer.data(), shape), p, out.view(n, width));
  BOOST_TEST(relative_error(to_host(backend, out.view()), reference_attention(q, k, v, lengths, s.length, s.heads, s.head_dim, 0, 0, 1.0, chunk)) <
             kLayerForward<T>, "chunk " << chunk);
  layers::attention_backward<B, T>(backend, s, qb.view(n, width), kb.view(n, width), vb.view(n, width), p, dob.view(n, width),
                                   TensorView<C, 3>(d_probs.data(), shape), TensorView<T, 3>(d_scores.data(), shape), dq.view(n, width),
                                   dk.view(n, width), dv.view(n, width));
  const auto objective = [&](const std::vector<double>& qq, const std::vector<double>& kk, const std::vector<double>& vv) {
    return dot(d_out, reference_attention(qq, kk, vv, lengths, s.length, s.heads, s.head_dim, 0, 0, 1.0, chunk));
  };
  const auto error = [&](const Buffer<T, B>& grad, const std::vector<double>& fd) { return relative_error(to_host(backend, grad.view()), fd); };
  BOOST_TEST(error(dq, finite_differences(q, [&](const auto& x) { return objective(x, k, v); })) < kLayerBackward<T>, "chunk " << chunk);
  BOOST_TEST(error(dk, finite_differences(k, [&](const auto& x) { return objective(q, x, v); })) < kLayerBackward<T>);
  BOOST_TEST(error(dv, finite_differences(v, [&](const auto& x) { return objective(q, k, x); })) < kLayerBackward<T>);
}

/// Causal attention, whole and in chunks of 2 (Llama 4's local attention).
template <class B, class T = double>
void check_attention(const B& backend) {
  for (const index_t chunk : {index_t{0}, index_t{2}}) check_attention<B, T>(backend, chunk);
}

/// Log-probabilities and entropies of T logits, kept (with their gradients) in compute_t<T>.
template <class B, class T = double>
void check_log_softmax(const B& backend) {
  using C = compute_t<T>;
  const index_t rows = 6, vocab = 11;
  const auto logits = representable<T>(random_uniform<double>(rows * vocab, 9, -3.0, 3.0));
  const std::vector<std::int32_t> row_of = {0, 2, -1, 5, 3}, target = {4, 0, 0, 10, 7};
  const auto a = representable<C>(random_uniform<double>(5, 10)), c = representable<C>(random_uniform<double>(5, 11));
  Buffer<T, B> lb = to_backend(backend, stored<T>(logits)), d_logits = to_backend(backend, stored<T>(std::vector<double>(rows * vocab, 0.0)));
  Buffer<C, B> logp(backend, 5), entropy(backend, 5), ab = to_backend(backend, stored<C>(a)), cb = to_backend(backend, stored<C>(c));
  Buffer<std::int32_t, B> rb = to_backend(backend, row_of), tb = to_backend(backend, target);
  parallel_for(backend, 5, layers::TokenLogProbs<T>{lb.view(rows, vocab), rb.view(), tb.view(), logp.view(), entropy.view()});
  const auto objective = [&](const std::vector<double>& l) {
    double j = 0.0;
    for (std::size_t i = 0; i < 5; ++i) {
      if (row_of[i] < 0) continue;
      const auto [lp, h] = reference_log_softmax(&l[row_of[i] * vocab], vocab, target[i]);
      j += a[i] * lp + c[i] * h;
    }
    return j;
  };
  std::vector<double> expected_logp(5, 0.0), expected_entropy(5, 0.0);
  for (std::size_t i = 0; i < 5; ++i)
    if (row_of[i] >= 0) std::tie(expected_logp[i], expected_entropy[i]) = reference_log_softmax(&logits[row_of[i] * vocab], vocab, target[i]);
  // Computed and kept in C from exact inputs: C's own precision.
  constexpr double statistics = std::is_same_v<C, double> ? 1e-13 : 1e-6;
  BOOST_TEST(relative_error(to_host(backend, logp.view()), expected_logp) < statistics);
  BOOST_TEST(relative_error(to_host(backend, entropy.view()), expected_entropy) < statistics);
  parallel_for(backend, 5, layers::TokenLogProbsBackward<T>{lb.view(rows, vocab), rb.view(), tb.view(), ab.view(), cb.view(),
                                                            d_logits.view(rows, vocab)});
  BOOST_TEST(relative_error(to_host(backend, d_logits.view()), finite_differences(logits, objective)) < kLayerBackward<T>);
}

/// Rows copied exactly; the table's gradient summed in master_t<T>.
template <class B, class T = double>
void check_embedding(const B& backend) {
  using G = master_t<T>;
  const index_t vocab = 9, d = 5;
  const std::vector<std::int32_t> tokens = {3, 0, 3, 8, 3, 1, 0};
  const index_t n = static_cast<index_t>(tokens.size());
  const auto table = representable<T>(random_uniform<double>(vocab * d, 12)), d_out = representable<T>(random_uniform<double>(tokens.size() * d, 13));
  Buffer<T, B> tb = to_backend(backend, stored<T>(table)), out(backend, n * d), dob = to_backend(backend, stored<T>(d_out));
  Buffer<G, B> d_table = to_backend(backend, std::vector<G>(vocab * d, G(1)));
  Buffer<std::int32_t, B> tok = to_backend(backend, tokens);
  layers::embedding_forward<B, T>(backend, tb.view(vocab, d), tok.view(), out.view(n, d));
  std::vector<double> expected_out, expected_grad(vocab * d, 1.0);
  for (index_t i = 0; i < n; ++i)
    for (index_t c = 0; c < d; ++c) {
      expected_out.push_back(table[tokens[i] * d + c]);
      expected_grad[tokens[i] * d + c] += d_out[i * d + c];
    }
  check_equal(as_double(to_host(backend, out.view())), expected_out, "embedding rows");
  layers::embedding_backward<B, T>(backend, tok.view(), dob.view(n, d), d_table.view(vocab, d));
  BOOST_TEST(relative_error(to_host(backend, d_table.view()), expected_grad) < (std::is_same_v<G, double> ? 1e-15 : 1e-6));
}

template <class B, class T = double>
void check_swiglu_mlp(const B& backend) {
  using G = master_t<T>;
  const index_t rows = 5, d = 6, h = 7;
  const auto x = representable<T>(random_uniform<double>(rows * d, 14)), wgu = representable<T>(random_uniform<double>(d * 2 * h, 15)),
             wd = representable<T>(random_uniform<double>(h * d, 16)), dy = representable<T>(random_uniform<double>(rows * d, 17));
  Buffer<T, B> xb = to_backend(backend, stored<T>(x)), wgub = to_backend(backend, stored<T>(wgu)), wdb = to_backend(backend, stored<T>(wd)),
               y(backend, rows * d), gate_up(backend, rows * 2 * h), hidden(backend, rows * h), dyb = to_backend(backend, stored<T>(dy)),
               dx(backend, rows * d), d_gate_up(backend, rows * 2 * h), d_hidden(backend, rows * h);
  Buffer<G, B> g_wgu = to_backend(backend, std::vector<G>(d * 2 * h, G(0))), g_wd = to_backend(backend, std::vector<G>(h * d, G(0)));
  layers::swiglu_mlp_forward<B, T>(backend, xb.view(rows, d), wgub.view(d, 2 * h), wdb.view(h, d),
                                   {gate_up.view(rows, 2 * h), hidden.view(rows, h)}, y.view(rows, d));
  BOOST_TEST(relative_error(to_host(backend, y.view()), reference_swiglu(x, wgu, wd, d, h)) < kLayerForward<T>);
  layers::swiglu_mlp_backward<B, T>(backend, xb.view(rows, d), wgub.view(d, 2 * h), wdb.view(h, d),
                                    layers::SwigluActivations<const T>{gate_up.view(rows, 2 * h), hidden.view(rows, h)},
                                    dyb.view(rows, d), {d_gate_up.view(rows, 2 * h), d_hidden.view(rows, h)}, g_wgu.view(d, 2 * h),
                                    g_wd.view(h, d), dx.view(rows, d));
  const auto f = [&](const std::vector<double>& xx, const std::vector<double>& a, const std::vector<double>& b) {
    return dot(dy, reference_swiglu(xx, a, b, d, h));
  };
  BOOST_TEST(relative_error(to_host(backend, dx.view()), finite_differences(x, [&](const auto& v) { return f(v, wgu, wd); })) <
             kLayerBackward<T>);
  BOOST_TEST(relative_error(to_host(backend, g_wgu.view()), finite_differences(wgu, [&](const auto& v) { return f(x, v, wd); })) <
             kLayerBackward<T>);
  BOOST_TEST(relative_error(to_host(backend, g_wd.view()), finite_differences(wd, [&](const auto& v) { return f(x, wgu, v); })) <
             kLayerBackward<T>);
}

// ---------------------------------------------------------------------------------------------
// Transformer

/// A batch of three prompt + completion sequences of padded length 9.
struct TokenBatch {
  index_t batch = 3, length = 9, completion_width = 6;
  std::vector<std::int32_t> tokens, lengths = {9, 6, 4}, prompt_lengths = {3, 2, 3};

  explicit TokenBatch(index_t vocab, std::uint64_t seed) {
    tokens = random_integers<std::int32_t>(static_cast<std::size_t>(batch * length), seed, 0, vocab - 1);
  }
};

template <class B>
struct BackendTokens {
  Buffer<std::int32_t, B> tokens, lengths, prompt_lengths;
  nn::SequenceBatch view;
  BackendTokens(const B& backend, const TokenBatch& t)
      : tokens(to_backend(backend, t.tokens)), lengths(to_backend(backend, t.lengths)),
        prompt_lengths(to_backend(backend, t.prompt_lengths)) {
    view = {tokens.view(t.batch, t.length), lengths.view(), prompt_lengths.view(), t.completion_width};
  }
};

/// Multi-head Latent Attention's q [N, H dh], k [N, H dh] and v [N, H dv] from the normalised rows
/// x, written from DeepSeek-V2's equations: q from x (or its normalised bottleneck), each head
/// [nope | rope] with the rope part rotated; the latent c = rmsnorm(x Wkv_a) (epsilon 1e-6); k per
/// head [c Wk_nope | rope(x Wk_rope)], the rotated part shared by the heads; v = c Wv.
template <class Spec, class Tensor>
std::tuple<std::vector<double>, std::vector<double>, std::vector<double>> reference_latent_qkv(
    const std::vector<double>& x, const Tensor& tensor, const std::string& p, const std::vector<std::int32_t>& positions) {
  const index_t d = Spec::kModelDim, heads = Spec::kHeads, dh = nn::head_dim_v<Spec>, dr = nn::rope_dim_v<Spec>, dn = dh - dr;
  const index_t r = nn::kv_lora_rank_v<Spec>, rq = nn::q_lora_rank_v<Spec>, dv = nn::value_head_dim_v<Spec>;
  const std::size_t n = positions.size();
  const auto q_in = rq > 0 ? reference_rmsnorm(reference_matmul(x, tensor(p + "wq_a"), d, rq), tensor(p + "q_a_norm"), rq, 1e-6) : x;
  const auto q_raw = reference_matmul(q_in, tensor(p + "wq"), rq > 0 ? rq : d, heads * dh);
  const auto c = reference_rmsnorm(reference_matmul(x, tensor(p + "wkv_a"), d, r), tensor(p + "kv_a_norm"), r, 1e-6);
  const auto k_rope = reference_rope(reference_matmul(x, tensor(p + "wk_rope"), d, dr), positions, 1, dr, Spec::kRopeBase, nn::rope_scaling_v<Spec>);
  const auto k_nope = reference_matmul(c, tensor(p + "wk_nope"), r, heads * dn);
  std::vector<double> q_rope(n * heads * dr), q(n * heads * dh), k(n * heads * dh);
  for (std::size_t i = 0; i < n; ++i)
    for (index_t h = 0; h < heads; ++h)
      for (index_t j = 0; j < dr; ++j) q_rope[(i * heads + h) * dr + j] = q_raw[i * heads * dh + h * dh + dn + j];
  q_rope = reference_rope(q_rope, positions, heads, dr, Spec::kRopeBase, nn::rope_scaling_v<Spec>);
  for (std::size_t i = 0; i < n; ++i)
    for (index_t h = 0; h < heads; ++h)
      for (index_t j = 0; j < dh; ++j) {
        const std::size_t at = i * heads * dh + h * dh + j;
        q[at] = j < dn ? q_raw[at] : q_rope[(i * heads + h) * dr + j - dn];
        k[at] = j < dn ? k_nope[i * heads * dn + h * dn + j] : k_rope[i * dr + j - dn];
      }
  return {q, k, reference_matmul(c, tensor(p + "wv"), r, heads * dv)};
}

/// The whole model in float64 from its parameters (host copy, by name), straight from the
/// layer references.
template <class Spec>
std::pair<std::vector<double>, std::vector<double>> reference_transformer(const ParameterLayout& layout,
                                                                          const std::vector<double>& params,
                                                                          const std::vector<std::vector<float>>& biases,
                                                                          const TokenBatch& t) {
  const auto tensor = [&](const std::string& name) {
    const auto& e = layout.find(name);
    return std::vector<double>(params.begin() + e.offset, params.begin() + e.offset + e.size);
  };
  const index_t d = Spec::kModelDim, n = t.batch * t.length, dh = nn::head_dim_v<Spec>, vocab = Spec::kVocab;
  const index_t heads = Spec::kHeads, kv_heads = nn::kv_heads_v<Spec>;
  std::vector<std::int32_t> positions(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) positions[i] = static_cast<std::int32_t>(i % t.length);
  const auto embed = tensor("embed");
  std::vector<double> x;
  for (std::int32_t token : t.tokens) x.insert(x.end(), embed.begin() + token * d, embed.begin() + (token + 1) * d);
  const auto add = [](std::vector<double>& a, const std::vector<double>& b) {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  };
  std::size_t moe_layers_before = 0;
  for (index_t l = 0; l < Spec::kLayers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const auto a = reference_rmsnorm(x, tensor(p + "attn_norm"), d, Spec::kNormEpsilon);
    if constexpr (nn::latent_attention_v<Spec>) {
      const auto [q, k, v] = reference_latent_qkv<Spec>(a, tensor, p, positions);
      const index_t dv = nn::value_head_dim_v<Spec>;
      // DeepSeek's YaRN: the softmax scale times mscale(factor, mscale_all_dim)^2.
      const layers::RopeScaling& s = nn::rope_scaling_v<Spec>;
      const double m = s.type != layers::RopeType::Default && s.mscale_all_dim != 0.0 ? 0.1 * s.mscale_all_dim * std::log(s.factor) + 1.0 : 1.0;
      add(x, reference_matmul(reference_attention(q, k, v, t.lengths, t.length, heads, dh, heads, dv, m * m), tensor(p + "wo"), heads * dv, d));
    } else {
      // The q/k norm when the Spec has it (each head's dh values are one row, or with
      // kQkNormFullWidth all of a token's), then the rotation; Llama 4: every kNoRopeInterval-th
      // layer does not rotate, and scales its queries by 1 + scale ln(1 + floor((p + 1) /
      // floor_scale)) instead; the rotating ones may RMS-normalise each rotated head, weightless.
      bool rotates = true;
      if constexpr (nn::no_rope_interval_v<Spec> > 0) rotates = (l + 1) % nn::no_rope_interval_v<Spec> != 0;
      const auto project = [&](const std::string& w, const std::string& norm, index_t h, bool query) {
        auto y = reference_matmul(a, tensor(p + w), d, h * dh);
        if (nn::qk_norm_v<Spec>)
          y = reference_rmsnorm(y, tensor(p + norm), nn::qk_norm_full_width_v<Spec> ? h * dh : dh, Spec::kNormEpsilon);
        if (rotates) {
          y = reference_rope(y, positions, h, dh, Spec::kRopeBase, nn::rope_scaling_v<Spec>);
          if (nn::qk_weightless_norm_v<Spec>) y = reference_rmsnorm(y, std::vector<double>(static_cast<std::size_t>(dh), 1.0), dh, Spec::kNormEpsilon);
        } else if (query) {
          if constexpr (constexpr auto tuning = nn::attention_temperature_v<Spec>; tuning.floor_scale > 0.0) {
            for (index_t r = 0; r < n; ++r)
              for (index_t c = 0; c < h * dh; ++c)
                y[r * h * dh + c] *= 1.0 + tuning.scale * std::log(1.0 + std::floor((positions[r] + 1.0) / tuning.floor_scale));
          }
        }
        return y;
      };
      const auto q = project("wq", "q_norm", heads, true), k = project("wk", "k_norm", kv_heads, false);
      const auto v = reference_matmul(a, tensor(p + "wv"), d, kv_heads * dh);
      const index_t chunk = rotates ? nn::attention_chunk_size_v<Spec> : 0;  // Llama 4: the rotary layers chunked
      add(x, reference_matmul(reference_attention(q, k, v, t.lengths, t.length, heads, dh, kv_heads, 0, 1.0, chunk), tensor(p + "wo"),
                              heads * dh, d));
    }
    const auto f = reference_rmsnorm(x, tensor(p + "ffn_norm"), d, Spec::kNormEpsilon);
    // MoE from kFirstMoeLayer on, every kMoeLayerStep-th layer ((l + 1) % step == 0).
    if (l >= Spec::kFirstMoeLayer && (l + 1) % nn::moe_layer_step_v<Spec> == 0) {
      const moe::MoeConfig c = nn::Transformer<Host, Spec, double>::moe_config();
      const MoeWeights w{tensor(p + "moe.router"), tensor(p + "moe.experts.gate_up"), tensor(p + "moe.experts.down"),
                         c.shared_width() > 0 ? tensor(p + "moe.shared.gate_up") : std::vector<double>{},
                         c.shared_width() > 0 ? tensor(p + "moe.shared.down") : std::vector<double>{}};
      add(x, reference_moe(c, w, f, n, biases[moe_layers_before++], {}, t.length).y);
    } else {
      add(x, reference_swiglu(f, tensor(p + "ffn.gate_up"), tensor(p + "ffn.down"), d, Spec::kDenseHidden));
    }
  }
  const auto h = reference_rmsnorm(x, tensor("final_norm"), d, Spec::kNormEpsilon);
  std::vector<double> logits(static_cast<std::size_t>(n * vocab), 0.0);
  const auto head = Spec::kTiedEmbeddings ? embed : tensor("lm_head");
  for (index_t r = 0; r < n; ++r)
    for (index_t v = 0; v < vocab; ++v)
      for (index_t c = 0; c < d; ++c)
        logits[r * vocab + v] += h[r * d + c] * (Spec::kTiedEmbeddings ? head[v * d + c] : head[c * vocab + v]);
  std::vector<double> logp(static_cast<std::size_t>(t.batch * t.completion_width), 0.0), entropy(logp.size(), 0.0);
  for (index_t b = 0; b < t.batch; ++b)
    for (index_t j = 0; j < t.completion_width; ++j) {
      const index_t position = t.prompt_lengths[b] + j;
      if (position >= t.lengths[b]) continue;
      std::tie(logp[b * t.completion_width + j], entropy[b * t.completion_width + j]) =
          reference_log_softmax(&logits[(b * t.length + position - 1) * vocab], vocab, t.tokens[b * t.length + position]);
    }
  return {logp, entropy};
}

/// Random routing biases, so that the bias path is exercised; returns them.
template <class B, class Model>
std::vector<std::vector<float>> randomize_biases(const B& backend, Model& model, std::uint64_t seed) {
  std::vector<std::vector<float>> biases;
  for (auto& layer : model.moe_layers()) {
    biases.push_back(random_uniform<float>(static_cast<std::size_t>(layer.config().routed_experts), seed++, -0.2, 0.2));
    copy(backend, layer.bias(), VectorView<const float>(biases.back().data(), layer.bias().shape()));
  }
  return biases;
}

template <class B, class Spec>
void check_transformer_forward(const B& backend) {
  nn::Transformer<B, Spec, double> model(backend);
  model.initialize(3);
  const auto biases = randomize_biases(backend, model, 50);
  const TokenBatch t(Spec::kVocab, 4);
  BackendTokens<B> tokens(backend, t);
  Buffer<double, B> logp(backend, t.batch * t.completion_width), entropy(backend, t.batch * t.completion_width);
  model.forward(tokens.view, logp.view(t.batch, t.completion_width), entropy.view(t.batch, t.completion_width));
  const auto [expected_logp, expected_entropy] =
      reference_transformer<Spec>(model.layout(), to_host(backend, model.parameters()), biases, t);
  BOOST_TEST(relative_error(on(backend, logp), expected_logp) < 1e-12);
  BOOST_TEST(relative_error(on(backend, entropy), expected_entropy) < 1e-12);
  for (index_t b = 0; b < t.batch; ++b)
    for (index_t j = t.lengths[b] - t.prompt_lengths[b]; j < t.completion_width; ++j)
      BOOST_TEST(on(backend, logp)[b * t.completion_width + j] == 0.0, "past the end of completion " << b);
}

/// Every parameter's gradient against central differences of J = <a, logp> + <c, entropy> + aux.
template <class B, class Spec>
void check_transformer_gradients(const B& backend, const nn::MoeTraining& training) {
  nn::Transformer<B, Spec, double> model(backend, training);
  model.initialize(5);
  (void)randomize_biases(backend, model, 60);
  const TokenBatch t(Spec::kVocab, 6);
  BackendTokens<B> tokens(backend, t);
  const index_t outputs = t.batch * t.completion_width;
  const auto a = random_uniform<double>(outputs, 7), c = random_uniform<double>(outputs, 8);
  Buffer<double, B> logp(backend, outputs), entropy(backend, outputs), ab = to_backend(backend, a), cb = to_backend(backend, c);
  const auto objective = [&](const std::vector<double>& params) {
    copy(backend, model.parameters(), VectorView<const double>(params.data(), model.parameters().shape()));
    model.forward(tokens.view, logp.view(t.batch, t.completion_width), entropy.view(t.batch, t.completion_width), {}, false);
    return dot(a, on(backend, logp)) + dot(c, on(backend, entropy)) + model.aux_loss();
  };
  const auto params = to_host(backend, model.parameters());
  const auto fd = finite_differences(params, objective);
  copy(backend, model.parameters(), VectorView<const double>(params.data(), model.parameters().shape()));
  model.zero_gradients();
  model.forward(tokens.view, logp.view(t.batch, t.completion_width), entropy.view(t.batch, t.completion_width), {}, false);
  model.backward(ab.view(t.batch, t.completion_width), cb.view(t.batch, t.completion_width));
  const auto grad = to_host(backend, model.gradients());
  for (const auto& e : model.layout().entries()) {
    const std::vector<double> g(grad.begin() + e.offset, grad.begin() + e.offset + e.size),
        f(fd.begin() + e.offset, fd.begin() + e.offset + e.size);
    BOOST_TEST(relative_error(g, f) < 1e-6, e.name << ": gradient vs finite differences, relative error " << relative_error(g, f));
  }
}

/// A bfloat16 model (float master parameters, bf16 working copy) against a float64 model holding
/// the same parameters rounded to bf16: log-probabilities and entropies within 1e-2, and every
/// parameter's gradient within 5e-2 of the float64 model's finite differences (one layer's
/// backward is held to 2e-2; the whole model's runs through every layer's roundings of activations
/// and their gradients, some twenty of 2^-9 each; measured up to 2.4e-2). An optimizer step on
/// the master parameters reaches the next forward pass.
template <class B, class Spec>
void check_transformer_bf16(const B& backend) {
  nn::Transformer<B, Spec, bfloat16> model(backend);
  model.initialize(3);
  const auto biases = randomize_biases(backend, model, 50);
  nn::Transformer<B, Spec, double> exact(backend);
  (void)randomize_biases(backend, exact, 50);
  const auto rounded = representable<bfloat16>(as_double(to_host(backend, std::as_const(model).parameters())));
  copy(backend, exact.parameters(), VectorView<const double>(rounded.data(), exact.parameters().shape()));

  const TokenBatch t(Spec::kVocab, 4);
  BackendTokens<B> tokens(backend, t);
  const index_t outputs = t.batch * t.completion_width;
  Buffer<float, B> logp(backend, outputs), entropy(backend, outputs);
  model.zero_gradients();
  model.forward(tokens.view, logp.view(t.batch, t.completion_width), entropy.view(t.batch, t.completion_width), {}, false);
  const auto [expected_logp, expected_entropy] = reference_transformer<Spec>(model.layout(), rounded, biases, t);
  const auto got_logp = as_double(to_host(backend, logp.view())), got_entropy = as_double(to_host(backend, entropy.view()));
  BOOST_TEST(relative_error(got_logp, expected_logp) < 1e-2, "bf16 logp relative error " << relative_error(got_logp, expected_logp));
  BOOST_TEST(relative_error(got_entropy, expected_entropy) < 1e-2,
             "bf16 entropy relative error " << relative_error(got_entropy, expected_entropy));

  // Routing is discrete: where a router score lies within rounding of a tie, the bf16 and the float64
  // model can send a token to different experts, and their outputs then differ by a whole expert, not
  // by rounding (which backend's rounding tips it differs too). The float64 model replays the bf16
  // model's routing, so that the gradients compared are those of the same function.
  std::vector<Buffer<std::int32_t, B>> routed;
  typename nn::Transformer<B, Spec, double>::RoutingReplay replay;
  for (const auto& layer : model.moe_layers()) {
    const MatrixView<const std::int32_t> experts = layer.routed_experts();
    routed.emplace_back(backend, experts.size());
    const MatrixView<std::int32_t> kept = routed.back().view(experts.extent(0), experts.extent(1));
    copy(backend, kept, experts);
    replay.push_back(kept);
  }
  const auto a = random_uniform<double>(outputs, 7), c = random_uniform<double>(outputs, 8);
  const std::vector<float> af(a.begin(), a.end()), cf(c.begin(), c.end());
  Buffer<float, B> ab = to_backend(backend, af), cb = to_backend(backend, cf);
  model.backward(ab.view(t.batch, t.completion_width), cb.view(t.batch, t.completion_width));
  Buffer<double, B> logp_d(backend, outputs), entropy_d(backend, outputs);
  const auto objective = [&](const std::vector<double>& params) {
    copy(backend, exact.parameters(), VectorView<const double>(params.data(), exact.parameters().shape()));
    exact.forward(tokens.view, logp_d.view(t.batch, t.completion_width), entropy_d.view(t.batch, t.completion_width), replay, false);
    return dot(a, on(backend, logp_d)) + dot(c, on(backend, entropy_d)) + exact.aux_loss();
  };
  const auto fd = finite_differences(rounded, objective);
  const auto grad = as_double(to_host(backend, std::as_const(model).gradients()));
  for (const auto& e : model.layout().entries()) {
    const std::vector<double> g(grad.begin() + e.offset, grad.begin() + e.offset + e.size),
        f(fd.begin() + e.offset, fd.begin() + e.offset + e.size);
    BOOST_TEST_MESSAGE("bf16 " << e.name << ": gradient relative error " << relative_error(g, f));
    BOOST_TEST(relative_error(g, f) < 5e-2, "bf16 " << e.name << ": gradient relative error " << relative_error(g, f));
  }

  // The master parameters change (as an optimizer step changes them): the next pass sees it.
  const std::vector<float> zeros(static_cast<std::size_t>(model.parameters().size()), 0.0f);
  copy(backend, model.parameters(), VectorView<const float>(zeros.data(), model.parameters().shape()));
  model.forward(tokens.view, logp.view(t.batch, t.completion_width), entropy.view(t.batch, t.completion_width), {}, false);
  const auto uniform = to_host(backend, entropy.view());  // all-zero weights: uniform next-token distributions
  for (index_t b = 0; b < t.batch; ++b)
    for (index_t j = 0; j < t.lengths[b] - t.prompt_lengths[b]; ++j)
      BOOST_TEST(std::abs(uniform[static_cast<std::size_t>(b * t.completion_width + j)] - std::log(static_cast<double>(Spec::kVocab))) < 1e-5,
                 "entropy after zeroing the master parameters, sequence " << b << " token " << j);
}

/// Prefill + one-token decode steps give the same next-token log-probabilities as one full
/// forward pass, position by position.
template <class B, class Spec, class T>
void check_decode_matches_forward(const B& backend) {
  nn::Transformer<B, Spec, T> model(backend);
  model.initialize(9);
  const TokenBatch t(Spec::kVocab, 10);
  // Full forward: every token after the first scored, prompt length 1.
  TokenBatch full = t;
  full.prompt_lengths = {1, 1, 1};
  full.completion_width = t.length - 1;
  BackendTokens<B> tokens(backend, full);
  Buffer<T, B> logp(backend, t.batch * full.completion_width);
  model.forward(tokens.view, logp.view(t.batch, full.completion_width), {}, {}, false);
  const auto expected = to_host(backend, logp.view());
  // Prefill the first two tokens of each sequence, then decode the rest one by one.
  const index_t prefix = 2;
  std::vector<std::int32_t> prompts, prompt_lengths(static_cast<std::size_t>(t.batch), static_cast<std::int32_t>(prefix));
  for (index_t b = 0; b < t.batch; ++b)
    prompts.insert(prompts.end(), t.tokens.begin() + b * t.length, t.tokens.begin() + b * t.length + prefix);
  typename nn::Transformer<B, Spec, T>::DecodeState state(backend, t.batch, t.length);
  Buffer<std::int32_t, B> prompt_buffer = to_backend(backend, prompts), length_buffer = to_backend(backend, prompt_lengths);
  Buffer<T, B> logits(backend, t.batch * Spec::kVocab);
  model.prefill(state, prompt_buffer.view(t.batch, prefix), length_buffer.view(), logits.view(t.batch, Spec::kVocab));
  std::vector<double> got(expected.size(), 0.0);
  for (index_t position = prefix; position < t.length; ++position) {
    // logits predict the token at `position`.
    const auto host_logits = to_host(backend, logits.view());
    for (index_t b = 0; b < t.batch; ++b) {
      if (position >= t.lengths[b]) continue;
      std::vector<double> row(host_logits.begin() + b * Spec::kVocab, host_logits.begin() + (b + 1) * Spec::kVocab);
      got[b * full.completion_width + position - 1] = reference_log_softmax(row.data(), Spec::kVocab, t.tokens[b * t.length + position]).first;
    }
    if (position + 1 == t.length) break;
    std::vector<std::int32_t> step_tokens, step_positions;
    for (index_t b = 0; b < t.batch; ++b) {
      step_tokens.push_back(t.tokens[b * t.length + position]);
      step_positions.push_back(static_cast<std::int32_t>(position));
    }
    Buffer<std::int32_t, B> step_token_buffer = to_backend(backend, step_tokens), step_position_buffer = to_backend(backend, step_positions);
    model.decode(state, step_token_buffer.view(), step_position_buffer.view(), logits.view(t.batch, Spec::kVocab));
  }
  // Only the positions the decode loop reached count (the first prefix - 1 come from prefill's
  // prompt and are not compared).
  std::vector<double> want;
  std::vector<double> have;
  for (index_t b = 0; b < t.batch; ++b)
    for (index_t position = prefix; position < t.lengths[b]; ++position) {
      want.push_back(expected[b * full.completion_width + position - 1]);
      have.push_back(got[b * full.completion_width + position - 1]);
    }
  const double tolerance = std::is_same_v<T, double> ? 1e-12 : 2e-5;
  BOOST_TEST(relative_error(have, want) < tolerance, "decode vs forward relative error " << relative_error(have, want));
}

/// Supervised steps on a fixed batch through nn::supervised_loss and nn::optimizer_step; returns
/// the final loss (the mean negative log-likelihood of the completion tokens), checked against
/// the log-probabilities at every step.
template <class B, class Spec>
double overfit(const B& backend, int steps, double* first_loss) {
  nn::Transformer<B, Spec> model(backend);
  model.initialize(11);
  optim::AdamW<B> adam(backend, model.parameters().size(), {0.9, 0.99, 1e-8, 0.0, 1.0});
  TokenBatch t(Spec::kVocab, 12);
  BackendTokens<B> tokens(backend, t);
  const index_t outputs = t.batch * t.completion_width;
  nn::SupervisedScratch<B> scratch(backend, outputs);
  double loss = 0.0;
  for (int step = 0; step < steps; ++step) {
    model.zero_gradients();
    nn::supervised_loss(backend, model, tokens.view, scratch);
    loss = to_host(backend, scratch.loss.view())[0];
    const auto logp = to_host(backend, scratch.logp.view());
    double expected = 0.0, count = 0.0;
    for (index_t b = 0; b < t.batch; ++b)
      for (index_t j = 0; j < t.lengths[b] - t.prompt_lengths[b]; ++j, count += 1.0) expected -= logp[b * t.completion_width + j];
    BOOST_TEST_REQUIRE(std::abs(loss - expected / count) <= 1e-6 * (1.0 + std::abs(loss)), "step " << step);
    if (step == 0) *first_loss = loss;
    nn::optimizer_step(model, adam, 1e-2);
  }
  return loss;
}

/// AdamW against its formula, step by step, with clipping.
template <class B>
void check_adamw(const B& backend) {
  const index_t n = 1000;
  auto p = random_uniform<float>(n, 20), g = random_uniform<float>(n, 21, -3.0, 3.0);
  const optim::AdamWConfig c{0.9, 0.95, 1e-8, 0.1, 5.0};
  optim::AdamW<B> adam(backend, n, c);
  Buffer<float, B> pb = to_backend(backend, p), gb = to_backend(backend, g);
  std::vector<double> ref(p.begin(), p.end()), m(n, 0.0), v(n, 0.0);
  for (int step = 1; step <= 3; ++step) {
    adam.step(pb.view(), gb.view(), 1e-2);
    double norm = 0.0;
    for (float x : g) norm += static_cast<double>(x) * x;
    norm = std::sqrt(norm);
    const double scale = std::min(1.0, c.max_grad_norm / (norm + 1e-6));
    for (index_t i = 0; i < n; ++i) {
      const double gi = scale * g[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * gi;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * gi * gi;
      ref[i] -= 1e-2 * ((m[i] / (1 - std::pow(c.beta1, step))) / (std::sqrt(v[i] / (1 - std::pow(c.beta2, step))) + c.epsilon) +
                        c.weight_decay * ref[i]);
    }
    BOOST_TEST(std::abs(adam.grad_norm() - norm) < 1e-9 * norm);
  }
  BOOST_TEST(relative_error(to_host(backend, pb.view()), ref) < 1e-6);
  // A NaN gradient skips the step and is reported.
  g[3] = NAN;
  gb = to_backend(backend, g);
  const auto before = to_host(backend, pb.view());
  adam.step(pb.view(), gb.view(), 1e-2);
  BOOST_TEST(throws_with<NumericError>([&] { (void)adam.grad_norm(); }, {"gradient norm of step 4", "nan"}));
  check_equal(to_host(backend, pb.view()), before, "parameters after a NaN step");
  BOOST_TEST(adam.steps() == 3, "a skipped step is not an optimizer step");
  // An update that overflows the parameters is reported, naming the step and the learning rate.
  g[3] = 1.0f;
  gb = to_backend(backend, g);
  adam.step(pb.view(), gb.view(), 1e39);
  BOOST_TEST(throws_with<NumericError>([&] { (void)adam.grad_norm(); }, {"step 4 at learning rate 1e+39 made", "NaN or infinite"}));
  // Hyperparameters that are not finite are refused.
  for (auto edit : {+[](optim::AdamWConfig& a) { a.weight_decay = INFINITY; }, +[](optim::AdamWConfig& a) { a.epsilon = NAN; },
                    +[](optim::AdamWConfig& a) { a.max_grad_norm = INFINITY; }}) {
    optim::AdamWConfig bad = c;
    edit(bad);
    BOOST_TEST(throws_with<ConfigError>([&] { bad.validate(); }, {"must be finite"}));
  }
}

}  // namespace rlmoe::test
