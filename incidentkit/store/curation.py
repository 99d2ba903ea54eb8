"""Each incident's saved events and the owner's curation of its timeline (overrides, manual rows,
key moments, and which rows earlier drafts showed)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import StoreError
from ..model.curation import MOMENTS, CurationState, ManualRow, MomentSetting, Override
from ..model.event import Event
from ..model.time import format_utc, parse_utc
from ._base import utc_or_none
from .incidents import IncidentsMixin

__all__ = ["CurationMixin"]

_OVERRIDE_FIELDS = ("hidden", "pinned", "text", "time", "note")  # timeline_overrides columns


class CurationMixin(IncidentsMixin):
    """Events and curation by incident slug."""

    def save_events(self, slug: str, events: Sequence[Event]) -> None:
        """Replace the saved event set of incident *slug* (what its latest draft merged)."""
        rows = [
            {
                "incident": slug,
                "key": event.key,
                "position": position,
                "time": format_utc(event.time),
                "source": event.source,
                "kind": str(event.kind),
                "text": event.text,
                "event": json.dumps(event.to_dict(), ensure_ascii=False, sort_keys=True),
            }
            for position, event in enumerate(events)
        ]
        try:
            with self.transaction():
                self.db["timeline_events"].delete_where("incident = ?", [slug])
                self.db["timeline_events"].insert_all(rows, pk=("incident", "key"), replace=True)
        except sqlite3.IntegrityError as exc:
            raise StoreError(
                f"cannot save the events of unknown incident {slug!r}: {exc}", hint="record the incident first"
            ) from exc

    def load_events(self, slug: str) -> list[Event]:
        """The saved events of incident *slug*, in the order they were saved (empty if none)."""
        return [
            Event.from_dict(json.loads(row["event"]))
            for row in self.db["timeline_events"].rows_where("incident = ?", [slug], order_by="position")
        ]

    def curation_state(self, slug: str, *, as_drafted: bool = False) -> CurationState:
        """The owner's curation of incident *slug*, and which row keys earlier drafts showed.

        By default for a new draft: every key seen so far is old. With *as_drafted* the state as
        the latest draft saw it (``timeline show``, re-rendering): keys that draft added are new.
        """
        overrides = {
            row["key"]: Override(
                key=row["key"],
                hidden=None if row["hidden"] is None else bool(row["hidden"]),
                pinned=None if row["pinned"] is None else bool(row["pinned"]),
                text=row["text"],
                time=utc_or_none(row["time"]),
                note=row["note"],
            )
            for row in self.db["timeline_overrides"].rows_where("incident = ?", [slug])
        }
        manual = tuple(
            ManualRow(key=row["key"], time=parse_utc(row["time"]), text=row["text"])
            for row in self.db["timeline_manual_rows"].rows_where("incident = ?", [slug], order_by="time, key")
        )
        moments = {
            row["moment"]: MomentSetting(moment=row["moment"], time=parse_utc(row["time"]), key=row["key"])
            for row in self.db["timeline_moments"].rows_where("incident = ?", [slug])
        }
        drafts = self._drafts(slug)
        newest = drafts if as_drafted else drafts + 1
        seen = frozenset(
            row["key"]
            for row in self.db["timeline_seen"].rows_where("incident = ? and draft < ?", [slug, newest], select="key")
        )
        return CurationState(
            overrides=overrides, manual=manual, moments=moments, seen=seen, drafted=newest > 1
        )

    def _drafts(self, slug: str) -> int:
        rows = list(self.db["timeline_drafts"].rows_where("incident = ?", [slug], select="drafts"))
        return int(rows[0]["drafts"]) if rows else 0

    def mark_rows_seen(self, slug: str, keys: Iterable[str]) -> int:
        """Record one more draft of *slug* showing *keys*; returns how many keys it showed first."""
        now = self.now_text()
        with self.transaction():
            draft = self._drafts(slug) + 1
            self.db["timeline_drafts"].upsert(
                {"incident": slug, "drafts": draft, "last_drafted_at": now}, pk="incident"
            )
            before = self.db["timeline_seen"].count_where("incident = ?", [slug])
            self.db["timeline_seen"].insert_all(
                ({"incident": slug, "key": key, "draft": draft, "seen_at": now} for key in dict.fromkeys(keys)),
                pk=("incident", "key"),
                ignore=True,
            )
            return self.db["timeline_seen"].count_where("incident = ?", [slug]) - before

    def _set_overrides(self, slug: str, keys: Iterable[str], values: Mapping[str, Any], *, show: bool = False) -> int:
        """Set override columns on *keys* (``show`` also drops an explicit hide); empty overrides go."""
        self.require_incident(slug)
        table = self.db["timeline_overrides"]
        keys = list(dict.fromkeys(keys))
        now = self.now_text()
        with self.transaction():
            for key in keys:
                found = list(table.rows_where("incident = ? and key = ?", [slug, key]))
                record = {name: (found[0][name] if found else None) for name in _OVERRIDE_FIELDS}
                record.update(values)
                if show and record["hidden"] == 1:
                    record["hidden"] = None
                if all(record[name] is None for name in _OVERRIDE_FIELDS):
                    table.delete_where("incident = ? and key = ?", [slug, key])
                else:
                    table.upsert({"incident": slug, "key": key, **record, "updated_at": now}, pk=("incident", "key"))
        return len(keys)

    def hide_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Hide rows (they stay in the raw log); returns how many keys were given."""
        return self._set_overrides(slug, keys, {"hidden": 1})

    def unhide_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Show rows, even those a ``[timeline]`` rule would hide."""
        return self._set_overrides(slug, keys, {"hidden": 0})

    def pin_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Pin rows; pinning a row the owner hid shows it again."""
        return self._set_overrides(slug, keys, {"pinned": 1}, show=True)

    def unpin_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Unpin rows, even those a ``[timeline]`` rule would pin."""
        return self._set_overrides(slug, keys, {"pinned": 0})

    def edit_row(self, slug: str, key: str, *, text: str | None = None, time: datetime | None = None) -> None:
        """Replace a row's text and/or time (what is not given stays as it is)."""
        values: dict[str, Any] = {}
        if text is not None:
            values["text"] = text
        if time is not None:
            values["time"] = format_utc(time)
        self._set_overrides(slug, [key], values)

    def note_row(self, slug: str, key: str, note: str | None) -> None:
        """Set (or with ``None`` clear) the note shown after a row."""
        self._set_overrides(slug, [key], {"note": note})

    def add_manual_row(self, slug: str, *, time: datetime, text: str) -> str:
        """Add a row by hand; returns its key (``manual:<hex>``)."""
        self.require_incident(slug)
        key = f"manual:{uuid.uuid4().hex[:16]}"
        with self.transaction():
            self.db["timeline_manual_rows"].insert(
                {"incident": slug, "key": key, "time": format_utc(time), "text": text, "created_at": self.now_text()},
                pk=("incident", "key"),
            )
        return key

    def reset_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Drop everything the owner set on *keys*: overrides, and the rows they added by hand.

        Returns how many of the keys had something to drop.
        """
        self.require_incident(slug)
        dropped = 0
        with self.transaction():
            for key in dict.fromkeys(keys):
                where = "incident = ? and key = ?"
                count = self.db["timeline_overrides"].count_where(where, [slug, key])
                count += self.db["timeline_manual_rows"].count_where(where, [slug, key])
                self.db["timeline_overrides"].delete_where(where, [slug, key])
                self.db["timeline_manual_rows"].delete_where(where, [slug, key])
                dropped += bool(count)
        return dropped

    def set_key_moment(self, slug: str, moment: str, *, time: datetime, key: str | None = None) -> None:
        """Set a key moment on a row (*key*, with the row's current *time*) or at a bare *time*."""
        if moment not in MOMENTS:
            raise ValueError(f"unknown key moment {moment!r}")
        self.require_incident(slug)
        with self.transaction():
            self.db["timeline_moments"].upsert(
                {"incident": slug, "moment": moment, "key": key, "time": format_utc(time), "updated_at": self.now_text()},
                pk=("incident", "moment"),
            )

    def clear_key_moment(self, slug: str, moment: str) -> bool:
        """Forget the owner's key moment (the suggestion applies again); False if none was set."""
        self.require_incident(slug)
        where = "incident = ? and moment = ?"
        with self.transaction():
            existed = self.db["timeline_moments"].count_where(where, [slug, moment]) > 0
            self.db["timeline_moments"].delete_where(where, [slug, moment])
        return existed
