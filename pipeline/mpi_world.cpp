#include "pipeline/mpi_world.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "models/errors.hpp"

#ifdef QINLING_HAVE_MPI
#include <mpi.h>
#endif

namespace qinling::pipeline::mpi {

namespace {

int g_rank = 0, g_size = 1;
bool g_started = false;
bool g_agreed = false;  // the error in flight was agreed by every rank

[[maybe_unused]] int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : -1;
}

// A launcher's marks: Open MPI's mpirun, PMIx (srun --mpi=pmix, prterun), PMI/Hydra (MPICH).
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

enum Kind : int { kConfig = 0, kInput, kProcessing, kCancelled, kOther };

// The kind, exit code and message of an exception, so another rank can throw the same error.
Kind classify(const std::exception_ptr& e, std::string& message) {
  try {
    std::rethrow_exception(e);
  } catch (const Cancelled& x) {
    message = x.what();
    return kCancelled;
  } catch (const ConfigError& x) {
    message = x.what();
    return kConfig;
  } catch (const InputError& x) {
    message = x.what();
    return kInput;
  } catch (const ProcessingError& x) {
    message = x.what();
    return kProcessing;
  } catch (const std::exception& x) {
    message = x.what();
    return kOther;
  } catch (...) {
    message = "unknown failure";
    return kOther;
  }
}

[[noreturn]] void throw_kind(int kind, const std::string& message) {
  switch (kind) {
    case kCancelled:
      throw Cancelled();
    case kConfig:
      throw ConfigError(message);
    case kInput:
      throw InputError(message);
    case kProcessing:
      throw ProcessingError(message);
    default:
      throw ProcessingError("unexpected failure: " + message);
  }
}

#ifdef QINLING_HAVE_MPI
// Waits for a request without spinning: a blocking collective busy-polls, so a rank that has
// finished its windows would burn a core while rank 0 encodes the COGs on the same node.
void wait_gently(MPI_Request& request) {
  int done = 0;
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
}
#endif

}  // namespace

bool compiled_in() {
#ifdef QINLING_HAVE_MPI
  return true;
#else
  return false;
#endif
}

Session::Session(int* argc, char*** argv) {
  if (!launched_by_mpi()) return;
#ifdef QINLING_HAVE_MPI
  int provided = 0;
  // Only the main thread calls MPI; oneTBB workers never do.
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
#else
  (void)argc;
  (void)argv;
  // Without MPI every process would run the whole job and write the same files at once.
  if (env_int("OMPI_COMM_WORLD_SIZE") > 1 || env_int("PMI_SIZE") > 1 || env_int("SLURM_NTASKS") > 1)
    throw ConfigError(
        "this qinling was built without MPI (cmake -DQINLING_WITH_MPI=ON needs libopenmpi-dev); "
        "run it without mpirun/srun, or rebuild it with MPI");
#endif
}

Session::~Session() {
#ifdef QINLING_HAVE_MPI
  if (g_started) MPI_Finalize();
#endif
}

int rank() { return g_rank; }
int size() { return g_size; }

