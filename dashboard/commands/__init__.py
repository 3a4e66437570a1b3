"""Command-line commands that have grown beyond a few lines (registered by dashboard/cli.py), and what they share."""

from __future__ import annotations

import argparse
from datetime import date

from dashboard.periods import parse_date


def date_argument(value: str) -> date:
    """An argparse type: YYYY-MM-DD, or the message saying what was expected."""
    try:
        return parse_date(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
