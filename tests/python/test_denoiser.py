"""Bring your own denoiser: a Python function measured against exact BP gives the
rows of exact BP run in C++ when it is exact BP, and bad outputs of the function
stop the run with one clear ValueError."""

import os
import re

import numpy as np
import pytest

import hdiff
from conftest import SOURCE_DIR


@pytest.fixture
def small():
    return hdiff.Grammar.random(v=8, classes=8, m=2, s=2, L=3, seed=0)


def assert_same_table(a, b, tolerance=0.0):
    assert list(a) == list(b)
    for column in a:
        if a[column].dtype.kind == "f":
            np.testing.assert_allclose(a[column], b[column], rtol=tolerance, atol=tolerance, err_msg=column)
        else:
            assert (a[column] == b[column]).all(), column


@pytest.mark.parametrize("channel", ["mask", "uniform"])
def test_the_oracle_through_python_equals_the_oracle_in_cpp(small, channel):
    oracle = hdiff.bp_denoiser(small, channel)
    calls = []

    def through_python(tokens, noise):
        calls.append(tokens.shape)
        assert tokens.dtype == np.int64 and noise.dtype == np.float64
        return oracle(tokens, noise)

    options = dict(channel=channel, noise=[0.25, 0.7], samples=150, trajectories=2, seed=5, uniform_steps=30)
    direct = hdiff.denoiser_phase(small, oracle, **options)
    python = hdiff.denoiser_phase(small, through_python, **options)
    assert_same_table(direct, python)
    assert direct.rows == 2 * 4
    assert calls and all(shape[1] == small.d for shape in calls)
    # Batches of strings, not one call per string.
    assert max(shape[0] for shape in calls) == 300
    if channel == "mask":
        assert (direct["validity_net"] == 1).all()
    clean = small.sample(100, seed=2).tokens
    # The probabilities' round trip (exp in the oracle, log after fn) moves the last bits.
    assert_same_table(hdiff.compare_losses(small, oracle, channel, [0.3, 0.9], clean, seed=1),
                      hdiff.compare_losses(small, through_python, channel, [0.3, 0.9], clean, seed=1), 1e-12)
    np.testing.assert_array_equal(hdiff.generate(small, oracle, channel, count=50, uniform_steps=30, seed=3),
                                  hdiff.generate(small, through_python, channel, count=50, uniform_steps=30, seed=3))


def test_the_oracle_meets_its_floor_and_a_blurred_one_does_not(small):
    oracle = hdiff.bp_denoiser(small, "mask")
    clean = small.sample(300, seed=2).tokens
    exact = hdiff.compare_losses(small, oracle, "mask", [0.5], clean)
    np.testing.assert_allclose(exact["loss_net"], exact["loss_bayes"], rtol=0, atol=1e-12)
    assert exact["kl"][0] == 0 and exact["top_agreement"][0] == 1
    blurred = hdiff.compare_losses(small, lambda t, e: 0.8 * oracle(t, e) + 0.2 / small.v, "mask", [0.5], clean)
    assert blurred["excess_loss"][0] > 0.01 and blurred["kl"][0] > 0.01
    assert blurred["noised_tokens"].dtype == np.int64


def test_the_oracle_answers_like_denoise(small):
    oracle = hdiff.bp_denoiser(small, "uniform")
    noisy = hdiff.corrupt(small, small.sample(20, seed=1).tokens, "uniform", 0.3, seed=2)
    probabilities = oracle(noisy, 0.3)
    # denoise's marginals are float32 sums; the oracle renormalises them in double.
    np.testing.assert_allclose(probabilities, hdiff.denoise(small, noisy, "uniform", 0.3).marginals[-1], rtol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=2), 1, atol=1e-12)
    assert oracle.channel == "uniform" and "BPDenoiser" in repr(oracle)


