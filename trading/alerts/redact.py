"""Keep the webhook secret out of everything stored, logged or shown.

Two complementary rules. Fields whose *name* says they carry a credential are dropped
whatever their value (``password``, ``api_key``, ``" Secret"``...). The configured secret's
*value* is replaced by ``***`` wherever it appears, in any field, key or free text, and also
in the forms it takes when a template or a tool re-encodes it (URL-encoded, JSON-escaped,
base64, hex), because a user who pasted it into the wrong field must not find it in the
rejections list or the alert history.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"

# Normalised names (lower-case, no separators) that carry credentials.
_SECRET_NAMES = frozenset(
    {
        "secret",
        "passphrase",
        "key",
        "token",
        "password",
        "passwd",
        "pwd",
        "apikey",
        "apisecret",
        "webhooksecret",
        "auth",
        "authorization",
        "credential",
        "credentials",
    }
)
# Any name containing one of these is a credential too (``webhook_token``, ``my_password``).
_SECRET_STEMS = ("secret", "passphrase", "password", "token", "apikey", "credential")
_SEPARATORS = re.compile(r"[\s_\-.]+")

# ``name: value`` / ``name=value`` pairs in text that could not be parsed as JSON, including
# JSON escaped inside a string (``\"password\": \"x\"``).
_PAIR_IN_TEXT = re.compile(
    r"""(?ix)
    ((?:secret|passphrase|password|passwd|token|api[\s_-]?key|key|auth)
        [\w-]{0,16}\s{0,8}\\?["']?\s{0,8}[:=]\s{0,8})
    (\\?"(?:[^"\\]|\\.){0,512}?\\?"|'[^']{0,512}'|[^\s,&}]{1,512})
    """
)
# Shorter base64 fragments would match unrelated text.
_MIN_BASE64_CORE = 8


def normalised_name(name: str) -> str:
    """A field name compared case- and separator-insensitively."""
    return _SEPARATORS.sub("", name).lower()


def is_secret_name(name: str) -> bool:
    """True for field names that carry credentials and must never be stored."""
    normal = normalised_name(name)
    return normal in _SECRET_NAMES or any(stem in normal for stem in _SECRET_STEMS)


def drop_secret_fields(value: Any) -> Any:
    """A copy of a JSON structure without credential-named fields, at any depth."""
    if isinstance(value, dict):
        return {k: drop_secret_fields(v) for k, v in value.items() if not is_secret_name(k)}
    if isinstance(value, list):
        return [drop_secret_fields(item) for item in value]
    return value


def scrub(value: Any, secret: str | None, *, pairs: bool = True) -> Any:
    """A copy of a JSON structure (or a string) fit to store or show: the secret masked in
    keys and values, and (unless ``pairs`` is False, for our own messages) text such as
    ``password=...`` inside values masked too."""
    if isinstance(value, str):
        return scrub_raw_text(value, secret) if pairs else scrub_text(value, secret)
    if isinstance(value, dict):
        return {scrub_text(str(k), secret): scrub(v, secret, pairs=pairs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secret, pairs=pairs) for item in value]
    return value


def scrub_text(text: str, secret: str | None) -> str:
    """The text with the secret and its common encodings replaced by ``***``."""
    if not secret:
        return text
    return _secret_pattern(secret).sub(MASK, text)


def scrub_raw_text(text: str, secret: str | None) -> str:
    """Free text (a body that did not parse): mask credential pairs, then the secret."""
    return scrub_text(_PAIR_IN_TEXT.sub(lambda m: m.group(1) + MASK, text), secret)


def contains_secret(text: str | None, secret: str | None) -> bool:
    """True when the text holds the secret or one of its encodings."""
    return bool(text and secret and _secret_pattern(secret).search(text))


@functools.lru_cache(maxsize=4)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        raw.hex(),
    }
    whole = {
        encode(raw).decode("ascii").rstrip(pad)
        for encode in (base64.b64encode, base64.urlsafe_b64encode)
        for pad in ("", "=")
    }
    folded = sorted((f for f in forms if f), key=len, reverse=True)
    exact = sorted(whole | _base64_cores(raw), key=len, reverse=True)
    alternatives = [f"(?i:{re.escape(f)})" for f in folded] + [re.escape(f) for f in exact]
    return re.compile("|".join(alternatives))


def _base64_cores(raw: bytes) -> set[str]:
    """The part of the secret's base64 that is the same wherever it sits in a longer value.

    Base64 works in 3-byte groups, so the secret encodes differently at each of the three
    offsets; the groups made only of the secret's bytes are the same at a given offset.
    """
    cores: set[str] = set()
    for offset in range(3):
        padded = b"\0" * offset + raw
        first = -(-offset // 3)  # first group made only of the secret's bytes
        last = len(padded) // 3  # groups before this one are complete
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(padded).decode("ascii")
            core = encoded[first * 4 : last * 4]
            if len(core) >= _MIN_BASE64_CORE:
                cores.add(core)
    return cores
