"""Pre-trade risk limits: may the orders of a plan be sent now?

``limits_from(settings)`` builds the ``RiskLimits`` once at start-up from the RISK_*
settings and RISK_CONFIG_FILE (a TOML file, see ``trading.risk.config_file``); a bad file
stops start-up through the settings' own validation. ``check_orders(limits, ctx)`` is
pure: it answers a ``RiskRefusal`` naming the rule, the limit and the value, or None.

Precedence: a RISK_* variable that sets a limit beats the file's global key of the same
name; a symbol's own ``[symbols.<SYMBOL>]`` entry beats both. Plans that only reduce a
position, and a bracket's exits, are never refused, so a position can always be closed.
"""

from trading.risk.build import limits_from
from trading.risk.check import RULES, RiskContext, RiskRefusal, check_orders
from trading.risk.config_file import (
    RiskConfigError,
    load_risk_file,
    parse_risk_file,
    parse_symbol_list,
)
from trading.risk.limits import Calendar, Limit, RiskLimits, SymbolLimits, Window

__all__ = [
    "RULES",
    "Calendar",
    "Limit",
    "RiskConfigError",
    "RiskContext",
    "RiskLimits",
    "RiskRefusal",
    "SymbolLimits",
    "Window",
    "check_orders",
    "limits_from",
    "load_risk_file",
    "parse_risk_file",
    "parse_symbol_list",
]
