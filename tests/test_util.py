"""incidentkit.util: a call run in the background hands back its value or its error, and is never left running."""

from __future__ import annotations

import threading

import pytest

from incidentkit.errors import InputError
from incidentkit.util import Background


def test_a_background_call_gives_its_value() -> None:
    assert Background(lambda a, b: a + b, 2, 3).result() == 5


def test_a_background_call_raises_its_error_in_the_caller() -> None:
    def refuse() -> None:
        raise InputError("refused", hint="h")

    with pytest.raises(InputError, match="refused"):
        Background(refuse).result()


def test_a_failing_caller_waits_for_the_background_call_and_its_own_error_propagates() -> None:
    release = threading.Event()
    finished = []

    def slow() -> None:
        release.wait(5)
        finished.append(True)

    with pytest.raises(ValueError, match="the caller's"), Background(slow):
        threading.Timer(0.05, release.set).start()
        raise ValueError("the caller's")
    assert finished == [True]
