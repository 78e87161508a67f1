"""Shared fixtures: the hdiff executable of the same build, and running it."""

import os
import subprocess

import pytest

import hdiff

BINARY = os.environ.get("HDIFF_BINARY", "build/hdiff")
SOURCE_DIR = os.environ.get("HDIFF_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def run_cli(*args, expect_error=False):
    """Runs the hdiff executable; returns its stdout, or its error message (without the 'hdiff: error: ' prefix)."""
    done = subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True, timeout=600)
    if expect_error:
        assert done.returncode == 2, done.stderr
        return done.stderr.strip().removeprefix("hdiff: error: ")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def grammar_file(tmp_path):
    """A small grammar saved by the CLI, and its path."""
    path = tmp_path / "g.json"
    run_cli("grammar", "--v", 8, "--classes", 4, "--m", 3, "--s", 2, "--L", 3, "--seed", 7, "--out", path)
    return path


@pytest.fixture
def grammar(grammar_file):
    """The small grammar, loaded."""
    return hdiff.Grammar.load(grammar_file)
