#pragma once
// A model's flat values (parameters, gradients, optimizer moments) as one process holds them, and
// back. Without expert parallelism they are the model's own. Under it a rank holds the tensors
// every rank holds plus its share of the routed experts, in its own layout (experts last, see
// Transformer::make_layout): whole_model_values gathers a group's experts to the group's rank 0 in
// the one-process layout, and own_model_values takes a rank's part out of it. Checkpoints hold the
// whole model, so that a run resumes with any number of ranks and any expert-parallel size.
#include <span>
#include <string>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/parameter_layout.hpp"
#include "rlmoe/nn/transformer.hpp"

namespace rlmoe::nn {

namespace detail {

inline bool is_expert_tensor(const std::string& name) { return name.find(".moe.experts.") != std::string::npos; }

}  // namespace detail

/// `values` [model.layout().size()] in backend memory -> host values in the one-process layout.
/// Collective over the model's expert group; its ranks other than 0 get an empty vector.
template <Backend B, class Spec, class T, class G>
std::vector<G> whole_model_values(const Transformer<B, Spec, T>& model, VectorView<const G> values) {
  const B& backend = model.backend();
  const moe::ExpertParallel<B>& ep = model.expert_parallel();
  RLMOE_CHECK(values.size() == model.layout().size(), ShapeError, "whole_model_values: ", values.size(),
              " values for a layout of ", model.layout().size());
  if (ep.size() == 1) return to_host(backend, values);
  const bool root = ep.rank() == 0;
  const ParameterLayout whole = Transformer<B, Spec, T>::make_layout();
  const std::vector<G> own = to_host(backend, values);
  std::vector<G> out(root ? static_cast<std::size_t>(whole.size()) : 0, G(0));
  Buffer<G, B> gathered;
  for (const auto& e : model.layout().entries()) {
    const index_t at = whole.find(e.name).offset;
    if (!detail::is_expert_tensor(e.name)) {
      if (root) std::copy(own.begin() + e.offset, own.begin() + e.offset + e.size, out.begin() + at);
      continue;
    }
    // Rank r holds experts [r E/P, (r + 1) E/P): received in rank order, they are in expert order.
    const index_t ranks = ep.size();
    std::vector<index_t> send(static_cast<std::size_t>(ranks), 0), receive(static_cast<std::size_t>(ranks), root ? e.size : 0);
    send[0] = e.size;
    if (gathered.size() < ranks * e.size) gathered = Buffer<G, B>(backend, ranks * e.size);
    ep.exchange(values.slice(e.offset, e.offset + e.size), send, gathered.view().slice(0, root ? ranks * e.size : 0), receive);
    if (root) {
      const std::vector<G> experts = to_host(backend, VectorView<const G>(gathered.view().slice(0, ranks * e.size)));
      std::copy(experts.begin(), experts.end(), out.begin() + at);
    }
  }
  return out;
}

/// Host values in the one-process layout -> this rank's, in its own layout.
template <Backend B, class Spec, class T, class G>
std::vector<G> own_model_values(const Transformer<B, Spec, T>& model, const std::vector<G>& whole_values) {
  const moe::ExpertParallel<B>& ep = model.expert_parallel();
  if (ep.size() == 1) return whole_values;
  const ParameterLayout whole = Transformer<B, Spec, T>::make_layout();
  RLMOE_CHECK(static_cast<index_t>(whole_values.size()) == whole.size(), ShapeError, "own_model_values: ", whole_values.size(),
              " values for a model of ", whole.size());
  std::vector<G> out(static_cast<std::size_t>(model.layout().size()), G(0));
  const index_t first = ep.first_expert(Spec::kRoutedExperts);
  for (const auto& e : model.layout().entries()) {
    const auto& w = whole.find(e.name);
    const index_t at = w.offset + (detail::is_expert_tensor(e.name) ? first * (w.size / Spec::kRoutedExperts) : 0);
    std::copy(whole_values.begin() + at, whole_values.begin() + at + e.size, out.begin() + e.offset);
  }
  return out;
}

}  // namespace rlmoe::nn
