"""phase and theory: the same tables as `hdiff phase` and `hdiff theory`."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

import hdiff
from conftest import run_cli

CONFIG = {
    "grammar": {"v": 6, "classes": 4, "m": 2, "s": 2, "L": [2, 3], "seeds": 2},
    "noise": {"channel": "uniform", "values": [0.0, 0.3, 0.7]},
    "run": {"samples": 60, "trajectories": 2, "seed": 5},
}

CONFIG_TOML = """[grammar]
v = 6
classes = 4
m = 2
s = 2
L = [2, 3]
seeds = 2

[noise]
channel = "uniform"
values = [0.0, 0.3, 0.7]

[run]
samples = 60
trajectories = 2
seed = 5
"""


def read_csv(path):
    return hdiff._tables.csv_columns(path.read_text())


def assert_same_columns(actual, expected):
    assert list(actual) == list(expected)
    for name, column in expected.items():
        assert actual[name].dtype == column.dtype, name
        np.testing.assert_array_equal(actual[name], column, err_msg=name)  # NaN equals NaN here


def test_phase_equals_hdiff_phase(tmp_path):
    (tmp_path / "c.toml").write_text(CONFIG_TOML)
    run_cli("phase", "--config", tmp_path / "c.toml", "--out", tmp_path / "out", "--threads", 2)
    for result in (hdiff.phase(CONFIG, threads=1), hdiff.phase(tmp_path / "c.toml")):
        assert isinstance(result, hdiff.PhaseResult)
        for table in ("results", "conditional", "changes", "correlations", "information"):
            header = (tmp_path / "out" / f"{table}.csv").read_text().splitlines()[0].split(",")
            assert list(getattr(result, table)) == header
            assert_same_columns(getattr(result, table), read_csv(tmp_path / "out" / f"{table}.csv"))
    # 2 depths × 3 noise levels × (L + 1) levels
    assert len(result.results["agreement"]) == 3 * 3 + 3 * 4


def test_phase_reads_numbers_exactly(tmp_path):
    result = hdiff.phase(CONFIG)
    (tmp_path / "c.toml").write_text(CONFIG_TOML)
    run_cli("phase", "--config", tmp_path / "c.toml", "--out", tmp_path / "out")
    lines = (tmp_path / "out" / "results.csv").read_text().splitlines()
    column = lines[0].split(",").index("posterior_mass")
    assert [float(line.split(",")[column]) for line in lines[1:]] == result.results["posterior_mass"].tolist()


def test_theory_predict_equals_hdiff_theory(tmp_path):
    run_cli("theory", "--v", 6, "--classes", 6, "--m", 2, "--noise", "0.1,0.4", "--depths", "2,3",
            "--population", 2000, "--replicas", 4, "--seed", 3, "--out", tmp_path / "t")
    predicted = hdiff.theory.predict([0.1, 0.4], depths=[2, 3], v=6, classes=6, m=2, population=2000, replicas=4,
                                     seed=3)
    assert_same_columns(predicted, read_csv(tmp_path / "t" / "theory.csv"))


def test_theory_threshold_equals_hdiff_theory(tmp_path):
    run_cli("theory", "--v", 6, "--classes", 6, "--m", 2, "--threshold", "--population", 2000, "--replicas", 4,
            "--levels", 12, "--tolerance", "0.02", "--out", tmp_path / "t")
    expected = json.loads((tmp_path / "t" / "threshold.json").read_text())
    found = hdiff.theory.threshold(v=6, classes=6, m=2, population=2000, replicas=4, levels=12, tolerance=0.02)
    # The wall time differs, and the commit names the build of each binary, which
    # differs when only one of them was rebuilt since the last commit.
    # threshold.json lists its models in `thresholds` (one here), as a grid's does.
    assert expected.pop("thresholds") == [expected]
    for record in (expected, found):
        del record["wall_seconds"], record["git_commit"]
    assert found == expected


def test_ctrl_c_interrupts_phase_with_keyboard_interrupt(tmp_path):
    # The default experiment with 50 000 samples takes minutes; Ctrl-C must end it at once.
    assert "samples = 1000\n" in hdiff.DEFAULT_PHASE_CONFIG
    (tmp_path / "long.toml").write_text(hdiff.DEFAULT_PHASE_CONFIG.replace("samples = 1000\n", "samples = 50000\n"))
    script = textwrap.dedent(f"""
        import sys, hdiff
        print("calling", flush=True)
        try:
            hdiff.phase({str(tmp_path / "long.toml")!r}, threads=1)
        except KeyboardInterrupt:
            print("KeyboardInterrupt inside phase", flush=True)
            sys.exit(7)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ)
    assert process.stdout.readline().strip() == "calling"
    time.sleep(1.0)  # well inside the call, which lasts minutes
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 7
    assert "KeyboardInterrupt inside phase" in output
