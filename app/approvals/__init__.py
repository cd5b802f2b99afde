"""Drafts that wait for a decision: requests, drafting, states, the store."""
