"""The irc source (being written)."""
