// A task whose vocabulary differs in size from the policy's is refused, and the message shows
// both sizes.
#include "common.hpp"

struct Letters {
  static constexpr rlmoe::index_t kSize = 40;
  static constexpr rlmoe::rl::token_t kEos = 37, kPad = 38;
};
struct LetterTask {
  static constexpr std::string_view kName = "letters";
  using Vocabulary = Letters;
  rlmoe::rl::tasks::Problem problem(std::uint64_t, rlmoe::index_t) const { return {{1, 2}, {1}}; }
  std::vector<rlmoe::rl::token_t> demonstration(const rlmoe::rl::tasks::Problem& p) const { return p.reference; }
  rlmoe::rl::ExactMatch reward() const { return {}; }
  rlmoe::rl::ExactMatch accuracy() const { return {}; }
  rlmoe::index_t max_prompt_length() const { return 2; }
  rlmoe::index_t max_completion_length() const { return 2; }
};
struct Spec40 : Spec17 {
  static constexpr rlmoe::index_t kVocab = 40;
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Spec = Spec40;
#else
using Spec = Spec17;
#endif

int main() { train<Spec>(LetterTask{}); }
