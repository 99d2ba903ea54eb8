"""The store: incidentkit's local SQLite index of the wiki and Phabricator. SQL lives only here.

The database can always be rebuilt by ``import`` and ``sync``; it is migrated when opened
(:mod:`incidentkit.store.migrations`). :class:`Store` is one connection shared by the parts that
each own their tables (pywikibot's ``site/`` shape: one API object composed of mixins):

* :mod:`~incidentkit.store.incidents`: incidents and the page each lives on;
* :mod:`~incidentkit.store.actionables`: actionables, their status history, the reporting queries;
* :mod:`~incidentkit.store.statuses`: the cached task statuses of the Phabricator instance;
* :mod:`~incidentkit.store.scorecard`: scorecard answers;
* :mod:`~incidentkit.store.curation`: saved events and the owner's timeline curation;
* :mod:`~incidentkit.store.pages`: each page to each person, in or out of business hours;
* :mod:`~incidentkit.store.search`: the search index (full text, similarity features, similar pairs).

Methods take and return the value types of :mod:`incidentkit.model`, never cursors.
"""

from __future__ import annotations

import sys

# sqlite-utils imports numpy whenever it is installed (the charts extra brings it), only to map
# numpy scalars to column types; the store never writes one, and importing numpy costs more than
# the rest of a command's start-up. So numpy is hidden from that one import (None in sys.modules
# makes an import fail) unless something loaded it already. Here, before any part of the store.
_HIDE_NUMPY = "numpy" not in sys.modules
if _HIDE_NUMPY:
    sys.modules["numpy"] = None  # type: ignore[assignment]
try:
    import sqlite_utils  # noqa: F401 - loaded here, without numpy; the parts import from it
finally:
    if _HIDE_NUMPY:
        del sys.modules["numpy"]

from .actionables import ActionablesMixin  # noqa: E402 - after sqlite_utils, above
from .curation import CurationMixin  # noqa: E402
from .pages import PagesMixin  # noqa: E402
from .scorecard import ScorecardMixin  # noqa: E402
from .search import SearchMixin  # noqa: E402
from .statuses import TaskStatusesMixin  # noqa: E402

__all__ = ["Store"]


class Store(ActionablesMixin, TaskStatusesMixin, ScorecardMixin, CurationMixin, PagesMixin, SearchMixin):
    """The local index. Open with :meth:`Store.open`; use as a context manager to close it."""
