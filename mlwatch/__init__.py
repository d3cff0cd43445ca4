"""mlwatch: guard the monthly input data of a production ML model before its output is used."""

from __future__ import annotations

import os

# scikit-learn's OpenMP threads spin while they wait by default; on a busy machine (a scheduler
# host, CI) that made a 2-second model fit take 5 minutes. Passive waiting costs nothing when
# the machine is idle. It must be set before the OpenMP runtime loads, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
