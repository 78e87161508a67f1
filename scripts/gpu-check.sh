#!/usr/bin/env bash
# GPU check of the image pipeline (issue 5), for a machine with an NVIDIA GPU and
# PyTorch: builds hdiff against PyTorch's CUDA LibTorch, runs the ADM fixture
# tests on CUDA (fp32 against PyTorch's outputs, plus an fp16 closeness check),
# and measures images per second of the 256x256 ADM architecture (random
# weights) in fp16 at batch 16 over 250 reverse steps.
#
# Usage: scripts/gpu-check.sh [BUILD_DIR]     (default build-gpu)
# Environment: JOBS (parallel compile jobs, default: all cores), CALLS (timed
# steps, default 250), BATCH (default 16).
# The other dependencies (fmt, CLI11, libzip, libpng, libjpeg, GoogleTest, ...) come from
# scripts/install-deps.sh, as for the CPU build.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-build-gpu}
jobs=${JOBS:-$(nproc)}
calls=${CALLS:-250}
batch=${BATCH:-16}

say() { printf '\n== %s\n' "$*" >&2; }

say "PyTorch's LibTorch"
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
python3 - <<'EOF'
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPU available: {torch.cuda.is_available()}, "
      f"C++11 ABI: {torch._C._GLIBCXX_USE_CXX11_ABI}")
if torch.version.cuda is None or not torch.cuda.is_available():
    raise SystemExit("gpu-check: this PyTorch has no usable CUDA; install a CUDA build of PyTorch")
EOF
# PyTorch's CMake config for CUDA builds looks for the CUDA toolkit (nvcc, headers).
if ! command -v nvcc >/dev/null && [ -z "${CUDA_HOME:-}" ] && [ ! -d /usr/local/cuda ]; then
  echo "gpu-check: no CUDA toolkit found (nvcc, CUDA_HOME or /usr/local/cuda); LibTorch's CMake config needs it" >&2
fi
abi=$(python3 -c 'import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
extra_flags=""
if [ "$abi" = "0" ]; then
  # Old-ABI wheels: everything must use the old std::string ABI; fmt goes header-only so that
  # Debian's (new-ABI) libfmt is not linked. GoogleTest then has to come from source.
  echo "gpu-check: PyTorch uses the pre-C++11 ABI; building with -D_GLIBCXX_USE_CXX11_ABI=0" >&2
  extra_flags="-D_GLIBCXX_USE_CXX11_ABI=0 -DFMT_HEADER_ONLY=1"
fi

say "configure ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHDIFF_WITH_TORCH=ON -DHDIFF_BUILD_BENCH=OFF \
  -DTorch_DIR="$prefix/Torch" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="$extra_flags" >/dev/null

say "build (-j$jobs)"
cmake --build "$build" --target hdiff checkpoint_test adm_test images_cli_test -j"$jobs"

say "fixture tests on CUDA"
export HDIFF_TEST_DEVICE=cuda
"$build"/tests/image/checkpoint_test --gtest_brief=1
"$build"/tests/image/adm_test
"$build"/tests/image/images_cli_test --gtest_brief=1

say "speed: 256x256 ADM (random weights), fp16, batch $batch, $calls reverse steps"
"$build"/hdiff images bench --preset adm-256-uncond --device cuda --precision fp16 --batch "$batch" --calls "$calls"
