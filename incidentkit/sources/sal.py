"""The sal source (being written)."""
