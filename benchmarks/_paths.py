"""Where the benchmarks look for CIFAR-10 by default: ``../shared/data`` beside this checkout.

Computed from this file's location, so that a benchmark finds the data whatever directory it is run from.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
