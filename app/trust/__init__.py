"""The trust loop: audit, flags, corrections, owners, evals, versions, reports."""
