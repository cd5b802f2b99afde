"""The answer backends: offline extractive, Claude, and the resilient wrapper."""