void barrier() {
#ifdef QINLING_HAVE_MPI
  if (g_size > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

void broadcast(std::vector<std::int64_t>& values) {
#ifdef QINLING_HAVE_MPI
  if (g_size <= 1) return;
  std::int64_t n = std::int64_t(values.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  values.resize(std::size_t(n));
  if (n > 0) MPI_Bcast(values.data(), int(n), MPI_INT64_T, 0, MPI_COMM_WORLD);
#else
  (void)values;
#endif
}

bool broadcast(bool value) {
  std::vector<std::int64_t> v{value ? 1 : 0};
  broadcast(v);
  return v[0] != 0;
}

#ifdef QINLING_HAVE_MPI
namespace {
// Messages of at most 1 GiB: MPI counts are int.
constexpr std::int64_t kChunk = std::int64_t(1) << 30;
}  // namespace
#endif

void broadcast(std::string& bytes) {
#ifdef QINLING_HAVE_MPI
  if (g_size <= 1) return;
  std::vector<std::int64_t> n{std::int64_t(bytes.size())};
  broadcast(n);
  bytes.resize(std::size_t(n[0]));
  for (std::int64_t at = 0; at < n[0]; at += kChunk) {
    MPI_Request request;
    MPI_Ibcast(bytes.data() + at, int(std::min(kChunk, n[0] - at)), MPI_BYTE, 0, MPI_COMM_WORLD, &request);
    wait_gently(request);
  }
#else
  (void)bytes;
#endif
}

std::vector<std::string> gather_to_root(std::string mine) {
  std::vector<std::string> all;
#ifdef QINLING_HAVE_MPI
  if (g_size > 1) {
    std::int64_t n = std::int64_t(mine.size());
    std::vector<std::int64_t> sizes(std::size_t(g_size), 0);
    MPI_Request request;
    MPI_Igather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &request);
    wait_gently(request);
    if (g_rank != 0) {
      for (std::int64_t at = 0; at < n; at += kChunk) {
        MPI_Isend(mine.data() + at, int(std::min(kChunk, n - at)), MPI_BYTE, 0, 0, MPI_COMM_WORLD, &request);
        wait_gently(request);
      }
      return all;
    }
    all.resize(std::size_t(g_size));
    all[0] = std::move(mine);
    for (int r = 1; r < g_size; ++r) {  // in rank order; chunks of one sender arrive in order
      all[std::size_t(r)].resize(std::size_t(sizes[std::size_t(r)]));
      for (std::int64_t at = 0; at < sizes[std::size_t(r)]; at += kChunk) {
        MPI_Irecv(all[std::size_t(r)].data() + at, int(std::min(kChunk, sizes[std::size_t(r)] - at)),
                  MPI_BYTE, r, 0, MPI_COMM_WORLD, &request);
        wait_gently(request);
      }
    }
    return all;
  }
#endif
  all.push_back(std::move(mine));
  return all;
}

void agree(std::exception_ptr failure) {
  if (g_size <= 1) {
    if (failure) {
      g_agreed = true;
      std::rethrow_exception(failure);
    }
    return;
  }
#ifdef QINLING_HAVE_MPI
  int mine = failure ? g_rank : g_size, first = g_size;
  MPI_Request request;
  MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &request);
  wait_gently(request);
  if (first == g_size) return;
  std::string message;
  int head[2] = {0, 0};  // kind, message length
  if (g_rank == first) {
    head[0] = classify(failure, message);
    head[1] = int(message.size());
  }
  MPI_Bcast(head, 2, MPI_INT, first, MPI_COMM_WORLD);
  message.resize(std::size_t(head[1]));
  if (head[1] > 0) MPI_Bcast(message.data(), head[1], MPI_CHAR, first, MPI_COMM_WORLD);
  g_agreed = true;
  if (failure) std::rethrow_exception(failure);
  // Where it happened matters on a cluster (a file missing on one node only).
  if (first != 0 && head[0] != kCancelled)
    message = "rank " + std::to_string(first) + " of " + std::to_string(g_size) + ": " + message;
  throw_kind(head[0], message);
#endif
}

std::pair<std::size_t, std::size_t> contiguous_share(const std::vector<std::int64_t>& weights, int rank,
                                                     int size) {
  std::int64_t total = 0;
  for (const auto w : weights) total += w;
  if (total <= 0 || size <= 1) return {rank == 0 ? 0 : weights.size(), weights.size()};
  std::size_t first = weights.size(), last = weights.size();
  std::int64_t before = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    // Twice the middle, to stay in integers: owner = floor((2*before + w) * size / (2*total)).
    const auto owner =
        int(std::min<__int128>(size - 1, (__int128(2 * before + weights[i]) * size) / (2 * __int128(total))));
    if (owner == rank && first == weights.size()) first = i;
    if (owner > rank) {
      last = i;
      break;
    }
    before += weights[i];
  }
  if (first == weights.size()) return {last, last};
  return {first, last};
}

void abort_if_unagreed(int exit_code, const std::string& message) {
  if (g_size <= 1 || g_agreed) return;
#ifdef QINLING_HAVE_MPI
  if (g_rank != 0) {  // rank 0 has logged it already; the others log nothing
    std::fprintf(stderr, "qinling (rank %d of %d): %s\n", g_rank, g_size, message.c_str());
    std::fflush(stderr);
  }
  MPI_Abort(MPI_COMM_WORLD, exit_code);
#else
  (void)exit_code;
  (void)message;
#endif
}

}  // namespace qinling::pipeline::mpi
