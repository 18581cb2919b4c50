#pragma once
// Mpi: a communicator over an MPI_Comm, for processes on one machine or many (mpirun, srun). Opt-in:
// include this header and link rlmoe::mpi (find_package(rlmoe COMPONENTS mpi)).
//
//   int main(int argc, char** argv) {
//     rlmoe::dist::MpiSession mpi(argc, argv);          // MPI_Init_thread ... MPI_Finalize
//     return mpi.run([&] {                              // an exception on any rank ends every rank
//       rlmoe::dist::Mpi world = mpi.world();
//       ...
//     });
//   }
//
// Why it is built this way:
//  - Every collective is started non-blocking (MPI_Iallreduce, ...) and polled against the
//    communicator's timeout, so that a rank that never arrives (a deadlock, a mismatched call, a
//    rank stuck in a loop) turns into a CommunicationError instead of a hang. To name the ranks it
//    waited for, each rank publishes how many collectives it has entered on each communicator in
//    a one-sided MPI window (detail::ProgressBoard, made by MpiSession); the waiting rank reads
//    them (passive target: the others need not cooperate) and names those behind it.
//  - MpiSession::run catches an exception on one rank, prints it with the rank, and calls
//    MPI_Abort, which ends every rank of the job with a non-zero status: a failure never leaves the
//    other ranks blocked in their next collective.
//  - The communicator is a duplicate of the one it is given, so rlmoe's collectives never match a
//    user's own messages; copies share it (std::shared_ptr), and the last copy frees it.
//  - Host buffers go to MPI directly; a device backend's buffers are staged through host memory
//    (use Nccl for GPU memory at speed).
// The C API only: MPI's deprecated C++ bindings are not used (and do not compile warning-free).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"

namespace rlmoe::dist {

namespace detail {

inline void check_mpi(int code, const std::string& what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommunicationError(rlmoe::detail::message(what, " failed: ", std::string(text, static_cast<std::size_t>(length))));
}

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int32_t>) return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
  else return MPI_UINT8_T;
}

template <class Op>
MPI_Op mpi_op() {
  if constexpr (std::is_same_v<Op, Sum>) return MPI_SUM;
  else if constexpr (std::is_same_v<Op, Max>) return MPI_MAX;
  else return MPI_MIN;
}

/// The timeout of new communicators: RLMOE_COLLECTIVE_TIMEOUT_S seconds, else 300.
inline std::chrono::duration<double> default_timeout() {
  if (const char* text = std::getenv("RLMOE_COLLECTIVE_TIMEOUT_S")) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    RLMOE_CHECK(end != text && *end == '\0' && seconds > 0.0, ConfigError, "RLMOE_COLLECTIVE_TIMEOUT_S is '", text,
                "' but must be a number of seconds > 0");
    return std::chrono::duration<double>(seconds);
  }
  return std::chrono::duration<double>(300.0);
}

/// How many collectives each rank has entered on each communicator, in one one-sided window over
/// the whole job (kSlots counters per rank), so that a rank whose collective times out can read
/// where the others are without their help (passive target). One window for all communicators,
/// made once by MpiSession: Open MPI 4.1's osc/rdma names a window's shared-memory file by its
/// communicator's id, which the disjoint groups of one split can share, so that windows of
/// their own collide.
class ProgressBoard {
 public:
  static constexpr int kSlots = 1024;

  static ProgressBoard& instance() {
    static ProgressBoard board;
    return board;
  }
  [[nodiscard]] bool open() const { return window_ != MPI_WIN_NULL; }

