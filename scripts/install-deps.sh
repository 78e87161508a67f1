#!/usr/bin/env bash
# The one place where hdiff's dependencies are recorded: Debian 12 packages, in
# two lists.
#
#   bash scripts/install-deps.sh run    what building and running hdiff needs (scripts/run.sh)
#   bash scripts/install-deps.sh test   that, plus the developer tools: tests, benchmarks,
#                                       sanitizers, fuzzing, pytest (scripts/test.sh)
#   bash scripts/install-deps.sh --list run|test   print the list and install nothing
#
# Idempotent: installs only what is missing, with apt-get (as root, or through
# sudo). Without either it installs nothing: it names the missing packages and
# the ways to get them (an administrator, or the container of docs/cluster.md),
# and fails. It never changes system-wide settings (no update-alternatives).
set -euo pipefail

# Building and running: the core (hdiff), its figures, the image pipeline (hdiff-torch),
# the Python module and MPI. CMake builds without the optional ones when they are missing.
run_packages=(
  build-essential cmake          # compiler and build
  libcli11-dev                   # CLI11: the command line
  libfmt-dev                     # fmt: formatting
  nlohmann-json3-dev             # nlohmann-json: grammar files, run.json
  libtomlplusplus-dev            # toml++: experiment configs
  libomp-dev                     # OpenMP runtime headers (GCC's libgomp is used)
  gnuplot-nox                    # figures (PNG via pngcairo, SVG)
  zlib1g-dev                     # zlib: CRC-32 of journal records and checkpoint members
  libzip-dev                     # libzip: PyTorch checkpoints are zip archives (hdiff-torch)
  libpng-dev                     # libpng: PNG reading and writing (hdiff-torch)
  libjpeg62-turbo-dev            # libjpeg-turbo: JPEG reading, the decoder PIL uses (hdiff-torch; fuzz/make_seeds.py)
  libtorch-dev                   # LibTorch: ADM U-Net and ConvNeXt (hdiff-torch)
  dataset-fashion-mnist          # Fashion-MNIST (IDX files, 31 MB, MIT): the image commands' real images, offline (issue 30; tests/image/io/idx_test.cpp reads it)
  bible-kjv-text                 # the King James Bible (/usr/lib/bible.data, public domain, 1.7 MB EC02 file): the text model of hdiff net train --preset kjv (issue 31; tests/text reads it)
  pybind11-dev python3-dev       # the Python module (python/): pybind11 and the interpreter's headers
  python3-numpy                  # NumPy: the Python module's arrays
  libopenmpi-dev openmpi-bin     # OpenMPI: phase, theory and images across ranks (mpirun/srun)
)

# Developing: everything scripts/test.sh, scripts/sanitize.sh, scripts/fuzz.sh and the benchmarks use.
test_packages=(
  libgtest-dev libgmock-dev      # GoogleTest
  libbenchmark-dev               # Google Benchmark
  clang libclang-rt-dev          # clang with its ASan/UBSan and libFuzzer runtimes: scripts/sanitize.sh, scripts/fuzz.sh
  python3-pytest                 # pytest: tests/python
  python3-pandas                 # tests/python/test_idioms.py checks pandas.DataFrame(hdiff.phase(cfg).results)
  python3-pip python3-setuptools python3-venv  # `pip install --no-build-isolation .` (tests/python/pip_install.sh)
  python3-matplotlib             # matplotlib: examples/phase_transition.py (run by the tests)
  python3-torch                  # PyTorch: bench/net_train_pytorch.py, the same network beside hdiff net train's C++ loop
)
# Not installed by either list: libopenblas0-openmp makes OpenBLAS the system BLAS
# under LibTorch (1.28x on the ADM U-Net on CPU), but it switches the BLAS of every
# program on the machine; docs/performance.md says how to opt in.

list_only=0
if [ "${1:-}" = "--list" ]; then list_only=1; shift; fi
case "${1:-}" in
  run) packages=("${run_packages[@]}") ;;
  test) packages=("${run_packages[@]}" "${test_packages[@]}") ;;
  *)
    echo "usage: bash scripts/install-deps.sh [--list] run|test" >&2
    echo "  run: what building and running hdiff needs; test: that plus the developer tools" >&2
    exit 2
    ;;
esac
if ((list_only)); then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

if ! command -v dpkg-query > /dev/null 2>&1 || ! command -v apt-get > /dev/null 2>&1; then
  echo "install-deps: this is not a Debian-like system (no dpkg/apt-get): install the equivalents of" >&2
  echo "  ${packages[*]}" >&2
  echo "or build in the Debian 12 container of docs/cluster.md (docs/container/Containerfile)." >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo > /dev/null 2>&1 && sudo -n true 2> /dev/null; then
  as_root=(sudo)
elif command -v sudo > /dev/null 2>&1 && [ -t 0 ]; then
  as_root=(sudo)  # sudo asks for the password on the terminal
else
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "  installing them needs root, and this account has neither root nor sudo. Either ask an" >&2
  echo "  administrator to run:  apt-get install --no-install-recommends ${missing[*]}" >&2
  echo "  or build and run hdiff in the Debian 12 container (Apptainer/Singularity or Podman," >&2
  echo "  no root needed on most clusters): see docs/cluster.md, section 'Without root'." >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
