#pragma once
// Basic vocabulary shared by every layer.
#include <cstdint>
#include <type_traits>

namespace rlmoe {

/// Signed 64-bit index for sizes, extents, strides and offsets: large batches exceed 2^31 elements.
using index_t = std::int64_t;

/// For static_assert in primary templates that must only fail when instantiated.
template <class...>
inline constexpr bool dependent_false = false;

}  // namespace rlmoe
