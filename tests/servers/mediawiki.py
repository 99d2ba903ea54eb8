"""Session server plugin (being written)."""
