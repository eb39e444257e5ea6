"""Shared by the benchmark scripts: where they look for CIFAR-10, and their ``--set key=value`` options.

The data default is ``../shared/data`` beside this checkout, computed from this file's location, so that a
benchmark finds the data whatever directory it is run from.
"""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def parse_set(items):
    """``["key=value", ...]`` -> ``{key: value}``, each value a Python literal or else the plain string."""
    out = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out