  /// Collective over MPI_COMM_WORLD. A job of one rank has no one to wait for, and no board
  /// (Open MPI's one-sided components refuse a window of one process here).
  void create() {
    int ranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (open() || ranks == 1) return;
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &world_), "MPI_Comm_dup of MPI_COMM_WORLD for the progress board");
    check_mpi(MPI_Alloc_mem(kSlots * static_cast<MPI_Aint>(sizeof(std::int64_t)), MPI_INFO_NULL, &counts_),
              "MPI_Alloc_mem for the progress board");
    std::fill(counts_, counts_ + kSlots, std::int64_t{0});
    check_mpi(MPI_Win_create(counts_, kSlots * static_cast<MPI_Aint>(sizeof(std::int64_t)), sizeof(std::int64_t),
                             MPI_INFO_NULL, world_, &window_),
              "MPI_Win_create for the progress board");
    MPI_Barrier(world_);
  }
  /// Collective over MPI_COMM_WORLD, before MPI_Finalize.
  void destroy() {
    if (!open()) return;
    MPI_Win_free(&window_);
    MPI_Free_mem(counts_);
    MPI_Comm_free(&world_);
    counts_ = nullptr;
  }

  /// A slot for a new communicator, the same on each of its ranks (collective over `comm`); -1
  /// when there is no board or no slot left (its timeouts then name no ranks).
  int reserve(MPI_Comm comm) {
    int slot = open() ? next_slot_ : kSlots;
    MPI_Allreduce(MPI_IN_PLACE, &slot, 1, MPI_INT, MPI_MAX, comm);
    if (slot >= kSlots) return -1;
    next_slot_ = slot + 1;
    return slot;
  }
  void publish(int slot, std::int64_t count) {
    if (slot < 0) return;
    int me = 0;
    MPI_Comm_rank(world_, &me);
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, me, 0, window_);
    counts_[slot] = count;
    MPI_Win_unlock(me, window_);
  }
  [[nodiscard]] std::int64_t read(int world_rank, int slot) {
    std::int64_t count = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, world_rank, 0, window_);
    MPI_Get(&count, 1, MPI_INT64_T, world_rank, slot, 1, MPI_INT64_T, window_);
    MPI_Win_unlock(world_rank, window_);
    return count;
  }

 private:
  MPI_Comm world_ = MPI_COMM_NULL;
  MPI_Win window_ = MPI_WIN_NULL;
  std::int64_t* counts_ = nullptr;
  int next_slot_ = 0;
};

}  // namespace detail

class Mpi {
 public:
  using Seconds = std::chrono::duration<double>;

