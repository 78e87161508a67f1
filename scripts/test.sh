#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and output tests), then the
# sanitizer build's tests and a bounded fuzzing run (scripts/sanitize.sh, scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 900)
# Hostile input (docs/security.md): the core and the readers under ASan + UBSan,
# then every fuzz target for a bounded time; a crash fails CI.
bash scripts/sanitize.sh
bash scripts/fuzz.sh "${HDIFF_FUZZ_SECONDS:-30}"
