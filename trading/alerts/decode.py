"""Turn a webhook's raw body into fields, whatever TradingView's content type says.

TradingView sends ``application/json`` only when the rendered message is strict JSON and
``text/plain`` otherwise, so the body is always parsed here, never by the web framework.
Accepted shapes:

- a JSON object of fields;
- a JSON object ``{"message": "<text>"}`` wrapping one of these shapes;
- TradingView's default strategy sentence,
  ``[<strategy>: ]order buy @ 3 filled on NVDA. New strategy position is 3``, whose last
  number becomes ``position_size`` (the strategy's target position).

A JSON array (a batch of orders) is refused: applying some orders of a batch and not others
would leave a position nobody asked for, so each order must come as its own alert.

Credential-named fields are taken out here, at every depth, so nothing downstream can
store or show them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from trading.alerts.guards import MAX_DEPTH, nesting_depth
from trading.alerts.redact import drop_secret_fields
from trading.errors import AlertInvalid

# The fields that may authenticate (documented); more names are dropped, see redact.py.
SECRET_FIELDS = ("secret", "passphrase", "key", "token")
FORMATS_HELP = (
    "accepted formats: a JSON object of fields (ours, or TradersPost's, PickMyTrade's, "
    '3Commas\' or TBOT\'s), a JSON object {"message": "..."}, or '
    "TradingView's strategy sentence 'order buy @ 3 filled on NVDA. New strategy position is 3' "
    "(see README, 'Writing TradingView alerts')"
)

_STRATEGY_SENTENCE = re.compile(
    r"(?:^|\s|:)order\s+(?P<action>buy|sell)\s+@\s+(?P<contracts>[-+]?[\d.,]+)\s+filled\s+on\s+"
    r"(?P<ticker>\S+?)\.?\s+new\s+strategy\s+position\s+is\s+(?P<position>[-+]?[\d.,]+)",
    re.IGNORECASE,
)
_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}

BodyFormat = Literal["json", "json-message", "text-strategy"]


@dataclass(frozen=True)
class DecodedBody:
    """What the body said, secret removed; ``secret`` holds the one it carried, if any."""

    fields: dict[str, Any]
    format: BodyFormat
    secret: str | None = field(default=None, repr=False)


class BodyInvalid(AlertInvalid):
    """The body cannot be used, though it may still have carried a secret to authenticate
    with (so the sender learns what is wrong, not just "401")."""

    def __init__(self, errors: dict[str, list[str]], *, secret: str | None = None) -> None:
        super().__init__(errors)
        self.secret = secret


def decode_body(raw: bytes) -> DecodedBody:
    """Decode a webhook body; raise BodyInvalid saying which formats are accepted."""
    try:
        # A byte-order mark may come with blank lines on either side of it.
        text = raw.decode("utf-8").strip().lstrip("\ufeff").strip()
    except UnicodeDecodeError:
        encoding = _BOMS.get(raw[:2])
        hint = f" (it looks like {encoding}; send UTF-8)" if encoding else ""
        raise BodyInvalid({"body": [f"is not UTF-8 text{hint}; " + FORMATS_HELP]}) from None
    if not text:
        raise BodyInvalid({"body": ["is empty; " + FORMATS_HELP]})

    parsed = _parse_json(text)
    if isinstance(parsed, _Parsed):
        fields, secret = _without_secret(parsed.value)
        parsed.check(secret)
        message = fields.get("message")
        if isinstance(message, str) and not ({"symbol", "ticker"} & fields.keys()):
            try:
                inner = _decode_text(message.strip())
            except BodyInvalid as error:
                raise BodyInvalid(error.errors, secret=secret or error.secret) from None
            return DecodedBody(
                {**inner.fields, **{k: v for k, v in fields.items() if k != "message"}},
                "json-message",
                secret if secret is not None else inner.secret,
            )
        return DecodedBody(fields, "json", secret)
    if parsed is not None:
        raise BodyInvalid({"body": [_not_an_object(parsed)]})
    return _decode_text(text)


def _not_an_object(parsed: Any) -> str:
    if isinstance(parsed, list):
        return (
            f"is a JSON array ({len(parsed)} items): a batch of orders is not accepted, "
            "because tvbridge cannot apply a batch all-or-nothing; send one alert per order "
            "(a JSON object each)"
        )
    return f"is JSON but not an object ({type(parsed).__name__}); " + FORMATS_HELP


def _decode_text(text: str) -> DecodedBody:
    parsed = _parse_json(text)
    if isinstance(parsed, _Parsed):
        fields, secret = _without_secret(parsed.value)
        parsed.check(secret)
        return DecodedBody(fields, "json-message", secret)
    if isinstance(parsed, list):
        raise BodyInvalid({"body": [_not_an_object(parsed)]})
    matches = list(_STRATEGY_SENTENCE.finditer(text))
    if not matches:
        if text.startswith(("{", "[")):
            raise BodyInvalid({"body": ["looks like JSON but does not parse; " + FORMATS_HELP]})
        raise BodyInvalid({"body": ["is not a recognised alert format; " + FORMATS_HELP]})
    if len(matches) > 1:
        # Using only the first would trade half of what was sent.
        raise BodyInvalid(
            {
                "body": [
                    f"holds more than one strategy order sentence ({len(matches)}); "
                    "send one alert per order"
                ]
            }
        )
    match = matches[0]
    return DecodedBody(
        {
            "action": match["action"],
            "quantity": match["contracts"].replace(",", ""),
            "symbol": match["ticker"],
            "position_size": match["position"].replace(",", ""),
        },
        "text-strategy",
    )


@dataclass(frozen=True)
class _Parsed:
    """A JSON object and what is wrong with it beyond syntax."""

    value: dict[str, Any]
    errors: dict[str, list[str]]

    def check(self, secret: str | None) -> None:
        if self.errors:
            raise BodyInvalid(self.errors, secret=secret)


def _parse_json(text: str) -> _Parsed | Any:
    """A parsed object (as _Parsed), another JSON value, or None when it is not JSON."""
    if not text or text[0] not in '{["0123456789-tfn':
        return None
    conflicts: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for name, value in items:
            if name in seen and seen[name] != value and name not in conflicts:
                conflicts.append(name)
            seen.setdefault(name, value)
        return seen

    try:
        value = json.loads(
            text, parse_float=str, parse_int=str, parse_constant=str, object_pairs_hook=pairs
        )
    except RecursionError:
        return _Parsed({}, {"body": [f"is nested more than {MAX_DEPTH} levels deep"]})
    except ValueError:
        return None
    if not isinstance(value, dict):
        return value
    errors: dict[str, list[str]] = {}
    if nesting_depth(value) > MAX_DEPTH:
        errors["body"] = [f"is nested more than {MAX_DEPTH} levels deep"]
    for name in conflicts:
        # Which one was meant is a guess either way; a "buy" that sells is worse than nothing.
        errors[name] = ["appears more than once with different values; send it once"]
    return _Parsed(value, errors)


def _without_secret(fields: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    secret = None
    for name, value in fields.items():
        if name.lower() in SECRET_FIELDS and secret is None and isinstance(value, str):
            secret = value
    kept: dict[str, Any] = drop_secret_fields(fields)
    return kept, secret
