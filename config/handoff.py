"""The web's handoff of an accepted alert to the workers, declared once.

The web pushes an ``AcceptedAlert`` onto a Redis list (one cheap command); a relay thread
in each worker's main process pops it and publishes the alert's first Celery message. The
web process thus spends no CPU on Celery's message building, which is most of what an
accept would otherwise cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from config.celery import PROCESS_ALERT

ACCEPTED_LIST = "tvbridge:accepted"


class Publishes(Protocol):
    def send_task(self, name: str, **options: object) -> object: ...


@dataclass(frozen=True)
class AcceptedAlert:
    key: str
    expires_at: datetime

    def encode(self) -> str:
        return json.dumps({"key": self.key, "expires_at": self.expires_at.isoformat()})

    @classmethod
    def decode(cls, raw: bytes | str) -> AcceptedAlert:
        fields = json.loads(raw)
        return cls(str(fields["key"]), datetime.fromisoformat(fields["expires_at"]))


def publish_first_message(app: Publishes, alert: AcceptedAlert) -> None:
    """The alert's first task message: its key as the task id and its expiry, so a late
    copy is discarded by Celery (follow-ups carry neither; see tasks.alerts)."""
    app.send_task(
        PROCESS_ALERT,
        args=[alert.key],
        task_id=alert.key,
        expires=alert.expires_at,
        retry=False,
    )
