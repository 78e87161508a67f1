#include "common/memory.h"

#include <fstream>
#include <sstream>

#include "common/error.h"

namespace hdiff {

double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kilobytes = 0;
  std::string unit;
  while (meminfo >> key >> kilobytes >> unit)
    if (key == "MemAvailable:") return kilobytes * 1024.0;
  return 1e18;
}

void check_memory(double bytes, const std::string& what, const std::string& advice) {
  const double available = available_memory_bytes();
  if (bytes > available)
    fail("{} needs {:.2f} GB but only {:.2f} GB of memory are available; {}", what, bytes / 1e9, available / 1e9,
         advice);
}

}  // namespace hdiff
