// moe/: the Mixture-of-Experts layer on the Host backend, against the float64 reference and
// central finite differences.
#define BOOST_TEST_MODULE rlmoe moe host
#include "support/boost_test.hpp"

#include "moe/moe_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Host;

BOOST_AUTO_TEST_SUITE(moe_forward)
BOOST_AUTO_TEST_CASE(float32) { t::check_moe_forward<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(float64) { t::check_moe_forward<Host, double>(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16) { t::check_moe_forward<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(moe_backward)
BOOST_AUTO_TEST_CASE(gradients_against_finite_differences) { t::check_moe_gradients(Host{}); }
BOOST_AUTO_TEST_CASE(bfloat16_gradients_against_finite_differences) { t::check_moe_gradients<Host, rlmoe::bfloat16>(Host{}); }
BOOST_AUTO_TEST_CASE(zero_token_experts_and_determinism) { t::check_moe_zero_token_experts_and_determinism(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(moe_routing)
BOOST_AUTO_TEST_CASE(bias_groups_and_ties) { t::check_moe_routing(Host{}); }
BOOST_AUTO_TEST_CASE(replay) { t::check_moe_replay(Host{}); }
BOOST_AUTO_TEST_CASE(refused_configurations) { t::check_moe_errors(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(moe_balancing)
BOOST_AUTO_TEST_CASE(aux_loss_free_bias_balances_a_skewed_router) { t::check_moe_balancing(Host{}); }
BOOST_AUTO_TEST_SUITE_END()
