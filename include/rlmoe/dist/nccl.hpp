#pragma once
// Nccl: a communicator over GPU memory, one rank per GPU, its collectives enqueued on the Cuda
// backend's stream. Opt-in: include this header and link rlmoe::nccl (which brings rlmoe::mpi:
// the ranks find each other by broadcasting ncclGetUniqueId over MPI).
//
//   rlmoe::dist::MpiSession mpi(argc, argv);
//   rlmoe::Cuda cuda(local_rank);                      // one GPU per rank
//   rlmoe::dist::Nccl world(mpi.world(), cuda);
//   rlmoe::dist::all_reduce(world, cuda, gradients, rlmoe::Sum{});
//
// Why it is built this way:
//  - A collective waits for its own completion (an event polled together with
//    ncclCommGetAsyncError) within the communicator's timeout: a rank that never arrives makes
//    the others throw CommunicationError naming it, through the bootstrap Mpi's published counts,
//    and the NCCL communicator is aborted (ncclCommAbort) so that no kernel is left spinning. The
//    training step synchronises at these points anyway (it reads counts and norms on the host).
//  - Host values (counts, metrics) and barriers go through the bootstrap Mpi.
//  - Elements that NCCL cannot reduce are moved as bytes; reductions take float, double, int32,
//    int64 and uint8.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/cuda_error.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/mpi.hpp"

namespace rlmoe::dist {

namespace detail {

inline void check_nccl(ncclResult_t result, const std::string& what) {
  if (result == ncclSuccess || result == ncclInProgress) return;
  throw CommunicationError(rlmoe::detail::message(what, " failed: ", ncclGetErrorString(result), " (", ncclGetLastError(nullptr),
                                                  ")"));
}

template <class T>
ncclDataType_t nccl_type() {
  if constexpr (std::is_same_v<T, float>) return ncclFloat32;
  else if constexpr (std::is_same_v<T, double>) return ncclFloat64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ncclInt32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return ncclInt64;
  else return ncclUint8;
}

template <class Op>
ncclRedOp_t nccl_op() {
  if constexpr (std::is_same_v<Op, Sum>) return ncclSum;
  else if constexpr (std::is_same_v<Op, Max>) return ncclMax;
  else return ncclMin;
}

}  // namespace detail

class Nccl {
 public:
  /// Collective over the ranks of `bootstrap`: each rank's GPU is the one `cuda` uses.
  Nccl(const Mpi& bootstrap, const Cuda& cuda) : state_(std::make_shared<State>(bootstrap.split(0, bootstrap.rank(), "nccl bootstrap"))) {
    ncclUniqueId id{};
    if (bootstrap.rank() == 0) detail::check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    impl::Collectives<Mpi, Host>::broadcast(state_->mpi, Host{}, VectorView<ncclUniqueId>(&id, Extents<1>{1}), 0);
    RLMOE_CUDA_CHECK(cudaSetDevice(cuda.device()));
    detail::check_nccl(ncclCommInitRank(&state_->comm, state_->mpi.size(), id, state_->mpi.rank()),
                       "ncclCommInitRank on " + name());
    RLMOE_CUDA_CHECK(cudaEventCreateWithFlags(&state_->done, cudaEventDisableTiming));
  }

  [[nodiscard]] int rank() const { return state_->mpi.rank(); }
  [[nodiscard]] int size() const { return state_->mpi.size(); }
  [[nodiscard]] std::string name() const { return "NCCL " + state_->mpi.name(); }
  [[nodiscard]] ncclComm_t native() const { return state_->comm; }
  /// The MPI communicator of the same ranks: host values, barriers and timeouts.
  [[nodiscard]] const Mpi& bootstrap() const { return state_->mpi; }

  /// The ranks that pass the same color, ordered by key (ncclCommSplit; collective).
  [[nodiscard]] Nccl split(int color, int key, const std::string& name = {}) const {
    Nccl part(state_->mpi.split(color, key, name));
    detail::check_nccl(ncclCommSplit(state_->comm, color, key, &part.state_->comm, nullptr), "ncclCommSplit of " + this->name());
    RLMOE_CUDA_CHECK(cudaEventCreateWithFlags(&part.state_->done, cudaEventDisableTiming));
    return part;
  }

