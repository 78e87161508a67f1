"""hdiff: the Random Hierarchy Model, its exact Bayes-optimal denoiser, the
forward-backward phase experiment and its theory, on NumPy arrays.

The same core library as the `hdiff` command computes everything, so the numbers
are those of the command line (docs/python.md):

- ``Grammar.random``, ``Grammar.load``, ``Grammar.save``, ``Grammar.sample``
- ``corrupt``: the forward noise channels
- ``denoise``: exact marginals, log-evidence, posterior samples and MAP strings
- ``phase``: the phase experiment, its four CSV tables as a ``PhaseResult``
- ``denoiser_phase``, ``compare_losses``, ``generate``, ``sample_quality``: a
  denoiser of your own (any ``fn(tokens, noise) -> probabilities``, e.g. a
  PyTorch model) measured against exact BP; ``bp_denoiser`` is exact BP as one
- ``hdiff.theory``: density-evolution predictions and the critical noise

Token arrays are int64 unless a ``dtype=`` asks for another integer type.
Errors in the input raise ValueError (OSError for files) with the command line's
message. Long calls release the GIL; Ctrl-C stops ``phase`` and the theory with
KeyboardInterrupt between units of work.
"""

import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ._hdiff import (BPDenoiser, DenoiseResult, Grammar, Samples, __version__, bp_denoiser, corrupt, denoise, generate,
                     sample_quality)
from . import _hdiff, _tables, theory
from ._tables import PhaseFrames, PhaseResult, Table

__all__ = ["Grammar", "Samples", "DenoiseResult", "corrupt", "denoise", "phase", "theory", "PhaseResult",
           "PhaseFrames", "Table", "DEFAULT_PHASE_CONFIG", "__version__", "BPDenoiser", "bp_denoiser",
           "denoiser_phase", "compare_losses", "generate", "sample_quality"]

#: progress(done, total): called on the calling thread, with the GIL, as work finishes.
ProgressCallback = Callable[[int, Optional[int]], Any]

#: fn(tokens, noise) -> probabilities: tokens an int64 array (N, d) (MASK = v under
#: mask), noise a float64 array (N,); returns (N, d, v) probabilities of the clean
#: tokens (a NumPy array or anything with __array__, such as a CPU torch tensor).
DenoiserFunction = Callable[[Any, Any], Any]

#: The TOML text of the experiment `hdiff phase` runs without --config.
DEFAULT_PHASE_CONFIG = _hdiff.DEFAULT_PHASE_CONFIG


def phase(config: Union[None, Dict[str, Dict[str, Any]], str, "os.PathLike[str]"] = None, threads: int = 0,
          progress: Optional[ProgressCallback] = None) -> PhaseResult:
    """Run the forward-backward phase experiment, as ``hdiff phase`` does.

    Parameters
    ----------
    config : dict, str, os.PathLike or None, optional
        A dict shaped like the TOML file, e.g.
        ``{"grammar": {"v": 8, "classes": 8, "m": 2, "s": 2, "L": [2, 3], "seeds": 1},
        "noise": {"channel": "uniform", "values": [0.1, 0.5]}, "run": {"samples": 100, "seed": 0}}``;
        a path to a TOML file; or None for the default experiment (``DEFAULT_PHASE_CONFIG``).
    threads : int, optional
        Threads, 0 = all cores; the results do not depend on it.
    progress : callable, optional
        ``progress(done, total)``, called on the calling thread (holding the GIL)
        each time a unit of work finishes; done and total count samples ×
        trajectories over all grammars, depths and noise levels, as the CLI's
        progress line does. An exception it raises ends the run and propagates.

    Returns
    -------
    PhaseResult
        ``.results``, ``.conditional``, ``.changes`` and ``.correlations``: the
        tables of results.csv, conditional.csv, changes.csv and correlations.csv,
        each a ``Table`` (a dict of equal-length NumPy columns in the file's order,
        with the file's values), so ``pandas.DataFrame(r.results)`` is the file;
        ``r.to_pandas()`` gives the four DataFrames. Empty fields (undefined
        estimates, no schedule time) are NaN. ``r["agreement"]`` and
        ``r["conditional"]`` still work as with the dict of earlier versions.

    Raises
    ------
    ValueError
        For a bad config, with the message the command line gives.
    OSError
        When the config file cannot be read.
    KeyboardInterrupt
        On Ctrl-C, seen between units of work (one grammar at one depth and noise level).
    """
    if config is None:
        text, source = "", "default config"
    elif isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        # Read by hdiff's reader, as the command line does: a FIFO, /dev/zero or a
        # huge file is refused with OSError before a byte is read.
        text = _hdiff._read_config(path)
        source = path
    else:
        text, source = _tables.config_toml(config), "config dict"
    if config is not None and not text:
        text = "\n"  # an empty file is an empty config (missing sections), not the default
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable progress(done, total), not {type(progress).__name__}")
    return _tables.phase_result(_hdiff._phase_tables(text, source, threads, progress))


