"""examples/phase_transition.py draws figure (a) headless."""

import os
import subprocess
import sys

from conftest import SOURCE_DIR
from test_phase import CONFIG_TOML


def test_phase_transition_example_draws_the_figure(tmp_path):
    (tmp_path / "c.toml").write_text(CONFIG_TOML)
    figure = tmp_path / "a.png"
    environment = dict(os.environ, MPLBACKEND="Agg")
    environment.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "examples", "phase_transition.py"),
                           str(tmp_path / "c.toml"), "--out", str(figure)],
                          capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 10_000  # axes, three curves and a legend, not an empty canvas
