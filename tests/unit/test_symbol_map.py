"""SYMBOL_MAP: parsing inline pairs and files, every refusal, and mapping an alert's symbol."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings
from trading.symbol_map import map_symbol, parse_symbol_map


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("   ", {}),
        ("NQ1!=MNQ, BTCUSDT=BTCUSD", {"NQ1!": "MNQ", "BTCUSDT": "BTCUSD"}),
        ("nq1! = mnq", {"NQ1!": "MNQ"}),
        ("NQ1!=MNQ,", {"NQ1!": "MNQ"}),
        ("CME_MINI:NQ1!=MNQ,NQ1!=NQ", {"CME_MINI:NQ1!": "MNQ", "NQ1!": "NQ"}),
        ("cme_mini:nq1!=MNQ", {"CME_MINI:NQ1!": "MNQ"}),
        ("BTC/USDT=BTC/USD,BRK-B=BRK.B", {"BTC/USDT": "BTC/USD", "BRK-B": "BRK.B"}),
        ("NQ1!=MNQ,NQ1!=MNQ", {"NQ1!": "MNQ"}),  # the same pair twice says nothing new
        ("NQ1!=NQ1!", {"NQ1!": "NQ1!"}),  # a no-op, not a cycle
        ("A=B,B=C", {"A": "B", "B": "C"}),  # a chain: each applied once, not a cycle
        ("NQ1!=MNQ\nES1!=MES", {"NQ1!": "MNQ", "ES1!": "MES"}),
    ],
)
def test_inline_pairs(text: str, expected: dict[str, str]) -> None:
    assert parse_symbol_map(text) == expected


def test_file_of_pairs_ignores_blank_lines_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "symbols.map"
    path.write_text(
        "# futures\nNQ1!=MNQ\n\n  CME_MINI:ES1! = mes   # micro\nbtcusdt=BTCUSD\n",
        encoding="utf-8",
    )
    assert parse_symbol_map(f"  {path}  ") == {
        "NQ1!": "MNQ",
        "CME_MINI:ES1!": "MES",
        "BTCUSDT": "BTCUSD",
    }


def test_empty_file_is_an_empty_map(tmp_path: Path) -> None:
    path = tmp_path / "empty.map"
    path.write_text("# nothing mapped yet\n\n", encoding="utf-8")
    assert parse_symbol_map(str(path)) == {}


def test_file_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.map"
    path.write_bytes("\ufeffNQ1!=MNQ\n".encode())
    assert parse_symbol_map(str(path)) == {"NQ1!": "MNQ"}


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("NQ1!", ["'NQ1!' is neither FROM=TO pairs", "nor the path of an existing file"]),
        ("/no/such/file.map", ["nor the path of an existing file"]),
        ("A=B, NQ1!MNQ", ["pair 2 'NQ1!MNQ' has no '='", "write FROM=TO"]),
        ("=MNQ", ["pair 1 '=MNQ' has an empty FROM"]),
        ("NQ1!=", ["pair 1 'NQ1!=' has an empty TO"]),
        ("A=B=C", ["more than one '='"]),
        ("AA$=B", ["'AA$' is not a symbol", "letters, digits and . _ / ! & -"]),
        ("A=B C", ["'B C' is not a symbol"]),
        ("A=B;", ["'B;' is not a symbol"]),
        ("1CME:A=B", ["'1CME:A' is not a symbol", "exchange prefix like CME_MINI:"]),
        ("A=CME:B", ["the target 'CME:B' carries an exchange"]),
        ("\u017fpy=SPY", ["'\\u017fpy' is not plain ASCII"]),
        ("NQ1!=MNQ, NQ1!=NQ", ["pair 2 'NQ1!=NQ': NQ1! is already mapped to MNQ (pair 1"]),
        ("A=B,B=A", ["cycle A -> B -> A"]),
        ("A=B,B=C,C=A", ["cycle A -> B -> C -> A"]),
        ("CME:A=B,B=A", ["cycle A -> B -> A"]),
    ],
)
def test_bad_maps_name_the_pair_and_what_is_accepted(text: str, fragments: list[str]) -> None:
    with pytest.raises(ValueError) as caught:
        parse_symbol_map(text)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_bad_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "symbols.map"
    path.write_text("# header\nNQ1!=MNQ\n\nES1!MES\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        parse_symbol_map(str(path))
    assert f"{path} line 4 'ES1!MES' has no '='" in str(caught.value)


def test_duplicate_in_a_file_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "symbols.map"
    path.write_text("NQ1!=MNQ\nNQ1!=NQ\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        parse_symbol_map(str(path))
    message = str(caught.value)
    assert f"{path} line 2" in message and f"{path} line 1" in message


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.map"
    path.write_bytes(b"NQ1!=MNQ # caf\xe9\n")
    with pytest.raises(ValueError, match="cannot read the symbol map file"):
        parse_symbol_map(str(path))


def test_a_long_chain_is_checked_without_running_out_of_stack() -> None:
    text = ",".join(f"S{n}=S{n + 1}" for n in range(5000))
    assert len(parse_symbol_map(text)) == 5000
    with pytest.raises(ValueError, match="cycle"):
        parse_symbol_map(text + ",S5000=S0")


MAPPING = parse_symbol_map("CME_MINI:NQ1!=MNQ, NQ1!=NQ, BTCUSDT=BTCUSD")


@pytest.mark.parametrize(
    ("symbol", "exchange", "expected"),
    [
        ("NQ1!", "CME_MINI", "MNQ"),  # the exchange-qualified entry wins
        ("NQ1!", "cme_mini", "MNQ"),
        ("NQ1!", "CME", "NQ"),  # another exchange falls back to the bare entry
        ("NQ1!", None, "NQ"),
        ("BTCUSDT", "BINANCE", "BTCUSD"),
        ("BTCUSDT", None, "BTCUSD"),
        ("AAPL", "NASDAQ", "AAPL"),  # not mapped: unchanged
        ("aapl", None, "aapl"),
    ],
)
def test_map_symbol(symbol: str, exchange: str | None, expected: str) -> None:
    assert map_symbol(MAPPING, symbol, exchange) == expected


def test_mapping_is_applied_once() -> None:
    chain = parse_symbol_map("A=B,B=C")
    assert map_symbol(chain, "A", None) == "B"


def test_a_bad_symbol_map_stops_start_up_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(symbol_map="NQ1!=MNQ,ES1!MES")
    message = str(caught.value)
    assert "SYMBOL_MAP='NQ1!=MNQ,ES1!MES'" in message
    assert "pair 2 'ES1!MES' has no '='" in message


def test_a_good_symbol_map_file_is_accepted_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "symbols.map"
    path.write_text("NQ1!=MNQ\n", encoding="utf-8")
    assert load_settings(symbol_map=str(path)).symbol_map == str(path)
