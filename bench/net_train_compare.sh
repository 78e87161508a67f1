#!/usr/bin/env bash
# Training steps per second of the default `hdiff net train` network in C++
# (build/bench/bench_net_train, LibTorch) and of the same network in PyTorch
# (bench/net_train_pytorch.py, Debian's python3-torch), at 1 and 2 threads, one
# after the other, then the ratio C++/PyTorch. OpenMP threads wait passively in
# both, as in hdiff-torch. The numbers depend on the machine's load: run it on
# an idle machine, or say what else ran.
# usage: bash bench/net_train_compare.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
for threads in 1 2; do
  cpp=$("$build/bench/bench_net_train" --benchmark_filter="BM_TrainStep/threads:${threads}/" \
        --benchmark_min_time="$seconds" --benchmark_format=json |
        /usr/bin/python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["benchmarks"][0]["steps/s"])')
  py=$(/usr/bin/python3 "$here/net_train_pytorch.py" --threads "$threads" --seconds "$seconds" |
       sed -E 's/.*: ([0-9.]+) steps\/s/\1/')
  ratio=$(/usr/bin/python3 -c "print('%.2f' % ($cpp / $py))")
  echo "threads $threads: C++ (LibTorch) $cpp steps/s, PyTorch $py steps/s, ratio C++/PyTorch $ratio"
done
