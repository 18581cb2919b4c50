#pragma once
// Boost.Test for the one translation unit of a test program that owns its entry point (define
// BOOST_TEST_MODULE or include cuda_test_main.hpp before this). The header-only variant is
// selected for builds that must run where Boost is not installed.
#if defined(RLMOE_BOOST_TEST_HEADER_ONLY)
#include <boost/test/included/unit_test.hpp>
#else
#include <boost/test/unit_test.hpp>
#endif
