#pragma once
// Checks of the MoE layer written once over the backend: forward against the float64 reference,
// every gradient against central finite differences of the reference objective, routing case by
// case, balancing, replay, zero-token experts and determinism.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "moe/moe_reference.hpp"
#include "rlmoe/moe/moe_layer.hpp"
#include "rlmoe/rlmoe.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

using moe::Balancing;
using moe::GatePlacement;
using moe::GroupScore;
using moe::MoeConfig;
using moe::ScoreFunction;

/// A small layer: 12 tokens in 2 sequences of 6, d = 6, 6 experts of width 5, top-2, one shared
/// expert of width 4.
inline MoeConfig small_moe_config() {
  MoeConfig c;
  c.model_dim = 6;
  c.expert_hidden = 5;
  c.routed_experts = 6;
  c.top_k = 2;
  c.shared_experts = 1;
  c.shared_hidden = 4;
  return c;
}

/// The variants every check runs over: both score functions, group-limited routing, every
/// balancing mode, the z-loss, gates with and without normalisation.
inline std::vector<MoeConfig> moe_variants() {
  std::vector<MoeConfig> out;
  MoeConfig c = small_moe_config();
  c.score_function = ScoreFunction::Sigmoid;
  c.balancing = Balancing::AuxLossFree;
  c.routed_scaling = 2.5f;
  out.push_back(c);  // DeepSeek-V3-like
  c.groups = 3;
  c.topk_groups = 2;
  c.balancing = Balancing::SequenceAux;
  c.aux_loss_coef = 0.3f;
  c.z_loss_coef = 0.05f;
  out.push_back(c);  // group-limited, sequence-wise balance loss, z-loss
  c = small_moe_config();
  c.score_function = ScoreFunction::Softmax;
  c.normalize_gates = false;
  c.balancing = Balancing::SwitchAux;
  c.aux_loss_coef = 0.2f;
  c.shared_experts = 0;
  out.push_back(c);  // softmax, Switch loss, no shared expert
  MoeConfig v2 = c;
  v2.groups = 3;
  v2.topk_groups = 2;
  v2.group_score = GroupScore::Max;
  v2.balancing = Balancing::None;
  v2.routed_scaling = 1.5f;
  out.push_back(v2);  // DeepSeek-V2's group_limited_greedy: groups ranked by their best score
  c.top_k = 3;
  c.normalize_gates = true;
  c.balancing = Balancing::None;
  c.z_loss_coef = 0.1f;
  out.push_back(c);
  MoeConfig llama4 = small_moe_config();
  llama4.top_k = 1;
  llama4.normalize_gates = false;
  llama4.gate_placement = GatePlacement::Input;
  llama4.balancing = Balancing::None;
  out.push_back(llama4);  // Llama 4: the top-1 sigmoid score scales the expert's input; a shared expert
  return out;
}

inline std::string describe(const MoeConfig& c) {
  const char* balancing[] = {"none", "aux-free", "sequence-aux", "switch-aux"};
  return std::string(c.score_function == ScoreFunction::Sigmoid ? "sigmoid" : "softmax") + " top" + std::to_string(c.top_k) +
         " groups " + std::to_string(c.groups) + "/" + std::to_string(c.topk_groups) +
         (c.group_score == GroupScore::Max ? " by max " : " ") +
         balancing[static_cast<int>(c.balancing)] + (c.normalize_gates ? " normalized" : "") +
         (c.gate_placement == GatePlacement::Input ? " gated input" : "") +
         " shared " + std::to_string(c.shared_experts);
}

/// A layer with its flat parameter and gradient buffers.
template <class B, class T>
struct MoeFixture {
  MoeConfig config;
  ParameterLayout layout;
  Buffer<T, B> params;
  Buffer<master_t<T>, B> grads;
  moe::MoeLayer<B, T> layer;
  moe::MoeParameters<T> p;
  moe::MoeParameters<master_t<T>> g;

  static ParameterLayout make_layout(const MoeConfig& c) {
    ParameterLayout layout;
    moe::declare_moe_parameters(layout, "moe.", c);
    return layout;
  }

