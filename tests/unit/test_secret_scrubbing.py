"""The one scrubbing function: the secret and its common encodings, whatever carried them."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from trading.alerts import decode_body
from trading.alerts.redact import (
    MASK,
    contains_secret,
    is_secret_name,
    scrub,
    scrub_raw_text,
)

SECRET = 's3cr\u00e9t/with space+&"quote'
RAW = SECRET.encode()

ENCODINGS = {
    "plain": SECRET,
    "upper": SECRET.upper(),
    "url": quote(SECRET, safe=""),
    "url-plus": quote_plus(SECRET),
    "json": json.dumps(SECRET, ensure_ascii=False)[1:-1],
    "json-ascii": json.dumps(SECRET, ensure_ascii=True)[1:-1],
    "base64": base64.b64encode(RAW).decode(),
    "base64-urlsafe": base64.urlsafe_b64encode(RAW).decode(),
    "hex": RAW.hex(),
    "HEX": RAW.hex().upper(),
}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_every_encoding_is_masked_inside_text(name: str) -> None:
    shown = scrub(f"before {ENCODINGS[name]} after", SECRET)
    assert shown == f"before {MASK} after"


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_base64_of_a_longer_value_hides_the_secret(offset: int) -> None:
    encoded = base64.b64encode(b"x" * offset + RAW + b"tail").decode()
    shown = scrub(encoded, SECRET)
    # All but the (at most two) 4-character groups that mix the secret with its neighbours.
    assert MASK in shown and len(shown) <= len(encoded) - len(RAW) * 4 // 3 + 8 + len(MASK)


def test_keys_and_nested_values_are_masked() -> None:
    body = {"note": {"inner": [SECRET, 5]}, SECRET: "x"}
    assert scrub(body, SECRET) == {"note": {"inner": [MASK, 5]}, MASK: "x"}


def test_no_secret_configured_leaves_text_alone() -> None:
    assert scrub({"a": "b"}, None) == {"a": "b"}
    assert not contains_secret("anything", None)


@pytest.mark.parametrize(
    "name",
    [
        *("secret", "passphrase", "key", "token", "password", "api_key", "apikey"),
        *("webhook_secret", "auth", " secret", "SECRET ", "Api-Key", "my_password"),
    ],
)
def test_credential_names_are_recognised(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["symbol", "keyword", "monkey", "author", "action", "comment"])
def test_ordinary_names_are_not_credentials(name: str) -> None:
    assert not is_secret_name(name)


def test_credential_named_fields_are_dropped_at_any_depth() -> None:
    body = {
        "symbol": "AAPL",
        "password": "p",
        " secret": "s",
        "api_key": "k",
        "nested": {"webhook_secret": "w", "keep": 1},
    }
    decoded = decode_body(json.dumps(body).encode())
    assert decoded.fields == {"symbol": "AAPL", "nested": {"keep": "1"}}


def test_pairs_in_unparsed_text_are_masked() -> None:
    text = 'password=hunter2&x=1 {"api_key": "k1", \\"token\\": \\"t1\\"}'
    shown = scrub_raw_text(text, None)
    assert not {"hunter2", "k1", "t1"} & set(shown.replace('"', " ").replace("\\", " ").split())
