"""Alert messages to paste into TradingView's alert dialog, one per way of trading.

Each message is the exact text for the "Message" box, with the webhook secret filled in.
TradingView replaces the ``{{...}}`` placeholders when the alert fires; ``render`` does the
same with sample values, to show (and test) what the webhook will receive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

# Shown instead of a secret when none is configured; the webhook refuses it (401), so a
# message pasted unedited cannot trade.
SECRET_PLACEHOLDER = "<your TRADINGVIEW_WEBHOOK_SECRET>"  # noqa: S105 - a label, not a secret

_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    when_to_use: str
    message: str


def sample_values(now: datetime | None = None) -> dict[str, str]:
    """What TradingView would put in each placeholder the templates use, for one firing."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "{{ticker}}": "AAPL",
        "{{close}}": "150.25",
        # TradingView's own format for {{timenow}}: UTC, whole seconds, a trailing Z.
        "{{timenow}}": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "{{strategy.order.action}}": "buy",
        "{{strategy.position_size}}": "3",
        "{{strategy.order.id}}": "Long",
        "{{strategy.market_position}}": "long",
        "{{strategy.market_position_size}}": "3",
        "{{interval}}": "5",
    }


def render(message: str, sample: Mapping[str, str] | None = None) -> str:
    """``message`` as TradingView would send it, with ``sample`` (default:
    ``sample_values()``) in its placeholders.

    A placeholder missing from ``sample`` is left as it is, as TradingView leaves one it
    does not know, so that the webhook's refusal of unrendered placeholders names it.
    """
    values = sample_values() if sample is None else sample
    return _PLACEHOLDER.sub(lambda found: values.get(found[0], found[0]), message)


def templates(secret: str | None) -> list[Template]:
    """Every template, with ``secret`` in its ``secret`` field (the placeholder when unset)."""
    shown = secret or SECRET_PLACEHOLDER

    def message(**fields: object) -> str:
        # json.dumps, not string formatting: a secret holding a quote or a backslash must
        # still give a message that parses.
        return json.dumps({"secret": shown, **fields}, indent=2)

    return [
        Template(
            name="strategy",
            title="Strategy: the strategy's position is the target",
            when_to_use=(
                "The alert of a Pine strategy (condition: the strategy, 'Order fills "
                "only'). The position becomes {{strategy.position_size}} whatever it "
                "was, so a missed or repeated alert cannot leave the position off; "
                "pyramiding, partial exits and reversals all work."
            ),
            message=message(
                symbol="{{ticker}}",
                action="{{strategy.order.action}}",
                position_size="{{strategy.position_size}}",
                price="{{close}}",
                alert_id="{{ticker}}-{{strategy.order.id}}-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="indicator-buy",
            title="Indicator: buy a fixed quantity",
            when_to_use=(
                "One alert on an indicator's buy condition. Buys quantity on top of the "
                "position (on a short, buys that much back); set quantity to your size."
            ),
            message=message(
                symbol="{{ticker}}",
                action="buy",
                quantity=1,
                price="{{close}}",
                alert_id="{{ticker}}-buy-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="indicator-sell",
            title="Indicator: sell a fixed quantity",
            when_to_use=(
                "One alert on an indicator's sell condition. Sells quantity: a sell larger "
                "than the long closes it and opens the rest short (use the close template "
                "to only exit); set quantity to your size."
            ),
            message=message(
                symbol="{{ticker}}",
                action="sell",
                quantity=1,
                price="{{close}}",
                alert_id="{{ticker}}-sell-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="bracket",
            title="Bracket entry: buy with a take-profit and a stop-loss",
            when_to_use=(
                "An entry that protects itself: the take-profit and the stop-loss are "
                "percents of the entry price, placed as one-cancels-other exits. Use "
                "take_profit / stop_loss for prices instead; action sell for a short."
            ),
            message=message(
                symbol="{{ticker}}",
                action="buy",
                quantity=1,
                price="{{close}}",
                take_profit_percent=2,
                stop_loss_percent=1,
                alert_id="{{ticker}}-bracket-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="close",
            title="Close the position",
            when_to_use=(
                "An exit condition. Cancels our working orders on the symbol, then "
                "flattens; never goes short. Add quantity to reduce by that much only."
            ),
            message=message(
                symbol="{{ticker}}",
                action="close",
                alert_id="{{ticker}}-close-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="reverse",
            title="Reverse the position",
            when_to_use=(
                "Flip sides: closes the position, waits for the fill, then opens the same "
                "size on the other side. Does nothing when flat."
            ),
            message=message(
                symbol="{{ticker}}",
                action="reverse",
                alert_id="{{ticker}}-reverse-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="protect",
            title="Protect: move the position's exits",
            when_to_use=(
                "Replaces the take-profit and stop-loss of the position held now (what "
                "Pine's strategy.exit does when it moves them), here as percents of the "
                "close; use take_profit / stop_loss for prices. Not with OANDA, which "
                "attaches exits to the entry."
            ),
            message=message(
                symbol="{{ticker}}",
                action="protect",
                price="{{close}}",
                take_profit_percent=2,
                stop_loss_percent=1,
                alert_id="{{ticker}}-protect-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="per-strategy",
            title="Strategy with its own position (several strategies on one symbol)",
            when_to_use=(
                "Like the strategy template, for strategies that share a symbol: the "
                "target applies to this strategy's own position, so they never undo each "
                "other's trades. Give each strategy its own name in strategy and alert_id."
            ),
            message=message(
                symbol="{{ticker}}",
                action="{{strategy.order.action}}",
                strategy="trend",
                position_size="{{strategy.position_size}}",
                price="{{close}}",
                alert_id="{{ticker}}-trend-{{strategy.order.id}}-{{timenow}}",
                timestamp="{{timenow}}",
            ),
        ),
        Template(
            name="traderspost",
            title="TradersPost style: be long (sentiment)",
            when_to_use=(
                "For alerts moved over from TradersPost: buy with sentiment long means be "
                "long quantity (a short is closed first); sell with short means be short, "
                "sell with flat closes. For a strategy prefer the strategy template: "
                "{{strategy.market_position_size}} is 0 when flat, which is refused as a "
                "quantity."
            ),
            message=message(
                ticker="{{ticker}}",
                action="buy",
                sentiment="long",
                quantity=1,
                price="{{close}}",
                time="{{timenow}}",
            ),
        ),
    ]
