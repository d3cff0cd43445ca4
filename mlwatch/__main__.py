"""Entry point for ``python -m mlwatch``."""

from __future__ import annotations

import sys

from mlwatch.cli import main

if __name__ == "__main__":
    sys.exit(main())
