#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the main job, the
# phase-transition experiment on its embedded default (the papers' grammar under the uniform, resampling channel).
# Results land in hdiff-phase/ (results.csv, run.json, figures).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/hdiff phase --out hdiff-phase
