"""Bad input raises ValueError (OSError for files) with the CLI's message; nothing aborts."""

import os
import stat

import numpy as np
import pytest

import hdiff
from conftest import run_cli


def cli_denoise_error(tmp_path, grammar_file, observed, channel="uniform", noise="0.3", extra=()):
    np.save(tmp_path / "obs.npy", observed)
    message = run_cli("denoise", "--grammar", grammar_file, "--tokens", tmp_path / "obs.npy", "--channel", channel,
                      "--noise", noise, "--out", tmp_path / "out", *extra, expect_error=True)
    # The CLI names the file where Python names the argument.
    return message.replace(str(tmp_path / "obs.npy"), "observed")


def python_error(error_type, call):
    with pytest.raises(error_type) as caught:
        call()
    return str(caught.value)


def test_bad_shape(tmp_path, grammar, grammar_file):
    observed = np.zeros((5, 7), dtype=np.uint32)
    expected = cli_denoise_error(tmp_path, grammar_file, observed)
    assert "shape (5, 7) does not fit" in expected
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, observed, "uniform", 0.3)) == expected


def test_gaussian_shape(tmp_path, grammar, grammar_file):
    observed = np.zeros((5, 8), dtype=np.float64)
    expected = cli_denoise_error(tmp_path, grammar_file, observed, channel="gaussian", noise="0.5")
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, observed, "gaussian", 0.5)) == expected


def test_token_out_of_range(tmp_path, grammar, grammar_file):
    observed = np.zeros((3, 8), dtype=np.int64)
    observed[1, 2] = 8
    expected = cli_denoise_error(tmp_path, grammar_file, observed)
    assert "element 10 is 8, out of range" in expected
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, observed, "uniform", 0.3)) == expected
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, observed.astype(np.uint32), "uniform", 0.3)) == expected


def test_negative_token_and_float_tokens(tmp_path, grammar, grammar_file):
    observed = np.zeros((3, 8), dtype=np.int32)
    observed[0, 0] = -1
    expected = cli_denoise_error(tmp_path, grammar_file, observed)
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, observed, "uniform", 0.3)) == expected
    floats = np.zeros((3, 8))
    expected = cli_denoise_error(tmp_path, grammar_file, floats)
    assert "not an integer type" in expected
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, floats, "uniform", 0.3)) == expected


def test_not_finite_gaussian(tmp_path, grammar, grammar_file):
    values = np.zeros((2, 8, 8))
    values[1, 3, 4] = np.nan
    expected = cli_denoise_error(tmp_path, grammar_file, values, channel="gaussian", noise="0.5")
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, values, "gaussian", 0.5)) == expected


def test_bad_channel_noise_and_samples(tmp_path, grammar, grammar_file):
    observed = grammar.sample(4).tokens
    for channel, noise, extra, kwargs in [("blur", "0.3", (), {}), ("uniform", "1.5", (), {}),
                                          ("gaussian", "1", (), {}),
                                          ("uniform", "0.3", ("--posterior-samples", "-1"), {"posterior_samples": -1})]:
        data = observed if channel != "gaussian" else np.zeros((4, 8, 8))
        expected = cli_denoise_error(tmp_path, grammar_file, data, channel=channel, noise=noise, extra=extra)
        assert python_error(ValueError, lambda: hdiff.denoise(grammar, data, channel, float(noise), **kwargs)) == expected


def test_impossible_evidence(tmp_path, grammar, grammar_file):
    # At epsilon = 0 a string that is not in the language has probability 0.
    observed = np.zeros((2, 8), dtype=np.uint32)
    observed[1] = grammar.sample(1).tokens[0]
    if hdiff.denoise(grammar, observed[1:], "soft", 0.0).log_evidence[0] == -np.inf:
        pytest.fail("a sampled string must be possible")
    expected = cli_denoise_error(tmp_path, grammar_file, observed, channel="soft", noise="0")
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, observed, "soft", 0.0)) == expected


def test_no_observations(tmp_path, grammar, grammar_file):
    empty = np.zeros((0, 8), dtype=np.uint32)
    expected = cli_denoise_error(tmp_path, grammar_file, empty)
    assert python_error(ValueError, lambda: hdiff.denoise(grammar, empty, "uniform", 0.3)) == expected


def test_bad_grammar_parameters():
    expected = run_cli("grammar", "--v", 2, "--m", 8, "--out", "/tmp/never.json", expect_error=True)
    assert python_error(ValueError, lambda: hdiff.Grammar.random(v=2, m=8)) == expected


def test_grammar_files(tmp_path, grammar):
    missing = tmp_path / "missing.json"
    expected = run_cli("grammar", "--show", missing, expect_error=True)
    assert python_error(OSError, lambda: hdiff.Grammar.load(missing)) == expected
    (tmp_path / "bad.json").write_text('{"format": "hdiff-grammar", "version": 1')
    expected = run_cli("grammar", "--show", tmp_path / "bad.json", expect_error=True)
    assert python_error(ValueError, lambda: hdiff.Grammar.load(tmp_path / "bad.json")) == expected
    expected = run_cli("grammar", "--out", tmp_path / "no" / "g.json", expect_error=True)
    assert python_error(OSError, lambda: grammar.save(tmp_path / "no" / "g.json")) == expected
    assert not (tmp_path / "no").exists()


def test_grammar_save_never_replaces_special_files(tmp_path, grammar):
    # Issue 25: as root, Grammar.save("/dev/null") replaced the device node with a regular file.
    # The targets are made here, never the system's own /dev/null (a regression must not break the machine).
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    targets = [fifo]
    if os.geteuid() == 0:
        os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets.append(tmp_path / "null")
    for target in targets:
        expected = run_cli("grammar", "--out", target, "--force", expect_error=True)
        assert "only regular files are replaced" in expected
        assert python_error(OSError, lambda: grammar.save(target)) == expected
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    for target in targets[1:]:
        assert stat.S_ISCHR(os.stat(target).st_mode)
        os.remove(target)
    grammar.save(tmp_path / "g.json")
    grammar.save(tmp_path / "g.json")  # a regular file is replaced, as numpy.save does
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "g.json"]


def test_sample_productions_threads(grammar):
    assert "--n 0 is too small" in python_error(ValueError, lambda: grammar.sample(0))
    assert "level 3 has no productions" in python_error(ValueError, lambda: grammar.productions(3))
    assert "must be an integer in [0, 1024]" in python_error(
        ValueError, lambda: hdiff.denoise(grammar, grammar.sample(1).tokens, "uniform", 0.1, threads=-1))


def test_phase_config_errors(tmp_path):
    (tmp_path / "c.toml").write_text("[grammar]\nv = 8\ncolour = 3\n")
    expected = run_cli("phase", "--config", tmp_path / "c.toml", "--out", tmp_path / "o", expect_error=True)
    assert "unknown key" in expected
    assert python_error(ValueError, lambda: hdiff.phase(tmp_path / "c.toml")) == expected
    assert "unknown key 'grammar.colour'" in python_error(ValueError, lambda: hdiff.phase({"grammar": {"v": 8, "colour": 3}}))
    assert python_error(OSError, lambda: hdiff.phase(tmp_path / "none.toml")) == \
        f"cannot read config {tmp_path / 'none.toml'}: no such file or not readable"
    assert "must be a dict" in python_error(ValueError, lambda: hdiff.phase({"grammar": 3}))
