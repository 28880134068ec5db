"""Handing accepted alerts to the workers from the web process, after the answer.

The receipt is durable before the webhook answers; the handoff is only a nudge to the
workers, so it never delays the answer. A thread per web process takes each accepted
alert from an in-memory queue and pushes it onto a Redis list with short socket timeouts
and no retry (``config.handoff``); a relay in the workers turns it into the Celery message.
Whatever is not handed over (Redis down, the queue full, the process stopped before it got
there) is enqueued by the sweeper after its grace period.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime

import redis

from config.handoff import ACCEPTED_LIST, AcceptedAlert
from config.settings import Settings

log = logging.getLogger(__name__)

# Far above any burst TradingView sends; past it the sweeper takes over.
PENDING_LIMIT = 10_000


def hand_over(client: redis.Redis, key: str, expires_at: datetime) -> bool:
    """Push the handoff now; return False (and log) instead of raising when Redis does not
    answer."""
    try:
        client.lpush(ACCEPTED_LIST, AcceptedAlert(key, expires_at).encode())
    except redis.RedisError as error:
        log.warning("alert %s recorded but not handed over (%s); the sweeper will", key, error)
        return False
    return True


class BackgroundHandoff:
    """Hands accepted alerts over from a thread of its own, in the order they came."""

    def __init__(self, settings: Settings) -> None:
        self._client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=0.3, socket_connect_timeout=0.3
        )
        self._pending: queue.Queue[tuple[str, datetime]] = queue.Queue(PENDING_LIMIT)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def hand_over_soon(self, key: str, expires_at: datetime) -> None:
        self._ensure_running()
        try:
            self._pending.put_nowait((key, expires_at))
        except queue.Full:
            log.warning("alert %s recorded; the handoff is backed up, the sweeper will", key)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """For tests: True once everything queued here was handed over."""
        done = threading.Event()

        def drained() -> None:
            self._pending.join()
            done.set()

        threading.Thread(target=drained, daemon=True).start()
        return done.wait(timeout)

    def _ensure_running(self) -> None:
        # Started on first use, in the process that serves (never before a fork).
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="alert-handoff", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            key, expires_at = self._pending.get()
            try:
                hand_over(self._client, key, expires_at)
            finally:
                self._pending.task_done()
