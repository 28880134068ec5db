"""Whether the Redis that carries queued alerts would lose them: checked when the web and
the workers start (a loud warning) and on every /health (a warning there too).

Redis is the transport, not the record (the ledger is), but an alert lost from the queue
waits for the sweeper, and an evicted key can be a Celery bookkeeping key. The settings
that keep queued work are ``maxmemory-policy noeviction`` and an append-only file.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import redis

log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 0.5


def durability_warnings(client: redis.Redis) -> list[str]:
    """What in this Redis's configuration could lose queued alerts; unreadable is a warning."""
    try:
        config = cast("dict[str, Any]", client.config_get("maxmemory-policy"))
        config.update(cast("dict[str, Any]", client.config_get("appendonly")))
        config.update(cast("dict[str, Any]", client.config_get("save")))
    except redis.RedisError as error:
        # Managed Redis often renames CONFIG: not knowing is not "fine".
        return [f"could not read the Redis configuration ({error}); check it keeps queued work"]
    values = {_text(k): _text(v) for k, v in config.items()}
    warnings = []
    policy = values.get("maxmemory-policy", "")
    if policy != "noeviction":
        warnings.append(
            f"Redis maxmemory-policy is {policy!r}: under memory pressure it may evict "
            "queued alerts; set maxmemory-policy noeviction"
        )
    append_only = values.get("appendonly", "") == "yes"
    snapshots = values.get("save", "").strip() != ""
    if not append_only and not snapshots:
        warnings.append(
            "Redis persists nothing (appendonly no, no save rules): a restart loses every "
            "queued alert; set appendonly yes"
        )
    elif not append_only:
        warnings.append(
            "Redis persists only by snapshots (appendonly no): a crash loses the last minutes "
            "of queued alerts; set appendonly yes"
        )
    return warnings


def warn_at_start(redis_url: str, process: str) -> list[str]:
    """Log each durability warning once, loudly, as ``process`` starts."""
    client = redis.Redis.from_url(
        redis_url,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        warnings = durability_warnings(client)
    finally:
        client.close()
    for warning in warnings:
        log.warning("%s start: %s", process, warning)
    return warnings


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
