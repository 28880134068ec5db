"""TradingView symbols → qualified IB contracts (stocks and forex), cached.

``NASDAQ:AAPL`` → a SMART-routed stock with NASDAQ as primary exchange; ``BRK.B`` → ``BRK B``
(IB writes share classes with a space); ``EURUSD``, ``FX:EURUSD``, ``EUR/USD`` → CASH on
IDEALPRO. An alert's explicit ``sec_type``, ``exchange`` and ``currency`` win. Every contract
is confirmed with IB once (``reqContractDetails``) and then served from the cache; an unknown
or ambiguous contract is refused with IB's own reason.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from decimal import Decimal

from ib_async import IB, Contract, Forex, Stock
from ib_async.wrapper import RequestError

from broker_gateway.codes import CONTRACT_UNKNOWN
from broker_gateway.pacing import Pacer

log = logging.getLogger(__name__)

CURRENCIES = frozenset(
    {"USD", "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "NZD", "SEK", "NOK", "DKK", "HKD", "SGD"}
    | {"MXN", "CNH", "ZAR", "PLN", "CZK", "HUF", "ILS", "TRY"}
)
# TradingView exchange prefixes that mean "a currency pair", not a venue IB knows.
FOREX_SOURCES = frozenset({"FX", "FX_IDC", "OANDA", "FXCM", "SAXO", "IDEALPRO", "FOREXCOM"})
# TradingView prefixes that are a stock's primary listing; IB routes SMART with it.
PRIMARY_EXCHANGES = {
    "NASDAQ": "NASDAQ",
    "NYSE": "NYSE",
    "ARCA": "ARCA",
    "NYSEARCA": "ARCA",
    "AMEX": "AMEX",
    "BATS": "BATS",
    "CBOE": "BATS",
}
SUPPORTED_SEC_TYPES = frozenset({"STK", "CASH"})


class ContractRefused(Exception):
    """IB does not know the contract, or it is ambiguous; ``code`` is IB's error code."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class ContractQuery:
    symbol: str
    exchange: str | None = None
    sec_type: str | None = None
    currency: str | None = None


def looks_like_forex(query: ContractQuery) -> bool:
    if query.sec_type:
        return query.sec_type == "CASH"
    pair = query.symbol.replace("/", "").replace(".", "")
    if (query.exchange or "").upper() in FOREX_SOURCES:
        return True
    return len(pair) == 6 and pair[:3] in CURRENCIES and pair[3:] in CURRENCIES


def build_contract(query: ContractQuery) -> Contract:
    """The unqualified contract an alert names (pure: no IB call)."""
    sec_type = (query.sec_type or "").upper()
    if sec_type and sec_type not in SUPPORTED_SEC_TYPES:
        raise ContractRefused(f"sec_type {sec_type} is not supported by the IBKR broker yet")
    exchange = (query.exchange or "").upper()
    if looks_like_forex(query):
        pair = query.symbol.upper().replace("/", "").replace(".", "")
        if len(pair) != 6:
            raise ContractRefused(f"{query.symbol!r} is not a currency pair like EURUSD")
        venue = "IDEALPRO" if not exchange or exchange in FOREX_SOURCES else exchange
        return Forex(pair, exchange=venue, currency=(query.currency or pair[3:]).upper())
    symbol = query.symbol.upper().replace(".", " ")
    currency = (query.currency or "USD").upper()
    if exchange in PRIMARY_EXCHANGES:
        return Stock(symbol, "SMART", currency, primaryExchange=PRIMARY_EXCHANGES[exchange])
    return Stock(symbol, exchange or "SMART", currency)


def contract_symbol(contract: Contract) -> str:
    """The symbol as alerts and the ledger write it (``BRK.B``, ``EURUSD``)."""
    if contract.secType == "CASH":
        return f"{contract.symbol}{contract.currency}"
    return contract.symbol.replace(" ", ".")


class ContractResolver:
    """Qualifies contracts with IB once and caches them by query and by conId."""

    def __init__(self, ib: IB, pacer: Pacer) -> None:
        self._ib = ib
        self._pacer = pacer
        self._by_query: dict[ContractQuery, int] = {}
        self._by_con_id: dict[int, Contract] = {}
        # From the same contract details; IB sends it from server version 164 on.
        self._size_increment: dict[int, Decimal] = {}

    async def resolve(self, query: ContractQuery) -> Contract:
        con_id = self._by_query.get(query)
        if con_id is not None:
            return self._by_con_id[con_id]
        wanted = build_contract(query)
        await self._pacer.acquire()
        try:
            details = await self._ib.reqContractDetailsAsync(wanted)
        except RequestError as error:
            if error.code in CONTRACT_UNKNOWN:
                raise ContractRefused(
                    f"IB error {error.code}: {error.message}", error.code
                ) from error
            raise
        if not details:
            raise ContractRefused(f"IB knows no contract for {query.symbol} ({wanted})", 200)
        if len(details) > 1:
            choices = ", ".join(
                f"{d.contract.symbol}@{d.contract.primaryExchange or d.contract.exchange}"
                for d in details[:5]
                if d.contract
            )
            raise ContractRefused(
                f"{query.symbol} is ambiguous at IB ({choices}); name the exchange or currency",
                200,
            )
        contract = details[0].contract
        assert contract is not None  # noqa: S101 - reqContractDetails always fills it
        if wanted.exchange == "SMART":
            # Keep SMART routing; the details carry the listing exchange.
            contract.exchange = "SMART"
        self._by_query[query] = contract.conId
        self._by_con_id[contract.conId] = contract
        increment = float(details[0].sizeIncrement or 0)
        if math.isfinite(increment) and 0 < increment < 1e300:
            self._size_increment[contract.conId] = Decimal(repr(increment))
        log.info("contract %s resolved to conId %s", query.symbol, contract.conId)
        return contract

    def cached(self, con_id: int) -> Contract | None:
        return self._by_con_id.get(con_id)

    def size_increment(self, con_id: int) -> Decimal | None:
        """The order size step IB gave for the contract; None when IB did not say."""
        return self._size_increment.get(con_id)
