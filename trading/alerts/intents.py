"""What an alert asks for: its action word, a TradersPost sentiment, a strategy's position.

Three shapes say where the position should go:

- an action alone: ``buy``/``sell`` add (or, with a target side, "be on this side"),
  ``close``, ``reverse``, ``cancel``;
- ``sentiment`` with the action (TradersPost): ``flat`` closes, ``buy`` + ``long`` means
  "be long", ``add`` adds on the sentiment's side;
- a target: ``position_size`` (signed) or ``market_position`` with
  ``market_position_size``. The action word, when sent, must still be one we know and must
  not contradict it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading.alerts.fields import Parsed
from trading.alerts.spellings import (
    ACTION_HELP,
    ACTION_WORDS,
    MARKET_POSITIONS,
    REFUSED_ACTION_WORDS,
    SENTIMENTS,
)

_SIGN = {"long": 1, "short": -1, "flat": 0}


@dataclass(frozen=True)
class Intent:
    action: str
    target_side: str | None = None
    target_position: Decimal | None = None

    @property
    def entry_side(self) -> str | None:
        """The side of the position this alert opens or keeps, when known at parse time."""
        if self.target_position is not None:
            if self.target_position == 0:
                return None
            return "buy" if self.target_position > 0 else "sell"
        if self.target_side is not None:
            return self.target_side
        return self.action if self.action in ("buy", "sell") else None


def resolve_intent(p: Parsed) -> Intent:
    """The alert's action, target side and target position; problems go to ``p``."""
    word = _action_word(p)
    sentiment = _sentiment(p)
    target = _target(p)
    if target is not None:
        return _with_target(p, word, sentiment, target)
    if word is None:
        if not p.given("action"):
            p.fail(
                "action",
                f"is required: one of {ACTION_HELP} (any case; accepted names: action, side, "
                "order_action, signal, direction, data), or send the strategy's position "
                "(position_size, or market_position with market_position_size)",
            )
        return Intent("buy")
    action, side = word
    if sentiment is not None:
        return _with_sentiment(p, action, side, sentiment)
    if action == "add":
        p.fail(
            "action",
            "add needs a sentiment (long/bullish or short/bearish) saying which side to add to",
        )
        return Intent("buy")
    if side is None and p.side_is_target and action in ("buy", "sell"):
        side = action
    return Intent(action, side)


def _action_word(p: Parsed) -> tuple[str, str | None] | None:
    value = p.data.get("action")
    if value is None:
        return None
    word = value.strip().lower()
    if word in REFUSED_ACTION_WORDS:
        p.fail("action", f"{value!r} {REFUSED_ACTION_WORDS[word]}")
        return None
    if word not in ACTION_WORDS:
        p.fail(
            "action",
            f"must be one of {ACTION_HELP} (any case), got {value!r}",
        )
        return None
    return ACTION_WORDS[word]


def _sentiment(p: Parsed) -> str | None:
    value = p.data.get("sentiment")
    if value is None:
        return None
    sentiment = SENTIMENTS.get(value.strip().lower())
    if sentiment is None:
        p.fail("sentiment", f"must be one of {', '.join(SENTIMENTS)} (any case), got {value!r}")
    return sentiment


def _target(p: Parsed) -> Decimal | None:
    """The strategy's position after this alert, from whichever form was sent."""
    size = p.data.get("position_size")
    from_market = _market_position(p)
    if size is not None and from_market is not None and size != from_market:
        message = (
            f"{p.name('position_size')} {size} and {p.name('market_position')} "
            f"{p.data.get('market_position')} {p.data.get('market_position_size', '')} "
            "disagree about the strategy's position; send one of them"
        )
        p.fail("position_size", message)
        p.fail("market_position", message)
        return None
    return size if size is not None else from_market


def _market_position(p: Parsed) -> Decimal | None:
    value = p.data.get("market_position")
    size = p.data.get("market_position_size")
    if value is None:
        if size is not None:
            p.fail("market_position_size", "goes with market_position (long, short or flat)")
        return None
    position = MARKET_POSITIONS.get(value.strip().lower())
    if position is None:
        p.fail("market_position", f"must be long, short or flat, got {value!r}")
        return None
    if position == "flat":
        if size is not None and size != 0:
            p.fail("market_position_size", f"is {size} but market_position is flat; send 0")
            return None
        return Decimal(0)
    if size is None:
        if not p.given("market_position_size"):
            # Reported where the sender looks: beside market_position, even inside an object.
            p.fail(
                "market_position",
                f"{position} needs market_position_size (the absolute size, "
                "{{strategy.market_position_size}}), which is required unless flat",
            )
        return None
    if size == 0:
        p.fail("market_position_size", f"is 0 but market_position is {position}")
        return None
    return size * _SIGN[position]


def _with_target(
    p: Parsed, word: tuple[str, str | None] | None, sentiment: str | None, target: Decimal
) -> Intent:
    name = p.name("position_size") if "position_size" in p.data else p.name("market_position")
    if sentiment is not None and _SIGN[sentiment] != (target > 0) - (target < 0):
        p.fail(
            "sentiment",
            f"{sentiment} disagrees with {name} {target}: long needs a position above 0, "
            "short below 0, flat 0",
        )
    default = "buy" if target > 0 else "sell" if target < 0 else "close"
    if word is None:
        return Intent(default, None, target)
    action = word[0]
    if action in ("add", "reverse", "cancel") or (action == "close" and target != 0):
        p.fail(
            "action",
            f"{p.data['action']!r} contradicts {name} {target}, which sets the position; "
            "send buy or sell with it (or close with a position of 0)",
        )
        return Intent(default, None, target)
    return Intent(action, None, target)


def _with_sentiment(p: Parsed, action: str, side: str | None, sentiment: str) -> Intent:
    """TradersPost's pairs: the sentiment says where the position should end."""
    if action == "cancel":
        return Intent("cancel")
    if sentiment == "flat":
        if action in ("add", "reverse"):
            p.fail(
                "sentiment",
                f"flat contradicts action {p.data['action']!r}: flat ends with no position",
            )
            return Intent("close")
        return Intent("close")
    wanted = "buy" if sentiment == "long" else "sell"
    if action == "add":
        return Intent(wanted)
    if action in ("buy", "sell"):
        if action != wanted:
            p.fail(
                "sentiment",
                f"{p.data['sentiment']!r} contradicts action {p.data['action']!r}: a {action} "
                f"cannot leave the position {sentiment} (send {wanted} with "
                f"{p.data['sentiment']!r}, or sentiment flat to close)",
            )
            return Intent(action)
        return Intent(action, side or action)
    return Intent(action)