  /// A communicator over a duplicate of `comm` (collective over its ranks).
  explicit Mpi(MPI_Comm comm = MPI_COMM_WORLD, std::string name = "world", Seconds timeout = detail::default_timeout())
      : state_(std::make_shared<State>()) {
    state_->name = std::move(name);
    state_->timeout = timeout;
    detail::check_mpi(MPI_Comm_dup(comm, &state_->comm), "MPI_Comm_dup for communicator '" + state_->name + "'");
    MPI_Comm_set_errhandler(state_->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(state_->comm, &state_->rank);
    MPI_Comm_size(state_->comm, &state_->size);
    // The world rank of each rank, to find its count on the board.
    MPI_Group group = MPI_GROUP_NULL, world = MPI_GROUP_NULL;
    MPI_Comm_group(state_->comm, &group);
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    std::vector<int> ranks(static_cast<std::size_t>(state_->size));
    std::iota(ranks.begin(), ranks.end(), 0);
    state_->world_ranks.resize(ranks.size());
    MPI_Group_translate_ranks(group, state_->size, ranks.data(), world, state_->world_ranks.data());
    MPI_Group_free(&group);
    MPI_Group_free(&world);
    state_->slot = detail::ProgressBoard::instance().reserve(state_->comm);
  }

  [[nodiscard]] int rank() const { return state_->rank; }
  [[nodiscard]] int size() const { return state_->size; }
  [[nodiscard]] std::string name() const { return "'" + state_->name + "' (" + std::to_string(size()) + " ranks)"; }
  [[nodiscard]] MPI_Comm native() const { return state_->comm; }
  [[nodiscard]] Seconds timeout() const { return state_->timeout; }
  /// The longest a collective waits for the other ranks before throwing CommunicationError.
  void set_timeout(Seconds timeout) {
    RLMOE_CHECK(timeout.count() > 0.0, ConfigError, "Mpi::set_timeout: the timeout is ", timeout.count(), " s but must be > 0");
    state_->timeout = timeout;
  }

  /// The ranks that pass the same color, ordered by key, as a new communicator (collective).
  [[nodiscard]] Mpi split(int color, int key, const std::string& name = {}) const {
    MPI_Comm part = MPI_COMM_NULL;
    detail::check_mpi(MPI_Comm_split(state_->comm, color, key, &part), "MPI_Comm_split of " + this->name());
    const std::string label = name.empty() ? state_->name + "/" + std::to_string(color) : name;
    Mpi result(part, label, state_->timeout);
    MPI_Comm_free(&part);
    return result;
  }

  /// Starts collective `what` through `start` (which takes the request to fill) and waits for it
  /// within the timeout; on timeout, throws naming the ranks that had not yet entered it.
  template <class Start>
  void run(const char* what, Start&& start) const {
    const std::int64_t call = enter();
    MPI_Request request = MPI_REQUEST_NULL;
    detail::check_mpi(start(&request), rlmoe::detail::message(what, " (collective #", call, ") on ", name()));
    const auto deadline = std::chrono::steady_clock::now() + state_->timeout;
    for (int polls = 0;; ++polls) {
      int done = 0;
      detail::check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), rlmoe::detail::message(what, " on ", name()));
      if (done) return;
      if (std::chrono::steady_clock::now() > deadline) throw timed_out(what, call);
      if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  /// Counts a collective as entered by this rank and returns its number (1, 2, ...); a
  /// communicator that runs its own collectives (Nccl) counts them here too.
  std::int64_t enter() const {
    const std::int64_t call = ++state_->entered;
    detail::ProgressBoard::instance().publish(state_->slot, call);
    return call;
  }

  /// The error of collective `what` number `call` that waited past the timeout: it names the ranks
  /// that had not entered it, read from their published counts.
  [[nodiscard]] CommunicationError timed_out(const std::string& what, std::int64_t call) const {
    std::string behind;
    if (state_->slot >= 0) {
      for (int r = 0; r < size(); ++r) {
        const std::int64_t entered =
            detail::ProgressBoard::instance().read(state_->world_ranks[static_cast<std::size_t>(r)], state_->slot);
        if (entered < call) behind += rlmoe::detail::message(behind.empty() ? "" : ", ", r, " (at collective #", entered, ")");
      }
    }
    const std::string ranks = state_->slot < 0 ? std::string("(no progress board: construct an MpiSession to have them named)")
                              : behind.empty() ? std::string("that entered it but did not finish")
                                               : behind;
    return CommunicationError(rlmoe::detail::message(what, " (collective #", call, ") on ", name(), " at rank ", rank(),
                                                     " waited ", state_->timeout.count(), " s for ranks ", ranks));
  }

 private:
  struct State {
    MPI_Comm comm = MPI_COMM_NULL;
    int rank = 0, size = 1;
    std::vector<int> world_ranks;  ///< of each rank of comm
    int slot = -1;                 ///< on the progress board
    std::int64_t entered = 0;      ///< collectives this rank has entered
    std::string name;
    Seconds timeout{300.0};

    ~State() {
      // Freeing is collective: skipped while an exception unwinds (MpiSession::run then aborts
      // the job) or after MPI_Finalize, so that a failing rank never blocks in a destructor.
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (finalized || std::uncaught_exceptions() > 0) return;
      if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    }
  };

  std::shared_ptr<State> state_;
};

/// MPI_Init_thread on construction (funneled: rlmoe calls MPI from one thread) and MPI_Finalize on
/// destruction, unless MPI was already initialised by the program.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    detail::ProgressBoard::instance().create();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession() {
    if (std::uncaught_exceptions() > 0) return;
    detail::ProgressBoard::instance().destroy();
    if (owns_) MPI_Finalize();
  }

  /// The communicator of every process of the job (a new duplicate of MPI_COMM_WORLD).
  [[nodiscard]] Mpi world(Mpi::Seconds timeout = detail::default_timeout()) const { return Mpi(MPI_COMM_WORLD, "world", timeout); }
  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }

  /// Runs body(); returns 0, or, when it throws, prints "rank r of n: message" to stderr and ends
  /// every rank of the job through MPI_Abort with status 1.
  template <class Body>
  int run(Body&& body) const {
    try {
      body();
      return 0;
    } catch (const std::exception& error) {
      abort_job(error.what());
    } catch (...) {
      abort_job("an exception that is not a std::exception");
    }
  }

  /// Prints the message with this rank and ends every rank of the job.
  [[noreturn]] void abort_job(const std::string& message) const {
    std::fprintf(stderr, "rlmoe: rank %d of %d failed: %s\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();  // MPI_Abort does not return; this is for the compiler
  }

 private:
  bool owns_ = false;
  int rank_ = 0, size_ = 1;
};

