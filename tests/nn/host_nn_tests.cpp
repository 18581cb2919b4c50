// nn/ and optim/: transformer layers, Transformer<Spec> and AdamW on the Host backend.
#define BOOST_TEST_MODULE rlmoe nn host
#include "support/boost_test.hpp"

#include "nn/nn_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Host;

BOOST_AUTO_TEST_SUITE(nn_layers)
BOOST_AUTO_TEST_CASE(rmsnorm) { t::check_rmsnorm(Host{}); }
BOOST_AUTO_TEST_CASE(rotary_embedding) { t::check_rope(Host{}); }
BOOST_AUTO_TEST_CASE(causal_attention) { t::check_attention(Host{}); }
BOOST_AUTO_TEST_CASE(log_softmax_and_entropy) { t::check_log_softmax(Host{}); }
BOOST_AUTO_TEST_CASE(embedding) { t::check_embedding(Host{}); }
BOOST_AUTO_TEST_CASE(swiglu_mlp) { t::check_swiglu_mlp(Host{}); }
BOOST_AUTO_TEST_CASE(rmsnorm_bfloat16) { t::check_rmsnorm<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_CASE(rotary_embedding_bfloat16) { t::check_rope<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_CASE(causal_attention_bfloat16) { t::check_attention<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_CASE(log_softmax_and_entropy_bfloat16) { t::check_log_softmax<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_CASE(embedding_bfloat16) { t::check_embedding<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_CASE(swiglu_mlp_bfloat16) { t::check_swiglu_mlp<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nn_transformer)
BOOST_AUTO_TEST_CASE(forward_moe_against_reference) { t::check_transformer_forward<Host, t::TinyMoeSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(forward_dense_against_reference) { t::check_transformer_forward<Host, t::TinyDenseSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(gradients_moe_aux_free) { t::check_transformer_gradients<Host, t::TinyMoeSpec>(Host{}, {}); }
BOOST_AUTO_TEST_CASE(gradients_moe_sequence_aux_and_z_loss) {
  t::check_transformer_gradients<Host, t::TinyMoeSpec>(Host{}, {rlmoe::moe::Balancing::SequenceAux, 0.0f, 0.1f, 0.01f});
}
BOOST_AUTO_TEST_CASE(gradients_dense) { t::check_transformer_gradients<Host, t::TinyDenseSpec>(Host{}, {}); }
BOOST_AUTO_TEST_CASE(forward_qwen_moe_against_reference) { t::check_transformer_forward<Host, t::TinyQwenMoeSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(forward_grouped_query_against_reference) { t::check_transformer_forward<Host, t::TinyGqaSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(gradients_qwen_moe) { t::check_transformer_gradients<Host, t::TinyQwenMoeSpec>(Host{}, {}); }
BOOST_AUTO_TEST_CASE(gradients_grouped_query) { t::check_transformer_gradients<Host, t::TinyGqaSpec>(Host{}, {}); }
BOOST_AUTO_TEST_CASE(bfloat16_qwen_moe_against_float64) { t::check_transformer_bf16<Host, t::TinyQwenMoeSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_moe_against_float64) { t::check_transformer_bf16<Host, t::TinyMoeSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_dense_against_float64) { t::check_transformer_bf16<Host, t::TinyDenseSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(forward_olmoe_full_width_qk_norm_against_reference) { t::check_transformer_forward<Host, t::TinyOlmoeSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(gradients_olmoe_full_width_qk_norm) { t::check_transformer_gradients<Host, t::TinyOlmoeSpec>(Host{}, {}); }
BOOST_AUTO_TEST_CASE(forward_deepseek_latent_attention_against_reference) { t::check_transformer_forward<Host, t::TinyDeepseekSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(forward_latent_attention_without_q_bottleneck_against_reference) {
  t::check_transformer_forward<Host, t::TinyLatentSpec>(Host{});
}
BOOST_AUTO_TEST_CASE(gradients_deepseek_latent_attention) { t::check_transformer_gradients<Host, t::TinyDeepseekSpec>(Host{}, {}); }
BOOST_AUTO_TEST_CASE(gradients_latent_attention_without_q_bottleneck) { t::check_transformer_gradients<Host, t::TinyLatentSpec>(Host{}, {}); }
BOOST_AUTO_TEST_CASE(bfloat16_deepseek_against_float64) { t::check_transformer_bf16<Host, t::TinyDeepseekSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(forward_scaled_rotary_embeddings_against_reference) {
  t::check_transformer_forward<Host, t::TinyYarnDeepseekSpec>(Host{});
  t::check_transformer_forward<Host, t::TinyLlama3RopeSpec>(Host{});
  t::check_transformer_forward<Host, t::TinyLinearRopeSpec>(Host{});
}
BOOST_AUTO_TEST_CASE(gradients_scaled_rotary_embeddings) {
  t::check_transformer_gradients<Host, t::TinyYarnDeepseekSpec>(Host{}, {});
  t::check_transformer_gradients<Host, t::TinyLlama3RopeSpec>(Host{}, {});
}
BOOST_AUTO_TEST_CASE(interleaved_moe_layers) {
  static_assert(!rlmoe::nn::is_moe_layer<t::TinyInterleavedSpec>(0) && rlmoe::nn::is_moe_layer<t::TinyInterleavedSpec>(1) &&
                !rlmoe::nn::is_moe_layer<t::TinyInterleavedSpec>(2) && rlmoe::nn::is_moe_layer<t::TinyInterleavedSpec>(3));
  static_assert(rlmoe::nn::moe_layer_count_v<t::TinyInterleavedSpec> == 2 && rlmoe::nn::moe_layer_at<t::TinyInterleavedSpec>(1) == 3);
  t::check_transformer_forward<Host, t::TinyInterleavedSpec>(Host{});
  t::check_transformer_gradients<Host, t::TinyInterleavedSpec>(Host{}, {});
  t::check_transformer_bf16<Host, t::TinyInterleavedShortSpec>(Host{});
  t::check_decode_matches_forward<Host, t::TinyInterleavedSpec, double>(Host{});
}
BOOST_AUTO_TEST_CASE(llama4_layers) {
  // No-rope layers with temperature-tuned queries, weightless q/k norms after the rotation, gates
  // on the experts' inputs, interleaved MoE layers.
  static_assert(rlmoe::nn::uses_rope<t::TinyLlama4Spec>(0) && !rlmoe::nn::uses_rope<t::TinyLlama4Spec>(1));
  t::check_transformer_forward<Host, t::TinyLlama4Spec>(Host{});
  t::check_transformer_gradients<Host, t::TinyLlama4Spec>(Host{}, {});
  t::check_decode_matches_forward<Host, t::TinyLlama4Spec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyLlama4Spec, float>(Host{});
  t::check_transformer_bf16<Host, t::TinyLlama4ShortSpec>(Host{});
}
BOOST_AUTO_TEST_CASE(bfloat16_grouped_query_against_float64) { t::check_transformer_bf16<Host, t::TinyGqaSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_deepseek_v2_routing_against_float64) { t::check_transformer_bf16<Host, t::TinyLatentSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_yarn_deepseek_against_float64) { t::check_transformer_bf16<Host, t::TinyYarnDeepseekSpec>(Host{}); }
BOOST_AUTO_TEST_CASE(decode_with_scaled_rotary_embeddings_matches_forward) {
  t::check_decode_matches_forward<Host, t::TinyYarnDeepseekSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyLlama3RopeSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyYarnDeepseekSpec, float>(Host{});
}
BOOST_AUTO_TEST_CASE(decode_matches_forward) {
  t::check_decode_matches_forward<Host, t::TinyMoeSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyDenseSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyDenseSpec, float>(Host{});
  t::check_decode_matches_forward<Host, t::TinyQwenMoeSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyGqaSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyOlmoeSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyDeepseekSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyLatentSpec, double>(Host{});
  t::check_decode_matches_forward<Host, t::TinyDeepseekSpec, float>(Host{});
}
BOOST_AUTO_TEST_CASE(overfits_a_fixed_batch_deterministically) {
  double first = 0.0, again = 0.0;
  const double last = t::overfit<Host, t::TinyMoeSpec>(Host{}, 300, &first);
  BOOST_TEST_MESSAGE("supervised overfitting: loss " << first << " -> " << last);
  BOOST_TEST(last < first / 100.0);
  const double repeated = t::overfit<Host, t::TinyMoeSpec>(Host{}, 300, &again);
  BOOST_TEST(repeated == last);
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(optim_adamw)
BOOST_AUTO_TEST_CASE(matches_the_formula_with_clipping_and_skips_nan_steps) { t::check_adamw(Host{}); }
BOOST_AUTO_TEST_SUITE_END()
