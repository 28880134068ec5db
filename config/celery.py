"""Celery settings, shared by the workers and by the web process that publishes."""

from __future__ import annotations

from typing import Any

from config.settings import Settings

PROCESS_ALERT = "tvbridge.process_alert"
SWEEP = "tvbridge.sweep"
NOOP = "tvbridge.noop"
PRUNE = "tvbridge.prune"
SYNC_ORDERS = "tvbridge.sync_orders"
ALERTS_QUEUE = "alerts"

# Far above any alert's maximum age, so Redis never redelivers a task that is merely slow.
VISIBILITY_TIMEOUT_SECONDS = 3 * 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    transport = {
        "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
        # Short socket timeouts: a slow Redis must not hold the webhook past TradingView's 3 s.
        "socket_timeout": 2.0,
        "socket_connect_timeout": 1.0,
        "socket_keepalive": True,
        "health_check_interval": 10,
    }
    return {
        "broker_url": settings.redis_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 1.0,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": False,
        "task_default_queue": ALERTS_QUEUE,
        "task_publish_retry": False,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # Shorter than the kill wait of honcho (5 s) and systemd, so unacked work is restored.
        "worker_soft_shutdown_timeout": 3.0,
        "worker_enable_soft_shutdown_on_idle": False,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": True,
        "task_send_sent_event": False,
        "beat_schedule": {
            "sweep": {"task": SWEEP, "schedule": settings.sweep_interval_seconds},
            "prune": {"task": PRUNE, "schedule": 3600.0},
            "sync-orders": {"task": SYNC_ORDERS, "schedule": settings.order_sync_interval_seconds},
        },
        "timezone": "UTC",
        "enable_utc": True,
    }
