"""The limits in force: the RISK_* settings merged with RISK_CONFIG_FILE.

For the global limits the environment wins: a RISK_* variable that sets a limit beats the
file's key of the same name (``max_order_quantity`` for RISK_MAX_ORDER_QUANTITY). A
variable left unset, empty or ``off`` leaves the file's value, else the setting's default
(60 and 20 for the two order rates), else no limit. A symbol's own entry in the file
(``[symbols.AAPL]``) beats both, since it is the more specific statement. ``deny`` always
applies; RISK_ALLOWED_SYMBOLS, when not empty, replaces the file's ``allow``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from trading.risk.config_file import GLOBAL_NUMBERS, load_risk_file, parse_symbol_list
from trading.risk.limits import Limit, RiskLimits

if TYPE_CHECKING:
    from config.settings import Settings


def limits_from(settings: Settings) -> RiskLimits:
    """The limits ``settings`` describe; reads RISK_CONFIG_FILE, so call it at start-up."""
    path = settings.risk_config_file.strip()
    limits = load_risk_file(path) if path else RiskLimits()
    chosen = settings.model_fields_set
    merged: dict[str, Any] = {}
    for name in GLOBAL_NUMBERS:
        setting = f"risk_{name}"
        value = getattr(settings, setting)
        from_file = getattr(limits, name)
        if value is None:
            continue
        if setting in chosen or from_file is None:
            merged[name] = Limit(value, setting.upper())
    allowed = parse_symbol_list(settings.risk_allowed_symbols)
    if allowed:
        merged["allowed_symbols"] = Limit(allowed, "RISK_ALLOWED_SYMBOLS")
    return replace(limits, **merged)
