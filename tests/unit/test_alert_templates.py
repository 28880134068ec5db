"""The alert templates as text: the secret they carry, and how rendering fills them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from trading.alerts import decode_body, validate_alert
from trading.alerts.templates import SECRET_PLACEHOLDER, render, sample_values, templates
from trading.errors import AlertInvalid

SECRET = "a-webhook-secret-0123"


def test_names_are_unique_and_every_field_is_filled() -> None:
    listed = templates(SECRET)
    assert len({t.name for t in listed}) == len(listed) >= 9
    for template in listed:
        assert re.fullmatch(r"[a-z][a-z-]*", template.name)
        assert template.title and template.when_to_use and template.message


def test_each_message_is_a_json_object_carrying_the_secret() -> None:
    for template in templates(SECRET):
        body = json.loads(template.message)
        assert body["secret"] == SECRET


@pytest.mark.parametrize("missing", [None, ""])
def test_without_a_secret_the_placeholder_and_nothing_else(missing: str | None) -> None:
    for template in templates(missing):
        assert json.loads(template.message)["secret"] == SECRET_PLACEHOLDER
    assert SECRET_PLACEHOLDER == "<your TRADINGVIEW_WEBHOOK_SECRET>"


def test_a_secret_with_quotes_and_backslashes_still_parses() -> None:
    awkward = 'quo"te\\back/slash-0123'
    for template in templates(awkward):
        assert json.loads(render(template.message))["secret"] == awkward


def test_rendering_fills_every_placeholder_the_templates_use() -> None:
    for template in templates(SECRET):
        text = render(template.message, sample_values())
        assert "{{" not in text and "}}" not in text, template.name


def test_sample_values_are_tradingviews() -> None:
    moment = datetime(2024, 3, 5, 14, 30, 7, 123456, tzinfo=UTC)
    sample = sample_values(moment)
    assert sample["{{timenow}}"] == "2024-03-05T14:30:07Z"
    assert sample["{{ticker}}"] == "AAPL" and sample["{{close}}"] == "150.25"
    assert sample["{{strategy.order.action}}"] == "buy"
    assert sample["{{strategy.position_size}}"] == "3"
    assert sample["{{strategy.order.id}}"] == "Long"
    assert sample["{{strategy.market_position}}"] == "long"
    assert sample["{{strategy.market_position_size}}"] == "3"
    assert sample["{{interval}}"] == "5"


def test_the_default_time_is_now() -> None:
    shown = datetime.fromisoformat(sample_values()["{{timenow}}"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - shown) < timedelta(seconds=5)


def test_render_leaves_unknown_placeholders_and_other_text_alone() -> None:
    sample = {"{{ticker}}": "MSFT", "{{close}}": "410"}
    message = '{"symbol": "{{ticker}}", "price": "{{close}}", "x": "{{plot_0}}", "y": "{a}"}'
    assert render(message, sample) == (
        '{"symbol": "MSFT", "price": "410", "x": "{{plot_0}}", "y": "{a}"}'
    )


def test_a_placeholder_left_unrendered_is_refused() -> None:
    # So that a template edited with a placeholder TradingView does not fill never trades.
    body = decode_body(render('{"symbol": "{{ticker}}", "action": "{{plot_0}}"}').encode())
    with pytest.raises(AlertInvalid) as refused:
        validate_alert(body.fields)
    assert "{{plot_0}}" in refused.value.errors["action"][0]


def test_rendered_templates_validate_and_keep_no_secret() -> None:
    for template in templates(SECRET):
        decoded = decode_body(render(template.message).encode())
        assert decoded.secret == SECRET
        assert "secret" not in decoded.fields
        assert validate_alert(decoded.fields).symbol == "AAPL"
