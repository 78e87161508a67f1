#!/usr/bin/env bash
# Quick start: installs what running needs (scripts/install-deps.sh run), builds
# hdiff without its tests and benchmarks, and runs the main job: the phase
# transition of the seed paper's figure (preset pnas2025-rhm-soft, the papers'
# grammar under their epsilon-process). Prints the class agreement table, where
# the curves of different L cross, the token susceptibility peaks and the
# theories' epsilon* beside them. Results land in hdiff-phase/, or, when that
# exists (an earlier run: hdiff never replaces a run's results), in the first of
# hdiff-phase-2, hdiff-phase-3, ... that does not.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh run
bash scripts/build.sh -DHDIFF_BUILD_TESTS=OFF -DHDIFF_BUILD_BENCH=OFF
out=hdiff-phase
n=1
# A folder, or the journal of an unfinished run into it (.NAME.unfinished), is taken.
while [ -e "$out" ] || [ -e ".$out.unfinished" ]; do
  n=$((n + 1))
  out="hdiff-phase-$n"
done
./build/hdiff phase --out "$out"
echo "run.sh: results, figures and run.json are in $out/"
