"""CSV tables of the core (results.csv, theory.csv, ...) as dicts of NumPy columns."""

import numpy as np

# Columns that hold text or integers; every other column holds floats, an empty
# field (an undefined estimate, a missing time) reading as NaN.
_TEXT_COLUMNS = {"channel", "schedule", "class"}
_INTEGER_COLUMNS = {"v", "n_classes", "m", "s", "L", "level", "samples", "grammars", "lca_level", "population",
                    "replicas", "depth"}


def csv_columns(text):
    """Parse CSV text written by hdiff into {column: numpy array}, in header order."""
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
    return columns


def _toml_value(value):
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


def config_toml(config):
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
