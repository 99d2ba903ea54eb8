"""The bottom layer: pure value types and the rules that belong to them, with no I/O.

Windows and times, task references, events, the alert vocabulary, timeline rows and curation
state, incidents, actionables and scorecards. Imports nothing of incidentkit but ``errors`` and
``util``; everything above builds on it.
"""
