"""`hdiff corrupt` writes the values of hdiff.corrupt, bit for bit, for every channel."""

import numpy as np
import pytest

import hdiff
from conftest import run_cli

NOISE = {"uniform": 0.3, "mask": 0.45, "gaussian": 0.6, "soft": 0.35}


@pytest.mark.parametrize("channel", ["uniform", "mask", "gaussian", "soft"])
@pytest.mark.parametrize("seed", [0, 17])
def test_cli_corrupt_is_python_corrupt(tmp_path, grammar, grammar_file, channel, seed):
    clean = grammar.sample(301, seed=4).tokens
    np.save(tmp_path / "clean.npy", clean)  # int64, as Python hands tokens out
    out = tmp_path / "noisy"
    printed = run_cli("corrupt", "--grammar", grammar_file, "--tokens", tmp_path / "clean.npy", "--channel", channel,
                      "--noise", repr(NOISE[channel]), "--seed", seed, "--out", out)
    assert f"corrupted 301 strings ({channel} channel" in printed
    written = np.load(out / "tokens.npy")
    expected = hdiff.corrupt(grammar, clean, channel, NOISE[channel], seed=seed)
    assert written.shape == expected.shape
    if channel == "gaussian":
        assert written.dtype == expected.dtype == np.float64
        assert written.tobytes() == expected.tobytes()
    else:
        # Tokens in the smallest unsigned type, as `hdiff sample` writes them (v = 8: MASK is 8).
        assert written.dtype == np.uint8
        assert written.astype(np.int64).tobytes() == expected.tobytes()
    if channel == "soft":
        np.testing.assert_array_equal(written, clean)
    assert sorted(p.name for p in out.iterdir()) == ["tokens.npy"]


def test_cli_corrupt_then_denoise_is_python(tmp_path, grammar, grammar_file):
    # sample → corrupt → denoise on the command line equals the same in Python.
    run_cli("sample", "--grammar", grammar_file, "--n", 50, "--seed", 3, "--out", tmp_path / "s")
    run_cli("corrupt", "--grammar", grammar_file, "--tokens", tmp_path / "s" / "tokens.npy", "--channel", "mask",
            "--noise", "0.4", "--seed", 5, "--out", tmp_path / "c")
    run_cli("denoise", "--grammar", grammar_file, "--tokens", tmp_path / "c" / "tokens.npy", "--channel", "mask",
            "--noise", "0.4", "--out", tmp_path / "d")
    observed = hdiff.corrupt(grammar, grammar.sample(50, seed=3).tokens, "mask", 0.4, seed=5)
    result = hdiff.denoise(grammar, observed, "mask", 0.4)
    assert result.log_evidence.tobytes() == np.load(tmp_path / "d" / "log_evidence.npy").tobytes()


def test_bad_corrupt_input_gives_the_python_message(tmp_path, grammar, grammar_file):
    tokens = np.zeros((2, 8), dtype=np.int64)
    tokens[1, 3] = 8  # MASK is no clean token
    np.save(tmp_path / "t.npy", tokens)
    message = run_cli("corrupt", "--grammar", grammar_file, "--tokens", tmp_path / "t.npy", "--channel", "mask",
                      "--noise", "0.2", "--out", tmp_path / "o", expect_error=True)
    with pytest.raises(ValueError) as caught:
        hdiff.corrupt(grammar, tokens, "mask", 0.2)
    assert message.replace(str(tmp_path / "t.npy"), "tokens") == str(caught.value)
    assert not (tmp_path / "o").exists()
