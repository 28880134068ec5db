"""TradingView alerts: decoding the raw body, validating fields, deriving keys."""

from trading.alerts.decode import SECRET_FIELDS, BodyInvalid, DecodedBody, decode_body
from trading.alerts.model import Alert
from trading.alerts.schema import validate_alert

__all__ = [
    "SECRET_FIELDS",
    "Alert",
    "BodyInvalid",
    "DecodedBody",
    "decode_body",
    "validate_alert",
]
