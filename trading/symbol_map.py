"""SYMBOL_MAP: the symbol a TradingView chart names → the symbol the broker trades.

A chart of NQ1! (the continuous future) or BTCUSDT (a Binance pair) sends alerts for an
instrument the broker knows under another name (MNQ, BTCUSD). The map is written either
inline, ``NQ1!=MNQ, BTCUSDT=BTCUSD``, or as the path of a file holding one ``FROM=TO``
per line (blank lines and ``#`` comments ignored).

The left side may carry TradingView's exchange prefix (``CME_MINI:NQ1!``) so one chart
symbol can map differently per exchange; an alert is matched on the exchange-qualified
entry first, then on the bare symbol. The map is applied once, never chained.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

# The same shapes an alert's symbol and exchange may take, so every entry can match one.
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/!&-]{0,31}$")
_EXCHANGE = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
_ACCEPTED = (
    "write FROM=TO, e.g. NQ1!=MNQ or CME_MINI:NQ1!=MNQ; a symbol is letters, digits and "
    ". _ / ! & - (like AAPL, ES1!, EURUSD, BTC/USD), and only FROM may carry an "
    "exchange prefix like CME_MINI:"
)


def parse_symbol_map(text: str) -> dict[str, str]:
    """The mapping written in ``text`` (inline pairs, or the path of a file of pairs).

    Raises ValueError naming the pair or line that is wrong and what is accepted.
    """
    text = text.strip()
    if not text:
        return {}
    path = _existing_file(text)
    if path is not None:
        return _parse_pairs(_file_pairs(path))
    if "=" not in text:
        raise ValueError(
            f"{text!r} is neither FROM=TO pairs (NQ1!=MNQ,BTCUSDT=BTCUSD) "
            "nor the path of an existing file"
        )
    pieces = [piece.strip() for piece in re.split(r"[,\n]", text)]
    numbered = [piece for piece in pieces if piece]
    return _parse_pairs([(f"pair {n} {piece!r}", piece) for n, piece in enumerate(numbered, 1)])


def map_symbol(mapping: Mapping[str, str], symbol: str, exchange: str | None) -> str:
    """The symbol to trade: the exchange-qualified entry, else the bare one, else ``symbol``."""
    bare = symbol.strip().upper()
    if exchange:
        qualified = f"{exchange.strip().upper()}:{bare}"
        if qualified in mapping:
            return mapping[qualified]
    return mapping.get(bare, symbol)


def _existing_file(text: str) -> Path | None:
    try:
        path = Path(text).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):
        # A name too long or holding NUL is no file: read it as pairs and report those.
        return None


def _file_pairs(path: Path) -> list[tuple[str, str]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the symbol map file {path}: {error}") from error
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        # No ticker contains '#', so everything after one is a comment.
        content = line.split("#", 1)[0].strip()
        if content:
            pairs.append((f"{path} line {number} {content!r}", content))
    return pairs


def _parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    where_defined: dict[str, str] = {}
    for where, pair in pairs:
        source, target = _parse_pair(where, pair)
        if source in mapping and mapping[source] != target:
            raise ValueError(
                f"{where}: {source} is already mapped to {mapping[source]} "
                f"({where_defined[source]}); each symbol maps to one target"
            )
        mapping[source] = target
        where_defined.setdefault(source, where)
    _refuse_cycles(mapping)
    return mapping


def _parse_pair(where: str, pair: str) -> tuple[str, str]:
    if "=" not in pair:
        raise ValueError(f"{where} has no '='; {_ACCEPTED}")
    if pair.count("=") > 1:
        raise ValueError(f"{where} has more than one '='; {_ACCEPTED}")
    left, right = (side.strip() for side in pair.split("="))
    if not left or not right:
        missing = "FROM" if not left else "TO"
        raise ValueError(f"{where} has an empty {missing}; {_ACCEPTED}")
    for side in (left, right):
        if not side.isascii():
            # Checked before upper(): Python upper-cases "\u017fpy" to SPY.
            raise ValueError(f"{where}: {side!a} is not plain ASCII; {_ACCEPTED}")
    exchange, _, symbol = left.upper().rpartition(":")
    if not _SYMBOL.match(symbol) or (exchange and not _EXCHANGE.match(exchange)):
        raise ValueError(f"{where}: {left!r} is not a symbol; {_ACCEPTED}")
    target = right.upper()
    if ":" in target:
        raise ValueError(
            f"{where}: the target {right!r} carries an exchange; the exchange traded is "
            f"the alert's own; {_ACCEPTED}"
        )
    if not _SYMBOL.match(target):
        raise ValueError(f"{where}: {right!r} is not a symbol; {_ACCEPTED}")
    source = f"{exchange}:{symbol}" if exchange else symbol
    return source, target


def _refuse_cycles(mapping: dict[str, str]) -> None:
    """Refuse A=B,B=A: each alert is mapped once, so a loop is a direction written backwards."""
    # An exchange-qualified entry can be reached from its bare target on that exchange,
    # so edges run between bare symbols.
    edges: dict[str, list[str]] = {}
    for source, target in mapping.items():
        bare = source.rpartition(":")[2]
        if bare != target:  # NQ1!=NQ1! changes nothing and is harmless
            edges.setdefault(bare, []).append(target)
    state: dict[str, bool] = {}  # False while on the current path, True once cleared
    for start in edges:
        if start in state:
            continue
        # Iterative, so a long chain of pairs cannot exhaust the interpreter's stack.
        path = [start]
        stack = [iter(edges.get(start, ()))]
        state[start] = False
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = True
                stack.pop()
            elif following not in state:
                state[following] = False
                path.append(following)
                stack.append(iter(edges.get(following, ())))
            elif not state[following]:
                loop = [*path[path.index(following) :], following]
                raise ValueError(
                    f"the pairs form a cycle {' -> '.join(loop)}; a symbol is mapped once, "
                    "never back and forth, so one of these pairs is written the wrong way round"
                )
