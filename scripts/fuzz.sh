#!/usr/bin/env bash
# Runs every libFuzzer target of fuzz/ for SECONDS each (default 30) on its
# committed seed corpus, after building them with clang, ASan and UBSan in
# build-sanitize (the `fuzz` preset of CMakePresets.json: the `sanitize`
# configuration, so scripts/sanitize.sh builds the same folder). A crash, a leak,
# a sanitizer report, a timeout (> 10 s for one input) or running out of memory
# (> 2 GB) fails the script; the input that did it is kept in
# BUILD/fuzz-artifacts/. Inputs that found new code paths collect in
# BUILD/fuzz-corpus/<target>/ (not committed). Executions per target are printed
# at the end and written to BUILD/fuzz-stats.txt.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
build=build-sanitize
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(pickle checkpoint npy grammar_json toml_config image journal journal_values idx kjv); fi

cmake --preset fuzz > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
rm -f "$build.configure.log"
cmake --build --preset fuzz -j "$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/fuzz-artifacts"
: > "$build/fuzz-stats.txt"
status=0
for target in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$target"
  mkdir -p "$corpus"
  log="$build/fuzz-$target.log"
  echo "fuzz: $target for ${seconds}s" >&2
  if ! "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$target-" "$corpus" "fuzz/corpus/$target" > "$log" 2>&1; then
    echo "fuzz: $target FAILED; the input is in $build/fuzz-artifacts/, the report in $log:" >&2
    grep -E "ERROR|SUMMARY|Test unit written" "$log" >&2 || tail -30 "$log" >&2
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "$target ${runs:-?} executions in ${seconds}s" | tee -a "$build/fuzz-stats.txt"
done
exit $status
