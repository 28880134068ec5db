"""Idempotency keys and broker order references.

One key per alert, end to end: it is the ledger's unique key, the Celery task id and the
stem of every broker order reference the alert produces.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

_SAFE_REFERENCE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_LEG = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
REFERENCE_PREFIX = "tvb"


def canonical_digest(fields: dict[str, Any]) -> str:
    """A digest of the body's fields (secret already removed), independent of key order."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def derived_key(digest: str) -> str:
    """The key of an alert that carries no alert_id: short-lived, from the body digest."""
    return f"b-{digest[:32]}"


def order_reference(alert_key: str, leg: str) -> str:
    """The reference a broker order carries (IB ``orderRef``, OANDA client id).

    Bounded in length, unique per (alert key, leg), and without ``:`` because IB appends
    ``:<n>`` to references itself. Keys that are long or unusual become a digest.
    """
    if not _LEG.match(leg):
        raise ValueError(f"leg name {leg!r} must be lower-case letters, digits or _")
    if _SAFE_REFERENCE.match(alert_key) and not alert_key.startswith("x-"):
        stem = alert_key
    else:
        stem = "x-" + hashlib.sha256(alert_key.encode()).hexdigest()[:24]
    return f"{REFERENCE_PREFIX}.{stem}.{leg}"


def strip_broker_suffix(reference: str) -> str:
    """IB may hand a reference back as ``<ref>:<n>``; our references never contain ``:``."""
    return reference.split(":", 1)[0]


def is_our_reference(reference: str) -> bool:
    return strip_broker_suffix(reference).startswith(REFERENCE_PREFIX + ".")


# A bracket's exits: they close what their entry opened, so they never count as a
# position that is on its way.
PROTECTIVE_LEGS = frozenset({"tp", "sl"})


def leg_of(reference: str) -> str | None:
    """The leg name at the end of one of our references; None for anyone else's."""
    if not is_our_reference(reference):
        return None
    return strip_broker_suffix(reference).rsplit(".", 1)[-1]
