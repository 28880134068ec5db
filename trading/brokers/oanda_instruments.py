"""OANDA instruments: how alert symbols map to them, and the units each one accepts.

TradingView spells one market many ways (``EURUSD``, ``EUR/USD``, ``FX:EURUSD``,
``OANDA:EURUSD``, ``eurusd``); OANDA names it ``EUR_USD``. A symbol is resolved against the
instruments the account may trade (``GET /v3/accounts/{id}/instruments``), never guessed, so
an instrument the account does not offer is refused before anything is sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading.brokers.port import Side
from trading.errors import OrderRejected

# OANDA's instrument types → the asset classes tvbridge speaks of. OANDA offers crypto as CFDs;
# these bases are reported as CRYPTO so planning can tell them apart.
_ASSET_CLASSES = {"CURRENCY": "CASH", "CFD": "CFD", "METAL": "CFD"}
_CRYPTO_BASES = frozenset({"BTC", "ETH", "LTC", "BCH", "XRP", "SOL", "ADA", "DOT", "DOGE"})
# How long the account's instrument list is trusted before a miss makes us read it again.
REFRESH_ON_MISS_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class Instrument:
    """One tradeable instrument of the account, with OANDA's own limits."""

    name: str
    kind: str
    display_name: str
    units_precision: int
    minimum_units: Decimal
    display_precision: int
    # The step an order's units may take (10^-tradeUnitsPrecision); None when OANDA's
    # instrument entry does not say.
    quantity_increment: Decimal | None = None

    @property
    def asset_class(self) -> str:
        base = self.name.split("_", 1)[0]
        if base in _CRYPTO_BASES:
            return "CRYPTO"
        return _ASSET_CLASSES.get(self.kind, "CFD")

    def signed_units(self, side: Side, quantity: Decimal) -> str:
        """OANDA's ``units``: negative for a sell. Refuses what the instrument cannot take."""
        if not quantity.is_finite() or quantity <= 0:
            raise OrderRejected(f"quantity {quantity} for {self.name} must be a positive number")
        plain = quantity.normalize()
        decimals = max(0, -int(plain.as_tuple().exponent))
        if decimals > self.units_precision:
            allowed = (
                "whole units"
                if self.units_precision == 0
                else (f"at most {self.units_precision} decimal place(s)")
            )
            raise OrderRejected(
                f"quantity {quantity} does not fit {self.name}: OANDA trades it in {allowed} "
                "(tvbridge never rounds an order)"
            )
        if plain < self.minimum_units:
            raise OrderRejected(
                f"quantity {quantity} is below {self.name}'s minimum of {self.minimum_units} units"
            )
        text = format(plain, "f")
        return "-" + text if side == "sell" else text

    @classmethod
    def from_oanda(cls, raw: dict[str, Any]) -> Instrument:
        precision = raw.get("tradeUnitsPrecision")
        return cls(
            name=str(raw["name"]),
            kind=str(raw.get("type", "CFD")),
            display_name=str(raw.get("displayName", raw["name"])),
            units_precision=int(raw.get("tradeUnitsPrecision", 0)),
            minimum_units=Decimal(str(raw.get("minimumTradeSize", "0"))),
            display_precision=int(raw.get("displayPrecision", 5)),
            quantity_increment=None if precision is None else Decimal(1).scaleb(-int(precision)),
        )


def compact_symbol(symbol: str) -> str:
    """The letters and digits of a symbol, upper case, without any ``EXCHANGE:`` prefix:
    ``OANDA:EUR/USD`` → ``EURUSD``, ``SPX500_USD`` → ``SPX500USD``."""
    bare = symbol.strip().rpartition(":")[2]
    return "".join(ch for ch in bare.upper() if ch.isalnum())


class InstrumentCatalog:
    """The account's instruments, read once per process and shared by every thread."""

    def __init__(self, fetch: Callable[[], list[dict[str, Any]]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._by_compact: dict[str, Instrument] = {}
        self._loaded_at: float | None = None

    def resolve(self, symbol: str) -> Instrument:
        """The instrument ``symbol`` names, or OrderRejected saying why there is none."""
        wanted = compact_symbol(symbol)
        if not wanted:
            raise OrderRejected(f"symbol {symbol!r} names no instrument")
        found = self._lookup(wanted, reload_if_stale=False)
        if found is None:
            # The account may have been given a new instrument since we read the list.
            found = self._lookup(wanted, reload_if_stale=True)
        if found is None:
            raise OrderRejected(
                f"OANDA offers no instrument {symbol!r} to this account (looked for "
                f"{wanted} among its {len(self._by_compact)} instruments, named like "
                "EUR_USD, SPX500_USD, XAU_USD)"
            )
        return found

    def instruments(self) -> list[Instrument]:
        self._lookup("", reload_if_stale=False)
        return sorted(self._by_compact.values(), key=lambda i: i.name)

    def _lookup(self, compact: str, *, reload_if_stale: bool) -> Instrument | None:
        with self._lock:
            now = time.monotonic()
            stale = self._loaded_at is None or now - self._loaded_at > REFRESH_ON_MISS_AFTER_SECONDS
            if self._loaded_at is None or (reload_if_stale and stale):
                table = [Instrument.from_oanda(raw) for raw in self._fetch()]
                self._by_compact = {compact_symbol(i.name): i for i in table}
                self._loaded_at = now
            return self._by_compact.get(compact)
