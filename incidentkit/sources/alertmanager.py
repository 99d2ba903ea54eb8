"""The alertmanager source (being written)."""
