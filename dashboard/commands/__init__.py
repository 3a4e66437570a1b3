"""Command-line commands that have grown beyond a few lines (registered by dashboard/cli.py)."""
