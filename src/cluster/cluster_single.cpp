// The cluster interface of a build without MPI: one rank, nothing to send.

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "cluster/cluster.h"
#include "common/error.h"

namespace hdiff::cluster {

void start(int*, char***) {}
int rank() { return 0; }
int size() { return 1; }
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
