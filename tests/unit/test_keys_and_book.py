"""Order references and the paper broker's position arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.brokers.paper_book import Holding, apply_fill, limit_crosses
from trading.keys import canonical_digest, order_reference, strip_broker_suffix


@pytest.mark.parametrize(
    "key",
    [
        "abc",
        "b-" + "0" * 32,
        "AAPL-entry-1764115200",
        "x" * 200,
        "has:colon",
        "ünïcode",
        "x-abc",
        "a~1764115200000",
    ],
)
def test_order_reference_is_bounded_and_colon_free(key: str) -> None:
    reference = order_reference(key, "entry")
    assert len(reference) <= 64
    assert ":" not in reference
    assert reference.endswith(".entry")


def test_order_reference_differs_per_leg_and_key() -> None:
    refs = {
        order_reference(k, leg)
        for k in ("a", "b", "x" * 100, "y" * 100)
        for leg in ("entry", "close")
    }
    assert len(refs) == 8


def test_order_reference_rejects_odd_leg_names() -> None:
    with pytest.raises(ValueError, match="leg name"):
        order_reference("a", "Entry:1")


def test_ib_suffix_is_stripped() -> None:
    ref = order_reference("a", "entry")
    assert strip_broker_suffix(ref + ":7") == ref


def test_digest_ignores_key_order() -> None:
    assert canonical_digest({"a": 1, "b": "2"}) == canonical_digest({"b": "2", "a": 1})


D = Decimal


@pytest.mark.parametrize(
    ("before", "side", "qty", "price", "after", "realized", "cash"),
    [
        ((0, 0), "buy", 10, 100, (10, 100), 0, -1000),
        ((10, 100), "buy", 10, 110, (20, 105), 0, -1100),
        ((10, 100), "sell", 4, 110, (6, 100), 40, 440),
        ((10, 100), "sell", 10, 90, (0, 0), -100, 900),
        ((10, 100), "sell", 15, 120, (-5, 120), 200, 1800),
        ((0, 0), "sell", 5, 50, (-5, 50), 0, 250),
        ((-5, 50), "sell", 5, 60, (-10, 55), 0, 300),
        ((-10, 55), "buy", 4, 45, (-6, 55), 40, -180),
        ((-6, 55), "buy", 10, 40, (4, 40), 90, -400),
        ((D("0.5"), 100), "buy", D("0.25"), 130, (D("0.75"), 110), 0, D("-32.5")),
    ],
)
def test_fill_arithmetic(
    before: tuple,
    side: str,
    qty: object,
    price: object,
    after: tuple,
    realized: object,
    cash: object,
) -> None:
    effect = apply_fill(Holding(D(before[0]), D(before[1])), side, D(qty), D(price))
    assert (effect.holding.quantity, effect.holding.avg_price) == (D(after[0]), D(after[1]))
    assert effect.realized_pnl == D(realized)
    assert effect.cash_change == D(cash)


def test_fill_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        apply_fill(Holding(D(0), D(0)), "buy", D(0), D(1))


@pytest.mark.parametrize(
    ("side", "limit", "market", "crosses"),
    [
        ("buy", 10, 9, True),
        ("buy", 10, 10, True),
        ("buy", 10, 11, False),
        ("sell", 10, 11, True),
        ("sell", 10, 10, True),
        ("sell", 10, 9, False),
    ],
)
def test_limit_crossing(side: str, limit: int, market: int, crosses: bool) -> None:
    assert limit_crosses(side, D(limit), D(market)) is crosses
