#!/usr/bin/env bash
# The hostile-input build (docs/security.md), the `sanitize` presets of
# CMakePresets.json: configures build-sanitize with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (any report aborts), without LibTorch (the core,
# the file readers and the CLI without `images`), builds it with the fuzz
# targets, and runs every test under the sanitizers.
# Without MPI as well: OpenMPI's own allocations outlive MPI_Finalize and would
# be reported as leaks; the single-rank build runs the same journal, unit
# runner and transport code (docs/cluster.md), and the tests across ranks run
# in the normal build.
# The test preset sets ASAN_OPTIONS and UBSAN_OPTIONS, and leaves out
# PhaseCommand.CtrlC*: it interrupts after a fixed 3 s of wall clock, by which
# the first depth must be done; under ASan on a busy machine it may not be, so
# that test runs in the normal build only.
# Usage: scripts/sanitize.sh [CMAKE_ARGS...]   (extra -D options for the configure step)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset sanitize "$@" > build-sanitize.configure.log 2>&1 || { cat build-sanitize.configure.log; exit 1; }
rm -f build-sanitize.configure.log
cmake --build --preset sanitize -j "$(nproc)"
ctest --preset sanitize -j "$(nproc)"
