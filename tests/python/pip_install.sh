#!/usr/bin/env bash
# `pip install --no-build-isolation .` in a fresh virtual environment made with
# --system-site-packages, offline (--no-index), then `import hdiff` from another
# folder: the installed package, not the source tree, is imported and works.
# Arguments: the interpreter, the source folder, the CMake build folder pip reuses.
set -euo pipefail
python=$1 source=$2 build=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
before=$(git -C "$source" status --porcelain --untracked-files=all 2>/dev/null || true)
HDIFF_PIP_BUILD_DIR=$build "$work/venv/bin/python" -m pip install --no-build-isolation --no-index -q "$source"
after=$(git -C "$source" status --porcelain --untracked-files=all 2>/dev/null || true)
if [ "$before" != "$after" ]; then
  echo "pip install wrote into the source tree:"; diff <(echo "$before") <(echo "$after") || true
  exit 1
fi
cd "$work"
"$work/venv/bin/python" - "$work/venv" <<'PY'
import os, sys
import numpy as np
import hdiff
venv = os.path.realpath(sys.argv[1])
assert os.path.realpath(hdiff.__file__).startswith(venv), hdiff.__file__
package = os.path.dirname(hdiff.__file__)
for name in ("py.typed", "_hdiff.pyi", "theory.py", "_tables.py"):
    assert os.path.isfile(os.path.join(package, name)), name
g = hdiff.Grammar.random(v=8, classes=4, m=2, s=2, L=2, seed=1)
tokens = g.sample(10, seed=2).tokens
assert tokens.dtype == np.int64 and tokens.shape == (10, 4)
result = hdiff.denoise(g, hdiff.corrupt(g, tokens, "uniform", 0.2, seed=3), "uniform", 0.2)
assert np.isfinite(result.log_evidence).all()
print("installed", hdiff.__version__, "at", package)
PY
