#pragma once
// Non-owning views of rank 1 to 4 over raw memory of either backend: a pointer, a shape and
// strides in elements (row-major by default). A view never knows where its memory lives; the
// backend an operation is called with decides that, as with a raw pointer in a CUDA kernel.
// Views are trivially copyable so that functors capture them by value into kernels.
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe {

/// The extents (or strides) of a rank-Rank tensor.
template <int Rank>
struct Extents {
  static_assert(Rank >= 1 && Rank <= 4, "rlmoe tensors have rank 1 to 4");
  index_t values[Rank];

  RLMOE_HOST_DEVICE constexpr index_t operator[](int d) const { return values[d]; }
  RLMOE_HOST_DEVICE constexpr index_t& operator[](int d) { return values[d]; }

  /// Number of elements: the product of the extents.
  RLMOE_HOST_DEVICE constexpr index_t product() const {
    index_t n = 1;
    for (int d = 0; d < Rank; ++d) n *= values[d];
    return n;
  }

  friend constexpr bool operator==(const Extents& a, const Extents& b) {
    for (int d = 0; d < Rank; ++d)
      if (a.values[d] != b.values[d]) return false;
    return true;
  }
};

template <int Rank>
std::ostream& operator<<(std::ostream& out, const Extents<Rank>& e) {
  out << '[';
  for (int d = 0; d < Rank; ++d) out << (d ? ", " : "") << e.values[d];
  return out << ']';
}

template <int Rank>
[[nodiscard]] std::string to_string(const Extents<Rank>& e) {
  std::ostringstream out;
  out << e;
  return out.str();
}

/// Strides of a densely packed row-major tensor of the given shape.
template <int Rank>
RLMOE_HOST_DEVICE constexpr Extents<Rank> row_major_strides(const Extents<Rank>& shape) {
  Extents<Rank> strides{};
  index_t s = 1;
  for (int d = Rank - 1; d >= 0; --d) {
    strides.values[d] = s;
    s *= shape.values[d];
  }
  return strides;
}

template <class T, int Rank>
class TensorView {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  static constexpr int kRank = Rank;

  constexpr TensorView() = default;

  /// A densely packed row-major view.
  RLMOE_HOST_DEVICE constexpr TensorView(T* data, Extents<Rank> shape)
      : data_(data), shape_(shape), strides_(row_major_strides(shape)) {}

  RLMOE_HOST_DEVICE constexpr TensorView(T* data, Extents<Rank> shape, Extents<Rank> strides)
      : data_(data), shape_(shape), strides_(strides) {}

  /// A view of mutable elements converts to a view of const elements, not the other way round.
  template <class U>
    requires(std::is_const_v<T> && std::is_same_v<const U, T>)
  RLMOE_HOST_DEVICE constexpr TensorView(const TensorView<U, Rank>& other)  // NOLINT: implicit on purpose
      : data_(other.data()), shape_(other.shape()), strides_(other.strides()) {}

  RLMOE_HOST_DEVICE constexpr T* data() const { return data_; }
  RLMOE_HOST_DEVICE constexpr const Extents<Rank>& shape() const { return shape_; }
  RLMOE_HOST_DEVICE constexpr const Extents<Rank>& strides() const { return strides_; }
  RLMOE_HOST_DEVICE constexpr index_t extent(int d) const { return shape_[d]; }
  RLMOE_HOST_DEVICE constexpr index_t stride(int d) const { return strides_[d]; }
  RLMOE_HOST_DEVICE constexpr index_t size() const { return shape_.product(); }
  RLMOE_HOST_DEVICE constexpr bool empty() const { return size() == 0; }

  /// True when the elements are packed row-major with no gaps, so the view is one flat array.
  RLMOE_HOST_DEVICE constexpr bool is_contiguous() const {
    const Extents<Rank> packed = row_major_strides(shape_);
    for (int d = 0; d < Rank; ++d)
      if (shape_[d] > 1 && strides_[d] != packed[d]) return false;
    return true;
  }

  template <class... Index>
    requires(sizeof...(Index) == Rank && (std::is_integral_v<Index> && ...))
  RLMOE_HOST_DEVICE constexpr T& operator()(Index... index) const {
    const index_t idx[Rank] = {static_cast<index_t>(index)...};
    index_t offset = 0;
    for (int d = 0; d < Rank; ++d) offset += idx[d] * strides_[d];
    return data_[offset];
  }

  RLMOE_HOST_DEVICE constexpr T& operator[](index_t i) const
    requires(Rank == 1)
  {
    return data_[i * strides_[0]];
  }

  /// The element at position i of the row-major order of the shape, whatever the strides.
  RLMOE_HOST_DEVICE constexpr T& at_flat(index_t i) const {
    index_t offset = 0;
    for (int d = Rank - 1; d >= 0; --d) {
      offset += (i % shape_[d]) * strides_[d];
      i /= shape_[d];
    }
    return data_[offset];
  }

  /// The sub-tensor at index i of the first dimension.
  RLMOE_HOST_DEVICE constexpr TensorView<T, Rank - 1> operator[](index_t i) const
    requires(Rank > 1)
  {
    Extents<Rank - 1> shape{}, strides{};
    for (int d = 1; d < Rank; ++d) {
      shape[d - 1] = shape_[d];
      strides[d - 1] = strides_[d];
    }
    return {data_ + i * strides_[0], shape, strides};
  }

  /// Indices [begin, end) of the first dimension.
  RLMOE_HOST_DEVICE constexpr TensorView slice(index_t begin, index_t end) const {
    Extents<Rank> shape = shape_;
    shape[0] = end - begin;
    return {data_ + begin * strides_[0], shape, strides_};
  }

  /// The same contiguous elements under another shape with the same number of elements.
  template <int NewRank>
  [[nodiscard]] TensorView<T, NewRank> reshape(Extents<NewRank> shape) const {
    RLMOE_CHECK(is_contiguous(), ShapeError, "reshape: the view of shape ", shape_, " and strides ",
                strides_, " is not contiguous");
    RLMOE_CHECK(shape.product() == size(), ShapeError, "reshape: cannot view ", size(),
                " elements of shape ", shape_, " as shape ", shape);
    return {data_, shape};
  }

  [[nodiscard]] TensorView<T, 1> flatten() const { return reshape(Extents<1>{size()}); }

 private:
  T* data_ = nullptr;
  Extents<Rank> shape_{};
  Extents<Rank> strides_{};
};

template <class T>
using VectorView = TensorView<T, 1>;
template <class T>
using MatrixView = TensorView<T, 2>;

/// make_view(ptr, rows, cols) is a densely packed row-major TensorView<T, 2>, and so on.
template <class T, class... Extent>
  requires(sizeof...(Extent) >= 1 && sizeof...(Extent) <= 4 && (std::is_integral_v<Extent> && ...))
RLMOE_HOST_DEVICE constexpr TensorView<T, sizeof...(Extent)> make_view(T* data, Extent... extent) {
  return {data, Extents<sizeof...(Extent)>{static_cast<index_t>(extent)...}};
}

// Shape checks that throw ShapeError with both shapes in the message. `what` names the argument
// as the caller sees it, e.g. "gemm: C".

template <class T, int Rank>
void require_shape(const TensorView<T, Rank>& view, const Extents<Rank>& expected,
                   std::string_view what) {
  RLMOE_CHECK(view.shape() == expected, ShapeError, what, " has shape ", view.shape(), " but shape ",
              expected, " is required");
}

template <class T, class U, int Rank>
void require_same_shape(const TensorView<T, Rank>& a, std::string_view what_a,
                        const TensorView<U, Rank>& b, std::string_view what_b) {
  RLMOE_CHECK(a.shape() == b.shape(), ShapeError, what_a, " has shape ", a.shape(), " but ", what_b,
              " has shape ", b.shape(), "; they must match");
}

template <class T, int Rank>
void require_contiguous(const TensorView<T, Rank>& view, std::string_view what) {
  RLMOE_CHECK(view.is_contiguous(), ShapeError, what, " of shape ", view.shape(), " has strides ",
              view.strides(), " but must be contiguous (row-major, no gaps)");
}

}  // namespace rlmoe
