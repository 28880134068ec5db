"""Symbols as TradingView spells them → the account's OANDA instruments, and their units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.oanda.standin import OandaStandIn
from trading.brokers.oanda import OandaBroker
from trading.brokers.oanda_instruments import compact_symbol
from trading.brokers.port import OrderRequest
from trading.errors import OrderRejected


@pytest.mark.parametrize(
    ("symbol", "instrument"),
    [
        ("EURUSD", "EUR_USD"),
        ("EUR/USD", "EUR_USD"),
        ("FX:EURUSD", "EUR_USD"),
        ("OANDA:EURUSD", "EUR_USD"),
        ("eurusd", "EUR_USD"),
        ("EUR_USD", "EUR_USD"),
        ("OANDA:EUR/USD", "EUR_USD"),
        ("SPX500USD", "SPX500_USD"),
        ("OANDA:SPX500USD", "SPX500_USD"),
        ("XAUUSD", "XAU_USD"),
        ("BTCUSD", "BTC_USD"),
        ("USDJPY", "USD_JPY"),
    ],
)
def test_every_spelling_resolves(broker: OandaBroker, symbol: str, instrument: str) -> None:
    assert broker.instrument(symbol).name == instrument


def test_the_instrument_list_is_read_once_per_process(
    broker: OandaBroker, standin: OandaStandIn
) -> None:
    for symbol in ("EURUSD", "FX:EURUSD", "SPX500USD", "XAUUSD"):
        broker.instrument(symbol)
    assert len(standin.requests_to("GET", r"/instruments$")) == 1


@pytest.mark.parametrize("symbol", ["NOTREAL", "OANDA:FOOBAR", "AAPL"])
def test_unknown_instrument_is_refused_before_anything_is_sent(
    broker: OandaBroker, standin: OandaStandIn, symbol: str
) -> None:
    with pytest.raises(OrderRejected, match=r"OANDA offers no instrument .* to this account"):
        broker.submit(OrderRequest("tvb.unknown.entry", symbol, "buy", Decimal(1)))
    assert standin.order_posts() == []


def test_asset_classes(broker: OandaBroker) -> None:
    classes = {i.name: i.asset_class for i in broker.instruments()}
    assert classes["EUR_USD"] == "CASH"
    assert classes["SPX500_USD"] == "CFD"
    assert classes["XAU_USD"] == "CFD"
    assert classes["BTC_USD"] == "CRYPTO"
    assert set(classes.values()) <= broker.capabilities.asset_classes


@pytest.mark.parametrize(
    ("symbol", "quantity", "message"),
    [
        ("EURUSD", "1000.5", "OANDA trades it in whole units"),
        ("SPX500USD", "1.25", "at most 1 decimal place"),
        ("BTCUSD", "0.005", "at most 2 decimal place"),
        ("BTCUSD", "0", "must be a positive number"),
    ],
)
def test_units_the_instrument_cannot_take_are_refused_not_rounded(
    broker: OandaBroker, standin: OandaStandIn, symbol: str, quantity: str, message: str
) -> None:
    request = OrderRequest("tvb.units.entry", symbol, "buy", Decimal(quantity))
    with pytest.raises(OrderRejected, match=message):
        broker.submit(request)
    assert standin.order_posts() == []


@pytest.mark.parametrize(
    ("symbol", "quantity", "units"),
    [("SPX500USD", "1.5", "1.5"), ("BTCUSD", "0.25", "0.25"), ("EURUSD", "1E+3", "1000")],
)
def test_units_within_precision_are_sent_as_given(
    broker: OandaBroker, standin: OandaStandIn, symbol: str, quantity: str, units: str
) -> None:
    broker.submit(OrderRequest("tvb.fraction.entry", symbol, "buy", Decimal(quantity)))
    body = standin.order_posts()[0].body
    assert body is not None and body["order"]["units"] == units


def test_compact_symbol() -> None:
    assert compact_symbol(" oanda:eur/usd ") == "EURUSD"
    assert compact_symbol("SPX500_USD") == "SPX500USD"
