"""The polling helper every real-process test relies on: it must show why a check failed."""

from __future__ import annotations

import pytest

from tests.support import wait_for


def test_the_checks_own_exception_is_surfaced_not_hidden_in_a_timeout() -> None:
    def check() -> bool:
        raise KeyError("status")

    with pytest.raises(AssertionError, match="KeyError") as failed:
        wait_for(check, timeout=0.2, message="a broken check")
    assert isinstance(failed.value.__cause__, KeyError)


def test_an_exception_while_starting_up_is_only_not_yet() -> None:
    calls: list[int] = []

    def check() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("still starting")
        return len(calls)

    assert wait_for(check, timeout=5, interval=0.01) == 3


def test_a_plain_timeout_says_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="the answer; last=0") as failed:
        wait_for(lambda: 0, timeout=0.1, message="the answer")
    assert failed.value.__cause__ is None
