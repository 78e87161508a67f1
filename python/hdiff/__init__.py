"""hdiff: the Random Hierarchy Model, its exact Bayes-optimal denoiser, the
forward-backward phase experiment and its theory, on NumPy arrays.

The same core library as the `hdiff` command computes everything, so the numbers
are those of the command line (docs/python.md):

- ``Grammar.random``, ``Grammar.load``, ``Grammar.save``, ``Grammar.sample``
- ``corrupt``: the forward noise channels
- ``denoise``: exact marginals, log-evidence, posterior samples and MAP strings
- ``phase``: the phase experiment, its five CSV tables as a ``PhaseResult``
- ``hdiff.theory``: density-evolution predictions and the critical noise

Token arrays are int64 unless a ``dtype=`` asks for another integer type.
Errors in the input raise ValueError (OSError for files) with the command line's
message. Long calls release the GIL; Ctrl-C stops ``phase`` and the theory with
KeyboardInterrupt between units of work.
"""

import os
from typing import Any, Callable, Dict, Optional, Union

from ._hdiff import DenoiseResult, Grammar, Samples, __version__, corrupt, denoise
from . import _hdiff, _tables, theory
from ._tables import PhaseFrames, PhaseResult, Table

__all__ = ["Grammar", "Samples", "DenoiseResult", "corrupt", "denoise", "phase", "theory", "PhaseResult",
           "PhaseFrames", "Table", "DEFAULT_PHASE_CONFIG", "__version__"]

#: progress(done, total): called on the calling thread, with the GIL, as work finishes.
ProgressCallback = Callable[[int, Optional[int]], Any]

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
        ``.results``, ``.conditional``, ``.changes``, ``.correlations`` and
        ``.information``: the tables of results.csv, conditional.csv,
        changes.csv, correlations.csv and information.csv, each a ``Table`` (a
        dict of equal-length NumPy columns in the file's order, with the file's
        values), so ``pandas.DataFrame(r.results)`` is the file;
        ``r.to_pandas()`` gives the five DataFrames. ``{"run": {"precision":
        "double"}}`` in the config runs the exact double path. Empty fields (undefined
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
