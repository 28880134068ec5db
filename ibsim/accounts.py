"""Cash, positions, average cost, commissions, account values and PnL."""

from __future__ import annotations

from collections.abc import Callable

from ibsim.catalogue import Instrument
from ibsim.model import Account, Position

BASE_CURRENCY = "USD"
STOCK_MARGIN = 0.25
FUTURE_MARGIN = 0.05
LEVERAGE = 4.0


def commission_for(instrument: Instrument, quantity: float, price: float) -> float:
    """IB's tiered-ish pricing, close enough to make commissions visible and plausible."""
    notional = abs(quantity) * price * instrument.size_multiplier
    if instrument.sec_type == "STK":
        return round(min(max(0.005 * abs(quantity), 1.0), 0.01 * notional), 4)
    if instrument.sec_type == "CASH":
        return round(max(notional * 0.00002, 2.0), 4)
    if instrument.sec_type == "FUT":
        return round(0.85 * abs(quantity), 4)
    if instrument.sec_type == "CRYPTO":
        return round(max(notional * 0.0018, 1.75), 4)
    return 1.0


def initial_margin_change(
    instrument: Instrument, held: float, signed_quantity: float, price: float
) -> float:
    """How much an order would add to (or free from) the initial margin requirement."""
    after = held + signed_quantity
    rate = FUTURE_MARGIN if instrument.sec_type == "FUT" else STOCK_MARGIN
    return (abs(after) - abs(held)) * price * instrument.size_multiplier * rate


