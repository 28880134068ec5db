"""Ledger tables. Fields that mirror a broker keep the broker's meaning; ours are ours."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from trading.ledger.types import ExactDecimal, UTCDateTime


class Base(DeclarativeBase):
    pass


class AlertStatus:
    """An alert's life: accepted → processing ⇄ waiting → done | rejected | expired | failed.

    The transitions are ``trading.lifecycle``'s; ``waiting`` carries its reason in
    ``reason`` (the problem it waits out), never a state written into text.
    """

    ACCEPTED = "accepted"
    WAITING = "waiting"
    PROCESSING = "processing"
    DONE = "done"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    FINAL = frozenset({DONE, REJECTED, EXPIRED, FAILED})
    # Waiting for a message (the first, or a retry's): the sweeper re-sends a lost one.
    QUEUED = frozenset({ACCEPTED, WAITING})


class OrderStatus:
    """Our view of an order. ``submitting`` means the broker may or may not have it."""

    PLANNED = "planned"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    OPEN = frozenset({SUBMITTED, PARTIALLY_FILLED})
    FINAL = frozenset({FILLED, CANCELLED, REJECTED, EXPIRED})


class ReceiptColumns:
    """The alert as it arrived: the inbox's receipt, copied as is into the ledger's row."""

    key_kind: Mapped[str] = mapped_column(String(10))  # explicit | derived
    body_digest: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # JSON, secret removed
    body_format: Mapped[str] = mapped_column(String(20))
    parsed: Mapped[str] = mapped_column(Text)  # the validated Alert as JSON
    source_address: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alert_time: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dedup_until: Mapped[datetime] = mapped_column(UTCDateTime)

    def receipt_fields(self) -> dict[str, Any]:
        """These columns' values, to copy a receipt into the ledger (or back)."""
        return {name: getattr(self, name) for name in ReceiptColumns.__annotations__}


