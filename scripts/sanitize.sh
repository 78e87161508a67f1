#!/usr/bin/env bash
# The hostile-input build (docs/security.md): configures build-sanitize with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer (any report aborts),
# without LibTorch (the core, the file readers and the CLI without `images`),
# builds it with the fuzz targets, and runs every test under the sanitizers.
# Without MPI as well: OpenMPI's own allocations outlive MPI_Finalize and would
# be reported as leaks; the single-rank build runs the same journal, unit
# runner and transport code (docs/cluster.md), and the tests across ranks run
# in the normal build.
# Usage: scripts/sanitize.sh [BUILD_DIR]   (default build-sanitize)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-sanitize}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DHDIFF_WITH_TORCH=OFF -DHDIFF_WITH_MPI=OFF -DHDIFF_BUILD_BENCH=OFF -DHDIFF_SANITIZE=ON -DHDIFF_BUILD_FUZZERS=ON > "$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; exit 1; }
rm -f "$build.configure.log"
cmake --build "$build" -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
# PhaseCommand.CtrlC* interrupts after a fixed 3 s of wall clock, by which the
# first depth must be done; under ASan on a busy machine it may not be, so that
# test runs in the normal build only.
ctest --output-on-failure -j "$(nproc)" --timeout 900 -E 'PhaseCommand\.CtrlC'
