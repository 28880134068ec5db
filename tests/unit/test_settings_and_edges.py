"""Settings validation, addresses, webhook authentication."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest

from app.addresses import allowed, client_address
from app.auth import webhook_authenticated
from config.logging import RedactSecrets
from config.settings import ConfigError, inbox_url_for, load_settings


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("port", "abc", "PORT='abc'"),
        ("port", "70000", "PORT='70000': Input should be less than or equal to 65535"),
        ("broker", "etrade", "'paper', 'ibkr' or 'oanda'"),
        ("redis_url", "http://x", "redis://"),
        ("ip_allowlist", "10.0.0.1,nonsense", "not an IP address"),
        ("alert_max_age_seconds", "1", "ALERT_MAX_AGE_SECONDS"),
        ("tradingview_webhook_secret", "abc123", "TRADINGVIEW_WEBHOOK_SECRET=<hidden>: "),
        ("api_token", "short-token", "at least 16 characters"),
    ],
)
def test_bad_values_name_variable_value_and_accepted(name: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**{name: value})
    assert fragment in str(caught.value)


def test_secrets_are_hidden_in_config_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(api_token=["not", "a", "string"], port="x")
    assert "not" not in str(caught.value).split("API_TOKEN=")[1].split("\n")[0]


def test_tradingview_preset_expands() -> None:
    settings = load_settings(ip_allowlist="tradingview, 10.0.0.0/8")
    networks = settings.allowed_networks()
    assert ipaddress.ip_network("52.89.214.238/32") in networks
    assert allowed("10.1.2.3", networks) and not allowed("11.0.0.1", networks)


PROXY = [ipaddress.ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("1.2.3.4", None, "1.2.3.4"),
        ("1.2.3.4", "52.89.214.238", "1.2.3.4"),  # untrusted peer: header ignored
        ("127.0.0.1", "52.89.214.238", "52.89.214.238"),
        ("127.0.0.1", "6.6.6.6, 52.89.214.238", "52.89.214.238"),  # spoofed left part ignored
        ("127.0.0.1", "52.89.214.238, 127.0.0.1", "52.89.214.238"),
    ],
)
def test_forwarded_for_only_from_trusted_proxies(
    remote: str, forwarded: str | None, expected: str
) -> None:
    assert client_address(remote, forwarded, PROXY) == expected


def _auth(**kwargs: object) -> bool:
    base = {
        "secret": "s3",
        "raw_body": b"{}",
        "body_secret": None,
        "query_secret": None,
        "signature_header": None,
    }
    return webhook_authenticated(**{**base, **kwargs})  # type: ignore[arg-type]


def test_webhook_authentication_paths() -> None:
    good_mac = "sha256=" + hmac.new(b"s3", b"{}", hashlib.sha256).hexdigest()
    assert _auth(body_secret="s3")
    assert _auth(query_secret="s3")
    assert _auth(signature_header=good_mac)
    assert _auth(signature_header=good_mac.upper().replace("SHA256", "sha256"))
    assert not _auth()
    assert not _auth(body_secret="s4")
    assert not _auth(signature_header="sha256=00")
    assert not _auth(signature_header="md5=" + good_mac[7:])
    assert not _auth(secret="", body_secret="")


def test_log_redaction() -> None:
    import logging

    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "POST /webhook?secret=%s&x=1 body %s",
        ("abcd1234", "hunter22"),
        None,
    )
    RedactSecrets(["hunter22"]).filter(record)
    assert "abcd1234" not in record.getMessage() and "hunter22" not in record.getMessage()


def test_every_configured_secret_is_kept_out_of_logs() -> None:
    settings = load_settings(
        tradingview_webhook_secret="webhook-secret-0123456",
        api_token="api-token-0123456789",
        oanda_api_token="oanda-token-0123456",
    )
    assert sorted(settings.secret_values()) == [
        "api-token-0123456789",
        "oanda-token-0123456",
        "webhook-secret-0123456",
    ]


@pytest.mark.parametrize(
    ("ledger", "inbox"),
    [
        (
            "sqlite:////srv/tvbridge/var/tvbridge.db",
            "sqlite:////srv/tvbridge/var/tvbridge-inbox.db",
        ),
        ("sqlite:///var/tvbridge.db", "sqlite:///var/tvbridge-inbox.db"),
        ("sqlite:////tmp/t/ledger.db?timeout=5", "sqlite:////tmp/t/ledger-inbox.db?timeout=5"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql+psycopg://tv@db/tvbridge", "postgresql+psycopg://tv@db/tvbridge"),
    ],
)
def test_inbox_sits_beside_a_sqlite_ledger_and_inside_any_other(ledger: str, inbox: str) -> None:
    assert inbox_url_for(ledger) == inbox
    assert load_settings(database_url=ledger).inbox_url == inbox


def test_inbox_database_url_overrides_the_derived_one() -> None:
    chosen = "sqlite:////srv/inbox/alerts.db"
    settings = load_settings(database_url="sqlite:///var/tvbridge.db", inbox_database_url=chosen)
    assert settings.inbox_url == chosen
