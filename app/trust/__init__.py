"""The trust loop: audit, flags, corrections, owners, evals, versions, reports."""

WEEKS = 8
"""How many weeks `trellis about` and the about page measure, unless asked for another
number (here, not in `about_weeks`, so the command line can show it without loading the
database's models)."""
