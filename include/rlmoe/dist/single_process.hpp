#pragma once
// SingleProcess: the communicator of a run on one process, the default everywhere a communicator
// is taken, so that a program without MPI runs exactly as it would without the dist layer. Its
// collectives are the identity on one rank: all_reduce and broadcast leave the data alone, and
// reduce_scatter, all_gather and all_to_all_v copy input to output (nothing when they alias).
#include <span>
#include <string>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"

namespace rlmoe::dist {

struct SingleProcess {
  [[nodiscard]] int rank() const { return 0; }
  [[nodiscard]] int size() const { return 1; }
  [[nodiscard]] std::string name() const { return "single process"; }
  [[nodiscard]] SingleProcess split(int, int, const std::string& = {}) const { return {}; }
};

namespace impl {

template <Backend B>
struct Collectives<SingleProcess, B> {
  template <class T>
  static void copy_unless_same(const B& backend, VectorView<T> to, VectorView<const T> from) {
    if (to.data() != from.data()) copy(backend, to, from);
  }
  template <class T, class Op>
  static void all_reduce(const SingleProcess&, const B&, VectorView<T>, const Op&) {}
  template <class T, class Op>
  static void reduce_scatter(const SingleProcess&, const B& backend, VectorView<const T> input, VectorView<T> output, const Op&) {
    copy_unless_same(backend, output, input);
  }
  template <class T>
  static void all_gather(const SingleProcess&, const B& backend, VectorView<const T> input, VectorView<T> output) {
    copy_unless_same(backend, output, input);
  }
  template <class T>
  static void all_to_all_v(const SingleProcess&, const B& backend, VectorView<const T> send, std::span<const index_t> send_counts,
                           VectorView<T> recv, std::span<const index_t> recv_counts) {
    RLMOE_CHECK(send_counts[0] == recv_counts[0], ShapeError, "all_to_all_v on one process: sends ", send_counts[0],
                " elements to itself but receives ", recv_counts[0]);
    copy_unless_same(backend, recv.slice(0, recv_counts[0]), send.slice(0, send_counts[0]));
  }
  template <class T>
  static void broadcast(const SingleProcess&, const B&, VectorView<T>, int) {}
  static void barrier(const SingleProcess&) {}
};

}  // namespace impl
}  // namespace rlmoe::dist
