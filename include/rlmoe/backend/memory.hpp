#pragma once
// Owning buffers in a backend's memory, and copies between host and backend memory.
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct Memory {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("Buffer and copy"));
};

// Memory<B> allocates and copies. A buffer keeps the Context its memory must be freed with (the
// stream, on Cuda), since freeing needs no backend object otherwise.
template <>
struct Memory<Host> {
  // Cache-line alignment lets the compiler vectorise loops over buffers without peeling.
  static constexpr std::align_val_t kAlignment{64};
  struct Context {};

  static Context context(const Host&) { return {}; }
  static void* allocate(const Host&, std::size_t bytes) {
    return bytes == 0 ? nullptr : ::operator new(bytes, kAlignment);
  }
  static void deallocate(Context, void* pointer) noexcept { ::operator delete(pointer, kAlignment); }
  // Large copies are split across threads: one core cannot saturate memory bandwidth.
  static constexpr std::size_t kParallelCopyBytes = std::size_t{1} << 20;

  static void copy(const Host& host, void* dst, const void* src, std::size_t bytes) {
    if (bytes < kParallelCopyBytes) {
      if (bytes != 0) std::memcpy(dst, src, bytes);
      return;
    }
    const int threads = host.threads();
    const std::size_t chunk = (bytes + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < threads; ++t) {
      const std::size_t begin = static_cast<std::size_t>(t) * chunk;
      if (begin < bytes)
        std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin,
                    begin + chunk < bytes ? chunk : bytes - begin);
    }
  }
};

}  // namespace impl

/// A one-dimensional array of `size` elements of T in backend B's memory, freed on destruction.
/// Move-only. Elements are left uninitialised; view() and view(extents...) give tensor views.
/// On Cuda, allocation and release are ordered on the backend's stream (a pooled, cheap
/// cudaMallocAsync/cudaFreeAsync), so temporary buffers inside operations cost no synchronisation;
/// the backend object must outlive its buffers.
template <class T, Backend B>
class Buffer {
  static_assert(std::is_trivially_copyable_v<T>, "Buffer holds trivially copyable elements only");

 public:
  Buffer() = default;

  Buffer(const B& backend, index_t size) : size_(size), context_(impl::Memory<B>::context(backend)) {
    RLMOE_CHECK(size >= 0, ShapeError, "Buffer: size is ", size, " but must be >= 0");
    data_ = static_cast<T*>(impl::Memory<B>::allocate(backend, static_cast<std::size_t>(size) * sizeof(T)));
  }

  Buffer(Buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)), context_(other.context_) {}

  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      context_ = other.context_;
    }
    return *this;
  }

  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }

  [[nodiscard]] T* data() { return data_; }
  [[nodiscard]] const T* data() const { return data_; }
  [[nodiscard]] index_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

  [[nodiscard]] VectorView<T> view() { return {data_, Extents<1>{size_}}; }
  [[nodiscard]] VectorView<const T> view() const { return {data_, Extents<1>{size_}}; }

  /// The elements as a row-major tensor; the extents must multiply to size().
  template <class... Extent>
    requires(sizeof...(Extent) >= 1 && sizeof...(Extent) <= 4)
  [[nodiscard]] TensorView<T, sizeof...(Extent)> view(Extent... extent) {
    return view().reshape(Extents<sizeof...(Extent)>{static_cast<index_t>(extent)...});
  }
  template <class... Extent>
    requires(sizeof...(Extent) >= 1 && sizeof...(Extent) <= 4)
  [[nodiscard]] TensorView<const T, sizeof...(Extent)> view(Extent... extent) const {
    return view().reshape(Extents<sizeof...(Extent)>{static_cast<index_t>(extent)...});
  }

 private:
  void release() noexcept {
    if (data_ != nullptr) impl::Memory<B>::deallocate(context_, data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  index_t size_ = 0;
  typename impl::Memory<B>::Context context_{};
};

/// Copies src into dst (same shape, both contiguous). Either side may be host memory or the
/// backend's memory; on Cuda the copy is enqueued on the backend's stream.
template <Backend B, class T, class S, int Rank>
  requires std::is_same_v<std::remove_const_t<S>, T>
void copy(const B& backend, TensorView<T, Rank> dst, TensorView<S, Rank> src) {
  require_same_shape(dst, "copy: destination", src, "source");
  require_contiguous(dst, "copy: destination");
  require_contiguous(src, "copy: source");
  impl::Memory<B>::copy(backend, dst.data(), src.data(), static_cast<std::size_t>(src.size()) * sizeof(T));
}

/// The elements of a contiguous view in backend memory, copied into a host vector. Waits for the
/// backend, so the values are final when it returns.
template <Backend B, class T, int Rank>
[[nodiscard]] std::vector<std::remove_const_t<T>> to_host(const B& backend, TensorView<T, Rank> src) {
  using Value = std::remove_const_t<T>;
  std::vector<Value> out(static_cast<std::size_t>(src.size()));
  copy(backend, TensorView<Value, Rank>(out.data(), src.shape()), src);
  synchronize(backend);
  return out;
}

/// A new buffer in backend memory holding a copy of host values.
template <Backend B, class T>
[[nodiscard]] Buffer<T, B> to_backend(const B& backend, std::span<const T> values) {
  Buffer<T, B> buffer(backend, static_cast<index_t>(values.size()));
  copy(backend, buffer.view(), VectorView<const T>(values.data(), Extents<1>{buffer.size()}));
  return buffer;
}

template <Backend B, class T>
[[nodiscard]] Buffer<T, B> to_backend(const B& backend, const std::vector<T>& values) {
  return to_backend(backend, std::span<const T>(values));
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/memory.cuh"
#endif
