"""CSV tables of the core (results.csv, theory.csv, ...) as dicts of NumPy columns."""

from typing import Any, Dict, NamedTuple

import numpy as np

# Columns that hold text or integers; every other column holds floats, an empty
# field (an undefined estimate, a missing time) reading as NaN.
_TEXT_COLUMNS = {"channel", "schedule", "class"}
_INTEGER_COLUMNS = {"v", "n_classes", "m", "s", "L", "level", "samples", "grammars", "lca_level", "population",
                    "replicas", "depth", "noised_tokens"}


class Table(dict):
    """One CSV file of hdiff as {column: 1-D NumPy array}, in the file's column order.

    A dict of equal-length columns, so ``pandas.DataFrame(table)`` is the CSV file
    as a data frame (``table.to_pandas()`` does the same). ``table.name`` is the
    file it mirrors.
    """

    def __init__(self, columns: Dict[str, np.ndarray], name: str = "") -> None:
        super().__init__(columns)
        self.name = name

    @property
    def rows(self) -> int:
        """The number of rows."""
        return len(next(iter(self.values()))) if self else 0

    def to_pandas(self) -> Any:
        """The table as a pandas.DataFrame (pandas must be installed)."""
        import pandas

        return pandas.DataFrame(self)

    def __repr__(self) -> str:
        columns = ", ".join(self)
        return f"<hdiff.Table {self.name or 'table'}: {self.rows} rows × {len(self)} columns ({columns})>"


def csv_columns(text: str, table_name: str = "") -> Table:
    """Parse CSV text written by hdiff into a Table {column: numpy array}, in header order."""
    lines = text.splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:] if line]
    columns = {}
    for index, name in enumerate(header):
        fields = [row[index] for row in rows]
        if name in _TEXT_COLUMNS:
            columns[name] = np.array(fields, dtype=str)
        elif name in _INTEGER_COLUMNS:
            columns[name] = np.array([int(field) for field in fields], dtype=np.int64)
        else:
            columns[name] = np.array([float(field) if field else np.nan for field in fields], dtype=np.float64)
    return Table(columns, table_name)


class PhaseFrames(NamedTuple):
    """The four tables of a phase run as pandas DataFrames (PhaseResult.to_pandas)."""

    results: Any
    conditional: Any
    changes: Any
    correlations: Any


class PhaseResult:
    """What hdiff.phase returns: the four CSV files of ``hdiff phase`` as Tables.

    ``results``, ``conditional``, ``changes`` and ``correlations`` are the
    Tables of results.csv, conditional.csv, changes.csv and correlations.csv,
    each a dict of equal-length NumPy columns in the file's order, so
    ``pandas.DataFrame(r.results)`` works as is; ``r.to_pandas()`` gives all four
    as DataFrames in a named tuple. For code written against the dict hdiff.phase
    used to return, ``r["agreement"]`` (a column of results.csv) and
    ``r["conditional"]`` (a table) still work.
    """

    TABLES = ("results", "conditional", "changes", "correlations")

    def __init__(self, results: Table, conditional: Table, changes: Table, correlations: Table) -> None:
        self.results = results
        self.conditional = conditional
        self.changes = changes
        self.correlations = correlations

    def to_pandas(self) -> PhaseFrames:
        """The four tables as pandas DataFrames (pandas must be installed)."""
        return PhaseFrames(*(getattr(self, name).to_pandas() for name in self.TABLES))

    def __getitem__(self, key: str) -> Any:
        if key in self.TABLES:
            return getattr(self, key)
        if key in self.results:
            return self.results[key]
        raise KeyError(f"{key!r} is neither a table ({', '.join(self.TABLES)}) nor a column of results.csv")

    def __repr__(self) -> str:
        tables = ", ".join(f"{name}: {getattr(self, name).rows} rows" for name in self.TABLES)
        return f"<hdiff.PhaseResult {tables}; {_model_summary(self.results)}>"


def _model_summary(results: Table) -> str:
    """The depths, channel and noise range of a results table, for reprs."""
    if not results.rows:
        return "no rows"
    depths = ",".join(str(L) for L in sorted(set(results["L"].tolist())))
    channels = ",".join(sorted(set(results["channel"].tolist())))
    noise = results["noise"]
    return f"L={depths} {channels} noise {noise.min():g}..{noise.max():g}"


def phase_result(tables: Dict[str, str]) -> PhaseResult:
    """The PhaseResult of the CSV texts hdiff's core wrote."""
    return PhaseResult(*(csv_columns(tables[name], name + ".csv") for name in PhaseResult.TABLES))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise ValueError(f"config value {value!r} has type {type(value).__name__}; "
                     "give numbers, strings, booleans or lists of them")


def config_toml(config: Any) -> str:
    """TOML text of a config dict shaped like the file: {section: {key: value}}."""
    if not isinstance(config, dict):
        raise ValueError("config must be a dict shaped like the TOML file ({'grammar': {...}, 'noise': {...}, "
                         "'run': {...}}), a path, or None for the default")
    lines = []
    for section, keys in config.items():
        if not isinstance(keys, dict):
            raise ValueError(f"config['{section}'] must be a dict of keys, as the TOML section [{section}]")
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in keys.items())
    return "\n".join(lines) + "\n"
