"""Density-evolution theory of the transition (SPEC §5), as ``hdiff theory``."""

import json
from typing import Any, Callable, Dict, Optional, Sequence, Union

from . import _hdiff, _tables
from ._tables import Table

ProgressCallback = Callable[[int, Optional[int]], Any]

__all__ = ["predict", "threshold"]


def _checked(progress: Optional[ProgressCallback]) -> Optional[ProgressCallback]:
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable progress(done, total), not {type(progress).__name__}")
    return progress


def predict(noise: Union[float, Sequence[float]], depths: Optional[Sequence[int]] = None, v: int = 32,
            classes: int = 32, m: int = 8, s: int = 2, channel: str = "uniform", population: int = 100000,
            replicas: int = 16, seed: int = 0, threads: int = 0,
            progress: Optional[ProgressCallback] = None) -> Table:
    """Predict the posterior mass at every level, as ``hdiff theory --noise ... --depths ...``.

    Parameters
    ----------
    noise : float or sequence of float
        Noise levels: epsilon in [0, 1] (alpha-bar in [0, 1) for gaussian).
    depths : sequence of int, optional
        Tree depths L; default 2, 4, 6, 8.
    v, classes, m, s : int, optional
        The grammar's parameters.
    channel : {'uniform', 'mask', 'gaussian', 'soft'}, optional
    population : int, optional
        Messages per level.
    replicas : int, optional
        Independent replicas the population is split into.
    seed : int, optional
        Seed of the population draws.
    threads : int, optional
        Threads, 0 = all cores.
    progress : callable, optional
        ``progress(done, total)`` after each noise level (total = the number of
        noise levels), on the calling thread with the GIL; its exceptions propagate.

    Returns
    -------
    Table
        The columns of theory.csv (``v, n_classes, m, s, channel, noise, L, level,
        posterior_mass, posterior_mass_se, population``) as NumPy arrays, a dict
        ``pandas.DataFrame`` takes as is.

    Raises
    ------
    ValueError
        For bad parameters, with the message of the command line.
    KeyboardInterrupt
        On Ctrl-C, seen after each noise level.
    """
    if isinstance(noise, (int, float)):
        noise = [noise]
    text = _hdiff._theory_predict([float(value) for value in noise], list(depths or []), v, classes, m, s, channel,
                                  population, replicas, seed, threads, _checked(progress))
    return _tables.csv_columns(text, "theory.csv")


def threshold(v: int = 32, classes: int = 32, m: int = 8, s: int = 2, channel: str = "uniform",
              population: int = 100000, replicas: int = 16, levels: int = 40, tolerance: float = 1e-3, seed: int = 0,
              threads: int = 0, progress: Optional[ProgressCallback] = None) -> Dict[str, Any]:
    """Find the critical noise of class reconstruction, as ``hdiff theory --threshold``.

    Parameters
    ----------
    v, classes, m, s : int, optional
        The grammar's parameters.
    channel : {'uniform', 'mask', 'gaussian', 'soft'}, optional
    population, replicas, seed, threads : int, optional
        As for ``predict``.
    levels : int, optional
        Most levels iterated per probe.
    tolerance : float, optional
        Width at which the bisection stops.
    progress : callable, optional
        ``progress(probes_done, None)`` after each probe (the number of probes is
        not known in advance), on the calling thread with the GIL.

    Returns
    -------
    dict
        The content of threshold.json: the model, the critical noise, its interval,
        the critical times of the linear and cosine schedules and every probe.

    Raises
    ------
    ValueError
        For bad parameters, with the message of the command line.
    KeyboardInterrupt
        On Ctrl-C, seen after each probe.
    """
    return json.loads(_hdiff._theory_threshold(v, classes, m, s, channel, population, replicas, levels, tolerance,
                                               seed, threads, _checked(progress)))
