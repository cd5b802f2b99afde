"""Carrying approved actions downstream: the outbox, the scheduler, action settings."""
