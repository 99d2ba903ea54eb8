"""The phabricator source (being written)."""
