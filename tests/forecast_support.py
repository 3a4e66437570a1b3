"""Shared by the forecast tests: the weekly pattern of the synthetic series and databases."""

from __future__ import annotations

import numpy as np

WEEKLY = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.5])  # Monday … Sunday
