"""Retry policy, declared on the method it governs.

Reads and cancels retry TemporaryError with quadratic back-off; order submission is
declared with ``retries=0`` and is never retried here (its recovery is a lookup by
reference, which the caller does).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from trading.errors import TemporaryError

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, base: float = 0.05, cap: float = 2.0) -> float:
    return float(min(cap, base * (attempt + 1) ** 2))


def retrier(retries: int, *, base: float = 0.05) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry the decorated call up to ``retries`` times on TemporaryError."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            attempt = 0
            while True:
                try:
                    return function(*args, **kwargs)
                except TemporaryError as error:
                    if attempt >= retries:
                        raise
                    delay = backoff_seconds(attempt, base)
                    log.info(
                        "%s: %s; retry %d in %.2fs", function.__name__, error, attempt + 1, delay
                    )
                    time.sleep(delay)
                    attempt += 1

        wrapped.retries = retries  # type: ignore[attr-defined]
        return wrapped

    return decorate
