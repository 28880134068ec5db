"""The webhook's inbox: accepting never waits for the workers' ledger lock, the first
worker copies the receipt into the ledger exactly once, deduplication stays the inbox's,
and /api/alerts shows one alert whether or not a worker took it yet."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import services
from tests.integration.test_processing import processor, submissions
from tests.ledger_support import POLICY, accept, inbox_of
from tests.support import SECRET, TOKEN
from trading.alerts import decode_body, validate_alert
from trading.brokers.paper import PaperBroker
from trading.ingest import accept_alert
from trading.ledger.db import Database
from trading.ledger.inbox import Claim
from trading.ledger.models import AlertRecord, InboxRecord
from trading.processing import AlertProcessor

URL = "/webhook/tradingview"
API = {"Authorization": f"Bearer {TOKEN}"}
SEED = {"symbol": "AAPL", "action": "buy", "price": 150.0, "quantity": 1}


def sqlite_path(database: Database) -> str:
    return database.url.split("///", 1)[1]


@contextmanager
def ledger_write_lock_held(ledger: Database) -> Iterator[None]:
    """A worker in the middle of a ledger transaction: the file's write lock, held."""
    holder = sqlite3.connect(sqlite_path(ledger), isolation_level=None, timeout=5)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def post(client: FlaskClient, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    response = client.post(URL, data=json.dumps({"secret": SECRET, **body}))
    return response.status_code, response.json or {}


def test_webhook_does_not_wait_for_the_ledger_write_lock(client: FlaskClient, app: Flask) -> None:
    svc = services(app)
    assert svc.inbox.url != svc.database.url and svc.inbox.url.endswith("ledger-inbox.db")
    with ledger_write_lock_held(svc.database), ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        accepted = pool.submit(post, client, {**SEED, "alert_id": "locked-1"}).result(timeout=1)
        repeated = pool.submit(post, client, {**SEED, "alert_id": "locked-1"}).result(timeout=1)
        refused = pool.submit(post, client, {"symbol": "AAPL"}).result(timeout=1)
        elapsed = time.monotonic() - started
    assert accepted == (202, {"status": "queued", "alert_id": "locked-1"})
    assert repeated[0] == 200 and repeated[1]["status"] == "duplicate"
    assert refused[0] == 400
    assert elapsed < 1.0
    # Durable before the 202: in the inbox's own file, read by a connection of its own.
    with sqlite3.connect(sqlite_path(svc.inbox)) as reader:
        rows = reader.execute("SELECT key, status FROM inbox WHERE alert_id = 'locked-1'")
        assert rows.fetchall() == [("locked-1", "accepted")]
        assert reader.execute("SELECT count(*) FROM rejections").fetchone() == (1,)
    with sqlite3.connect(sqlite_path(svc.database)) as reader:
        assert reader.execute("SELECT count(*) FROM alerts").fetchone() == (0,)


def ledger_alerts(database: Database) -> list[AlertRecord]:
    with database.read() as session:
        return list(session.scalars(select(AlertRecord)))


def test_worker_copies_the_receipt_into_the_ledger_and_trades_once(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=2, price=150, alert_id="copy-1")
    assert ledger_alerts(database) == []
    assert processor(database).process(key).status == "done"
    assert processor(database).process(key).status == "done"
    (copied,) = ledger_alerts(database)
    with inbox_of(database).read() as session:
        receipt = session.scalars(select(InboxRecord)).one()
    assert (copied.key, copied.alert_id, copied.body) == (receipt.key, "copy-1", receipt.body)
    assert copied.dedup_key is None and receipt.dedup_key == "copy-1"
    assert submissions(database) == 1


class RendezvousInbox(Database):
    """The inbox, where the first two receipt reads wait for each other (up to a moment),
    so two workers both find the ledger without the alert and both try to create it."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.barrier = threading.Barrier(2, timeout=1.0)
        self.met = False

    @contextmanager
    def read(self) -> Iterator[Session]:
        if not self.barrier.broken and not self.met:
            try:
                self.barrier.wait()
                self.met = True
            except threading.BrokenBarrierError:
                pass  # SQLite: the other worker waits for the ledger's write lock instead
        with super().read() as session:
            yield session


def test_two_workers_racing_create_one_ledger_row_and_one_order(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=1, price=10)
    inbox = RendezvousInbox(inbox_of(database).url)
    paper = PaperBroker(database, Decimal(100000))
    workers = [
        AlertProcessor(database, paper, inbox=inbox, stuck_after=timedelta(seconds=30))
        for _ in range(2)
    ]
    try:
        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(o.status for o in pool.map(lambda w: w.process(key), workers))
    finally:
        inbox.dispose()
    assert outcomes in (["busy", "done"], ["done", "done"])
    assert len(ledger_alerts(database)) == 1
    assert submissions(database) == 1
    if not database.is_sqlite:
        assert inbox.met  # both really found no ledger row and raced to create it


def test_api_shows_a_received_alert_then_its_whole_history(client: FlaskClient, app: Flask) -> None:
    svc = services(app)
    assert post(client, {**SEED, "alert_id": "shown-1"})[0] == 202
    waiting = client.get("/api/alerts/shown-1", headers=API).json
    assert waiting is not None
    assert (waiting["status"], waiting["plan"], waiting["orders"]) == ("accepted", None, [])
    assert waiting["key"] == "shown-1" and waiting["body"]["symbol"] == "AAPL"
    worker = AlertProcessor(
        svc.database, svc.broker, inbox=svc.inbox, stuck_after=timedelta(seconds=30)
    )
    assert worker.process("shown-1").status == "done"
    done = client.get("/api/alerts/shown-1", headers=API).json
    assert done is not None
    assert (done["status"], done["plan"]["kind"], done["attempts"]) == ("done", "add", 1)
    assert [o["status"] for o in done["orders"]] == ["filled"] and len(done["fills"]) == 1
    assert {k: done[k] for k in ("received_at", "body")} == {
        k: waiting[k] for k in ("received_at", "body")
    }
    assert client.get("/api/alerts/never-sent", headers=API).status_code == 404


def test_api_shows_an_alert_expired_on_arrival_from_its_receipt(
    client: FlaskClient,
) -> None:
    old = int(time.time()) - 200
    status, body = post(client, {**SEED, "alert_id": "late-1", "timestamp": old})
    assert (status, body["status"]) == (202, "expired")
    shown = client.get("/api/alerts/late-1", headers=API).json
    assert shown is not None
    assert shown["status"] == "expired" and "old on arrival" in shown["reason"]


def claim_at(database: Database, received_at: datetime, **fields: object) -> Claim:
    decoded = decode_body(json.dumps({**SEED, **fields}).encode())
    return accept_alert(
        inbox_of(database),
        decoded,
        validate_alert(decoded.fields),
        ledger=database,
        source_address="127.0.0.1",
        received_at=received_at,
        policy=replace(POLICY, max_age=timedelta(days=2)),
    )


def test_duplicates_and_conflicts_inside_the_window_a_new_alert_after_it(
    database: Database,
) -> None:
    start = datetime.now(UTC)
    first = claim_at(database, start, alert_id="win-1")
    assert (first.outcome, first.key, first.status) == ("accepted", "win-1", "accepted")
    assert processor(database).process("win-1").status == "done"
    again = claim_at(database, start + timedelta(hours=1), alert_id="win-1")
    # The duplicate says what became of the alert: the ledger's state once a worker took it.
    assert (again.outcome, again.key, again.status) == ("duplicate", "win-1", "done")
    other = claim_at(database, start + timedelta(hours=2), alert_id="win-1", quantity=2)
    assert (other.outcome, other.key) == ("conflict", "win-1")
    after = start + timedelta(hours=25)
    fresh = claim_at(database, after, alert_id="win-1", quantity=2)
    assert fresh.outcome == "accepted"
    assert fresh.key == f"win-1~{int(after.timestamp() * 1000)}"
    with inbox_of(database).read() as session:
        claims = dict(session.execute(select(InboxRecord.key, InboxRecord.dedup_key)).all())
        assert session.scalar(select(func.count()).select_from(InboxRecord)) == 2
    assert claims == {"win-1": None, fresh.key: "win-1"}
    repeat = claim_at(database, after + timedelta(seconds=1), alert_id="win-1", quantity=2)
    assert (repeat.outcome, repeat.key, repeat.status) == ("duplicate", fresh.key, "accepted")


def test_inbox_file_sits_beside_the_ledger(sqlite_database: Database, tmp_path: Path) -> None:
    assert inbox_of(sqlite_database).url == f"sqlite:///{tmp_path / 'ledger-inbox.db'}"
    assert (tmp_path / "ledger-inbox.db").exists()


class WholeSharesOnly(PaperBroker):
    capabilities = replace(PaperBroker.capabilities, fractional_quantities=False)


def test_alert_refused_while_planning_is_recorded_from_its_receipt(database: Database) -> None:
    """Planning refuses it inside the claim that copied the receipt (rolled back): the
    refusal is still recorded in the ledger, with its reason."""
    key = accept(database, symbol="AAPL", action="buy", quantity=1.5, price=10)
    broker = WholeSharesOnly(database, Decimal(100000))
    assert processor(database, broker).process(key).status == "rejected"
    (alert,) = ledger_alerts(database)
    assert (alert.key, alert.status) == (key, "rejected") and "not a whole number" in (
        alert.reason or ""
    )
    assert submissions(database) == 0
