"""The fields of one alert while it is being validated, and where its errors go.

Errors are keyed by the field the sender can find in their message: our canonical name for
a top-level field (``quantity`` even when sent as ``qty``, the message then starting
``(qty)``), or the enclosing object for a nested one (``takeProfit`` for
``takeProfit.percent``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Parsed:
    """Typed canonical values and what is known about how they were sent."""

    data: dict[str, Any]
    # canonical name -> the name it was sent under
    sent: dict[str, str] = field(default_factory=dict)
    # canonical name -> the empty placeholder that was treated as absent ("NaN", "None")
    emptied: dict[str, str] = field(default_factory=dict)
    # canonical names that were sent but failed to parse (already reported)
    failed: set[str] = field(default_factory=set)
    errors: dict[str, list[str]] = field(default_factory=dict)
    source_format: str | None = None
    # PickMyTrade's reverse_order_close: buy/sell mean "be on that side"
    side_is_target: bool = False
    # TBOT: the direction closes or cancels, so exit prices are the exit order's own
    tbot_closing: bool = False
    # keys reported before these checks ran: a later message about them would only echo
    prior: frozenset[str] = frozenset()

    def name(self, canonical: str) -> str:
        """The name the sender used for a field (the canonical one when not sent)."""
        return self.sent.get(canonical, canonical)

    def key(self, canonical: str) -> str:
        return error_key(canonical, self.name(canonical))

    def given(self, canonical: str) -> bool:
        """Sent, whether or not its value parsed."""
        return canonical in self.data or canonical in self.failed

    def choice(self, canonical: str, words: Mapping[str, str]) -> str | None:
        """The field's value looked up in ``words`` (any case); a value not there is
        reported with the accepted words, and None returned, as for a field not sent."""
        value = self.data.get(canonical)
        if value is None:
            return None
        found = words.get(str(value).strip().lower())
        if found is None:
            self.fail(canonical, f"must be one of {', '.join(words)} (any case), got {value!r}")
        return found

    def fail(self, canonical: str, message: str) -> None:
        key = self.key(canonical)
        if key in self.prior:
            return
        alias = self.name(canonical)
        prefix = f"({alias}) " if alias != key else ""
        self.errors.setdefault(key, []).append(prefix + message)


def error_key(canonical: str, alias: str) -> str:
    """Where an error about a field is reported (see the module docstring)."""
    return alias.split(".", 1)[0] if "." in alias else canonical
