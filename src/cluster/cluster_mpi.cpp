// The cluster interface over MPI (OpenMPI). MPI starts only when a launcher
// (mpirun, srun) started this process, so the same binary run by hand is a
// plain single process that never touches MPI.

#include <mpi.h>

#include <fmt/format.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>

#include "cluster/cluster.h"
#include "common/error.h"

namespace hdiff::cluster {
namespace {

constexpr int kResultTag = 14;

bool active = false;  // MPI was started by start()
int this_rank = 0;
int rank_count = 1;
int this_local_rank = 0;
int64_t bytes_moved = 0;

// A result on its way to rank 0: the buffer must live until the send completes.
struct PendingSend {
  std::string buffer;
  MPI_Request request = MPI_REQUEST_NULL;
};
std::list<PendingSend> pending;

bool launched_by_mpi() {
  // OpenMPI's mpirun, PMIx (srun --mpi=pmix, OpenMPI 4+) and PMI-1/2 (srun, hydra).
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name)) return true;
  return false;
}

void finish() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  abort_all(fmt::format("MPI {} failed: {}", what, std::string(text, static_cast<size_t>(length))), 2);
}

// Drops the sends that have completed.
void reap_sends() {
  for (auto it = pending.begin(); it != pending.end();) {
    int done = 0;
    check(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "send test");
    it = done ? pending.erase(it) : std::next(it);
  }
}

}  // namespace

void start(int* argc, char*** argv) {
  if (active || !launched_by_mpi()) return;
  int provided = 0;
  // Only the main thread calls MPI; OpenMP threads never do.
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    fmt::print(stderr, "hdiff: error: MPI could not start; run hdiff without mpirun/srun, or check the MPI installation\n");
    std::exit(2);
  }
  active = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &this_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &rank_count);
  MPI_Comm node;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, this_rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_rank(node, &this_local_rank);
    MPI_Comm_free(&node);
  }
  std::atexit(finish);
}

int rank() { return this_rank; }
int size() { return rank_count; }
int local_rank() { return this_local_rank; }
bool built_with_mpi() { return true; }

void agree(const std::function<void()>& step) {
  if (rank_count == 1) return step();
  std::string message;
  bool failed = false;
  try {
    step();
  } catch (const Error& e) {
    failed = true;
    message = e.what();
  }
  int mine = failed ? this_rank : rank_count, first = rank_count;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "allreduce");
  if (first == rank_count) return;
  int length = static_cast<int>(std::min<size_t>(message.size(), 4096));
  check(MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD), "broadcast");
  message.resize(static_cast<size_t>(length));
  check(MPI_Bcast(message.data(), length, MPI_CHAR, first, MPI_COMM_WORLD), "broadcast");
  throw SetupFailed(message);
}

void broadcast(std::string& bytes) {
  if (rank_count == 1) return;
  uint64_t length = bytes.size();
  check(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "broadcast");
  if (length > INT_MAX) abort_all(fmt::format("cannot broadcast {} bytes, more than MPI's limit of {}", length, INT_MAX), 2);
  bytes.resize(length);
  check(MPI_Bcast(bytes.data(), static_cast<int>(length), MPI_BYTE, 0, MPI_COMM_WORLD), "broadcast");
  bytes_moved += static_cast<int64_t>(length);
}

void send_to_root(int64_t unit, std::string bytes) {
  HDIFF_CHECK(this_rank != 0);
  reap_sends();
  PendingSend& send = pending.emplace_back();
  send.buffer.resize(sizeof unit);
  std::memcpy(send.buffer.data(), &unit, sizeof unit);
  send.buffer += bytes;
  if (send.buffer.size() > INT_MAX)
    abort_all(fmt::format("unit {} has a result of {} bytes, more than MPI's limit of {}; split the run into smaller units "
                          "(fewer samples per unit)", unit, send.buffer.size(), INT_MAX), 2);
  check(MPI_Isend(send.buffer.data(), static_cast<int>(send.buffer.size()), MPI_BYTE, 0, kResultTag, MPI_COMM_WORLD,
                  &send.request), "send");
  bytes_moved += static_cast<int64_t>(send.buffer.size());
}

void flush_sends() {
  for (auto& send : pending) check(MPI_Wait(&send.request, MPI_STATUS_IGNORE), "send wait");
  pending.clear();
}

std::optional<UnitMessage> receive_at_root(bool wait) {
  if (rank_count == 1) return std::nullopt;
  MPI_Status status;
  if (wait) {
    check(MPI_Probe(MPI_ANY_SOURCE, kResultTag, MPI_COMM_WORLD, &status), "probe");
  } else {
    int arrived = 0;
    check(MPI_Iprobe(MPI_ANY_SOURCE, kResultTag, MPI_COMM_WORLD, &arrived, &status), "probe");
    if (!arrived) return std::nullopt;
  }
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::string buffer(static_cast<size_t>(count), '\0');
  check(MPI_Recv(buffer.data(), count, MPI_BYTE, status.MPI_SOURCE, kResultTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "receive");
  bytes_moved += count;
  UnitMessage message;
  HDIFF_CHECK(buffer.size() >= sizeof message.unit);
  std::memcpy(&message.unit, buffer.data(), sizeof message.unit);
  message.bytes = buffer.substr(sizeof message.unit);
  return message;
}

int64_t bytes_communicated() { return bytes_moved; }

void abort_all(const std::string& message, int exit_code) {
  fmt::print(stderr, "hdiff: error: {}\n", message);
  std::fflush(stderr);
  std::fflush(stdout);
  if (active && rank_count > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

}  // namespace hdiff::cluster
