// moe/: the Mixture-of-Experts layer on the Cuda backend, against the float64 reference, finite
// differences, and the Host backend on the same inputs.
#include "support/cuda_test_main.hpp"

#include "moe/moe_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Cuda;
using rlmoe::Host;
using rlmoe::index_t;

using rlmoe::test::gpu;

BOOST_AUTO_TEST_SUITE(cuda_moe_forward)
BOOST_AUTO_TEST_CASE(float32) { t::check_moe_forward<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(float64) { t::check_moe_forward<Cuda, double>(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16) { t::check_moe_forward<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_moe_backward)
BOOST_AUTO_TEST_CASE(gradients_against_finite_differences) { t::check_moe_gradients(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16_gradients_against_finite_differences) { t::check_moe_gradients<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_CASE(zero_token_experts_and_determinism) { t::check_moe_zero_token_experts_and_determinism(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_moe_routing)
BOOST_AUTO_TEST_CASE(bias_groups_and_ties) { t::check_moe_routing(gpu()); }
BOOST_AUTO_TEST_CASE(replay) { t::check_moe_replay(gpu()); }
BOOST_AUTO_TEST_CASE(refused_configurations) { t::check_moe_errors(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_moe_balancing)
BOOST_AUTO_TEST_CASE(aux_loss_free_bias_balances_a_skewed_router) { t::check_moe_balancing(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

// The same layer, parameters and tokens on both backends: a fine-grained configuration with
// enough tokens for every kernel to run many blocks.
BOOST_AUTO_TEST_SUITE(cuda_moe_vs_host)
BOOST_AUTO_TEST_CASE(forward_and_backward) {
  t::MoeConfig c;
  c.model_dim = 64;
  c.expert_hidden = 32;
  c.routed_experts = 16;
  c.top_k = 4;
  c.shared_experts = 1;
  c.groups = 4;
  c.topk_groups = 2;
  c.balancing = rlmoe::moe::Balancing::SequenceAux;
  c.z_loss_coef = 1e-3f;
  const index_t tokens = 2048, d = c.model_dim;
  const auto x = t::random_uniform<float>(static_cast<std::size_t>(tokens * d), 1, -2.0, 2.0);
  const auto dy = t::random_uniform<float>(static_cast<std::size_t>(tokens * d), 2, -1.0, 1.0);
  const auto run = [&](const auto& backend) {
    using B = std::decay_t<decltype(backend)>;
    t::MoeFixture<B, float> f(backend, c, 5);
    rlmoe::Buffer<float, B> device_x;
    const auto y = t::moe_forward(backend, f, x, tokens, 256, device_x);
    rlmoe::Buffer<float, B> device_dy = rlmoe::to_backend(backend, dy), dx(backend, tokens * d);
    f.layer.backward(f.p, device_dy.view(tokens, d), dx.view(tokens, d), f.g);
    return std::tuple{y, rlmoe::to_host(backend, f.layer.routed_experts()), rlmoe::to_host(backend, dx.view()),
                      rlmoe::to_host(backend, f.grads.view())};
  };
  const auto [host_y, host_ids, host_dx, host_grads] = run(Host{});
  const auto [cuda_y, cuda_ids, cuda_dx, cuda_grads] = run(gpu());
  t::check_equal(cuda_ids, host_ids, "routing");
  // Same math in float; GEMM summation orders and expf ulps differ between Eigen and cuBLAS.
  BOOST_TEST(t::relative_error(cuda_y, t::as_double(host_y)) < 1e-5);
  BOOST_TEST(t::relative_error(cuda_dx, t::as_double(host_dx)) < 1e-5);
  BOOST_TEST(t::relative_error(cuda_grads, t::as_double(host_grads)) < 1e-5);
}
BOOST_AUTO_TEST_SUITE_END()
