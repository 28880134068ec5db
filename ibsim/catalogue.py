"""The instruments the simulator knows, with IB's identifiers and trading details."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace

MONTH_CODES = "FGHJKMNQUVXZ"
QUARTERLY = (3, 6, 9, 12)
ALL_MONTHS = tuple(range(1, 13))

STOCK_ORDER_TYPES = "ACTIVETIM,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,GTC,GTD,IOC,LIT,LMT,MIT,MKT,MOC,MTL,NONALGO,OCA,REL,SCALE,STP,STPLMT,TRAIL,TRAILLIMIT,WHATIF"  # noqa: E501
FUTURE_ORDER_TYPES = "ACTIVETIM,ADJUST,ALERT,ALLOC,DAY,GTC,GTD,IOC,LIT,LMT,MIT,MKT,OCA,STP,STPLMT,TRAIL,TRAILLIMIT,WHATIF"  # noqa: E501


@dataclass(frozen=True)
class Instrument:
    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    primary_exchange: str = ""
    multiplier: str = ""
    last_trade_date: str = ""
    contract_month: str = ""
    min_tick: float = 0.01
    long_name: str = ""
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    time_zone: str = "US/Eastern"
    valid_exchanges: str = ""
    order_types: str = STOCK_ORDER_TYPES
    stock_type: str = ""
    default_price: float = 100.0
    # A continuous future resolves to its front month but keeps CONTFUT as its type.
    is_continuous: bool = False

    @property
    def size_multiplier(self) -> float:
        return float(self.multiplier) if self.multiplier else 1.0

    @property
    def routing_exchange(self) -> str:
        return self.exchange


def _stock(
    con_id: int,
    symbol: str,
    primary: str,
    name: str,
    price: float,
    industry: str = "Technology",
    stock_type: str = "COMMON",
) -> Instrument:
    return Instrument(
        con_id=con_id,
        symbol=symbol,
        sec_type="STK",
        exchange="SMART",
        currency="USD",
        local_symbol=symbol,
        trading_class=symbol,
        primary_exchange=primary,
        long_name=name,
        industry=industry,
        valid_exchanges=f"SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,{primary},IEX",
        stock_type=stock_type,
        default_price=price,
    )


def _forex(con_id: int, base: str, quote: str, price: float) -> Instrument:
    pair = f"{base}.{quote}"
    return Instrument(
        con_id=con_id,
        symbol=base,
        sec_type="CASH",
        exchange="IDEALPRO",
        currency=quote,
        local_symbol=pair,
        trading_class=pair,
        min_tick=0.00005 if quote != "JPY" else 0.005,
        long_name=f"{base} {quote}",
        valid_exchanges="IDEALPRO",
        order_types="ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,GTC,GTD,IOC,LMT,MKT,NONALGO,OCA,STP,STPLMT,TRAIL,TRAILLIMIT,WHATIF",
        default_price=price,
    )


def _crypto(con_id: int, symbol: str, name: str, price: float) -> Instrument:
    return Instrument(
        con_id=con_id,
        symbol=symbol,
        sec_type="CRYPTO",
        exchange="PAXOS",
        currency="USD",
        local_symbol=f"{symbol}.USD",
        trading_class=symbol,
        min_tick=0.25 if symbol == "BTC" else 0.01,
        long_name=name,
        valid_exchanges="PAXOS",
        order_types="DAY,IOC,LMT,MKT,MINQTY,GTC,STP,STPLMT",
        default_price=price,
    )


STATIC_INSTRUMENTS: tuple[Instrument, ...] = (
    _stock(265598, "AAPL", "NASDAQ", "APPLE INC", 190.0),
    _stock(272093, "MSFT", "NASDAQ", "MICROSOFT CORP", 410.0),
    _stock(4815747, "NVDA", "NASDAQ", "NVIDIA CORP", 120.0),
    _stock(3691937, "AMZN", "NASDAQ", "AMAZON.COM INC", 180.0, "Communications"),
    _stock(76792991, "TSLA", "NASDAQ", "TESLA INC", 250.0, "Consumer, Cyclical"),
    _stock(8314, "IBM", "NYSE", "INTL BUSINESS MACHINES CORP", 170.0),
    _stock(1520593, "JPM", "NYSE", "JPMORGAN CHASE & CO", 200.0, "Financial"),
    _stock(72063691, "BRK B", "NYSE", "BERKSHIRE HATHAWAY INC-CL B", 410.0, "Financial"),
    _stock(756733, "SPY", "ARCA", "SPDR S&P 500 ETF TRUST", 520.0, "", "ETF"),
    _stock(320227571, "QQQ", "NASDAQ", "INVESCO QQQ TRUST SERIES 1", 440.0, "", "ETF"),
    _stock(4391, "AMD", "NASDAQ", "ADVANCED MICRO DEVICES", 160.0),
    _stock(270639, "INTC", "NASDAQ", "INTEL CORP", 30.0),
    _stock(272800, "ORCL", "NYSE", "ORACLE CORP", 125.0),
    _forex(12087792, "EUR", "USD", 1.085),
    _forex(12087797, "GBP", "USD", 1.27),
    _forex(15016059, "USD", "JPY", 151.2),
    _forex(14433401, "AUD", "USD", 0.66),
    _forex(15016062, "USD", "CAD", 1.36),
    _forex(12087820, "USD", "CHF", 0.9),
    _crypto(479624278, "BTC", "Bitcoin", 65000.0),
    _crypto(495759171, "ETH", "Ethereum", 3200.0),
    Instrument(
        con_id=416904,
        symbol="SPX",
        sec_type="IND",
        exchange="CBOE",
        currency="USD",
        local_symbol="SPX",
        trading_class="SPX",
        long_name="S&P 500 Stock Index",
        valid_exchanges="CBOE",
        order_types="",
        default_price=5200.0,
    ),
)


@dataclass(frozen=True)
class FutureRoot:
    symbol: str
    exchange: str
    multiplier: str
    min_tick: float
    months: tuple[int, ...]
    name: str
    price: float
    con_id_base: int


FUTURE_ROOTS: tuple[FutureRoot, ...] = (
    FutureRoot("ES", "CME", "50", 0.25, QUARTERLY, "E-mini S&P 500", 5210.0, 620_000_000),
    FutureRoot("MES", "CME", "5", 0.25, QUARTERLY, "Micro E-Mini S&P 500", 5210.0, 621_000_000),
    FutureRoot("NQ", "CME", "20", 0.25, QUARTERLY, "E-mini Nasdaq-100", 18200.0, 622_000_000),
    FutureRoot("YM", "CBOT", "5", 1.0, QUARTERLY, "Mini Sized Dow Jones", 39000.0, 623_000_000),
    FutureRoot("ZN", "CBOT", "1000", 0.015625, QUARTERLY, "10-Year T-Note", 110.5, 624_000_000),
    FutureRoot("CL", "NYMEX", "1000", 0.01, ALL_MONTHS, "Light Sweet Crude Oil", 78.0, 625_000_000),
)


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (calendar.FRIDAY - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def _last_trade_date(root: FutureRoot, year: int, month: int) -> dt.date:
    if root.symbol == "CL":
        # Crude stops trading in the month before delivery, around the 20th.
        prior = dt.date(year, month, 1) - dt.timedelta(days=1)
        return _business_day_on_or_before(prior.replace(day=20))
    if root.symbol == "ZN":
        last = calendar.monthrange(year, month)[1]
        return _business_day_on_or_before(dt.date(year, month, last) - dt.timedelta(days=9))
    return _third_friday(year, month)


def _business_day_on_or_before(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def future_expiries(root: FutureRoot, today: dt.date, count: int = 4) -> list[Instrument]:
    """The next ``count`` listed months of a future, front month first."""
    found: list[Instrument] = []
    year, month = today.year, today.month
    while len(found) < count:
        if month in root.months:
            last = _last_trade_date(root, year, month)
            if last >= today:
                found.append(_future(root, year, month, last))
        month += 1
        if month > 12:
            month, year = 1, year + 1
    return found


def _future(root: FutureRoot, year: int, month: int, last: dt.date) -> Instrument:
    code = MONTH_CODES[month - 1]
    return Instrument(
        con_id=root.con_id_base + (year % 100) * 100 + month,
        symbol=root.symbol,
        sec_type="FUT",
        exchange=root.exchange,
        currency="USD",
        local_symbol=f"{root.symbol}{code}{year % 10}",
        trading_class=root.symbol,
        multiplier=root.multiplier,
        last_trade_date=last.strftime("%Y%m%d"),
        contract_month=f"{year}{month:02d}",
        min_tick=root.min_tick,
        long_name=root.name,
        time_zone="US/Central",
        valid_exchanges=root.exchange,
        order_types=FUTURE_ORDER_TYPES,
        default_price=root.price,
    )


# Exchange names IB has retired (GLOBEX became CME): IB no longer finds anything on them, so a
# bridge still sending them must fail here as it would against IB, not quietly work.
RETIRED_EXCHANGES = frozenset({"GLOBEX"})


def names_retired_exchange(request: dict[str, str]) -> bool:
    return request.get("exchange", "").strip().upper() in RETIRED_EXCHANGES


class Catalogue:
    """Looks instruments up the way IB's contract search does."""

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self._by_con_id: dict[int, Instrument] = {}
        self._continuous: dict[str, Instrument] = {}
        for instrument in STATIC_INSTRUMENTS:
            self._by_con_id[instrument.con_id] = instrument
        for root in FUTURE_ROOTS:
            months = future_expiries(root, today)
            for instrument in months:
                self._by_con_id[instrument.con_id] = instrument
            self._continuous[root.symbol] = replace(
                months[0], sec_type="CONTFUT", is_continuous=True
            )

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_con_id.values())

    def by_con_id(self, con_id: int) -> Instrument | None:
        return self._by_con_id.get(con_id)

    def front_month(self, symbol: str) -> Instrument | None:
        continuous = self._continuous.get(symbol.upper())
        return None if continuous is None else self._by_con_id[continuous.con_id]

    def by_symbol(self, symbol: str) -> Instrument | None:
        """The instrument an admin or a test means by a bare symbol like ``EURUSD``."""
        wanted = symbol.upper().replace("/", "").replace(".", "")
        for instrument in self._by_con_id.values():
            names = {
                instrument.symbol.upper(),
                instrument.local_symbol.upper(),
                instrument.local_symbol.upper().replace(".", ""),
            }
            if wanted in names or symbol.upper() in names:
                return instrument
        return self.front_month(wanted)

    def search(self, request: dict[str, str]) -> list[Instrument]:
        """Every instrument matching the request's filled-in fields."""
        if names_retired_exchange(request):
            return []
        con_id = int(float(request.get("conId") or 0))
        sec_type = request.get("secType", "").upper()
        if sec_type == "CONTFUT":
            continuous = self._continuous.get(request.get("symbol", "").upper())
            if continuous is None and con_id:
                continuous = next(
                    (c for c in self._continuous.values() if c.con_id == con_id), None
                )
            return [continuous] if continuous else []
        if con_id:
            found = self._by_con_id.get(con_id)
            return [found] if found and _matches(found, request, by_id=True) else []
        return [i for i in self._by_con_id.values() if _matches(i, request, by_id=False)]


def _matches(instrument: Instrument, request: dict[str, str], by_id: bool) -> bool:
    def given(name: str) -> str:
        return request.get(name, "").strip().upper()

    if given("secType") and given("secType") != instrument.sec_type:
        return False
    if by_id:
        return True
    symbol = given("symbol")
    local = given("localSymbol")
    if not symbol and not local:
        return False
    if symbol and symbol != instrument.symbol.upper():
        return False
    if local and local != instrument.local_symbol.upper():
        return False
    checks = (
        ("currency", instrument.currency),
        ("tradingClass", instrument.trading_class),
        ("multiplier", instrument.multiplier),
    )
    if any(given(name) and given(name) != value.upper() for name, value in checks):
        return False
    exchange = given("exchange")
    known = {
        instrument.exchange,
        instrument.primary_exchange,
        *instrument.valid_exchanges.split(","),
    }
    if exchange and exchange not in known:
        return False
    primary = given("primaryExchange")
    if primary and instrument.primary_exchange and primary != instrument.primary_exchange:
        return False
    expiry = given("lastTradeDateOrContractMonth")
    return (
        not expiry
        or instrument.last_trade_date.startswith(expiry)
        or (instrument.contract_month.startswith(expiry))
    )
