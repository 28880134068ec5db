"""Faults between the webhook and the worker: an accepted alert is traded once or visibly
expired, never lost and never doubled. Faults are signals to our own child processes (by
pid) and a private redis-server. "Once" is counted at the broker boundary: every call that
reached the paper broker's submit is recorded, a resubmission of a known reference too."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from config.settings import inbox_url_for
from tests.faultproxy import FaultProxy
from tests.support import (
    RedisServer,
    Stack,
    child_pids,
    migrate,
    process_gone,
    sqlite_url,
    wait_for,
)
from trading.ledger.db import get_database
from trading.ledger.models import AlertRecord, AlertStatus, InboxRecord, PaperSubmission

# kombu's Redis transport keeps a delivered, not yet acknowledged message here.
UNACKED_KEY = "unacked"

FAST_RECOVERY = {"SWEEP_INTERVAL_SECONDS": "1", "STUCK_AFTER_SECONDS": "3"}


class Harness:
    def __init__(self, directory: Path, *, appendonly: bool = False, **env: str) -> None:
        self.redis = RedisServer(directory / "redis", appendonly=appendonly).start()
        self.url = sqlite_url(directory)
        migrate(self.url)
        self.stack = Stack(directory, self.redis.url, self.url, **{**FAST_RECOVERY, **env})

    def submissions(self, reference_part: str) -> int:
        """Calls that reached the paper broker's submit for matching references."""
        with get_database(self.url).read() as session:
            query = select(func.count()).select_from(PaperSubmission)
            query = query.where(PaperSubmission.reference.contains(reference_part))
            return session.scalar(query) or 0

    def statuses(self) -> dict[str, str]:
        """Each alert's status: the ledger's once a worker took it, else its receipt's."""
        with get_database(inbox_url_for(self.url)).read() as session:
            found = dict(session.execute(select(InboxRecord.alert_id, InboxRecord.status)).all())
        with get_database(self.url).read() as session:
            found.update(session.execute(select(AlertRecord.alert_id, AlertRecord.status)).all())
        return found

    def expires_at(self, alert_id: str) -> datetime:
        with get_database(inbox_url_for(self.url)).read() as session:
            query = select(InboxRecord.expires_at).where(InboxRecord.alert_id == alert_id)
            return session.scalars(query).one()

    def close(self) -> None:
        self.stack.stop_all()
        self.redis.stop()


@pytest.fixture
def harness(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Harness]:
    marker = request.node.get_closest_marker("harness")
    harness = Harness(tmp_path, **(marker.kwargs if marker else {}))
    yield harness
    harness.close()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(harness.stack.log("worker")[-4000:])


def alert(stack: Stack, alert_id: str, **extra: object) -> int:
    body = {"symbol": "AAPL", "action": "buy", "quantity": 1, "price": 100, "alert_id": alert_id}
    return stack.alert({**body, **extra}).status_code


def placed_not_answered(harness: Harness, alert_id: str) -> None:
    """Wait until the broker has the order while the worker still waits for its answer."""
    wait_for(lambda: harness.submissions(alert_id) == 1, timeout=15, message="order placed")
    state = harness.stack.alert_state(alert_id)
    assert state["orders"][0]["status"] == "submitting", state


def kill_child_after_placing(harness: Harness, alert_id: str) -> None:
    """SIGKILL the worker child once the broker has the order but before the worker has its
    answer; the alert must still end with exactly that one order, filled."""
    stack = harness.stack
    stack.start_web()
    worker = stack.start_worker(concurrency=1)
    stack.start_beat()
    assert alert(stack, alert_id) == 202
    placed_not_answered(harness, alert_id)
    [child] = child_pids(worker.pid)
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: process_gone(child), timeout=10, message=f"worker child {child} to die")
    wait_for(lambda: child_pids(worker.pid) - {child}, timeout=20, message="a new child")
    state = stack.wait_alert(alert_id, timeout=40)
    assert state["orders"][0]["status"] == "filled"
    assert worker.poll() is None
    assert harness.submissions(alert_id) == 1


