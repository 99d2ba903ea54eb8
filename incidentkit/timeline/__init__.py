"""Events to the curated timeline: merge, alert pairing, rows, curation rules, key moments, row refs.

Pure: it takes model values and returns model values.
"""
