"""Worker process life: heartbeats in Redis (so /health can tell whether any worker is alive)
and signal handling in pool children."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from typing import Any

import redis
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from config.redis_durability import warn_at_start
from config.settings import get_settings
from tasks.relay import AcceptedRelay

_relays: list[AcceptedRelay] = []
HEARTBEAT_PREFIX = "tvbridge:heartbeat:worker:"
HEARTBEAT_EVERY_SECONDS = 5.0
HEARTBEAT_TTL_SECONDS = 20

log = logging.getLogger(__name__)
_stop = threading.Event()


def _beat(name: str) -> None:
    client = redis.Redis.from_url(get_settings().redis_url, socket_timeout=2)
    while not _stop.is_set():
        try:
            client.set(HEARTBEAT_PREFIX + name, "alive", ex=HEARTBEAT_TTL_SECONDS)
        except redis.RedisError as error:
            log.warning("heartbeat not written: %s", error)
        _stop.wait(HEARTBEAT_EVERY_SECONDS)
    with contextlib.suppress(redis.RedisError):
        client.delete(HEARTBEAT_PREFIX + name)


@worker_process_init.connect
def _ignore_group_sigterm(**_: Any) -> None:
    """Process managers (honcho, systemd) signal the whole process group. The main worker
    process answers SIGTERM with a warm shutdown that lets running tasks finish; a pool
    child must not die of the same signal halfway through placing an order."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@worker_ready.connect
def _warn_if_redis_would_lose_alerts(**_: Any) -> None:
    warn_at_start(get_settings().redis_url, "worker")


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    name = getattr(sender, "hostname", None) or f"{socket.gethostname()}:{os.getpid()}"
    threading.Thread(target=_beat, args=(name,), name="heartbeat", daemon=True).start()


@worker_ready.connect
def _start_relay(sender: Any = None, **_: Any) -> None:
    # The main process is idle while its pool works: it relays the web's accepted alerts.
    _relays.append(AcceptedRelay(get_settings().redis_url, sender.app).start())


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    _stop.set()
    for relay in _relays:
        relay.stop()
