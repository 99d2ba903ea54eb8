"""Capture real Phorge answers into tests/fixtures/phorge/ (one JSON file per call).

    .venv/bin/python -m tests.servers.phorge_capture tests/fixtures/phorge

Starts a fresh Phorge with :func:`tests.servers.phorge.running_phorge`, sets up the state each
capture needs through the fixture's helpers, and writes ``{method, user, params, response}``
(``response`` is the whole Conduit envelope; ``user`` whose token was sent). Tokens never appear:
``params`` holds no ``__conduit__``, and tokens quoted back in error texts are replaced by
``api-<redacted:NAME>``. PHIDs, ids and dates are those of the capture run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from tests.servers.phorge import Phorge, running_phorge

FOLLOWUP = "Sustainability (Incident Followup)"


class Recorder:
    def __init__(self, phorge: Phorge, out: Path) -> None:
        self.phorge, self.out = phorge, out
        self.secrets: dict[str, str] = {
            token: f"api-<redacted:{user}>" for user, token in phorge.tokens.items()
        }
        self.written: list[str] = []

    def redact(self, text: str) -> str:
        for secret, placeholder in self.secrets.items():
            text = text.replace(secret, placeholder)
        return text

    def save(self, name: str, document: dict[str, Any]) -> None:
        text = self.redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
        (self.out / f"{name}.json").write_text(text)
        self.written.append(name)

    def call(
        self,
        name: str,
        method: str,
        params: dict[str, Any] | None = None,
        user: str | None = "admin",
        **extra: Any,
    ) -> dict[str, Any]:
        token = extra.pop("token", None)
        response = self.phorge.call(method, params, user, token=token)
        self.save(
            name, {"method": method, "user": user, "params": params or {}, **extra, "response": response}
        )
        return response


def capture(phorge: Phorge, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    rec = Recorder(phorge, out)
    derived = [info["slug"] for info in phorge.projects.values()]
    followup_slug = phorge.projects[FOLLOWUP]["slug"]

    rec.call(
        "user.search-usernames",
        "user.search",
        {"constraints": {"usernames": ["admin", "alice", "bob", "nobody"]}},
    )

    rec.call("project.search-name", "project.search", {"constraints": {"name": FOLLOWUP}})
    rec.call("project.search-slug-derived", "project.search", {"constraints": {"slugs": [followup_slug]}})
    rec.call("project.search-slugs-all-derived", "project.search", {"constraints": {"slugs": derived}})
    rec.call(
        "project.search-slug-hyphenated",
        "project.search",
        {"constraints": {"slugs": ["sustainability-incident-followup"]}},
        note="the hyphenated guess at the slug: no match, no error",
    )
    rec.call(
        "phid.lookup-hashtags",
        "phid.lookup",
        {"names": [f"#{followup_slug}", "#sustainability-incident-followup"]},
        note="only the derived hashtag resolves; the guess is dropped silently",
    )

    rec.call("maniphest.status.search", "maniphest.status.search", {})

    tagged = phorge.create_task("Follow-up tagged by PHID", projects=[FOLLOWUP])
    rec.call(
        "maniphest.search-projects-hyphenated-slug",
        "maniphest.search",
        {"constraints": {"projects": ["sustainability-incident-followup"]}},
        note=f"T{tagged['id']} is in the project; the guessed slug silently matches nothing",
    )
    rec.call(
        "maniphest.search-projects-derived-slug",
        "maniphest.search",
        {"constraints": {"projects": [followup_slug]}},
    )
    rec.call(
        "maniphest.search-projects-name",
        "maniphest.search",
        {"constraints": {"projects": [FOLLOWUP]}},
        note="a project name with parentheses reads as a datasource function: error",
    )

    task = phorge.create_task("Owner by username or PHID")
    rec.call(
        "maniphest.edit-owner-username",
        "maniphest.edit",
        {"objectIdentifier": task["monogram"], "transactions": [{"type": "owner", "value": "alice"}]},
    )
    rec.call(
        "maniphest.edit-owner-phid",
        "maniphest.edit",
        {
            "objectIdentifier": task["monogram"],
            "transactions": [{"type": "owner", "value": phorge.users["alice"]}],
        },
    )
    rec.call(
        "maniphest.edit-projects-add-derived-slug",
        "maniphest.edit",
        {
            "objectIdentifier": task["monogram"],
            "transactions": [{"type": "projects.add", "value": [followup_slug]}],
        },
        note="a known slug is accepted and resolved to the project",
    )
    rec.call(
        "maniphest.edit-projects-add-unknown-slug",
        "maniphest.edit",
        {
            "objectIdentifier": task["monogram"],
            "transactions": [{"type": "projects.add", "value": ["sustainability-incident-followup"]}],
        },
    )

    closed = phorge.create_task("Resolved, then declined")
    phorge.close(closed["id"], "resolved")
    time.sleep(1.1)  # whole-second dates: make the two closes distinguishable
    phorge.close(closed["id"], "declined")
    rec.call(
        "transaction.search-resolved-then-declined",
        "transaction.search",
        {"objectIdentifier": closed["monogram"]},
    )
    rec.call(
        "maniphest.search-resolved-then-declined",
        "maniphest.search",
        {"constraints": {"ids": [closed["id"]]}},
        note="dateClosed is still the time of the resolve (set on open -> closed only)",
    )

    target = phorge.create_task("The original report")
    duplicate = phorge.create_task("The same problem, reported again", user="bob")
    phorge.merge(duplicate["id"], into=target["id"], user="alice")
    rec.call(
        "transaction.search-mergedinto", "transaction.search", {"objectIdentifier": duplicate["monogram"]}
    )
    rec.call("transaction.search-mergedfrom", "transaction.search", {"objectIdentifier": target["monogram"]})
    rec.call(
        "maniphest.search-merged-duplicate", "maniphest.search", {"constraints": {"ids": [duplicate["id"]]}}
    )

    private = phorge.create_task("Private security follow-up", user="alice")
    phorge.make_private(private["id"], owner="alice")
    rec.call(
        "maniphest.search-private-as-owner",
        "maniphest.search",
        {"constraints": {"ids": [private["id"]]}},
        "alice",
    )
    rec.call(
        "maniphest.search-private-as-other",
        "maniphest.search",
        {"constraints": {"ids": [private["id"]]}},
        "bob",
    )
    rec.call(
        "transaction.search-private-as-other",
        "transaction.search",
        {"objectIdentifier": private["monogram"]},
        "bob",
    )
    rec.call(
        "maniphest.edit-private-as-other",
        "maniphest.edit",
        {"objectIdentifier": private["monogram"], "transactions": [{"type": "comment", "value": "seen?"}]},
        "bob",
    )
    rec.call("phid.lookup-private-as-other", "phid.lookup", {"names": [private["monogram"]]}, "bob")

    bad = "api-" + "x" * 28
    rec.call("user.whoami-unknown-token", "user.whoami", {}, None, token=bad, token_sent=bad)
    rec.call("user.whoami-short-token", "user.whoami", {}, None, token="api-short", token_sent="api-short")
    rec.call("user.whoami-no-token", "user.whoami", {}, None)
    revoked = phorge.new_token("bob")
    rec.secrets[revoked] = "api-<redacted:bob-revoked>"
    phorge.revoke_token(revoked)
    rec.call(
        "user.whoami-revoked-token",
        "user.whoami",
        {},
        None,
        token=revoked,
        token_sent="api-<redacted:bob-revoked>",
    )

    for name, path in (
        ("wrong-path-no-api-prefix", "conduit.ping"),
        ("wrong-path-trailing-slash", "api/conduit.ping/"),
    ):
        form = {
            "params": json.dumps({"__conduit__": {"token": phorge.tokens["admin"]}}),
            "output": "json",
            "__conduit__": "1",
        }
        response = requests.post(phorge.url + path, data=form, timeout=30)
        rec.save(
            name,
            {
                "method": "conduit.ping",
                "user": "admin",
                "params": {},
                "path": "/" + path,
                "response": {
                    "status": response.status_code,
                    "content_type": response.headers.get("Content-Type"),
                    "body": response.text,
                },
            },
        )
    return rec.written


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "tests/fixtures/phorge")
    with (
        tempfile.TemporaryDirectory(prefix="phorge-capture-") as tmp,
        running_phorge(Path(tmp) / "site") as phorge,
    ):
        written = capture(phorge, out)
        print(f"phorge ready in {phorge.startup_seconds:.2f} s; wrote {len(written)} captures to {out}")
        print("projects:", json.dumps({name: info["slugs"] for name, info in phorge.projects.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
