#pragma once
// Idle OpenMP threads that sleep instead of spinning, unless the user set
// OMP_WAIT_POLICY: call prefer_passive_omp_wait(argv) first thing in main.
//
// Why: GCC's libgomp lets a thread that waits at a barrier or for work spin
// (300 000 polls) before it sleeps. On a machine where another process holds a
// core, the spinning thread takes the CPU the working one needs, and two threads
// can run slower than one (docs/performance.md has the numbers). Passive waiting
// costs hdiff nothing measurable: its parallel loops hand out whole samples or
// work units, so a thread rarely waits.
//
// How: libgomp reads OMP_WAIT_POLICY once, in its initializer, before main runs,
// and even a .preinit_array entry cannot set it for libgomp (libc's own
// initializer, which runs after it, resets the environment to the one the process
// started with). So the program starts itself again, once, with the variable
// set: exec keeps the process id, arguments, open files and MPI launcher
// environment, and costs a few milliseconds.

#include <unistd.h>

#include <cstdlib>

namespace hdiff {

// Returns only when OMP_WAIT_POLICY was already set, or when the program cannot
// start itself again (then threads keep libgomp's default and run on).
inline void prefer_passive_omp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 0) != 0) return;
  execv("/proc/self/exe", argv);
}

}  // namespace hdiff
