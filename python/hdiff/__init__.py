"""hdiff: the Random Hierarchy Model, its exact Bayes-optimal denoiser, the
forward-backward phase experiment and its theory, on NumPy arrays.

The same core library as the `hdiff` command computes everything, so the numbers
are those of the command line (docs/python.md):

- ``Grammar.random``, ``Grammar.load``, ``Grammar.save``, ``Grammar.sample``
- ``corrupt``: the forward noise channels
- ``denoise``: exact marginals, log-evidence, posterior samples and MAP strings
- ``phase``: the phase experiment, as columns of results.csv
- ``hdiff.theory``: density-evolution predictions and the critical noise

Errors in the input raise ValueError (OSError for files) with the command line's
message. Long calls release the GIL; Ctrl-C stops ``phase`` and the theory with
KeyboardInterrupt between units of work.
"""

import os

from ._hdiff import DenoiseResult, Grammar, Samples, __version__, corrupt, denoise
from . import _hdiff, _tables, theory

__all__ = ["Grammar", "Samples", "DenoiseResult", "corrupt", "denoise", "phase", "theory", "DEFAULT_PHASE_CONFIG",
           "__version__"]

#: The TOML text of the experiment `hdiff phase` runs without --config.
DEFAULT_PHASE_CONFIG = _hdiff.DEFAULT_PHASE_CONFIG


def phase(config=None, threads=0):
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

    Returns
    -------
    dict
        The columns of results.csv as NumPy arrays (``v, n_classes, m, s, L, channel,
        schedule, time, noise, level, agreement, agreement_se, posterior_mass,
        posterior_mass_se, samples, grammars``), with the same values, and the
        tables of conditional.csv, changes.csv and correlations.csv as dicts of
        columns under the keys ``"conditional"``, ``"changes"`` and ``"correlations"``.
        Empty fields (undefined estimates, no schedule time) are NaN.

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
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except OSError:
            raise OSError(f"cannot read config {path}: no such file or not readable") from None
        source = path
    else:
        text, source = _tables.config_toml(config), "config dict"
    if config is not None and not text:
        text = "\n"  # an empty file is an empty config (missing sections), not the default
    tables = _hdiff._phase_tables(text, source, threads)
    result = _tables.csv_columns(tables["results"])
    for name in ("conditional", "changes", "correlations"):
        result[name] = _tables.csv_columns(tables[name])
    return result