  MoeFixture(const B& backend, const MoeConfig& c, std::uint64_t seed)
      : config(c), layout(make_layout(c)), params(backend, layout.size()), grads(backend, layout.size()), layer(backend, c) {
    fill(backend, params.view(), T(0.0f));
    fill(backend, grads.view(), master_t<T>(0));
    p = moe::moe_parameters(params.data(), layout, "moe.", c);
    g = moe::moe_parameters(grads.data(), layout, "moe.", c);
    moe::initialize_moe_parameters(backend, p, c, seed, 0);
  }

  template <class U, int Rank>
  std::vector<double> host(const B& backend, TensorView<U, Rank> v) const {
    if (v.data() == nullptr) return {};
    const auto values = to_host(backend, v);
    return {values.begin(), values.end()};
  }

  MoeWeights weights(const B& backend) const {
    return {host(backend, p.router), host(backend, p.expert_gate_up), host(backend, p.expert_down),
            host(backend, p.shared_gate_up), host(backend, p.shared_down)};
  }
};

template <class B, class T>
std::vector<T> moe_forward(const B& backend, MoeFixture<B, T>& f, const std::vector<T>& x, index_t tokens,
                           index_t sequence_length, Buffer<T, B>& device_x,
                           MatrixView<const std::int32_t> replay = {}) {
  const index_t d = f.config.model_dim;
  device_x = to_backend(backend, x);
  Buffer<T, B> y(backend, tokens * d);
  typename moe::MoeLayer<B, T>::ForwardOptions options;
  options.sequence_length = sequence_length;
  options.replay = replay;
  f.layer.forward(f.p, device_x.view(tokens, d), y.view(tokens, d), options);
  return to_host(backend, y.view());
}

/// Relative error allowed for values computed in T: double and float to their precision; bf16
/// (2^-9 per rounding) to 1e-2, whose routing is float.
template <class T>
constexpr double kMoeTolerance = std::is_same_v<T, double> ? 1e-10 : std::is_same_v<T, float> ? 2e-5 : 1e-2;

/// Forward output, routing and auxiliary loss against the reference of the same (T-valued)
/// weights and inputs; routing (gates, aux loss) is computed in compute_t<T>.
template <class B, class T>
void check_moe_forward(const B& backend) {
  std::uint64_t seed = 10;
  for (const MoeConfig& c : moe_variants()) {
    MoeFixture<B, T> f(backend, c, ++seed);
    const index_t tokens = 12, sequence = 6;
    std::vector<float> bias;
    if (c.balancing == Balancing::AuxLossFree) {
      bias = random_uniform<float>(static_cast<std::size_t>(c.routed_experts), seed, -0.3, 0.3);
      copy(backend, f.layer.bias(), VectorView<const float>(bias.data(), Extents<1>{c.routed_experts}));
    }
    const auto x = random_uniform<T>(static_cast<std::size_t>(tokens * c.model_dim), seed + 100, -2.0, 2.0);
    Buffer<T, B> device_x;
    const auto y = moe_forward(backend, f, x, tokens, sequence, device_x);
    const auto expected = reference_moe(c, f.weights(backend), as_double(x), tokens, bias, {}, sequence);
    const std::string what = describe(c);
    BOOST_TEST(relative_error(y, expected.y) < kMoeTolerance<T>, what << ": y relative error " << relative_error(y, expected.y));
    check_equal(to_host(backend, f.layer.routed_experts()), expected.ids, what + ": routed experts");
    constexpr double routing = kMoeTolerance<compute_t<T>>;
    BOOST_TEST(relative_error(to_host(backend, f.layer.gate_values()), expected.gates) < routing, what << ": gates");
    const double aux = to_host(backend, f.layer.aux_loss())[0];
    BOOST_TEST(std::abs(aux - expected.aux_loss) <= routing * (1.0 + expected.aux_loss), what << ": aux loss " << aux << " vs "
                                                                                             << expected.aux_loss);
    std::vector<std::int32_t> counts(static_cast<std::size_t>(c.routed_experts), 0);
    for (std::int32_t id : expected.ids) ++counts[static_cast<std::size_t>(id)];
    check_equal(to_host(backend, f.layer.expert_counts()), counts, what + ": tokens per expert");
  }
}