  /// Enqueues collective `what` through `start` on the stream and waits for it within the
  /// bootstrap's timeout.
  template <class Start>
  void run(const char* what, const Cuda& cuda, Start&& start) const {
    const Mpi& mpi = state_->mpi;
    const std::int64_t call = mpi.enter();
    detail::check_nccl(start(cuda.stream()), rlmoe::detail::message(what, " (collective #", call, ") on ", name()));
    RLMOE_CUDA_CHECK(cudaEventRecord(state_->done, cuda.stream()));
    const auto deadline = std::chrono::steady_clock::now() + mpi.timeout();
    for (int polls = 0;; ++polls) {
      const cudaError_t status = cudaEventQuery(state_->done);
      if (status == cudaSuccess) return;
      if (status != cudaErrorNotReady) RLMOE_CUDA_CHECK(status);
      ncclResult_t async = ncclSuccess;
      detail::check_nccl(ncclCommGetAsyncError(state_->comm, &async), "ncclCommGetAsyncError");
      detail::check_nccl(async, rlmoe::detail::message(what, " (collective #", call, ") on ", name()));
      if (std::chrono::steady_clock::now() > deadline) {
        ncclCommAbort(state_->comm);  // no kernel is left waiting for the ranks that did not come
        state_->comm = nullptr;
        throw mpi.timed_out(std::string("NCCL ") + what, call);
      }
      if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

 private:
  struct State {
    explicit State(Mpi m) : mpi(std::move(m)) {}
    Mpi mpi;
    ncclComm_t comm = nullptr;
    cudaEvent_t done = nullptr;
    ~State() {
      if (done != nullptr) cudaEventDestroy(done);
      if (comm != nullptr && std::uncaught_exceptions() == 0) ncclCommDestroy(comm);
    }
  };
  explicit Nccl(Mpi mpi) : state_(std::make_shared<State>(std::move(mpi))) {}

  std::shared_ptr<State> state_;
};

namespace impl {

template <>
struct Collectives<Nccl, Cuda> {
  template <class T, class Op>
  static void all_reduce(const Nccl& comm, const Cuda& cuda, VectorView<T> data, const Op&) {
    comm.run("all_reduce", cuda, [&](cudaStream_t stream) {
      return ncclAllReduce(data.data(), data.data(), static_cast<std::size_t>(data.size()), dist::detail::nccl_type<T>(),
                           dist::detail::nccl_op<Op>(), comm.native(), stream);
    });
  }
  template <class T, class Op>
  static void reduce_scatter(const Nccl& comm, const Cuda& cuda, VectorView<const T> input, VectorView<T> output, const Op&) {
    comm.run("reduce_scatter", cuda, [&](cudaStream_t stream) {
      return ncclReduceScatter(input.data(), output.data(), static_cast<std::size_t>(output.size()), dist::detail::nccl_type<T>(),
                               dist::detail::nccl_op<Op>(), comm.native(), stream);
    });
  }
  template <class T>
  static void all_gather(const Nccl& comm, const Cuda& cuda, VectorView<const T> input, VectorView<T> output) {
    comm.run("all_gather", cuda, [&](cudaStream_t stream) {
      return ncclAllGather(input.data(), output.data(), bytes<T>(input.size()), ncclUint8, comm.native(), stream);
    });
  }
  template <class T>
  static void all_to_all_v(const Nccl& comm, const Cuda& cuda, VectorView<const T> send, std::span<const index_t> send_counts,
                           VectorView<T> recv, std::span<const index_t> recv_counts) {
    comm.run("all_to_all_v", cuda, [&](cudaStream_t stream) {
      ncclResult_t result = ncclGroupStart();
      std::size_t sent = 0, received = 0;
      for (int p = 0; p < comm.size() && result == ncclSuccess; ++p) {
        const auto out = bytes<T>(send_counts[static_cast<std::size_t>(p)]), in = bytes<T>(recv_counts[static_cast<std::size_t>(p)]);
        if (out > 0) result = ncclSend(reinterpret_cast<const char*>(send.data()) + sent, out, ncclUint8, p, comm.native(), stream);
        if (in > 0 && result == ncclSuccess)
          result = ncclRecv(reinterpret_cast<char*>(recv.data()) + received, in, ncclUint8, p, comm.native(), stream);
        sent += out;
        received += in;
      }
      const ncclResult_t ended = ncclGroupEnd();
      return result != ncclSuccess ? result : ended;
    });
  }
  template <class T>
  static void broadcast(const Nccl& comm, const Cuda& cuda, VectorView<T> data, int root) {
    comm.run("broadcast", cuda, [&](cudaStream_t stream) {
      return ncclBroadcast(data.data(), data.data(), bytes<T>(data.size()), ncclUint8, root, comm.native(), stream);
    });
  }

 private:
  template <class T>
  static std::size_t bytes(index_t count) {
    return static_cast<std::size_t>(count) * sizeof(T);
  }
};

/// Host values and barriers of an Nccl communicator go through its bootstrap Mpi.
template <>
struct Collectives<Nccl, Host> {
  template <class T, class Op>
  static void all_reduce(const Nccl& comm, const Host& host, VectorView<T> data, const Op& op) {
    Collectives<Mpi, Host>::all_reduce(comm.bootstrap(), host, data, op);
  }
  static void barrier(const Nccl& comm) { Collectives<Mpi, Host>::barrier(comm.bootstrap()); }
};

}  // namespace impl
}  // namespace rlmoe::dist
