"""Structured logging: JSON lines in production, readable lines in development.

Secrets never reach a log line: a filter scrubs ``secret=...`` style query parameters
and the configured secret values from every message.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Iterable

_QUERY_SECRET = re.compile(r"(?i)((?:secret|passphrase|token|key)=)[^&\s\"']+")


class RedactSecrets(logging.Filter):
    """Replace secret values and secret-looking query parameters with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _QUERY_SECRET.sub(r"\1***", message)
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "***")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(
    *, environment: str, level: str = "INFO", secrets: Iterable[str] = ()
) -> None:
    """Configure the root logger once per process."""
    json_format = environment == "production"
    formatter: dict[str, object]
    if json_format:
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    else:
        formatter = {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"main": formatter},
            "filters": {"redact": {"()": RedactSecrets, "secrets": list(secrets)}},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "main",
                    "filters": ["redact"],
                }
            },
            "root": {"handlers": ["stderr"], "level": level},
            # Celery announces every task, including the sweeper's every few seconds; the
            # domain logs each alert's outcome itself.
            "loggers": {
                name: {"level": "WARNING" if level != "DEBUG" else "DEBUG"}
                for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat")
            },
        }
    )