class AlertRecord(ReceiptColumns, Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The alert's identity for ever: task id and stem of its order references.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # Deduplication is the inbox's; copies taken from it leave this NULL. Rows recorded
    # before the inbox existed may still hold a claim until it is released.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    alert_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.ACCEPTED)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The instrument lock this alert waits for while another alert holds it: the holder
    # wakes the oldest waiter when it ends.
    waiting_on: Mapped[str | None] = mapped_column(String(100), index=True)

    plan: Mapped[PlanRecord | None] = relationship(back_populates="alert", uselist=False)
    orders: Mapped[list[OrderRecord]] = relationship(
        back_populates="alert", order_by="OrderRecord.id"
    )

    __table_args__ = (Index("ix_alerts_status_received", "status", "received_at"),)


class InboxRecord(ReceiptColumns, Base):
    """The webhook's receipt of an accepted alert, written before the 202 and never changed
    but for its deduplication claim and the hand-over mark.

    It lives in the inbox database, which only the web writes (a SQLite file of its own,
    or this table in the PostgreSQL ledger): accepting an alert never waits for a worker.
    Workers copy it into ``alerts`` when they first take the alert; from then on the
    ledger's row is the alert's record and this one only holds its deduplication claim.
    """

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # The claim that deduplicates repeats; released (NULL) once the window has passed.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    alert_id: Mapped[str] = mapped_column(String(200), index=True)
    # On arrival: accepted, or expired (too old to trade, never handed over).
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    # Set by the sweeper once the ledger holds the alert; NULL = the sweeper still owes it.
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_inbox_pending", "handed_over_at", "received_at"),)


class PlanRecord(Base):
    """What an alert decided to do, recorded before the first broker call.

    A plan moves through stages (``trading.plan_stages``): cancel our working orders on
    the instrument, then place what takes the position to ``target_position``. Legs whose
    size depends on the position after the cancels are created when that stage begins.
    """

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id"), unique=True)
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # add | target | close | reverse | cancel | nothing
    detail: Mapped[str] = mapped_column(Text)  # JSON: the facts the plan was made from
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage: Mapped[str | None] = mapped_column(String(20))
    # The broker's position the plan ends at (the strategy's own when ``strategy`` is set).
    target_position: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    instrument_id: Mapped[str | None] = mapped_column(String(64))
    strategy: Mapped[str | None] = mapped_column(String(64))
    # The strategy's idea of its position before this alert minus ours (None: agreed).
    drift: Mapped[Decimal | None] = mapped_column(ExactDecimal)

    alert: Mapped[AlertRecord] = relationship(back_populates="plan")


class OrderRecord(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_pk: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    leg: Mapped[str] = mapped_column(String(16))
    broker: Mapped[str] = mapped_column(String(10))
    order_ref: Mapped[str] = mapped_column(String(64), unique=True)
    broker_order_id: Mapped[str | None] = mapped_column(String(64))
    perm_id: Mapped[str | None] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PLANNED)
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    avg_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    submitting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    trail_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    trail_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    time_in_force: Mapped[str | None] = mapped_column(String(4))
    outside_rth: Mapped[bool] = mapped_column(Boolean, default=False)
    # A bracket's exits: the entry leg they protect and the one-cancels-other group.
    parent_leg: Mapped[str | None] = mapped_column(String(16))
    oca_group: Mapped[str | None] = mapped_column(String(64))
    # The instrument as the broker identifies it, and the strategy the fills belong to.
    instrument_id: Mapped[str | None] = mapped_column(String(64), index=True)
    strategy: Mapped[str | None] = mapped_column(String(64), index=True)

    alert: Mapped[AlertRecord | None] = relationship(back_populates="orders")
    fills: Mapped[list[FillRecord]] = relationship(back_populates="order", order_by="FillRecord.id")

    __table_args__ = (UniqueConstraint("alert_pk", "leg", name="uq_orders_alert_leg"),)


class FillRecord(Base):
    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    broker_fill_id: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    commission: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    filled_at: Mapped[datetime] = mapped_column(UTCDateTime)

    order: Mapped[OrderRecord] = relationship(back_populates="fills")

    __table_args__ = (UniqueConstraint("order_pk", "broker_fill_id", name="uq_fills_order_fill"),)


class OrderEventRecord(Base):
    """Everything that happened to an order, in arrival order."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_pk: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    order_ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RejectionRecord(Base):
    """A webhook request answered 4xx, so users can see why an alert did nothing.
    Written by the web into the inbox database."""

    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status_code: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    source_address: Mapped[str] = mapped_column(String(64))
    excerpt: Mapped[str] = mapped_column(Text)


class PaperAccount(Base):
    __tablename__ = "paper_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    starting_cash: Mapped[Decimal] = mapped_column(ExactDecimal)
    cash: Mapped[Decimal] = mapped_column(ExactDecimal)
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperPosition(Base):
    __tablename__ = "paper_positions"

    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    avg_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperPrice(Base):
    __tablename__ = "paper_prices"

    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperOrder(Base):
    """The paper broker's own order book, keyed like a real broker's by our reference."""

    __tablename__ = "paper_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    symbol: Mapped[str] = mapped_column(String(64), index=True)
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(20))
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    avg_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    trail_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    trail_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    time_in_force: Mapped[str] = mapped_column(String(4), default="day")
    outside_rth: Mapped[bool] = mapped_column(Boolean, default=False)
    # A bracket child works only once its parent has filled; a fill in an OCA group
    # cancels the group's other orders.
    parent_reference: Mapped[str | None] = mapped_column(String(64))
    oca_group: Mapped[str | None] = mapped_column(String(64), index=True)
    # Stop-limit: set once the stop has triggered (the order then works as a limit).
    # Trailing stop: the best price seen since it started working, which the stop follows.
    triggered: Mapped[bool] = mapped_column(Boolean, default=False)
    trail_extreme: Mapped[Decimal | None] = mapped_column(ExactDecimal)


class InstrumentLock(Base):
    """One alert at a time per broker and instrument, across every worker.

    ``holder`` (an alert key) owns the instrument until ``until``; the holder renews the
    lease as it works and releases it when its plan ends. ``last_alert_time`` is the
    newest alert time processed on the instrument: an older alert arriving later is out
    of order.
    """

    __tablename__ = "instrument_locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_alert_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_alert_key: Mapped[str | None] = mapped_column(String(200))


class PaperSubmission(Base):
    """Every call that reached the paper broker's submit, written before it looks for an
    existing order by reference, so a resubmission shows here even though it places nothing.
    Faults are tested against this record, as against the requests a real broker received."""

    __tablename__ = "paper_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), index=True)
    pid: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TradingHalt(Base):
    """The kill switch: one row. While ``halted``, nothing that opens or adds to a position
    is sent (closes and a bracket's exits still are); it survives every restart."""

    __tablename__ = "trading_halt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    halted: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    by: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskDay(Base):
    """The account's value at the first look of each UTC day: the daily loss is counted
    from it."""

    __tablename__ = "risk_days"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    start_net_liquidation: Mapped[Decimal] = mapped_column(ExactDecimal)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
