#!/usr/bin/env bash
# Configures and builds hdiff in build/ (Release): the `release` preset of
# CMakePresets.json. Extra arguments go to cmake's configure step (-D options).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release "$@" > build-configure.log 2>&1 || { cat build-configure.log; exit 1; }
rm -f build-configure.log
cmake --build --preset release -j "$(nproc)"
