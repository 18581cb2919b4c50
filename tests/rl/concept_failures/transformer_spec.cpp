// A Spec without kNormEpsilon is refused with one message stating the member.
#include "common.hpp"

struct WithoutEpsilon {
  static constexpr rlmoe::index_t kVocab = 17, kModelDim = 16, kLayers = 1, kHeads = 2, kMaxLength = 16;
  static constexpr rlmoe::index_t kDenseHidden = 16, kFirstMoeLayer = 0;
  static constexpr rlmoe::index_t kRoutedExperts = 2, kTopK = 1, kExpertHidden = 8, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f;
  static constexpr bool kTiedEmbeddings = true;
};
struct WithEpsilon : WithoutEpsilon {
  static constexpr float kNormEpsilon = 1e-6f;
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Spec = WithEpsilon;
#else
using Spec = WithoutEpsilon;
#endif

int main() {
  rlmoe::nn::Transformer<rlmoe::Host, Spec> model(rlmoe::Host{});
  model.initialize(1);
  model.forward({}, {});  // compiled, never run: every use of the Spec is instantiated
  model.backward({});
  train<Spec>(rlmoe::rl::tasks::ReverseDigits{2, 3});
}
