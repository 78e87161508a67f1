#!/usr/bin/env bash
# Installs every Debian package hdiff builds, tests or plots with; the one place
# where the project's dependencies are recorded. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake          # compiler and build
  libcli11-dev                   # CLI11: the command line
  libfmt-dev                     # fmt: formatting
  nlohmann-json3-dev             # nlohmann-json: grammar files, run.json
  libtomlplusplus-dev            # toml++: experiment configs
  libgtest-dev libgmock-dev      # GoogleTest
  libbenchmark-dev               # Google Benchmark
  libomp-dev                     # OpenMP runtime headers (GCC's libgomp is used)
  libzip-dev                     # libzip: PyTorch checkpoints are zip archives
  libstb-dev                     # stb: PNG/JPEG reading and writing
  libtorch-dev                   # LibTorch: ADM U-Net and ConvNeXt
  libopenblas0-openmp            # OpenBLAS as the system BLAS under LibTorch (1.28x on the ADM U-Net on CPU)
  gnuplot-nox                    # figures (PNG via pngcairo, SVG)
  clang libclang-rt-dev          # clang with its ASan/UBSan and libFuzzer runtimes: scripts/sanitize.sh, scripts/fuzz.sh
  pybind11-dev python3-dev       # the Python module (python/): pybind11 and the interpreter's headers
  python3-numpy                  # NumPy: the Python module's arrays
  python3-pytest                 # pytest: tests/python
  python3-pandas                 # test only: tests/python/test_idioms.py checks pandas.DataFrame(hdiff.phase(cfg).results)
  python3-pip python3-setuptools python3-venv  # test only: `pip install --no-build-isolation .` (tests/python/pip_install.sh)
  python3-matplotlib             # matplotlib: examples/phase_transition.py
  libopenmpi-dev openmpi-bin     # OpenMPI: phase, theory and images across ranks (mpirun/srun); optional at build time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