/// Every gradient (input, router, routed and shared experts) against central differences of the
/// reference objective J = <dy, y> + aux loss, in double, at the layer's (T-valued) weights and
/// inputs: within 1e-6 for double, 2e-2 for bf16.
template <class B, class T = double>
void check_moe_gradients(const B& backend) {
  constexpr double tolerance = std::is_same_v<T, double> ? 1e-6 : 2e-2;
  std::uint64_t seed = 40;
  for (const MoeConfig& c : moe_variants()) {
    MoeFixture<B, T> f(backend, c, ++seed);
    const index_t tokens = 12, sequence = 6, d = c.model_dim;
    std::vector<float> bias;
    if (c.balancing == Balancing::AuxLossFree) {
      bias = random_uniform<float>(static_cast<std::size_t>(c.routed_experts), seed, -0.3, 0.3);
      copy(backend, f.layer.bias(), VectorView<const float>(bias.data(), Extents<1>{c.routed_experts}));
    }
    const auto x_t = random_uniform<T>(static_cast<std::size_t>(tokens * d), seed + 100, -2.0, 2.0);
    const auto dy_t = random_uniform<T>(static_cast<std::size_t>(tokens * d), seed + 200, -1.0, 1.0);
    const std::vector<double> x = as_double(x_t), dy = as_double(dy_t);
    Buffer<T, B> device_x;
    (void)moe_forward(backend, f, x_t, tokens, sequence, device_x);
    Buffer<T, B> device_dy = to_backend(backend, dy_t), dx(backend, tokens * d);
    f.layer.backward(f.p, device_dy.view(tokens, d), dx.view(tokens, d), f.g);

    const MoeWeights w = f.weights(backend);
    const double h = 1e-6;
    const auto objective = [&](const MoeWeights& weights, const std::vector<double>& input) {
      return reference_moe_objective(c, weights, input, tokens, bias, dy, sequence);
    };
    const std::string what = describe(c);
    // Input gradient.
    std::vector<double> fd_x(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      auto plus = x, minus = x;
      plus[i] += h;
      minus[i] -= h;
      fd_x[i] = (objective(w, plus) - objective(w, minus)) / (2 * h);
    }
    BOOST_TEST(relative_error(to_host(backend, dx.view()), fd_x) < tolerance,
               what << ": dx vs finite differences, relative error " << relative_error(to_host(backend, dx.view()), fd_x));
    // Parameter gradients, tensor by tensor.
    const auto check_tensor = [&](std::vector<double> MoeWeights::*member, const std::vector<double>& grad, const char* name) {
      std::vector<double> fd((w.*member).size());
      for (std::size_t i = 0; i < fd.size(); ++i) {
        MoeWeights plus = w, minus = w;
        (plus.*member)[i] += h;
        (minus.*member)[i] -= h;
        fd[i] = (objective(plus, x) - objective(minus, x)) / (2 * h);
      }
      BOOST_TEST(relative_error(grad, fd) < tolerance, what << ": d " << name << " vs finite differences, relative error "
                                                            << relative_error(grad, fd));
    };
    check_tensor(&MoeWeights::router, f.host(backend, f.g.router), "router");
    check_tensor(&MoeWeights::expert_gate_up, f.host(backend, f.g.expert_gate_up), "expert_gate_up");
    check_tensor(&MoeWeights::expert_down, f.host(backend, f.g.expert_down), "expert_down");
    if (c.shared_width() > 0) {
      check_tensor(&MoeWeights::shared_gate_up, f.host(backend, f.g.shared_gate_up), "shared_gate_up");
      check_tensor(&MoeWeights::shared_down, f.host(backend, f.g.shared_down), "shared_down");
    }
  }
}

