"""The icinga source (being written)."""
