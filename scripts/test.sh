#!/usr/bin/env bash
# Installs what building and testing need (scripts/install-deps.sh test: the run
# list plus GoogleTest, Benchmark, clang and its sanitizer and fuzzer runtimes,
# pytest), builds everything, and runs every test (unit and output tests), then
# the sanitizer build's tests and a bounded fuzzing run (scripts/sanitize.sh,
# scripts/fuzz.sh). Every build goes through a preset of CMakePresets.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test
bash scripts/build.sh -DHDIFF_BUILD_TESTS=ON -DHDIFF_BUILD_BENCH=ON
ctest --preset release -j "$(nproc)"
# Hostile input (docs/security.md): the core and the readers under ASan + UBSan,
# then every fuzz target for a bounded time; a crash fails CI.
bash scripts/sanitize.sh
bash scripts/fuzz.sh "${HDIFF_FUZZ_SECONDS:-30}"
