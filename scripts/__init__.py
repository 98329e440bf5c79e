"""Maintenance scripts for the site; run them from the repository root, e.g. `python -m scripts.lighthouse`."""