class Ledger:
    """Books fills against accounts; prices come from the engine's price table."""

    def __init__(
        self,
        accounts: dict[str, Account],
        price_of: Callable[[int], float],
        instrument_of: Callable[[int], Instrument | None],
        usd_rate_of: Callable[[str], float | None],
    ) -> None:
        self.accounts = accounts
        self._price_of = price_of
        self._instrument_of = instrument_of
        self._usd_rate_of = usd_rate_of

    def book_fill(
        self,
        account: Account,
        instrument: Instrument,
        signed_qty: float,
        price: float,
        commission: float,
    ) -> float:
        """Apply a fill; returns the realized PnL it produced (commission included)."""
        con_id = instrument.con_id
        mult = instrument.size_multiplier
        position = account.positions.setdefault(con_id, Position(con_id))
        if con_id not in account.day_start:
            account.day_start[con_id] = (position.quantity, self._price_of(con_id))
        realized = 0.0
        old_qty = position.quantity
        closing = old_qty != 0 and (old_qty > 0) != (signed_qty > 0)
        if closing:
            closed = min(abs(signed_qty), abs(old_qty))
            direction = 1.0 if old_qty > 0 else -1.0
            realized = (price * mult - position.avg_cost) * closed * direction - commission
            position.quantity = old_qty + signed_qty
            if abs(position.quantity) < 1e-9:
                position.quantity = 0.0
                position.avg_cost = 0.0
            elif (position.quantity > 0) != (old_qty > 0):
                # Reversed through zero: the rest opens at this fill's price.
                position.avg_cost = price * mult
        else:
            new_qty = old_qty + signed_qty
            total_cost = position.avg_cost * abs(old_qty) + price * mult * abs(signed_qty)
            position.avg_cost = (total_cost + commission) / abs(new_qty)
            position.quantity = new_qty
        flow = -signed_qty * price * mult
        account.day_cash_flow[con_id] = account.day_cash_flow.get(con_id, 0.0) + flow
        account.day_commissions[con_id] = account.day_commissions.get(con_id, 0.0) + commission
        account.realized_today += realized
        account.realized[con_id] = account.realized.get(con_id, 0.0) + realized
        if instrument.sec_type == "FUT":
            account.cash += realized if closing else -commission
        else:
            account.cash += self._to_base(flow, instrument) - commission
        return realized

    def _to_base(self, amount: float, instrument: Instrument) -> float:
        if instrument.currency == BASE_CURRENCY:
            return amount
        # Quotes like USD.JPY give how many units of the currency one dollar buys.
        rate = self._usd_rate_of(instrument.currency)
        return amount / rate if rate else amount

    def can_afford(
        self, account: Account, instrument: Instrument, signed_qty: float, price: float
    ) -> bool:
        """Whether the account's available funds cover the order's added initial margin."""
        held = account.positions.get(instrument.con_id, Position(instrument.con_id)).quantity
        change = initial_margin_change(instrument, held, signed_qty, price)
        return change <= 0 or change <= self.values(account)["AvailableFunds"]

    # --- valuation -------------------------------------------------------------------

    def market_value(self, position: Position) -> float:
        instrument = self._instrument_of(position.con_id)
        if instrument is None:
            return 0.0
        value = position.quantity * self._price_of(position.con_id) * instrument.size_multiplier
        return self._to_base(value, instrument)

    def unrealized(self, position: Position) -> float:
        instrument = self._instrument_of(position.con_id)
        if instrument is None or position.quantity == 0:
            return 0.0
        cost = position.quantity * position.avg_cost
        price = self._price_of(position.con_id)
        return self._to_base(
            position.quantity * price * instrument.size_multiplier - cost, instrument
        )

    def daily_pnl_single(self, account: Account, con_id: int) -> float:
        instrument = self._instrument_of(con_id)
        if instrument is None:
            return 0.0
        position = account.positions.get(con_id, Position(con_id))
        start_qty, start_price = account.day_start.get(
            con_id, (position.quantity, self._price_of(con_id))
        )
        mult = instrument.size_multiplier
        price = self._price_of(con_id)
        pnl = (
            position.quantity * price * mult
            - start_qty * start_price * mult
            + account.day_cash_flow.get(con_id, 0.0)
            - account.day_commissions.get(con_id, 0.0)
        )
        return self._to_base(pnl, instrument)

    def daily_pnl(self, account: Account) -> float:
        con_ids = set(account.positions) | set(account.day_cash_flow)
        return sum(self.daily_pnl_single(account, con_id) for con_id in con_ids)

    def start_new_day(self) -> None:
        for account in self.accounts.values():
            account.realized_today = 0.0
            account.day_cash_flow.clear()
            account.day_commissions.clear()
            account.day_start = {
                con_id: (p.quantity, self._price_of(con_id))
                for con_id, p in account.positions.items()
            }

    def values(self, account: Account) -> dict[str, float]:
        """The numeric account values IB reports, in the base currency."""
        stock_value = 0.0
        gross = 0.0
        unrealized = 0.0
        init_margin = 0.0
        for position in account.positions.values():
            instrument = self._instrument_of(position.con_id)
            if instrument is None or position.quantity == 0:
                continue
            value = self.market_value(position)
            unrealized += self.unrealized(position)
            gross += abs(value)
            if instrument.sec_type == "FUT":
                init_margin += abs(value) * FUTURE_MARGIN
            else:
                stock_value += value
                init_margin += abs(value) * STOCK_MARGIN
        futures_unrealized = sum(
            self.unrealized(p)
            for p in account.positions.values()
            if (i := self._instrument_of(p.con_id)) is not None and i.sec_type == "FUT"
        )
        net_liq = account.cash + stock_value + futures_unrealized
        maint_margin = init_margin * 0.8
        available = net_liq - init_margin
        excess = net_liq - maint_margin
        return {
            "NetLiquidation": net_liq,
            "TotalCashValue": account.cash,
            "SettledCash": account.cash,
            "AccruedCash": 0.0,
            "BuyingPower": max(available, 0.0) * LEVERAGE,
            "EquityWithLoanValue": net_liq,
            "PreviousEquityWithLoanValue": account.starting_cash,
            "GrossPositionValue": gross,
            "StockMarketValue": stock_value,
            "InitMarginReq": init_margin,
            "MaintMarginReq": maint_margin,
            "FullInitMarginReq": init_margin,
            "FullMaintMarginReq": maint_margin,
            "AvailableFunds": available,
            "FullAvailableFunds": available,
            "ExcessLiquidity": excess,
            "FullExcessLiquidity": excess,
            "Cushion": excess / net_liq if net_liq else 0.0,
            "Leverage": gross / net_liq if net_liq else 0.0,
            "UnrealizedPnL": unrealized,
            "FuturesPNL": futures_unrealized,
            "RealizedPnL": account.realized_today,
            "DailyPnL": self.daily_pnl(account),
        }
