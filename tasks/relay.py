"""The relay: in each worker's main process, a thread that pops the web's accepted alerts
and publishes their first Celery message.

Several workers pop the same list; each alert is popped once. An alert popped but not
published (Redis gone between the two, the worker killed) is enqueued by the sweeper after
its grace period, as any alert whose message was lost.
"""

from __future__ import annotations

import logging
import threading
from typing import cast

import redis

from config.handoff import ACCEPTED_LIST, AcceptedAlert, Publishes, publish_first_message

log = logging.getLogger(__name__)
WAIT_SECONDS = 1.0


class AcceptedRelay:
    def __init__(self, redis_url: str, app: Publishes) -> None:
        self._client = redis.Redis.from_url(
            redis_url, socket_timeout=WAIT_SECONDS + 4, socket_connect_timeout=2
        )
        self._app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="accepted-relay", daemon=True)

    def start(self) -> AcceptedRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=WAIT_SECONDS + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                popped = cast(
                    "list[bytes] | None",
                    self._client.brpop([ACCEPTED_LIST], timeout=WAIT_SECONDS),
                )
            except redis.RedisError as error:
                log.warning("relay cannot read accepted alerts (%s); retrying", error)
                self._stop.wait(WAIT_SECONDS)
                continue
            if popped is None:
                continue
            self._publish(popped[1])

    def _publish(self, raw: bytes) -> None:
        try:
            alert = AcceptedAlert.decode(raw)
        except (ValueError, KeyError, TypeError) as error:
            log.error("relay dropped an unreadable handoff %r: %s", raw[:200], error)
            return
        try:
            publish_first_message(self._app, alert)
        except Exception as error:  # noqa: BLE001 - any publish failure is the sweeper's
            log.warning("relay could not publish %s (%s); the sweeper will", alert.key, error)