/// Routing, case by case.
template <class B>
void check_moe_routing(const B& backend) {
  // The bias changes which experts are picked, not the gate values.
  {
    MoeConfig c = small_moe_config();
    MoeFixture<B, double> f(backend, c, 3);
    const index_t tokens = 12;
    const auto x = random_uniform<double>(static_cast<std::size_t>(tokens * c.model_dim), 5, -2.0, 2.0);
    Buffer<double, B> device_x;
    (void)moe_forward(backend, f, x, tokens, 0, device_x);
    const auto unbiased_ids = to_host(backend, f.layer.routed_experts());
    std::vector<float> bias(6, 0.0f);
    bias[4] = 5.0f;  // far above any score difference: expert 4 is picked by every token
    copy(backend, f.layer.bias(), VectorView<const float>(bias.data(), Extents<1>{6}));
    (void)moe_forward(backend, f, x, tokens, 0, device_x);
    const auto ids = to_host(backend, f.layer.routed_experts());
    const auto gates = to_host(backend, f.layer.gate_values());
    const auto reference = reference_moe(c, f.weights(backend), x, tokens, {}, ids, 0);  // raw scores, no bias
    int changed = 0;
    for (index_t t = 0; t < tokens; ++t) {
      BOOST_TEST((ids[t * 2] == 4 || ids[t * 2 + 1] == 4), "token " << t << " did not pick the biased expert");
      changed += ids[t * 2] != unbiased_ids[t * 2] || ids[t * 2 + 1] != unbiased_ids[t * 2 + 1];
      for (index_t k = 0; k < 2; ++k) {
        const double s = reference.scores[t * 6 + ids[t * 2 + k]];
        const double z = reference.scores[t * 6 + ids[t * 2]] + reference.scores[t * 6 + ids[t * 2 + 1]];
        BOOST_TEST(std::abs(gates[t * 2 + k] - s / z) < 1e-12, "gate from the raw scores, token " << t);
      }
    }
    BOOST_TEST(changed > 0);
  }
  // Group-limited routing never picks outside the chosen groups, ranked by the sum of their two
  // best scores (DeepSeek-V3) or by their best (DeepSeek-V2).
  for (const GroupScore by : {GroupScore::TopTwoSum, GroupScore::Max}) {
    MoeConfig c = small_moe_config();
    c.group_score = by;
    c.routed_experts = 16;
    c.top_k = 3;
    c.groups = 4;
    c.topk_groups = 2;
    MoeFixture<B, double> f(backend, c, 4);
    const index_t tokens = 200;
    const auto x = random_uniform<double>(static_cast<std::size_t>(tokens * c.model_dim), 6, -2.0, 2.0);
    Buffer<double, B> device_x;
    (void)moe_forward(backend, f, x, tokens, 0, device_x);
    const auto ids = to_host(backend, f.layer.routed_experts());
    const auto reference = reference_moe(c, f.weights(backend), x, tokens, {}, {}, 0);
    check_equal(ids, reference.ids, "group-limited routing");
    for (index_t t = 0; t < tokens; ++t) {
      std::vector<std::pair<double, index_t>> groups;
      for (index_t g = 0; g < 4; ++g) {
        std::vector<double> s(reference.scores.begin() + t * 16 + g * 4, reference.scores.begin() + t * 16 + g * 4 + 4);
        std::sort(s.rbegin(), s.rend());
        groups.push_back({by == GroupScore::Max ? -s[0] : -(s[0] + s[1]), g});
      }
      std::sort(groups.begin(), groups.end());
      for (index_t k = 0; k < 3; ++k) {
        const index_t group = ids[t * 3 + k] / 4;
        BOOST_TEST_REQUIRE((group == groups[0].second || group == groups[1].second), "token " << t << " left its groups");
      }
    }
  }
  // Ties go to the lower index: with a zero router every score is equal.
  {
    MoeConfig c = small_moe_config();
    c.top_k = 3;
    c.groups = 3;
    c.topk_groups = 2;
    MoeFixture<B, double> f(backend, c, 5);
    fill(backend, f.p.router, 0.0);
    const auto x = random_uniform<double>(static_cast<std::size_t>(4 * c.model_dim), 7, -2.0, 2.0);
    Buffer<double, B> device_x;
    (void)moe_forward(backend, f, x, 4, 0, device_x);
    check_equal(to_host(backend, f.layer.routed_experts()), std::vector<std::int32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2},
                "ties to the lower index");
  }
}

