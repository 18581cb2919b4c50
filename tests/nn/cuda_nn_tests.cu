// nn/ and optim/: transformer layers, Transformer<Spec> and AdamW on the Cuda backend, and the
// model on Cuda against the model on Host.
#include "support/cuda_test_main.hpp"

#include "nn/nn_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Cuda;
using rlmoe::Host;

using rlmoe::test::gpu;

BOOST_AUTO_TEST_SUITE(cuda_nn_layers)
BOOST_AUTO_TEST_CASE(rmsnorm) { t::check_rmsnorm(gpu()); }
BOOST_AUTO_TEST_CASE(rotary_embedding) { t::check_rope(gpu()); }
BOOST_AUTO_TEST_CASE(causal_attention) { t::check_attention(gpu()); }
BOOST_AUTO_TEST_CASE(log_softmax_and_entropy) { t::check_log_softmax(gpu()); }
BOOST_AUTO_TEST_CASE(embedding) { t::check_embedding(gpu()); }
BOOST_AUTO_TEST_CASE(swiglu_mlp) { t::check_swiglu_mlp(gpu()); }
BOOST_AUTO_TEST_CASE(rmsnorm_bfloat16) { t::check_rmsnorm<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_CASE(rotary_embedding_bfloat16) { t::check_rope<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_CASE(causal_attention_bfloat16) { t::check_attention<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_CASE(log_softmax_and_entropy_bfloat16) { t::check_log_softmax<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_CASE(embedding_bfloat16) { t::check_embedding<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_CASE(swiglu_mlp_bfloat16) { t::check_swiglu_mlp<Cuda, rlmoe::bfloat16>(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_nn_transformer)
BOOST_AUTO_TEST_CASE(forward_moe_against_reference) { t::check_transformer_forward<Cuda, t::TinyMoeSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(forward_dense_against_reference) { t::check_transformer_forward<Cuda, t::TinyDenseSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(gradients_moe_aux_free) { t::check_transformer_gradients<Cuda, t::TinyMoeSpec>(gpu(), {}); }
BOOST_AUTO_TEST_CASE(gradients_dense) { t::check_transformer_gradients<Cuda, t::TinyDenseSpec>(gpu(), {}); }
BOOST_AUTO_TEST_CASE(forward_qwen_moe_against_reference) { t::check_transformer_forward<Cuda, t::TinyQwenMoeSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(gradients_qwen_moe) { t::check_transformer_gradients<Cuda, t::TinyQwenMoeSpec>(gpu(), {}); }
BOOST_AUTO_TEST_CASE(gradients_grouped_query) { t::check_transformer_gradients<Cuda, t::TinyGqaSpec>(gpu(), {}); }
BOOST_AUTO_TEST_CASE(bfloat16_qwen_moe_against_float64) { t::check_transformer_bf16<Cuda, t::TinyQwenMoeSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16_moe_against_float64) { t::check_transformer_bf16<Cuda, t::TinyMoeSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(bfloat16_dense_against_float64) { t::check_transformer_bf16<Cuda, t::TinyDenseSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(gradients_olmoe_full_width_qk_norm) { t::check_transformer_gradients<Cuda, t::TinyOlmoeSpec>(gpu(), {}); }
BOOST_AUTO_TEST_CASE(forward_deepseek_latent_attention_against_reference) { t::check_transformer_forward<Cuda, t::TinyDeepseekSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(gradients_deepseek_latent_attention) { t::check_transformer_gradients<Cuda, t::TinyDeepseekSpec>(gpu(), {}); }
BOOST_AUTO_TEST_CASE(gradients_latent_attention_without_q_bottleneck) { t::check_transformer_gradients<Cuda, t::TinyLatentSpec>(gpu(), {}); }
BOOST_AUTO_TEST_CASE(bfloat16_deepseek_against_float64) { t::check_transformer_bf16<Cuda, t::TinyDeepseekSpec>(gpu()); }
BOOST_AUTO_TEST_CASE(scaled_rotary_embeddings_against_reference) {
  t::check_transformer_forward<Cuda, t::TinyYarnDeepseekSpec>(gpu());
  t::check_transformer_gradients<Cuda, t::TinyLlama3RopeSpec>(gpu(), {});
  t::check_decode_matches_forward<Cuda, t::TinyYarnDeepseekSpec, double>(gpu());
}
BOOST_AUTO_TEST_CASE(decode_matches_forward) {
  t::check_decode_matches_forward<Cuda, t::TinyMoeSpec, double>(gpu());
  t::check_decode_matches_forward<Cuda, t::TinyDenseSpec, float>(gpu());
  t::check_decode_matches_forward<Cuda, t::TinyQwenMoeSpec, double>(gpu());
  t::check_decode_matches_forward<Cuda, t::TinyGqaSpec, float>(gpu());
  t::check_decode_matches_forward<Cuda, t::TinyDeepseekSpec, double>(gpu());
  t::check_decode_matches_forward<Cuda, t::TinyLatentSpec, float>(gpu());
}
BOOST_AUTO_TEST_CASE(overfits_a_fixed_batch) {
  double first = 0.0;
  const double last = t::overfit<Cuda, t::TinyMoeSpec>(gpu(), 300, &first);
  BOOST_TEST(last < first / 100.0);
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_optim_adamw)
BOOST_AUTO_TEST_CASE(matches_the_formula_with_clipping_and_skips_nan_steps) { t::check_adamw(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_nn_vs_host)
BOOST_AUTO_TEST_CASE(model_forward_and_backward) {
  const t::TokenBatch tokens(t::TinyMoeSpec::kVocab, 30);
  const rlmoe::index_t outputs = tokens.batch * tokens.completion_width;
  const auto a = t::random_uniform<float>(outputs, 31);
  const auto run = [&](const auto& backend) {
    using B = std::decay_t<decltype(backend)>;
    rlmoe::nn::Transformer<B, t::TinyMoeSpec> model(backend);
    model.initialize(32);
    t::BackendTokens<B> batch(backend, tokens);
    rlmoe::Buffer<float, B> logp(backend, outputs), d_logp = rlmoe::to_backend(backend, a);
    model.forward(batch.view, logp.view(tokens.batch, tokens.completion_width));
    model.backward(d_logp.view(tokens.batch, tokens.completion_width));
    return std::pair{rlmoe::to_host(backend, logp.view()), rlmoe::to_host(backend, model.gradients())};
  };
  const auto [host_logp, host_grad] = run(Host{});
  const auto [cuda_logp, cuda_grad] = run(gpu());
  // Same parameters (Philox initialisation), same math in float.
  BOOST_TEST(t::relative_error(cuda_logp, t::as_double(host_logp)) < 1e-5);
  BOOST_TEST(t::relative_error(cuda_grad, t::as_double(host_grad)) < 1e-4);
}
BOOST_AUTO_TEST_SUITE_END()
