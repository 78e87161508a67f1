"""Grammar and sampling: the same grammar files and samples as the CLI."""

import json

import numpy as np
import pytest

import hdiff
from conftest import run_cli


def test_random_grammar_equals_the_cli_file(tmp_path, grammar_file):
    g = hdiff.Grammar.random(v=8, classes=4, m=3, s=2, L=3, seed=7)
    g.save(tmp_path / "py.json")
    assert json.loads((tmp_path / "py.json").read_text()) == json.loads(grammar_file.read_text())
    assert (g.v, g.classes, g.m, g.s, g.L, g.seed, g.d) == (8, 4, 3, 2, 3, 7, 8)


def test_productions_are_the_rules_of_the_file(grammar, grammar_file):
    rules = json.loads(grammar_file.read_text())["rules"]
    for level in range(grammar.L):
        table = grammar.productions(level)
        assert table.shape == (4 if level == 0 else 8, 3, 2)
        assert table.tolist() == rules[level]


def test_sample_equals_hdiff_sample(tmp_path, grammar, grammar_file):
    run_cli("sample", "--grammar", grammar_file, "--n", 500, "--seed", 11, "--out", tmp_path / "s")
    samples = grammar.sample(500, seed=11)
    assert samples.tokens.shape == (500, 8)
    assert len(samples.latents) == grammar.L + 1
    np.testing.assert_array_equal(samples.tokens, np.load(tmp_path / "s" / "tokens.npy"))
    for level in range(grammar.L + 1):
        assert samples.latents[level].shape == (500, 2**level)
        np.testing.assert_array_equal(samples.latents[level], np.load(tmp_path / "s" / f"latents_{level}.npy"))


def test_sampled_strings_parse_back_to_their_latents(grammar):
    # Every block of every level is a production of its parent: the latents explain the tokens.
    samples = grammar.sample(200, seed=3)
    for level in range(grammar.L):
        table = grammar.productions(level)
        parents, children = samples.latents[level], samples.latents[level + 1].reshape(200, -1, 2)
        for n in range(200):
            for i, parent in enumerate(parents[n]):
                assert children[n, i].tolist() in table[parent].tolist()


def test_corrupt_mask_and_soft(grammar):
    clean = grammar.sample(300, seed=1).tokens
    np.testing.assert_array_equal(hdiff.corrupt(grammar, clean, "soft", 0.7, seed=2), clean)
    masked = hdiff.corrupt(grammar, clean, "mask", 0.5, seed=2)
    kept = masked != grammar.v
    np.testing.assert_array_equal(masked[kept], clean[kept])
    assert 0.45 < 1 - kept.mean() < 0.55  # 2400 tokens: the standard deviation of the fraction is 0.01
    values = hdiff.corrupt(grammar, clean, "gaussian", 0.5, seed=2)
    assert values.shape == (300, 8, 8) and values.dtype == np.float64
    np.testing.assert_array_equal(hdiff.corrupt(grammar, clean, "uniform", 0.3, seed=9),
                                  hdiff.corrupt(grammar, clean.astype(np.int64), "uniform", 0.3, seed=9))


def test_sample_arrays_own_no_copy_and_outlive_the_result(grammar):
    samples = grammar.sample(100, seed=4)
    tokens = samples.tokens
    expected = tokens.copy()
    assert not tokens.flags.owndata and tokens.base is not None
    del samples
    import gc
    gc.collect()
    np.testing.assert_array_equal(tokens, expected)


def test_repr_and_help_read_well(grammar):
    assert repr(grammar) == "hdiff.Grammar(v=8, classes=4, m=3, s=2, L=3, seed=7)"
    assert "Parameters\n----------" in hdiff.denoise.__doc__
    assert "Returns\n-------" in hdiff.Grammar.sample.__doc__