/// Routing replay: the experts recorded in one pass are used in a later one, with gates from the
/// live scores.
template <class B>
void check_moe_replay(const B& backend) {
  MoeConfig c = small_moe_config();
  c.score_function = ScoreFunction::Softmax;
  MoeFixture<B, double> f(backend, c, 8);
  const index_t tokens = 12;
  const auto x = random_uniform<double>(static_cast<std::size_t>(tokens * c.model_dim), 9, -2.0, 2.0);
  Buffer<double, B> device_x;
  (void)moe_forward(backend, f, x, tokens, 0, device_x);
  const auto recorded = to_host(backend, f.layer.routed_experts());
  Buffer<std::int32_t, B> replay = to_backend(backend, recorded);
  // The policy moves: a new router would route differently.
  moe::initialize_moe_parameters(backend, f.p, c, 99, 0);
  const auto fresh = reference_moe(c, f.weights(backend), x, tokens, {}, {}, 0);
  BOOST_TEST((fresh.ids != recorded), "the new router should route differently for the test to mean something");
  const auto y = moe_forward(backend, f, x, tokens, 0, device_x, replay.view(tokens, 2));
  check_equal(to_host(backend, f.layer.routed_experts()), recorded, "replayed experts");
  const auto expected = reference_moe(c, f.weights(backend), x, tokens, {}, recorded, 0);
  BOOST_TEST(relative_error(y, expected.y) < 1e-10);
  BOOST_TEST(relative_error(to_host(backend, f.layer.gate_values()), expected.gates) < 1e-10);
}

/// An expert that receives no token gets exactly zero gradient; forward and backward are bitwise
/// reproducible.
template <class B>
void check_moe_zero_token_experts_and_determinism(const B& backend) {
  MoeConfig c = small_moe_config();
  MoeFixture<B, float> f(backend, c, 12);
  std::vector<float> bias(6, 0.0f);
  bias[3] = -10.0f;  // expert 3 is never picked
  copy(backend, f.layer.bias(), VectorView<const float>(bias.data(), Extents<1>{6}));
  const index_t tokens = 300, d = c.model_dim;
  const auto x = random_uniform<float>(static_cast<std::size_t>(tokens * d), 13, -2.0, 2.0);
  const auto dy = random_uniform<float>(static_cast<std::size_t>(tokens * d), 14, -1.0, 1.0);
  const auto run = [&] {
    fill(backend, f.grads.view(), 0.0f);
    Buffer<float, B> device_x;
    const auto y = moe_forward(backend, f, x, tokens, 0, device_x);
    Buffer<float, B> device_dy = to_backend(backend, dy), dx(backend, tokens * d);
    f.layer.backward(f.p, device_dy.view(tokens, d), dx.view(tokens, d), f.g);
    return std::tuple{y, to_host(backend, dx.view()), to_host(backend, f.grads.view())};
  };
  const auto [y1, dx1, g1] = run();
  const auto [y2, dx2, g2] = run();
  check_equal(y2, y1, "y, run to run");
  check_equal(dx2, dx1, "dx, run to run");
  check_equal(g2, g1, "gradients, run to run");
  const moe::MoeMetrics m = f.layer.metrics();
  BOOST_TEST(m.tokens_per_expert[3] == 0);
  BOOST_TEST(m.dead_experts == 1);
  const auto gu = f.host(backend, f.g.expert_gate_up[3]);
  const auto down = f.host(backend, f.g.expert_down[3]);
  BOOST_TEST(std::all_of(gu.begin(), gu.end(), [](double v) { return v == 0.0; }), "dead expert's gate_up gradient");
  BOOST_TEST(std::all_of(down.begin(), down.end(), [](double v) { return v == 0.0; }), "dead expert's down gradient");
  const auto live = f.host(backend, f.g.expert_down[0]);
  BOOST_TEST(std::any_of(live.begin(), live.end(), [](double v) { return v != 0.0; }), "a live expert's gradient");
}

