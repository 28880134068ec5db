"""Account values and summary rows in IB's key/value/currency form."""

from __future__ import annotations

from ibsim.accounts import BASE_CURRENCY, Ledger
from ibsim.model import Account

Row = tuple[str, str, str]  # key, value, currency

SUMMARY_TAGS = (
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "PreviousEquityWithLoanValue",
    "GrossPositionValue",
    "RegTEquity",
    "RegTMargin",
    "SMA",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "LookAheadNextChange",
    "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq",
    "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity",
    "HighestSeverity",
    "DayTradesRemaining",
    "Leverage",
)
UNITLESS = frozenset({"Cushion", "Leverage", "LookAheadNextChange", "HighestSeverity"})
LEDGER_KEYS = (
    "CashBalance",
    "TotalCashBalance",
    "AccruedCash",
    "StockMarketValue",
    "OptionMarketValue",
    "FutureOptionValue",
    "FuturesPNL",
    "NetLiquidationByCurrency",
    "UnrealizedPnL",
    "RealizedPnL",
    "ExchangeRate",
    "FundValue",
    "NetDividend",
    "MutualFundValue",
    "MoneyMarketFundValue",
    "CorporateBondValue",
    "TBondValue",
    "TBillValue",
    "WarrantValue",
    "FxCashBalance",
    "IssuerOptionValue",
)


def money(value: float) -> str:
    return f"{value:.2f}"


def _summary_value(tag: str, values: dict[str, float]) -> Row | None:
    if tag == "AccountType":
        return (tag, "INDIVIDUAL", "")
    if tag in ("DayTradesRemaining", "HighestSeverity"):
        return (tag, "-1" if tag == "DayTradesRemaining" else "0", "")
    if tag == "LookAheadNextChange":
        return (tag, "0", "")
    source = {
        "RegTEquity": "NetLiquidation",
        "SMA": "AvailableFunds",
        "RegTMargin": "InitMarginReq",
    }.get(tag, tag.replace("LookAhead", "Full"))
    if source not in values:
        return None
    value = values[source]
    if tag in UNITLESS:
        return (tag, f"{value:.6f}", "")
    return (tag, money(value), BASE_CURRENCY)


def _ledger_rows(ledger: Ledger, account: Account, currency: str) -> list[Row]:
    values = ledger.values(account)
    amounts = {
        "CashBalance": account.cash,
        "TotalCashBalance": account.cash,
        "StockMarketValue": values["StockMarketValue"],
        "FuturesPNL": values["FuturesPNL"],
        "NetLiquidationByCurrency": values["NetLiquidation"],
        "UnrealizedPnL": values["UnrealizedPnL"],
        "RealizedPnL": values["RealizedPnL"],
        "ExchangeRate": 1.0,
    }
    return [(key, money(amounts.get(key, 0.0)), currency) for key in LEDGER_KEYS]


def summary_rows(ledger: Ledger, account: Account, tags: list[str]) -> list[Row]:
    """Rows for reqAccountSummary's tag list, ``$LEDGER`` forms included."""
    values = ledger.values(account)
    rows: list[Row] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if tag.startswith("$LEDGER"):
            _, _, which = tag.partition(":")
            currencies = {"": ["BASE"], "ALL": ["BASE", BASE_CURRENCY]}.get(which.upper(), [which])
            for currency in currencies:
                rows += _ledger_rows(ledger, account, currency)
            continue
        row = _summary_value(tag, values)
        if row is not None:
            rows.append(row)
    return rows


def account_value_rows(ledger: Ledger, account: Account) -> list[Row]:
    """What reqAccountUpdates streams as updateAccountValue."""
    values = ledger.values(account)
    rows: list[Row] = [
        ("AccountCode", account.name, ""),
        ("AccountReady", "true", ""),
        ("AccountType", "INDIVIDUAL", ""),
        ("Currency", BASE_CURRENCY, BASE_CURRENCY),
    ]
    for key, value in values.items():
        if key in UNITLESS:
            rows.append((key, f"{value:.6f}", ""))
        elif key != "DailyPnL":
            rows.append((key, money(value), BASE_CURRENCY))
    for currency in ("BASE", BASE_CURRENCY):
        rows += _ledger_rows(ledger, account, currency)
    return rows