def test_redis_down_at_accept_then_traded_after_it_returns(harness: Harness) -> None:
    """W9 + R1: Redis is down when the alert arrives: 202 at once; traded once Redis is back."""
    stack = harness.stack
    stack.start_web()
    stack.start_worker()
    stack.start_beat()
    harness.redis.kill()
    assert harness.redis.process is not None and harness.redis.process.returncode is not None
    assert alert(stack, "w9-1") == 202
    harness.redis.start()  # same port, empty: the message never existed
    stack.wait_alert("w9-1", timeout=40)
    assert harness.submissions("w9-1") == 1
    # The workers consume fresh work too after the restart.
    assert alert(stack, "r1-after") == 202
    stack.wait_alert("r1-after", timeout=20)


def test_slow_redis_still_accepts_and_trades_once(harness: Harness) -> None:
    """W10: the web's Redis answers after 2 s: the webhook still accepts and the alert is
    traded once the (direct) workers' sweeper finds it. (How fast: the soak below.)"""
    proxy = FaultProxy(harness.redis.port).start()
    try:
        stack = harness.stack
        stack.start_web(env={"REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0"})
        stack.start_worker()
        stack.start_beat()
        proxy.latency = 2.0
        assert alert(stack, "w10-1") == 202
        stack.wait_alert("w10-1", timeout=30)
        assert harness.submissions("w10-1") == 1
    finally:
        proxy.stop()


@pytest.mark.harness(PAPER_ACK_DELAY_SECONDS="3")
def test_worker_child_killed_after_placing(harness: Harness) -> None:
    """C1: SIGKILL the worker child while the broker has the order but we have no answer:
    Celery acks the message anyway; the sweeper resumes, finds the reference, places
    nothing again."""
    kill_child_after_placing(harness, "c1-1")


@pytest.mark.harness(PAPER_ACK_DELAY_SECONDS="3")
def test_whole_worker_killed_then_restarted(harness: Harness) -> None:
    """C2: SIGKILL the worker's main process mid-task; after a restart it is traded once."""
    stack = harness.stack
    stack.start_web()
    worker = stack.start_worker(concurrency=1)
    stack.start_beat()
    assert alert(stack, "c2-1") == 202
    placed_not_answered(harness, "c2-1")
    children = child_pids(worker.pid)
    stack.stop("worker", sig=signal.SIGKILL)
    assert worker.returncode == -signal.SIGKILL
    # Orphaned pool children notice their parent is gone and exit on their own.
    assert children
    wait_for(
        lambda: all(process_gone(pid) for pid in children), timeout=20, message="children to exit"
    )
    stack.start_worker(concurrency=1)
    stack.wait_alert("c2-1", timeout=40)
    assert harness.submissions("c2-1") == 1


@pytest.mark.harness(PAPER_ACK_DELAY_SECONDS="2")
def test_sigterm_during_a_task_finishes_it(harness: Harness) -> None:
    """C3: a process manager's SIGTERM mid-task: the task completes (warm shutdown), once."""
    stack = harness.stack
    stack.start_web()
    stack.start_worker(concurrency=1)
    assert alert(stack, "c3-1") == 202
    placed_not_answered(harness, "c3-1")
    stack.stop("worker", sig=signal.SIGTERM, timeout=30)
    state = stack.alert_state("c3-1")
    assert state["status"] == "done" and state["orders"][0]["status"] == "filled"
    assert harness.submissions("c3-1") == 1


@pytest.mark.harness(ALERT_MAX_AGE_SECONDS="5")
def test_alert_that_waited_too_long_is_expired_not_traded(harness: Harness) -> None:
    """C7: no worker until after the alert's maximum age: recorded expired, never traded."""
    stack = harness.stack
    stack.start_web()
    # Already 3 s old when sent: it passes its 5 s maximum age while no worker runs.
    assert alert(stack, "c7-1", timestamp=int(time.time()) - 3) == 202
    expires_at = harness.expires_at("c7-1")
    wait_for(lambda: datetime.now(UTC) > expires_at, timeout=10, message="the alert's expiry")
    stack.start_worker()
    stack.start_beat()
    state = stack.wait_alert("c7-1", status="expired", timeout=20)
    assert "old" in state["reason"]
    assert harness.submissions("c7-1") == 0