def bad_outputs(v):
    def wrong_shape(tokens, noise):
        return np.full(tokens.shape, 1.0 / v)

    def with_nan(tokens, noise):
        out = np.full(tokens.shape + (v,), 1.0 / v)
        out[0, 1, 2] = np.nan
        return out

    def negative(tokens, noise):
        out = np.full(tokens.shape + (v,), 1.0 / v)
        out[0, 3, 0] = -0.1
        out[0, 3, 1] += 0.1
        return out

    def unnormalised(tokens, noise):
        return np.full(tokens.shape + (v,), 0.25)

    def not_numbers(tokens, noise):
        return "probabilities"

    return [(wrong_shape, r"fn returned an array of shape \(\d+, 8\); it must be \(N, d, v\) = \(\d+, 8, 8\)"),
            (with_nan, r"fn returned nan at string 0, position 1, token 2; probabilities must be finite"),
            (negative, r"fn returned the negative probability -0.1 at string 0, position 3, token 0"),
            (unnormalised, r"fn's probabilities at string 0, position 0 sum to 2; each row .* must sum to 1"),
            (not_numbers, r"fn returned a str that NumPy cannot read as float64 probabilities")]


@pytest.mark.parametrize("case", range(5))
def test_bad_outputs_of_fn_are_one_clear_error(small, case):
    fn, message = bad_outputs(small.v)[case]
    for run in (lambda: hdiff.denoiser_phase(small, fn, "mask", noise=[0.5], samples=10),
                lambda: hdiff.compare_losses(small, fn, "uniform", [0.5], small.sample(5).tokens),
                lambda: hdiff.generate(small, fn, "mask", count=5)):
        with pytest.raises(ValueError, match=message):
            run()


def test_errors_of_fn_and_of_the_arguments(small):
    def raises(tokens, noise):
        raise RuntimeError("my model is broken")

    with pytest.raises(RuntimeError, match="my model is broken"):
        hdiff.denoiser_phase(small, raises, "mask", noise=[0.5], samples=10)
    with pytest.raises(ValueError, match="choose mask or uniform"):
        hdiff.denoiser_phase(small, raises, "gaussian", noise=[0.5], samples=10)
    with pytest.raises(ValueError, match="noise level 1.5 must lie in"):
        hdiff.denoiser_phase(small, raises, "mask", noise=[1.5], samples=10)
    with pytest.raises(ValueError, match="samples 0"):
        hdiff.denoiser_phase(small, raises, "mask", noise=[0.5], samples=0)
    with pytest.raises(ValueError, match="fn must be a callable"):
        hdiff.denoiser_phase(small, 3, "mask", noise=[0.5], samples=10)
    with pytest.raises(ValueError, match="made for channel uniform, not mask"):
        hdiff.denoiser_phase(small, hdiff.bp_denoiser(small, "uniform"), "mask", noise=[0.5], samples=10)
    with pytest.raises(ValueError, match="uniform steps 5"):
        hdiff.generate(small, hdiff.bp_denoiser(small, "uniform"), "uniform", count=5, uniform_steps=5)


def test_progress_counts_trajectories(small):
    seen = []
    hdiff.denoiser_phase(small, hdiff.bp_denoiser(small), "mask", noise=[0.2, 0.4], samples=20, trajectories=3,
                         progress=lambda done, total: seen.append((done, total)))
    assert seen == [(60, 120), (120, 120)]


def test_sample_quality(small):
    clean = small.sample(50, seed=4).tokens
    quality = hdiff.sample_quality(small, clean, training=clean[:10])
    np.testing.assert_array_equal(quality["validity"], [1, 1, 1])
    assert quality["valid"] == 1 and quality["copied"] >= 0.2 and quality["valid_new"] == 1 - quality["copied"]


def test_the_bring_your_own_denoiser_example_of_the_docs_runs():
    # The first python block under "## Bring your own denoiser" in docs/python.md, as written.
    with open(os.path.join(SOURCE_DIR, "docs", "python.md"), encoding="utf-8") as file:
        text = file.read()
    section = text.split("## Bring your own denoiser", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "docs/python.md", "exec"), namespace)
    table = namespace["table"]
    assert table.rows == 2 * 4 and (table["agreement_bp"] > 0).all()
    assert namespace["quality"]["validity"].shape == (3,)
