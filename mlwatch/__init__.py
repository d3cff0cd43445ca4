"""mlwatch: guard the monthly input data of a production ML model before its output is used."""

from __future__ import annotations

__version__ = "0.1.0"
