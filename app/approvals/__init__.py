"""Drafts that wait for a decision: requesting, drafting, deciding, deadlines, execution."""
