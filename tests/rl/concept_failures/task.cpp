// A task without max_completion_length() is refused with one message stating the declaration.
#include "common.hpp"

struct Incomplete {
  static constexpr std::string_view kName = "incomplete";
  using Vocabulary = rlmoe::rl::tasks::DigitVocabulary;
  rlmoe::rl::tasks::Problem problem(std::uint64_t, rlmoe::index_t) const { return {{1, 2}, {1}}; }
  std::vector<rlmoe::rl::token_t> demonstration(const rlmoe::rl::tasks::Problem& p) const { return p.reference; }
  rlmoe::rl::ExactMatch reward() const { return {}; }
  rlmoe::rl::ExactMatch accuracy() const { return {}; }
  rlmoe::index_t max_prompt_length() const { return 2; }
};
struct Complete : Incomplete {
  rlmoe::index_t max_completion_length() const { return 2; }
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Task = Complete;
#else
using Task = Incomplete;
#endif

int main() { train<Spec17>(Task{}); }
