// libFuzzer target: loading a training checkpoint (a small MoE transformer, its optimizer and a
// reference model) from a file, through the mapped-file reader. Any input is either loaded or
// refused with an rlmoe::Error, and a refused one leaves the model as it was.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include "nn/tiny_specs.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/io/checkpoint.hpp"

namespace {

using Model = rlmoe::nn::Transformer<rlmoe::Host, rlmoe::test::TinyMoeSpec>;

struct State {
  Model model{rlmoe::Host{}}, reference{rlmoe::Host{}};
  rlmoe::optim::AdamW<rlmoe::Host> adam{rlmoe::Host{}, model.parameters().size(), {}};
  std::string path = "/tmp/rlmoe-fuzz-checkpoint-" + std::to_string(::getpid()) + ".safetensors";
  State() {
    model.initialize(1);
    reference.initialize(2);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static State state;
  std::FILE* f = std::fopen(state.path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  const std::vector<float> before = rlmoe::to_host(rlmoe::Host{}, state.model.parameters());
  try {
    (void)rlmoe::io::load_checkpoint(state.path, rlmoe::Host{}, state.model, state.adam, &state.reference);
  } catch (const rlmoe::Error&) {
    if (rlmoe::to_host(rlmoe::Host{}, state.model.parameters()) != before) std::abort();  // refused: untouched
  }
  return 0;
}
