#pragma once
// RLMOE_DEBUG_CHECKS: checks that cost a pass or a host round-trip and guard against bugs in user
// code rather than bad input (an advantage estimator that leaves values unwritten, say). On in
// debug builds (no NDEBUG) and in rlmoe's tests; define it to 0 or 1 to choose.
#if !defined(RLMOE_DEBUG_CHECKS)
#if defined(NDEBUG)
#define RLMOE_DEBUG_CHECKS 0
#else
#define RLMOE_DEBUG_CHECKS 1
#endif
#endif
