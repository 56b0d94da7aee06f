// The MPI world a run belongs to: rank and size (1 rank when not launched by mpirun/srun), and
// collective error handling so that one failing rank stops every rank with one message.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace qinling::pipeline::mpi {

// Starts MPI only when a launcher started this process (Open MPI's mpirun, srun --mpi=pmix, a
// PMI-based mpiexec); a plain `qinling run` never touches MPI. Finalizes at the end of main.
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

int rank();
int size();
inline bool is_root() { return rank() == 0; }
// True when the binary was built with MPI (QINLING_WITH_MPI).
bool compiled_in();

void barrier();
// Rank 0's values, on every rank.
void broadcast(std::vector<std::int64_t>& values);
bool broadcast(bool value);
// Rank 0's bytes, on every rank.
void broadcast(std::string& bytes);
// Every rank's bytes, on rank 0 in rank order (rank 0's own first); empty on the other ranks.
// Merging partial results in this order, item by item, keeps floating-point sums reproducible.
std::vector<std::string> gather_to_root(std::string mine);

// Every rank reports whether its part of a phase failed. When any rank failed, every rank throws
// the error of the lowest failing rank (same exit code and message; the failing rank rethrows
// its own exception), so all ranks leave together and only rank 0 needs to print it.
void agree(std::exception_ptr failure);

// Runs `fn` on this rank, then agrees with the others (see agree()).
template <class F>
auto collective(F&& fn) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  if constexpr (std::is_void_v<R>) {
    std::exception_ptr failure;
    try {
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
    agree(failure);
  } else {
    std::exception_ptr failure;
    std::optional<R> result;
    try {
      result.emplace(fn());
    } catch (...) {
      failure = std::current_exception();
    }
    agree(failure);
    return std::move(*result);
  }
}

// The contiguous run [first, last) of items (in their fixed order) that `rank` of `size` takes,
// balanced by weight (pixels): item i goes to the rank whose equal slice of the total weight
// holds the item's middle. Pure arithmetic, the same on every rank.
std::pair<std::size_t, std::size_t> contiguous_share(const std::vector<std::int64_t>& weights, int rank,
                                                     int size);

// Called by the CLI when an error reaches it: an error every rank agreed on ends normally (each
// rank returns the exit code); any other error on a multi-rank run aborts the whole job, since
// the other ranks may be waiting for this one in a collective call.
void abort_if_unagreed(int exit_code, const std::string& message);

}  // namespace qinling::pipeline::mpi
