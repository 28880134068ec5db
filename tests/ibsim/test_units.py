"""Socket-free checks of the wire helpers, pacing, the catalogue and the engine."""

from __future__ import annotations

import datetime as dt
import math
import struct

import pytest
from ib_async import LimitOrder, MarketOrder, Stock

from ibsim.catalogue import Catalogue
from ibsim.engine import Engine, EngineConfig
from ibsim.pacing import TokenBucket
from ibsim.place_order import decode_place_order
from ibsim.wire import (
    UNSET_DOUBLE,
    UNSET_INTEGER,
    FrameReader,
    Greeting,
    ProtocolError,
    choose_server_version,
    encode_field,
    encode_message,
)
from tests.ibsim.test_place_order_golden import client_bytes

NOW = dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC).timestamp()
AAPL = Stock("AAPL", "SMART", "USD")


def test_field_encoding() -> None:
    assert [encode_field(v) for v in (None, True, False, 3, UNSET_INTEGER)] == [
        "",
        "1",
        "0",
        "3",
        "",
    ]
    assert encode_field(UNSET_DOUBLE) == "" and encode_field(math.inf) == "Infinite"
    assert encode_field(0.1 + 0.2) == "0.3" and encode_field(190.0) == "190.0"
    assert encode_message([9, 1, 5]) == struct.pack(">I", 6) + b"9\x001\x005\x00"


def test_frame_reader_handles_split_and_joined_frames() -> None:
    greeting = b"API\0" + struct.pack(">I", 9) + b"v157..178"
    data = greeting + encode_message([71, 2, 7, ""]) + encode_message([49, 1])
    reader = FrameReader()
    for byte in data[:-3]:
        reader.feed(bytes([byte]))
    assert reader.read_greeting() == Greeting(157, 178, "")
    assert reader.read_message() == ["71", "2", "7", ""]
    assert reader.read_message() is None
    reader.feed(data[-3:])
    assert reader.read_message() == ["49", "1"]
    with pytest.raises(ProtocolError):
        bad = FrameReader()
        bad.feed(b"GET / HTTP/1.1\r\n")
        bad.read_greeting()


def test_version_choice() -> None:
    assert choose_server_version(157, Greeting(157, 178, "")) == 157
    assert choose_server_version(178, Greeting(157, 176, "")) == 176
    assert choose_server_version(170, Greeting(100, 157, "")) == 157
    assert choose_server_version(157, Greeting(180, 190, "")) is None
    assert choose_server_version(178, Greeting(100, 151, "")) is None


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=50, burst=10, clock=lambda: now[0])
    assert all(bucket.allow() for _ in range(10))
    assert not bucket.allow()
    now[0] += 0.1  # five tokens back
    assert sum(bucket.allow() for _ in range(10)) == 5
    assert bucket.rejected == 6


def test_futures_calendar() -> None:
    catalogue = Catalogue(dt.date(2026, 11, 26))
    es = catalogue.front_month("ES")
    assert es is not None
    assert (es.local_symbol, es.last_trade_date) == ("ESZ6", "20261218")
    months = [i.local_symbol for i in catalogue.search({"symbol": "ES", "secType": "FUT"})]
    assert months == ["ESZ6", "ESH7", "ESM7", "ESU7"]
    cl = catalogue.front_month("CL")
    assert cl is not None and cl.local_symbol == "CLF7" and cl.last_trade_date == "20261218"
    assert catalogue.by_symbol("EURUSD") is not None


def _engine(seed: int = 0) -> Engine:
    return Engine(EngineConfig(seed=seed), clock=lambda: NOW)


def _ticket(order_id: int, order: object) -> object:
    return decode_place_order(client_bytes(157, order_id, AAPL, order), 157)  # type: ignore[arg-type]


def test_engine_is_deterministic_with_an_injected_clock() -> None:
    runs = []
    for seed in (1, 1, 2):
        engine = _engine(seed)
        engine.place_order(1, _ticket(1, MarketOrder("BUY", 10)))  # type: ignore[arg-type]
        [fill] = engine.fills
        assert fill.time == NOW
        runs.append((fill.exec_id, fill.perm_id))
    assert runs[0] == runs[1] != runs[2]


def test_engine_books_cash_positions_and_realized_pnl() -> None:
    engine = _engine()
    engine.place_order(1, _ticket(1, MarketOrder("BUY", 100)))  # type: ignore[arg-type]
    engine.set_price(265598, 200.0)
    engine.place_order(1, _ticket(2, MarketOrder("SELL", 40)))  # type: ignore[arg-type]
    account = engine.accounts["DU1234567"]
    position = account.positions[265598]
    assert position.quantity == 60
    assert position.avg_cost == pytest.approx(190.01)
    assert account.realized_today == pytest.approx((200 - 190.01) * 40 - 1.0)
    assert account.cash == pytest.approx(1_000_000 - 19_000 - 1 + 8_000 - 1)


def test_engine_rejects_and_duplicate_ids() -> None:
    engine = _engine()
    errors: list[tuple[int, int]] = []

    class Listener:
        def order_error(self, client_id: int, order_id: int, code: int, message: str) -> None:
            errors.append((order_id, code))

        def __getattr__(self, name: str) -> object:
            return lambda *args: None

    engine.listeners.append(Listener())  # type: ignore[arg-type]
    engine.place_order(1, _ticket(5, LimitOrder("BUY", 1, 190.003)))  # type: ignore[arg-type]
    engine.place_order(1, _ticket(4, LimitOrder("BUY", 1, 190.0)))  # type: ignore[arg-type]
    engine.place_order(2, _ticket(4, LimitOrder("BUY", 1, 190.0)))  # type: ignore[arg-type]
    engine.cancel_order(2, 99)
    assert errors == [(5, 110), (4, 103), (99, 10147)]
