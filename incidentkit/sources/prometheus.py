"""The prometheus source (being written)."""
