#!/usr/bin/env python3
"""Figures for a closing note: the package import matrix, modules over 400 lines, function
lengths p50/p90/max and any layering rule an import breaks.

The measuring lives in tests/unit/test_architecture.py, so the test and the note read the
same numbers. Run from anywhere: ``python scripts/code_metrics.py`` (stdlib only).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.test_architecture import report  # after the path above

print(report())
