#pragma once
// Memory estimates checked against the machine before large allocations, so an
// impossible request fails at once with advice instead of thrashing or crashing.

#include <string>

namespace hdiff {

// Bytes of memory available to this process now (MemAvailable), or a large
// value when it cannot be read.
double available_memory_bytes();

// Throws Error if `bytes` exceed the available memory: "<what> needs X GB but
// only Y GB are available; <advice>".
void check_memory(double bytes, const std::string& what, const std::string& advice);

}  // namespace hdiff
