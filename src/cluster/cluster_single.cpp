// The cluster interface of a build without MPI: one rank, nothing to send.

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cluster/cluster.h"
#include "common/error.h"

namespace hdiff::cluster {

namespace {

// The number of processes a launcher started, when it says (1 otherwise).
long launched_processes() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::strtol(value, nullptr, 10);
  return 1;
}

}  // namespace

void start(int*, char***) {
  // Several copies of a build without MPI would each run everything and write the same files.
  if (launched_processes() > 1) {
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK") ? std::getenv("OMPI_COMM_WORLD_RANK") : std::getenv("PMI_RANK");
    if (!rank || std::string(rank) == "0")
      fmt::print(stderr, "hdiff: error: this hdiff was built without MPI, so it cannot share work across the {} processes "
                         "mpirun/srun started; run one process, or rebuild with MPI (install libopenmpi-dev, see "
                         "docs/cluster.md)\n", launched_processes());
    std::exit(2);
  }
}
int rank() { return 0; }
int size() { return 1; }
int local_rank() { return 0; }
bool built_with_mpi() { return false; }
void agree(const std::function<void()>& step) { step(); }
void broadcast(std::string&) {}
void send_to_root(int64_t, std::string) { HDIFF_CHECK(!"send_to_root needs more than one rank"); }
void flush_sends() {}
std::optional<UnitMessage> receive_at_root(bool) { return std::nullopt; }
int64_t bytes_communicated() { return 0; }

void abort_all(const std::string& message, int exit_code) {
  fmt::print(stderr, "hdiff: error: {}\n", message);
  std::fflush(stderr);
  std::exit(exit_code);
}

}  // namespace hdiff::cluster
