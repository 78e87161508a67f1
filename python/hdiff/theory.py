"""Density-evolution theory of the transition (SPEC §5), as ``hdiff theory``."""

import json

from . import _hdiff, _tables

__all__ = ["predict", "threshold"]


def predict(noise, depths=None, v=32, classes=32, m=8, s=2, channel="uniform", population=100000, replicas=16,
            seed=0, threads=0):
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

    Returns
    -------
    dict
        The columns of theory.csv (``v, n_classes, m, s, channel, noise, L, level,
        posterior_mass, posterior_mass_se, population``) as NumPy arrays.

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
                                  population, replicas, seed, threads)
    return _tables.csv_columns(text)


def threshold(v=32, classes=32, m=8, s=2, channel="uniform", population=100000, replicas=16, levels=40,
              tolerance=1e-3, seed=0, threads=0):
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
                                               seed, threads))
