"""/health (always 200, says what is wrong) and /ready (200 only if an alert could trade now)."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify
from flask.blueprints import BlueprintSetupState

from app import Services, services
from config.redis_durability import durability_warnings, warn_at_start
from trading.halt import read_halt
from trading.ledger.inbox import recent_clock_skew
from trading.positions import DRIFT_WINDOW, recent_drift

health = Blueprint("health", __name__)


@health.record_once
def _warn_if_redis_would_lose_alerts(state: BlueprintSetupState) -> None:
    app = state.app
    if isinstance(app, Flask):
        warn_at_start(services(app).settings.redis_url, "web")


HEARTBEAT_PATTERN = "tvbridge:heartbeat:worker:*"


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.3, socket_connect_timeout=0.3)


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check()
        detail, ok = (result if isinstance(result, dict) else {}), True
    except Exception as error:  # noqa: BLE001 - a health check reports every failure
        detail, ok = {"error": f"{type(error).__name__}: {error}"}, False
    return {"ok": ok, "latency_ms": round((time.perf_counter() - started) * 1000, 2), **detail}


def collect(svc: Services) -> dict[str, Any]:
    client = _redis(svc.settings.redis_url)

    def workers() -> dict[str, Any]:
        prefix = HEARTBEAT_PATTERN.rstrip("*")
        names = sorted(
            key.decode().removeprefix(prefix)
            for key in client.scan_iter(HEARTBEAT_PATTERN, count=100)
        )
        return {"alive": len(names), "names": names}

    def clock() -> dict[str, Any]:
        with svc.inbox.read() as session:
            return recent_clock_skew(session)

    def redis_durability() -> dict[str, Any]:
        return {"warnings": durability_warnings(client)}

    def halt() -> dict[str, Any]:
        with svc.database.read() as session:
            return read_halt(session).as_json()

    def drift() -> dict[str, Any]:
        with svc.database.read() as session:
            return recent_drift(session, since=datetime.now(UTC) - DRIFT_WINDOW)

    checks = {
        "database": _timed(svc.database.ping),
        "inbox": _timed(svc.inbox.ping),
        "clock_skew": _timed(clock),
        "redis": _timed(client.ping),
        "redis_durability": _timed(redis_durability),
        "workers": _timed(workers),
        "halt": _timed(halt),
        "drift": _timed(drift),
    }
    broker_health = _timed(lambda: asdict(svc.broker.health()))
    broker_health.setdefault("connected", False)
    broker_health.setdefault("tradeable", False)
    if not checks["database"]["ok"] or not checks["inbox"]["ok"]:
        status = "down"
    elif (
        not checks["redis"]["ok"]
        or checks["workers"].get("alive", 0) == 0
        or not broker_health["ok"]
        or not broker_health["connected"]
        or not broker_health["tradeable"]
    ):
        status = "degraded"
    else:
        status = "ok"
    # Things that work now but could lose alerts later: shown, without degrading the status.
    warnings = list(checks["redis_durability"].get("warnings", []))
    if checks["drift"].get("count"):
        warnings.append(
            f"{checks['drift']['count']} strategy alert(s) in the last 24 h found the "
            "strategy's position different from the bridge's (see checks.drift.alerts)"
        )
    halted = bool(checks["halt"].get("halted"))
    return {
        "status": status,
        "halted": halted,
        "warnings": warnings,
        "time": datetime.now(UTC).isoformat(),
        "broker": {"type": svc.broker.name, "health": broker_health},
        "checks": checks,
    }


def _not_ready_reasons(report: dict[str, Any]) -> list[str]:
    reasons = []
    checks = report["checks"]
    if not checks["database"]["ok"]:
        reasons.append("the ledger database does not answer")
    if not checks["inbox"]["ok"]:
        reasons.append("the inbox database (where webhooks record alerts) does not answer")
    if not checks["redis"]["ok"]:
        reasons.append("Redis does not answer")
    elif checks["workers"].get("alive", 0) == 0:
        reasons.append("no worker is alive")
    halt = checks["halt"]
    if halt.get("halted"):
        reasons.append(
            f"trading is halted since {halt.get('since')} ({halt.get('reason')}): "
            "POST /api/resume to trade again"
        )
    broker = report["broker"]["health"]
    if not broker.get("connected"):
        reasons.append(f"broker {report['broker']['type']} is not connected")
    elif not broker.get("tradeable"):
        reasons.append(f"broker {report['broker']['type']} is connected but not tradeable")
    return reasons


@health.get("/health")
def health_view() -> Response:
    return jsonify(collect(services(current_app)))


@health.get("/ready")
def ready_view() -> tuple[Response, int]:
    report = collect(services(current_app))
    reasons = _not_ready_reasons(report)
    if reasons:
        return jsonify({"ready": False, "reasons": reasons, "status": report["status"]}), 503
    return jsonify({"ready": True, "status": report["status"]}), 200
