"""Turn a webhook's raw body into fields, whatever TradingView's content type says.

TradingView sends ``application/json`` only when the rendered message is strict JSON and
``text/plain`` otherwise, so the body is always parsed here, never by the web framework.
Accepted shapes:

- a JSON object of fields;
- a JSON object ``{"message": "<text>"}`` wrapping one of these shapes;
- TradingView's default strategy sentence,
  ``[<strategy>: ]order buy @ 3 filled on NVDA. New strategy position is 3``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from trading.errors import AlertInvalid

SECRET_FIELDS = ("secret", "passphrase", "key", "token")
FORMATS_HELP = (
    'accepted formats: a JSON object of fields, a JSON object {"message": "..."}, or '
    "TradingView's strategy sentence 'order buy @ 3 filled on NVDA. New strategy position is 3' "
    "(see README, 'Writing TradingView alerts')"
)

_STRATEGY_SENTENCE = re.compile(
    r"(?:^|\s|:)order\s+(?P<action>buy|sell)\s+@\s+(?P<contracts>[-+]?[\d.,]+)\s+filled\s+on\s+"
    r"(?P<ticker>\S+?)\.?\s+new\s+strategy\s+position\s+is\s+(?P<position>[-+]?[\d.,]+)",
    re.IGNORECASE,
)

BodyFormat = Literal["json", "json-message", "text-strategy"]


@dataclass(frozen=True)
class DecodedBody:
    """What the body said, secret removed; ``secret`` holds the one it carried, if any."""

    fields: dict[str, Any]
    format: BodyFormat
    secret: str | None = field(default=None, repr=False)


def decode_body(raw: bytes) -> DecodedBody:
    """Decode a webhook body; raise AlertInvalid saying which formats are accepted."""
    try:
        text = raw.decode("utf-8").strip().lstrip("\ufeff")
    except UnicodeDecodeError:
        raise AlertInvalid({"body": ["is not UTF-8 text; " + FORMATS_HELP]}) from None
    if not text:
        raise AlertInvalid({"body": ["is empty; " + FORMATS_HELP]})

    parsed = _json_or_none(text)
    if isinstance(parsed, dict):
        fields, secret = _without_secret(parsed)
        message = fields.get("message")
        if isinstance(message, str) and not ({"symbol", "ticker"} & fields.keys()):
            inner = _decode_text(message.strip())
            inner_fields, inner_secret = _without_secret(inner.fields)
            return DecodedBody(
                {**inner_fields, **{k: v for k, v in fields.items() if k != "message"}},
                "json-message",
                secret if secret is not None else inner_secret,
            )
        return DecodedBody(fields, "json", secret)
    if parsed is not None:
        raise AlertInvalid(
            {"body": [f"is JSON but not an object ({type(parsed).__name__}); " + FORMATS_HELP]}
        )
    return _decode_text(text)


def _decode_text(text: str) -> DecodedBody:
    parsed = _json_or_none(text)
    if isinstance(parsed, dict):
        fields, secret = _without_secret(parsed)
        return DecodedBody(fields, "json-message", secret)
    match = _STRATEGY_SENTENCE.search(text)
    if match is None:
        if text.startswith(("{", "[")):
            raise AlertInvalid({"body": ["looks like JSON but does not parse; " + FORMATS_HELP]})
        raise AlertInvalid({"body": ["is not a recognised alert format; " + FORMATS_HELP]})
    return DecodedBody(
        {
            "action": match["action"],
            "quantity": match["contracts"].replace(",", ""),
            "symbol": match["ticker"],
            "position_after": match["position"].replace(",", ""),
        },
        "text-strategy",
    )


def _json_or_none(text: str) -> Any:
    if not text or text[0] not in '{["0123456789-tfn':
        return None
    try:
        return json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except (ValueError, RecursionError):
        return None


def _without_secret(fields: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    secret = None
    kept = {}
    for name, value in fields.items():
        if name.lower() in SECRET_FIELDS:
            if secret is None and isinstance(value, str):
                secret = value
            continue
        kept[name] = value
    return kept, secret
