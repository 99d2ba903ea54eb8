"""Orchestration of the use cases: pull and draft, publish and import, track and sync actionables,
report, fill scorecards. Services never print and never read the clock: callers pass ``now``."""
