"""Trellis: the system that makes AI trustworthy for real work in Slack."""
