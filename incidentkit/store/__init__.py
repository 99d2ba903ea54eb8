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

from .actionables import ActionablesMixin
from .curation import CurationMixin
from .pages import PagesMixin
from .scorecard import ScorecardMixin
from .search import SearchMixin
from .statuses import TaskStatusesMixin

__all__ = ["Store"]


class Store(ActionablesMixin, TaskStatusesMixin, ScorecardMixin, CurationMixin, PagesMixin, SearchMixin):
    """The local index. Open with :meth:`Store.open`; use as a context manager to close it."""