def _levels(noise: Union[float, Sequence[float]]) -> List[float]:
    return [float(noise)] if isinstance(noise, (int, float)) else [float(level) for level in noise]


def denoiser_phase(grammar: Grammar, fn: DenoiserFunction, channel: str = "mask",
                   noise: Union[float, Sequence[float]] = (0.1, 0.3, 0.5, 0.7, 0.9), samples: int = 1000,
                   trajectories: int = 2, seed: int = 0, uniform_steps: int = 100, threads: int = 0,
                   progress: Optional[ProgressCallback] = None) -> Table:
    """The forward-backward experiment with ``fn`` in place of BP, beside exact BP
    from the very same noisy inputs (docs/networks.md).

    For each noise level, ``samples`` clean strings of the grammar are noised
    ``trajectories`` times; ``fn`` denoises each noisy string (mask: one masked
    position at a time, chosen uniformly, its token drawn from fn's row at noise
    (masked positions)/d; uniform: the ancestral chain from the level's step of a
    ``uniform_steps``-step linear schedule down to 0, the level snapped to that
    step), and exact BP draws one posterior sample of the same input. Both are
    parsed, and the agreement per level with the clean tree is measured as
    ``hdiff phase`` does (an invalid node counts as a disagreement).

    Parameters
    ----------
    grammar : Grammar
    fn : callable or BPDenoiser
        ``fn(tokens, noise) -> (N, d, v) probabilities`` (see ``DenoiserFunction``);
        called with batches of up to 4096 strings, about d times per noise level
        under mask and ``uniform_steps`` times under uniform. Rows of unmasked
        positions are not used. A ``BPDenoiser`` of the same channel runs in C++.
    channel : {'mask', 'uniform'}
    noise : float or sequence of floats in [0, 1]
    samples, trajectories : int
    seed : int
        Seed of the clean samples, the noise and every draw; identical results for
        any thread count.
    uniform_steps : int
        T of the uniform process (at least 20).
    threads : int
        Threads of the BP work, 0 = all cores.
    progress : callable, optional
        ``progress(done, total)`` after each noise level, in trajectories.

    Returns
    -------
    Table
        One row per (noise, level): ``agreement_net``, ``agreement_bp`` with their
        standard errors, ``agreement_gap`` (bp - net), ``validity_net``, the
        class-outcome and change columns of both (docs/networks.md lists them);
        ``.to_pandas()`` gives a DataFrame.

    Raises
    ------
    ValueError
        For a bad channel, level or size, or a bad output of ``fn`` (wrong shape,
        NaN or infinity, a negative value, a row not summing to 1 within 1e-4).
    """
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable progress(done, total), not {type(progress).__name__}")
    text = _hdiff._denoiser_phase(grammar, fn, channel, _levels(noise), samples, trajectories, seed, uniform_steps,
                                  threads, progress)
    return _tables.csv_columns(text, "comparison.csv")


def compare_losses(grammar: Grammar, fn: DenoiserFunction, channel: str, noise: Union[float, Sequence[float]],
                   clean: Any, seed: int = 0, threads: int = 0) -> Table:
    """Cross-entropy of ``fn`` per noised token against the Bayes-optimal floor.

    Each clean string (``clean``, (n, d) tokens) is noised at every level; the
    table holds, per level, ``loss_net`` (-log p_fn(x0_i | x_t), nats, per noised
    token: a masked position under mask, every position under uniform),
    ``loss_bayes`` (the same with exact BP's marginals), ``excess_loss``, ``kl``
    (KL(p_BP || p_fn) of the token marginals, infinite where fn gives probability 0
    to a token BP deems possible) and ``top_agreement`` (how often both most likely
    tokens agree), each with its standard error over strings, and ``noised_tokens``.
    ``fn`` sees each string's level as its noise. Errors as for ``denoiser_phase``.
    """
    return _tables.csv_columns(_hdiff._compare_losses(grammar, fn, channel, _levels(noise), clean, seed, threads),
                               "loss.csv")