namespace impl {

/// MPI's counts are int: the element count of one call, checked.
inline int mpi_count(index_t count, const char* what, const Mpi& comm) {
  RLMOE_CHECK(count <= INT_MAX, ShapeError, what, " on ", comm.name(), ": ", count, " elements in one call exceed MPI's int count ",
              INT_MAX, "; split the buffer");
  return static_cast<int>(count);
}

template <>
struct Collectives<Mpi, Host> {
  template <class T, class Op>
  static void all_reduce(const Mpi& comm, const Host&, VectorView<T> data, const Op&) {
    constexpr index_t kChunk = index_t{1} << 30;  // counts are int: large buffers go in pieces
    index_t begin = 0;
    do {  // every rank makes the same calls, also for an empty buffer
      const int count = static_cast<int>(std::min(kChunk, data.size() - begin));
      comm.run("all_reduce", [&](MPI_Request* request) {
        return MPI_Iallreduce(MPI_IN_PLACE, data.data() + begin, count, dist::detail::mpi_type<T>(), dist::detail::mpi_op<Op>(),
                              comm.native(), request);
      });
      begin += kChunk;
    } while (begin < data.size());
  }

  template <class T, class Op>
  static void reduce_scatter(const Mpi& comm, const Host&, VectorView<const T> input, VectorView<T> output, const Op&) {
    const int count = mpi_count(output.size(), "reduce_scatter", comm);
    comm.run("reduce_scatter", [&](MPI_Request* request) {
      return MPI_Ireduce_scatter_block(input.data(), output.data(), count, dist::detail::mpi_type<T>(), dist::detail::mpi_op<Op>(),
                                       comm.native(), request);
    });
  }

  template <class T>
  static void all_gather(const Mpi& comm, const Host&, VectorView<const T> input, VectorView<T> output) {
    const int bytes = mpi_count(input.size() * static_cast<index_t>(sizeof(T)), "all_gather (bytes)", comm);
    comm.run("all_gather", [&](MPI_Request* request) {
      return MPI_Iallgather(input.data(), bytes, MPI_BYTE, output.data(), bytes, MPI_BYTE, comm.native(), request);
    });
  }

  template <class T>
  static void all_to_all_v(const Mpi& comm, const Host&, VectorView<const T> send, std::span<const index_t> send_counts,
                           VectorView<T> recv, std::span<const index_t> recv_counts) {
    const std::size_t n = send_counts.size();
    std::vector<int> send_bytes(n), send_at(n), recv_bytes(n), recv_at(n);
    index_t sent = 0, received = 0;
    for (std::size_t p = 0; p < n; ++p) {
      const auto size = static_cast<index_t>(sizeof(T));
      send_bytes[p] = mpi_count(send_counts[p] * size, "all_to_all_v (bytes)", comm);
      recv_bytes[p] = mpi_count(recv_counts[p] * size, "all_to_all_v (bytes)", comm);
      send_at[p] = mpi_count(sent * size, "all_to_all_v (byte offset)", comm);
      recv_at[p] = mpi_count(received * size, "all_to_all_v (byte offset)", comm);
      sent += send_counts[p];
      received += recv_counts[p];
    }
    comm.run("all_to_all_v", [&](MPI_Request* request) {
      return MPI_Ialltoallv(send.data(), send_bytes.data(), send_at.data(), MPI_BYTE, recv.data(), recv_bytes.data(),
                            recv_at.data(), MPI_BYTE, comm.native(), request);
    });
  }

