"""The Conduit fake answers as the real Phorge does, wherever incidentkit relies on the answer.

Each scenario runs the same calls against the session's real Phorge and against a fresh Conduit
fake set up like it (the same users, the Wikimedia-named projects, the same statuses), and the
whole answers must be equal once what differs by nature is masked: PHIDs (numbered in order of
appearance), ids, dates, group ids, the host and tokens. Dates are compared as facts ("the close
date did not move") rather than as values.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.phorge_support import tag
from tests.servers.conduit_fake import ConduitFake
from tests.servers.phorge import PROJECTS, STATUSES, Phorge

pytestmark = pytest.mark.integration

FOLLOWUP, ONFIRE, ERROR = PROJECTS[0], PROJECTS[1], PROJECTS[2]


class Side:
    """One server, through the calls a scenario needs (the real one or the fake)."""

    def __init__(self, name: str, url: str, tokens: dict[str, str], users: dict[str, str]) -> None:
        self.name, self.url, self.tokens, self.users = name, url.rstrip("/"), tokens, users
        self.session = requests.Session()

    def call(self, method: str, params: dict[str, Any] | None = None, user: str | None = "admin", token: str | None = None) -> Any:
        body = dict(params or {})
        secret = token if token is not None else (self.tokens[user] if user else None)
        if secret is not None:
            body["__conduit__"] = {"token": secret}
        form = {"params": json.dumps(body), "output": "json", "__conduit__": "1"}
        return self.session.post(f"{self.url}/api/{method}", data=form, timeout=60).json()

    def raw(self, path: str) -> tuple[int, str, str]:
        form = {"params": json.dumps({"__conduit__": {"token": self.tokens["admin"]}}), "output": "json", "__conduit__": "1"}
        response = self.session.post(f"{self.url}/{path}", data=form, timeout=60)
        return response.status_code, response.headers.get("Content-Type", ""), response.text

    def create(self, title: str, user: str = "admin", **fields: Any) -> dict[str, Any]:
        xactions = [{"type": "title", "value": title}] + [{"type": k, "value": v} for k, v in fields.items()]
        found = self.call("maniphest.edit", {"transactions": xactions}, user)["result"]["object"]
        return {"id": found["id"], "phid": found["phid"], "monogram": f"T{found['id']}"}

    def task(self, monogram: str, user: str = "admin") -> dict[str, Any]:
        return self.call("maniphest.search", {"constraints": {"ids": [int(monogram[1:])]}}, user)["result"]["data"][0]

    def merge(self, duplicate: dict[str, Any], into: dict[str, Any], user: str) -> None:
        raise NotImplementedError

    def make_private(self, task: dict[str, Any], owner: str) -> None:
        raise NotImplementedError


class RealSide(Side):
    def __init__(self, phorge: Phorge) -> None:
        super().__init__("phorge", phorge.url, phorge.tokens, phorge.users)
        self.phorge = phorge

    def merge(self, duplicate: dict[str, Any], into: dict[str, Any], user: str) -> None:
        self.phorge.merge(duplicate["id"], into=into["id"], user=user)

    def make_private(self, task: dict[str, Any], owner: str) -> None:
        self.phorge.make_private(task["id"], owner=owner)


class FakeSide(Side):
    def __init__(self, fake: ConduitFake) -> None:
        tokens = {name: fake.token_for(name) for name in ("admin", "alice", "bob")}
        users = {u.username: u.phid for u in fake.users.values()}
        super().__init__("fake", fake.url, tokens, users)
        self.fake = fake

    def merge(self, duplicate: dict[str, Any], into: dict[str, Any], user: str) -> None:
        self.fake.merge(duplicate["id"], into=into["id"], actor=user)

    def make_private(self, task: dict[str, Any], owner: str) -> None:
        self.fake.make_private(task["id"], owner=owner)


@pytest.fixture
def sides(phorge: Phorge, conduit: ConduitFake) -> Iterator[tuple[Side, Side]]:
    """The real Phorge and the fake, set up alike (the fake loses its own two projects)."""
    conduit.projects.clear()
    for name in PROJECTS:
        conduit.add_project(name)
    conduit.statuses = [
        {"name": s["name"], "value": value, "closed": bool(s.get("closed", False)), **({"special": s["special"]} if "special" in s else {})}
        for value, s in STATUSES.items()
    ]
    yield RealSide(phorge), FakeSide(conduit)


class _Masker:
    """Masks what differs between two servers by nature, consistently within one side."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self.phids: dict[str, str] = {}
        self.monograms: dict[str, str] = {}

    def phid(self, match: re.Match[str]) -> str:
        return self.phids.setdefault(match.group(0), f"PHID-{match.group(1)}-<{len(self.phids) + 1}>")

    def monogram(self, match: re.Match[str]) -> str:
        return self.monograms.setdefault(match.group(0), f"T<{len(self.monograms) + 1}>")

    def text(self, value: str) -> str:
        value = value.replace(self.side.url, "<url>")
        for user, token in self.side.tokens.items():
            value = value.replace(token, f"<token:{user}>")
        value = re.sub(r"PHID-([A-Z]{4})-[a-z0-9]+", self.phid, value)
        return re.sub(r"\bT\d+\b", self.monogram, value)

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {self.text(k): self(v, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if isinstance(value, str):
            return "<group>" if key == "groupID" else self.text(value)
        if isinstance(value, int) and not isinstance(value, bool) and (key == "id" or key.startswith("date")):
            return "<int>"
        return value


def _both(sides: tuple[Side, Side], scenario: Callable[[Side], list[Any]]) -> None:
    real, fake = sides
    answers = [_Masker(side)(scenario(side)) for side in (real, fake)]
    for index, (seen, faked) in enumerate(zip(*answers, strict=True)):
        assert json.dumps(faked) == json.dumps(seen), f"step {index}: the fake differs from Phorge"


def test_users_by_name(sides: tuple[Side, Side]) -> None:
    def scenario(s: Side) -> list[Any]:
        found = s.call("user.search", {"constraints": {"usernames": ["Alice", "bob", "nobody", "@admin"]}})
        return [[d["fields"]["username"] for d in found["result"]["data"]], found["error_code"]]

    _both(sides, scenario)


def test_projects_by_hashtag_name_and_guess(sides: tuple[Side, Side]) -> None:
    def scenario(s: Side) -> list[Any]:
        answers = []
        for slugs in (
            ["sustainability_incident_followup", "sre-onfire_pending_review_scorecard", "wikimedia-production-error"],
            ["sustainability-incident-followup"],  # the hyphenated guess: nothing, no error
            [FOLLOWUP, "#Wikimedia-Production-Error", "SRE-OnFIRE (Pending Review & Scorecard)"],
        ):
            found = s.call("project.search", {"constraints": {"slugs": slugs}})["result"]
            answers.append([sorted(d["fields"]["name"] for d in found["data"]), found["maps"]])
        for name in ("sustainability incident", "sre onfire", "Pending Review Scorecard", "production_error", "nope"):
            found = s.call("project.search", {"constraints": {"name": name}})["result"]
            answers.append(sorted(d["fields"]["name"] for d in found["data"]))
        return answers

    _both(sides, scenario)


def test_edits_take_phids_for_owners_and_known_hashtags_for_projects(sides: tuple[Side, Side]) -> None:
    title = tag("owner and tags")  # the same on both sides

    def scenario(s: Side) -> list[Any]:
        task = s.create(title)

        def edit(*xactions: dict[str, Any]) -> Any:
            answer = s.call("maniphest.edit", {"objectIdentifier": task["monogram"], "transactions": list(xactions)})
            return [answer["error_code"], answer["error_info"]]

        return [
            edit({"type": "owner", "value": "alice"}),
            edit({"type": "owner", "value": s.users["alice"]}),
            edit({"type": "projects.add", "value": ["sustainability-incident-followup"]}),
            edit({"type": "projects.add", "value": ["#sustainability_incident_followup"]}),
            edit({"type": "projects.add", "value": ["WIKIMEDIA-production-error", "sustainability_incident_followup"]}),
            sorted(s.call("maniphest.search", {"constraints": {"ids": [task["id"]]}, "attachments": {"projects": True}})[
                "result"]["data"][0]["attachments"]["projects"]["projectPHIDs"]),
            s.task(task["monogram"])["fields"]["ownerPHID"],
        ]

    _both(sides, scenario)


def test_searching_tasks_by_project(sides: tuple[Side, Side]) -> None:
    def scenario(s: Side) -> list[Any]:
        answers = []
        for projects in (["sustainability-incident-followup"], [FOLLOWUP], ["#sustainability_incident_followup"]):
            answer = s.call("maniphest.search", {"constraints": {"projects": projects, "ids": [1]}})
            answers.append([answer["error_code"], answer["error_info"], (answer["result"] or {}).get("data")])
        return answers

    _both(sides, scenario)


def test_closed_to_closed_keeps_the_first_close_date(sides: tuple[Side, Side]) -> None:
    title = tag("closed twice")

    def scenario(s: Side) -> list[Any]:
        task = s.create(title)
        s.call("maniphest.edit", {"objectIdentifier": task["monogram"], "transactions": [{"type": "status", "value": "resolved"}]})
        first = s.task(task["monogram"])["fields"]
        time.sleep(1.05)
        s.call("maniphest.edit", {"objectIdentifier": task["monogram"], "transactions": [{"type": "status", "value": "declined"}]})
        then = s.task(task["monogram"])["fields"]
        xactions = s.call("transaction.search", {"objectIdentifier": task["monogram"]})["result"]["data"]
        return [
            then["status"],
            then["dateClosed"] == first["dateClosed"],
            then["dateModified"] > first["dateModified"],
            [(x["type"], x["fields"]) for x in xactions],
        ]

    _both(sides, scenario)


def test_merge_duplicates_in(sides: tuple[Side, Side]) -> None:
    titles = tag("the real one"), tag("the same again")

    def scenario(s: Side) -> list[Any]:
        target = s.create(titles[0])
        duplicate = s.create(titles[1], user="bob")
        s.merge(duplicate, target, "alice")
        fields = s.task(duplicate["monogram"])["fields"]
        return [
            [(x["type"], x["authorPHID"], x["fields"]) for x in s.call("transaction.search", {"objectIdentifier": m})["result"]["data"]]
            for m in (duplicate["monogram"], target["monogram"])
        ] + [fields["status"], fields["closerPHID"], fields["ownerPHID"], fields["dateClosed"] is not None]

    _both(sides, scenario)


def test_a_private_task_to_everyone_else(sides: tuple[Side, Side]) -> None:
    title = tag("private")

    def scenario(s: Side) -> list[Any]:
        task = s.create(title, user="alice")
        s.make_private(task, "alice")
        answers = [len(s.call("maniphest.search", {"constraints": {"ids": [task["id"]]}}, "alice")["result"]["data"])]
        for user in ("bob", "admin"):
            answers.append(s.call("maniphest.search", {"constraints": {"ids": [task["id"]]}}, user)["result"]["data"])
            answers.append(s.call("transaction.search", {"objectIdentifier": task["monogram"]}, user))
            answers.append(
                s.call("maniphest.edit", {"objectIdentifier": task["monogram"], "transactions": [{"type": "comment", "value": "x"}]}, user)
            )
            answers.append(s.call("phid.lookup", {"names": [task["monogram"]]}, user))
        return answers

    _both(sides, scenario)


def test_tokens_and_paths(sides: tuple[Side, Side]) -> None:
    def scenario(s: Side) -> list[Any]:
        return [
            s.call("user.whoami", token="api-" + "q" * 28),
            s.call("user.whoami", token="api-short"),
            s.call("user.whoami", user=None),
            *(s.raw(path) for path in ("conduit.ping", "api/conduit.ping/", "phab/api/conduit.ping")),
        ]

    _both(sides, scenario)
