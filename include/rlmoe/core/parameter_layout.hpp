#pragma once
// Named tensors in one flat buffer. A model declares each of its parameter tensors once (name and
// shape); the layout assigns offsets, and views over any buffer of layout.size() elements (the
// parameters, their gradients, the optimizer's moments) follow from it. One flat buffer is what
// the optimizer, checkpoints and all-reduce want; the names are what checkpoints and errors use.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe {

class ParameterLayout {
 public:
  /// Offsets are multiples of this many elements (256 bytes of float): every tensor starts aligned
  /// for vector loads.
  static constexpr index_t kAlignment = 64;

  struct Entry {
    std::string name;
    std::vector<index_t> shape;
    index_t offset = 0;
    index_t size = 0;
  };

  /// Declares a tensor; returns its offset. Names must be unique.
  index_t add(std::string name, std::vector<index_t> shape) {
    RLMOE_CHECK(!shape.empty() && shape.size() <= 4, ShapeError, "ParameterLayout: tensor '", name, "' has rank ",
                shape.size(), " but ranks 1 to 4 are supported");
    index_t size = 1;
    for (index_t extent : shape) {
      RLMOE_CHECK(extent >= 0, ShapeError, "ParameterLayout: tensor '", name, "' has a negative extent");
      size *= extent;
    }
    RLMOE_CHECK(std::none_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; }),
                ConfigError, "ParameterLayout: tensor '", name, "' is declared twice");
    const index_t offset = (size_ + kAlignment - 1) / kAlignment * kAlignment;
    entries_.push_back({std::move(name), std::move(shape), offset, size});
    size_ = offset + size;
    return offset;
  }

  /// Elements a buffer needs to hold every tensor.
  [[nodiscard]] index_t size() const { return size_; }
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

  [[nodiscard]] const Entry& find(std::string_view name) const {
    for (const Entry& e : entries_)
      if (e.name == name) return e;
    throw ConfigError(detail::message("ParameterLayout: no tensor named '", name, "'"));
  }

  /// The tensor `name` inside the flat buffer starting at `base`, as a view of rank Rank.
  template <int Rank, class T>
  [[nodiscard]] TensorView<T, Rank> view(T* base, std::string_view name) const {
    const Entry& e = find(name);
    RLMOE_CHECK(static_cast<int>(e.shape.size()) == Rank, ShapeError, "ParameterLayout: tensor '", name, "' has rank ",
                e.shape.size(), " but a view of rank ", Rank, " was asked for");
    Extents<Rank> shape{};
    for (int d = 0; d < Rank; ++d) shape[d] = e.shape[static_cast<std::size_t>(d)];
    return {base + e.offset, shape};
  }

 private:
  std::vector<Entry> entries_;
  index_t size_ = 0;
};

}  // namespace rlmoe
