#pragma once
// Sharing work across processes: the one seam between hdiff and MPI. A run is a
// list of work units known to every process (rank); each rank computes the units
// it owns and rank 0 gathers the results and writes the output. Built with
// OpenMPI (cluster_mpi.cpp) and launched by mpirun or srun, there are as many
// ranks as processes; otherwise (cluster_single.cpp, or the same binary started
// without a launcher) there is one rank and nothing is communicated, so hdiff
// behaves exactly as a plain program.
//
// Errors: a setup step run through agree() fails on every rank together, with
// the message printed once by rank 0; an error during the work ends all ranks
// through abort_all(), which prints one line.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hdiff::cluster {

// Starts MPI when this process was launched by an MPI launcher (and hdiff was
// built with MPI); call once at the start of main. Harmless otherwise.
void start(int* argc, char*** argv);

// This process's rank in [0, size()); 0 without MPI.
int rank();
// Number of ranks; 1 without MPI.
int size();
// This process's rank among the ranks on its own machine (to pick one GPU per rank); 0 without MPI.
int local_rank();
// True on rank 0, the rank that gathers the results and writes the output.
inline bool is_root() { return rank() == 0; }
// True when this build can run across ranks (it was built against MPI).
bool built_with_mpi();

// Owner rank of every unit: the units, largest `cost` first (ties by index), go
// one by one to the rank with the least cost so far (ties to the lower rank).
// The same answer on every rank, so ownership needs no communication.
std::vector<int> assign_units(std::span<const double> costs, int ranks);

// Thrown on every rank when a step run by agree() failed on some rank: rank 0
// reports `what()`, the other ranks exit with the same code silently.
struct SetupFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs `step` on every rank, then lets all ranks agree: if it threw an hdiff
// Error on any rank, every rank throws SetupFailed with the message of the
// lowest failing rank. Other exceptions propagate as they are.
void agree(const std::function<void()>& step);

// Broadcasts `bytes` from rank 0 to every rank (a no-op with one rank).
void broadcast(std::string& bytes);

// Sends the result of `unit` to rank 0 without waiting for it to be received;
// flush_sends() waits for every send of this rank. Not for use on rank 0.
void send_to_root(int64_t unit, std::string bytes);
void flush_sends();

// One result received by rank 0.
struct UnitMessage {
  int64_t unit = 0;
  std::string bytes;
};

// On rank 0: the next result sent by any other rank; with `wait` false,
// nothing when none has arrived yet.
std::optional<UnitMessage> receive_at_root(bool wait);

// Bytes this rank sent and received through send_to_root/receive_at_root/broadcast.
int64_t bytes_communicated();

// Ends every rank at once with exit code `exit_code` after printing
// "hdiff: error: `message`" on this rank's stderr (one line, one rank).
[[noreturn]] void abort_all(const std::string& message, int exit_code);

}  // namespace hdiff::cluster