@pytest.mark.harness(appendonly=True, PAPER_ACK_DELAY_SECONDS="1")
def test_redis_killed_with_aof_every_alert_traded_once(harness: Harness) -> None:
    """R2: kill -9 Redis (AOF everysec) while a task has started and is not acknowledged and
    others wait in the queue: whatever Redis lost or resurrected, every accepted alert is
    traded exactly once."""
    stack = harness.stack
    stack.start_web()
    stack.start_beat()
    worker = stack.start_worker(concurrency=1)
    ids = [f"r2-{i}" for i in range(6)]
    assert [alert(stack, i, quantity=1 + n % 3) for n, i in enumerate(ids)] == [202] * 6
    client = redis.Redis.from_url(harness.redis.url)

    def in_flight() -> list[str]:
        processing = [k for k, v in harness.statuses().items() if v == AlertStatus.PROCESSING]
        return processing if processing and client.hlen(UNACKED_KEY) else []

    started = wait_for(in_flight, timeout=15, message="a started, unacknowledged task")
    waiting = [i for i, v in harness.statuses().items() if v == AlertStatus.ACCEPTED]
    harness.redis.kill()
    assert harness.redis.process is not None and harness.redis.process.returncode == -9
    assert started and waiting, (started, waiting)
    harness.redis.start()  # replays the append-only file
    for i in ids:
        stack.wait_alert(i, timeout=60)
    assert {i: harness.submissions(f"{i}.") for i in ids} == {i: 1 for i in ids}
    assert stack.position("AAPL") == sum(1 + n % 3 for n in range(6))
    assert worker.poll() is None


@pytest.mark.harness(PAPER_ACK_DELAY_SECONDS="3")
def test_redis_restart_mid_task_keeps_the_worker(harness: Harness) -> None:
    """R1 with work in flight (C8: the broker connection drops under an acks_late task):
    Redis restarts while a task is unacknowledged. The worker must survive (a dead worker
    stops every process under honcho), keep consuming, and the task is not run twice."""
    stack = harness.stack
    stack.start_web()
    worker = stack.start_worker(concurrency=1)
    stack.start_beat()
    assert alert(stack, "r1-mid") == 202
    placed_not_answered(harness, "r1-mid")
    harness.redis.kill()
    harness.redis.start()
    stack.wait_alert("r1-mid", timeout=30)
    assert worker.poll() is None, stack.log("worker")[-3000:]
    assert "Unrecoverable" not in stack.log("worker")
    assert alert(stack, "r1-next") == 202
    stack.wait_alert("r1-next", timeout=30)
    assert harness.submissions("r1-mid") == 1


@pytest.mark.harness(PAPER_ACK_DELAY_SECONDS="3", ALERT_MAX_AGE_SECONDS="5")
def test_outcome_unknown_past_the_maximum_age_is_still_resolved(harness: Harness) -> None:
    """C1 when the resume comes after the alert's maximum age: the order may be at the
    broker, so it is looked up (found, recorded once), never dropped as expired."""
    kill_child_after_placing(harness, "c1-late")


@pytest.mark.soak
def test_webhook_answers_within_a_second_while_redis_is_down_or_slow(harness: Harness) -> None:
    """W9/W10 timing: TradingView gives up after 3 s; we aim for 1 s with Redis down or slow.
    Timing-bound, so in ``make soak``: a loaded test machine must not fail ``make test``."""
    proxy = FaultProxy(harness.redis.port).start()
    try:
        stack = harness.stack
        stack.start_web(env={"REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0"})
        proxy.latency = 2.0
        started = time.monotonic()
        assert alert(stack, "w10-soak") == 202
        assert time.monotonic() - started < 1.0
        proxy.cut()
        started = time.monotonic()
        assert alert(stack, "w9-soak") == 202
        assert time.monotonic() - started < 1.0
    finally:
        proxy.stop()