/// Aux-loss-free balancing on a router skewed towards two of eight experts: max/mean load falls
/// under 1.2 within kBalancingSteps bias updates (gamma = 0.01, 1024 fresh tokens per step).
inline constexpr int kBalancingSteps = 150;

template <class B>
int balancing_steps_to_reach(const B& backend, double target, double* initial_imbalance) {
  MoeConfig c;
  c.model_dim = 16;
  c.expert_hidden = 8;
  c.routed_experts = 8;
  c.top_k = 2;
  c.balancing = Balancing::AuxLossFree;
  c.bias_update_rate = 0.01f;
  MoeFixture<B, float> f(backend, c, 21);
  // Experts 0 and 1 respond to a direction every token shares.
  std::vector<float> router = to_host(backend, f.p.router);
  for (index_t col = 0; col < c.model_dim; ++col) router[col] += 0.8f, router[c.model_dim + col] += 0.6f;
  copy(backend, f.p.router, MatrixView<const float>(router.data(), f.p.router.shape()));
  const index_t tokens = 1024;
  Buffer<float, B> device_x;
  for (int step = 0; step <= 1000; ++step) {
    auto x = random_uniform<float>(static_cast<std::size_t>(tokens * c.model_dim), 1000 + step, -1.0, 1.0);
    for (float& v : x) v += 0.5f;
    (void)moe_forward(backend, f, x, tokens, 0, device_x);
    const double imbalance = f.layer.metrics().max_over_mean_load;
    if (step == 0) *initial_imbalance = imbalance;
    if (imbalance < target) return step;
    f.layer.update_bias();
  }
  return -1;
}

template <class B>
void check_moe_balancing(const B& backend) {
  double initial = 0.0;
  const int steps = balancing_steps_to_reach(backend, 1.2, &initial);
  BOOST_TEST_MESSAGE("aux-loss-free balancing: max/mean load " << initial << " -> below 1.2 after " << steps << " updates");
  BOOST_TEST(initial > 2.5, "the router should start skewed, max/mean load " << initial);
  BOOST_TEST(steps >= 0);
  BOOST_TEST(steps <= kBalancingSteps, "balancing took " << steps << " updates");
}

template <class B>
void check_moe_errors(const B& backend) {
  MoeConfig c = small_moe_config();
  c.top_k = 7;
  BOOST_TEST(throws_with<ConfigError>([&] { moe::MoeLayer<B, float> layer(backend, c); }, {"top_k is 7"}));
  c = small_moe_config();
  c.groups = 4;
  BOOST_TEST(throws_with<ConfigError>([&] { moe::MoeLayer<B, float> layer(backend, c); }, {"groups is 4", "divide"}));
  c = small_moe_config();
  c.groups = 3;
  c.topk_groups = 1;
  c.top_k = 3;
  BOOST_TEST(throws_with<ConfigError>([&] { moe::MoeLayer<B, float> layer(backend, c); }, {"top_k = 3 exceeds the 2 experts"}));
  MoeFixture<B, float> f(backend, small_moe_config(), 1);
  Buffer<float, B> x(backend, 12 * 5), y(backend, 12 * 6);
  BOOST_TEST(throws_with<ShapeError>([&] { f.layer.forward(f.p, x.view(12, 5), y.view(12, 6)); }, {"x has shape [12, 5]", "[12, 6]"}));
  c = small_moe_config();
  c.balancing = Balancing::SequenceAux;
  MoeFixture<B, float> g(backend, c, 1);
  Buffer<float, B> x2(backend, 12 * 6);
  typename moe::MoeLayer<B, float>::ForwardOptions options;
  options.sequence_length = 5;
  BOOST_TEST(throws_with<ShapeError>([&] { g.layer.forward(g.p, x2.view(12, 6), y.view(12, 6), options); },
                                     {"12 tokens", "sequences of length 5"}));
}

}  // namespace rlmoe::test
