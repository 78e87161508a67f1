"""Inputs and shutdowns that must not hurt the interpreter (issue 25).

Special files given to Grammar.load are refused before reading (a FIFO hung and
/dev/zero filled memory); a phase experiment still running in a thread when
Python exits, or after Ctrl-C interrupted the join(), aborted the interpreter
with "terminate called without an active exception" (SIGABRT). Each case runs
in a subprocess with a timeout, so that a hang or an abort fails the test.
"""

import os
import subprocess
import sys
import textwrap

import pytest

# Many short units (3 depths x 16 noise levels x 4 grammars), so that a running
# experiment reaches the end of a unit many times a second; about 20 s in all on a
# busy machine (40 000 samples: a fast idle one finished 4 000 within the 1.5 s before Ctrl-C),
# far more than the subprocesses below let it run.
LONG_CONFIG = """
[grammar]
v = 8
classes = 4
m = 2
s = 2
L = [4, 5, 6]
seeds = 4
[noise]
channel = "uniform"
values = [0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24, 0.26, 0.28, 0.30, 0.32]
[run]
samples = 40000
seed = 0
"""


def run_python(code, *args, timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo"])
def test_grammar_load_refuses_special_files(tmp_path, special):
    path = special
    if special == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    done = run_python("""
        import sys, hdiff
        try:
            hdiff.Grammar.load(sys.argv[1])
        except OSError as e:
            print(e)
            sys.exit(3)
        """, path, timeout=60)
    assert done.returncode == 3, done.stderr
    assert f"cannot read grammar {path}: it is a" in done.stdout
    assert "not a regular file" in done.stdout


def check_clean_exit(done):
    assert done.returncode not in (-6, 134), done.stderr
    assert "terminate called" not in done.stderr
    assert "Fatal Python error" not in done.stderr


def test_phase_in_a_daemon_thread_when_python_exits(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(LONG_CONFIG)
    done = run_python("""
        import sys, threading, time, hdiff
        threading.Thread(target=hdiff.phase, args=(sys.argv[1],), daemon=True).start()
        time.sleep(2)
        print("exiting", flush=True)
        """, config)
    check_clean_exit(done)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "exiting\n"


def test_phase_in_a_thread_after_ctrl_c_interrupted_join(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(LONG_CONFIG)
    # The first SIGINT interrupts join(); the second the wait for the thread at exit.
    done = run_python("""
        import os, signal, sys, threading, time, hdiff
        worker = threading.Thread(target=hdiff.phase, args=(sys.argv[1],))
        worker.start()
        def interrupt():
            for _ in range(2):
                time.sleep(1.5)
                os.kill(os.getpid(), signal.SIGINT)
        threading.Thread(target=interrupt, daemon=True).start()
        worker.join()
        """, config)
    check_clean_exit(done)
    assert "KeyboardInterrupt" in done.stderr


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_phase_config_path_refuses_special_files(tmp_path, special):
    path = special
    if special == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    done = run_python("""
        import sys, hdiff
        try:
            hdiff.phase(sys.argv[1])
        except OSError as e:
            print(e)
            sys.exit(3)
        """, path, timeout=60)
    assert done.returncode == 3, done.stderr
    assert f"cannot read config {path}: it is a" in done.stdout
