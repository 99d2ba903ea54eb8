"""Everything that reads or writes wikitext: escaping and rendering (with ``templates/``), the
generated regions of a page, and reading existing report pages and their scorecards."""
