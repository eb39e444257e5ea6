"""``python -m imbsk``: the same command line as the ``imbsk`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
