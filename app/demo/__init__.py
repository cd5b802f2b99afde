"""The demo: the story `trellis demo` plays, its downstream stand-ins and terminal rendering."""
