"""The field's idioms: named tables pandas takes as is, int64 tokens with a dtype
option, readable reprs, and progress callbacks for phase and theory."""

import threading

import numpy as np
import pandas
import pytest

import hdiff
from conftest import run_cli
from test_phase import CONFIG, CONFIG_TOML


@pytest.fixture(scope="module")
def phase_run():
    return hdiff.phase(CONFIG, threads=1)


def test_every_table_is_a_data_frame_with_the_csv_columns(tmp_path, phase_run):
    (tmp_path / "c.toml").write_text(CONFIG_TOML)
    run_cli("phase", "--config", tmp_path / "c.toml", "--out", tmp_path / "out")
    frames = phase_run.to_pandas()
    assert frames._fields == ("results", "conditional", "changes", "correlations", "information")
    for name in frames._fields:
        table = getattr(phase_run, name)
        # Every field as the text the file holds ("" stays "", not NaN).
        expected = pandas.read_csv(tmp_path / "out" / f"{name}.csv", dtype=str, keep_default_na=False)
        for frame in (pandas.DataFrame(table), table.to_pandas(), getattr(frames, name)):
            assert list(frame.columns) == list(expected.columns), name
            assert len(frame) == len(expected) > 0, name
            for column in expected.columns:
                values = frame[column].tolist()
                if frame[column].dtype.kind == "f":
                    read = [float(text) if text else float("nan") for text in expected[column]]
                    np.testing.assert_array_equal(values, read, err_msg=f"{name}.{column}")
                elif frame[column].dtype.kind == "i":
                    assert values == [int(text) for text in expected[column]], f"{name}.{column}"
                else:
                    assert values == expected[column].tolist(), f"{name}.{column}"


def test_the_old_dict_access_still_works(phase_run):
    assert phase_run["results"] is phase_run.results
    assert phase_run["correlations"] is phase_run.correlations
    np.testing.assert_array_equal(phase_run["agreement"], phase_run.results["agreement"])
    with pytest.raises(KeyError, match="neither a table"):
        phase_run["colour"]


def test_reprs_say_what_they_hold(grammar, phase_run):
    assert repr(phase_run).startswith("<hdiff.PhaseResult results: 21 rows, conditional: ")
    assert "L=2,3 uniform noise 0..0.7" in repr(phase_run)
    assert repr(phase_run.results).startswith("<hdiff.Table results.csv: 21 rows × 16 columns (v, n_classes, m, s, L,")
    samples = grammar.sample(5)
    assert repr(samples) == "hdiff.Samples(tokens: int64 (5, 8), latents: 4 levels)"
    result = hdiff.denoise(grammar, samples.tokens, "soft", 0.1, map=True)
    assert repr(result).startswith("hdiff.DenoiseResult(n=5, levels=4, log_evidence mean=")
    assert repr(result).endswith("posterior=None, map=(5, 8))")
    predicted = hdiff.theory.predict([0.1], depths=[2], v=6, classes=6, m=2, population=2000, replicas=4)
    assert repr(predicted).startswith("<hdiff.Table theory.csv: 3 rows × 11 columns (v, n_classes,")
    assert list(pandas.DataFrame(predicted).columns)[:3] == ["v", "n_classes", "m"]


def test_tokens_are_int64_unless_another_dtype_is_asked(grammar):
    samples = grammar.sample(30, seed=2)
    observed = hdiff.corrupt(grammar, samples.tokens, "mask", 0.3, seed=1)
    result = hdiff.denoise(grammar, observed, "mask", 0.3, posterior_samples=2, map=True)
    for array in (samples.tokens, *samples.latents, observed, result.posterior, result.map, grammar.productions(0)):
        assert array.dtype == np.int64
        # torch.from_numpy takes int64 (not uint32) and needs native, writable, C-ordered memory.
        assert array.flags.c_contiguous and array.flags.writeable and array.dtype.isnative
    reference = grammar.sample(30, seed=2, dtype=np.uint32)
    assert reference.tokens.dtype == np.uint32 and not reference.tokens.flags.owndata  # hdiff's own buffer, no copy
    np.testing.assert_array_equal(reference.tokens, samples.tokens)
    for dtype in (np.uint8, "int32", np.dtype(">i8"), np.uint16):
        narrow = hdiff.corrupt(grammar, samples.tokens, "mask", 0.3, seed=1, dtype=dtype)
        assert narrow.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(narrow, observed)
    again = hdiff.denoise(grammar, observed, "mask", 0.3, posterior_samples=2, map=True, dtype=np.int32)
    assert again.posterior.dtype == np.int32 and again.map.dtype == np.int32
    np.testing.assert_array_equal(again.posterior, result.posterior)
    assert grammar.productions(1, dtype=np.uint8).dtype == np.uint8


def test_bad_dtypes_are_refused():
    wide = hdiff.Grammar.random(v=300, classes=4, m=2, s=2, L=1)
    with pytest.raises(ValueError, match="dtype uint8 cannot hold the token 299; give a wider integer type"):
        wide.sample(3, dtype=np.uint8)
    with pytest.raises(ValueError, match="dtype int8 cannot hold the token 300"):  # MASK = v
        hdiff.corrupt(wide, wide.sample(3).tokens, "mask", 0.5, dtype=np.int8)
    with pytest.raises(ValueError, match="dtype float64 is not an integer type"):
        wide.sample(3, dtype=float)
    with pytest.raises(ValueError, match="is not a NumPy dtype"):
        wide.sample(3, dtype="tokens")
    with pytest.raises(ValueError, match="gaussian observations are float64"):
        hdiff.corrupt(wide, wide.sample(3).tokens, "gaussian", 0.5, dtype=np.int64)


def test_phase_progress_reaches_the_total_on_the_calling_thread():
    calls = []
    caller = threading.get_ident()

    def progress(done, total):
        calls.append((done, total, threading.get_ident()))

    result = hdiff.phase(CONFIG, threads=2, progress=progress)
    # 2 depths × 3 noise levels × 2 grammar seeds units of 60 samples × 2 trajectories.
    total = 2 * 3 * 2 * 60 * 2
    assert len(calls) == 12
    assert [done for done, _, _ in calls] == [120 * (i + 1) for i in range(12)]
    assert {(t, thread) for _, t, thread in calls} == {(total, caller)}
    np.testing.assert_array_equal(result.results["agreement"], hdiff.phase(CONFIG, threads=1).results["agreement"])


def test_an_exception_in_the_callback_ends_the_run_and_propagates():
    calls = []

    def progress(done, total):
        calls.append(done)
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        hdiff.phase(CONFIG, threads=2, progress=progress)
    assert len(calls) == 1  # not called again after it raised
    with pytest.raises(ValueError, match="progress must be a callable"):
        hdiff.phase(CONFIG, progress=3)
    assert hdiff.phase(CONFIG, threads=1).results.rows == 21  # the module still works


def test_theory_progress():
    calls = []
    hdiff.theory.predict([0.1, 0.2, 0.4], depths=[2], v=6, classes=6, m=2, population=2000, replicas=4,
                         progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    probes = []
    found = hdiff.theory.threshold(v=6, classes=6, m=2, population=2000, replicas=4, levels=12, tolerance=0.05,
                                   progress=lambda done, total: probes.append((done, total)))
    assert probes == [(i + 1, None) for i in range(len(found["probes"]))] and probes
    with pytest.raises(ZeroDivisionError):
        hdiff.theory.predict([0.1, 0.2], depths=[2], v=6, classes=6, m=2, population=2000, replicas=4,
                             progress=lambda done, total: 1 / 0)
