"""denoise: bit-identical to `hdiff denoise`, zero-copy outputs, GIL released."""

import gc
import sys
import threading

import numpy as np
import pytest

import hdiff
from conftest import run_cli

NOISE = {"uniform": 0.3, "mask": 0.4, "gaussian": 0.6, "soft": 0.35}


def cli_denoise(tmp_path, grammar_file, observed, channel, noise, extra=()):
    np.save(tmp_path / "obs.npy", observed)
    out = tmp_path / f"out-{channel}"
    run_cli("denoise", "--grammar", grammar_file, "--tokens", tmp_path / "obs.npy", "--channel", channel,
            "--noise", repr(noise), "--out", out, *extra)
    return out


@pytest.mark.parametrize("channel", ["uniform", "mask", "gaussian", "soft"])
def test_bit_identical_to_the_cli(tmp_path, grammar, grammar_file, channel):
    clean = grammar.sample(257, seed=5).tokens
    observed = hdiff.corrupt(grammar, clean, channel, NOISE[channel], seed=6)
    out = cli_denoise(tmp_path, grammar_file, observed, channel, NOISE[channel],
                      ["--posterior-samples", 3, "--map", "--seed", 12, "--threads", 2])
    result = hdiff.denoise(grammar, observed, channel, NOISE[channel], posterior_samples=3, map=True, seed=12)
    assert len(result.marginals) == grammar.L + 1
    for level, marginal in enumerate(result.marginals):
        expected = np.load(out / f"marginals_{level}.npy")
        assert marginal.dtype == np.float64 and marginal.shape == expected.shape
        assert marginal.tobytes() == expected.tobytes()
    assert result.log_evidence.tobytes() == np.load(out / "log_evidence.npy").tobytes()
    np.testing.assert_array_equal(result.posterior, np.load(out / "posterior_tokens.npy"))
    np.testing.assert_array_equal(result.map, np.load(out / "map_tokens.npy"))
    assert result.posterior.shape == (257, 3, 8) and result.map.shape == (257, 8)


@pytest.mark.parametrize("channel", ["uniform", "gaussian"])
def test_precision_double_is_the_cli_double_path(tmp_path, grammar, grammar_file, channel):
    clean = grammar.sample(40, seed=5).tokens
    observed = hdiff.corrupt(grammar, clean, channel, NOISE[channel], seed=6)
    out = cli_denoise(tmp_path, grammar_file, observed, channel, NOISE[channel],
                      ["--posterior-samples", 2, "--map", "--precision", "double"])
    exact = hdiff.denoise(grammar, observed, channel, NOISE[channel], posterior_samples=2, map=True,
                          precision="double")
    fast = hdiff.denoise(grammar, observed, channel, NOISE[channel])
    for level, marginal in enumerate(exact.marginals):
        assert marginal.tobytes() == np.load(out / f"marginals_{level}.npy").tobytes()
        np.testing.assert_allclose(fast.marginals[level], marginal, rtol=1e-5, atol=1e-30)
    assert exact.log_evidence.tobytes() == np.load(out / "log_evidence.npy").tobytes()
    np.testing.assert_array_equal(exact.posterior, np.load(out / "posterior_tokens.npy"))
    np.testing.assert_array_equal(exact.map, np.load(out / "map_tokens.npy"))
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        hdiff.denoise(grammar, observed, channel, NOISE[channel], precision="half")


def test_other_dtypes_and_layouts_give_the_same_numbers(grammar):
    clean = grammar.sample(64, seed=2).tokens
    observed = hdiff.corrupt(grammar, clean, "uniform", 0.2, seed=3)
    reference = hdiff.denoise(grammar, observed, "uniform", 0.2, posterior_samples=2, seed=1, threads=1)
    fortran = np.asfortranarray(observed.astype(np.int16))
    for variant in (observed.astype(np.int64), fortran, observed.astype(">u4"), observed.tolist()):
        result = hdiff.denoise(grammar, variant, "uniform", 0.2, posterior_samples=2, seed=1, threads=2)
        assert result.log_evidence.tobytes() == reference.log_evidence.tobytes()
        np.testing.assert_array_equal(result.posterior, reference.posterior)
    values = hdiff.corrupt(grammar, clean, "gaussian", 0.5, seed=3)
    as_f64 = hdiff.denoise(grammar, values, "gaussian", 0.5)
    as_f32 = hdiff.denoise(grammar, values.astype(np.float32), "gaussian", 0.5)
    reread = hdiff.denoise(grammar, values.astype(np.float32).astype(np.float64), "gaussian", 0.5)
    assert as_f32.log_evidence.tobytes() == reread.log_evidence.tobytes()
    assert as_f64.posterior is None and as_f64.map is None


def test_outputs_view_buffers_that_outlive_the_result(grammar):
    observed = grammar.sample(50, seed=8).tokens
    result = hdiff.denoise(grammar, observed, "soft", 0.2, posterior_samples=1, map=True)
    arrays = [*result.marginals, result.log_evidence, result.posterior, result.map]
    copies = [array.copy() for array in arrays]
    for array in arrays:
        assert not array.flags.owndata and array.base is not None
    del result
    gc.collect()
    for array, copy in zip(arrays, copies):
        np.testing.assert_array_equal(array, copy)


def test_marginals_sum_to_one_and_name_the_class_at_zero_noise(grammar):
    # With epsilon = 0 under soft noise the class of a valid string is certain.
    samples = grammar.sample(20, seed=9)
    result = hdiff.denoise(grammar, samples.tokens, "soft", 0.0)
    np.testing.assert_allclose(result.marginals[0].sum(axis=2), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(result.marginals[0][:, 0, :].argmax(axis=1), samples.latents[0][:, 0])


def test_two_threads_denoise_at_once(grammar):
    # The worker's call is long; while it is inside it, the main thread must be
    # able to finish denoise calls of its own, which needs the GIL released. With a
    # switch interval of minutes the interpreter never takes the GIL from the worker
    # by itself, so with the GIL held the main thread would run only after the call.
    big = hdiff.corrupt(grammar, grammar.sample(100_000, seed=1).tokens, "uniform", 0.3, seed=2)
    small = big[:1]
    state = {"entered": False, "returned": False}

    def long_call():
        state["entered"] = True
        hdiff.denoise(grammar, big, "uniform", 0.3, posterior_samples=4, threads=1)
        state["returned"] = True

    interval = sys.getswitchinterval()
    sys.setswitchinterval(300)
    try:
        worker = threading.Thread(target=long_call)
        worker.start()
        finished_while_inside = count_calls_while_inside(grammar, small, state)
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert finished_while_inside >= 2


def count_calls_while_inside(grammar, small, state):
    while not state["entered"]:
        pass
    finished_while_inside = 0
    while not state["returned"]:
        hdiff.denoise(grammar, small, "uniform", 0.3, threads=1)
        if not state["returned"]:
            finished_while_inside += 1
    return finished_while_inside
