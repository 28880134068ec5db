"""The floor a benchmark compares against: the least a webhook endpoint could do.

``POST /floor`` does one Redis LPUSH; ``POST /floor/task`` publishes a no-op Celery task
that marks Redis; ``GET /floor/marker/<m>`` says whether that mark is there. Served by
the same server and settings as the real web process (``python -m app.serve``).
"""

from __future__ import annotations

import os

import redis
from celery import Celery
from flask import Flask, Response, request

from config.celery import NOOP, celery_config
from config.settings import get_settings

app = Flask(__name__)
_settings = get_settings()
_redis = redis.Redis.from_url(_settings.redis_url)
_celery = Celery("bench-floor")
_celery.config_from_object(celery_config(_settings))


@app.post("/floor")
def floor() -> tuple[str, int]:
    _redis.lpush("bench:floor", request.get_data())
    return '{"status":"queued"}', 202


@app.post("/floor/task")
def floor_task() -> tuple[str, int]:
    marker = request.args["marker"]
    _celery.send_task(NOOP, args=[marker], retry=False)
    return '{"status":"queued"}', 202


@app.get("/floor/marker/<marker>")
def floor_marker(marker: str) -> Response:
    done = bool(_redis.exists(marker))
    return Response('{"status":"done"}' if done else '{"status":"pending"}', status=200)


if os.environ.get("BENCH_TRIM_FLOOR"):
    _redis.delete("bench:floor")