  template <class T>
  static void broadcast(const Mpi& comm, const Host&, VectorView<T> data, int root) {
    const int bytes = mpi_count(data.size() * static_cast<index_t>(sizeof(T)), "broadcast (bytes)", comm);
    comm.run("broadcast", [&](MPI_Request* request) { return MPI_Ibcast(data.data(), bytes, MPI_BYTE, root, comm.native(), request); });
  }

  static void barrier(const Mpi& comm) {
    comm.run("barrier", [&](MPI_Request* request) { return MPI_Ibarrier(comm.native(), request); });
  }
};

/// A device backend's buffers through host memory: copy out, the Host collective, copy back.
template <Backend B>
  requires(B::kIsDevice)
struct Collectives<Mpi, B> {
  using HostCollectives = Collectives<Mpi, Host>;

  template <class T, class Op>
  static void all_reduce(const Mpi& comm, const B& backend, VectorView<T> data, const Op& op) {
    std::vector<T> staged = to_host(backend, data);
    HostCollectives::all_reduce(comm, Host{}, host_view(staged), op);
    copy(backend, data, VectorView<const T>(host_view(staged)));
  }
  template <class T, class Op>
  static void reduce_scatter(const Mpi& comm, const B& backend, VectorView<const T> input, VectorView<T> output, const Op& op) {
    const std::vector<T> in = to_host(backend, input);
    std::vector<T> out(static_cast<std::size_t>(output.size()));
    HostCollectives::reduce_scatter(comm, Host{}, VectorView<const T>(host_view(in)), host_view(out), op);
    copy(backend, output, VectorView<const T>(host_view(out)));
  }
  template <class T>
  static void all_gather(const Mpi& comm, const B& backend, VectorView<const T> input, VectorView<T> output) {
    const std::vector<T> in = to_host(backend, input);
    std::vector<T> out(static_cast<std::size_t>(output.size()));
    HostCollectives::all_gather(comm, Host{}, VectorView<const T>(host_view(in)), host_view(out));
    copy(backend, output, VectorView<const T>(host_view(out)));
  }
  template <class T>
  static void all_to_all_v(const Mpi& comm, const B& backend, VectorView<const T> send, std::span<const index_t> send_counts,
                           VectorView<T> recv, std::span<const index_t> recv_counts) {
    const std::vector<T> in = to_host(backend, send);
    std::vector<T> out(static_cast<std::size_t>(recv.size()));
    HostCollectives::all_to_all_v(comm, Host{}, VectorView<const T>(host_view(in)), send_counts, host_view(out), recv_counts);
    copy(backend, recv, VectorView<const T>(host_view(out)));
  }
  template <class T>
  static void broadcast(const Mpi& comm, const B& backend, VectorView<T> data, int root) {
    std::vector<T> staged = to_host(backend, data);
    HostCollectives::broadcast(comm, Host{}, host_view(staged), root);
    copy(backend, data, VectorView<const T>(host_view(staged)));
  }
  static void barrier(const Mpi& comm) { HostCollectives::barrier(comm); }

 private:
  template <class T>
  static VectorView<T> host_view(std::vector<T>& v) {
    return {v.data(), Extents<1>{static_cast<index_t>(v.size())}};
  }
  template <class T>
  static VectorView<const T> host_view(const std::vector<T>& v) {
    return {v.data(), Extents<1>{static_cast<index_t>(v.size())}};
  }
};

}  // namespace impl
}  // namespace rlmoe::dist
