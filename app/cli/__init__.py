"""The `trellis` command line."""
