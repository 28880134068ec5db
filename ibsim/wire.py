"""Framing and field encoding of the TWS API socket protocol.

Every message after the client's greeting is a big-endian uint32 length followed by
NUL-terminated text fields. Unset numbers travel as empty strings, as IB's clients send them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNSET_INTEGER = 2**31 - 1
UNSET_DOUBLE = 1.7976931348623157e308

API_PREFIX = b"API\0"
MIN_SERVER_VERSION = 157
MAX_SERVER_VERSION = 178
DEFAULT_SERVER_VERSION = 157

# A sane cap: the largest real message (a complex placeOrder) is a few kilobytes.
MAX_MESSAGE_BYTES = 1 << 20

Field = str | int | float | bool | None


class ProtocolError(Exception):
    """The peer sent bytes that are not the TWS API protocol."""


def encode_field(value: Field) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return "" if value == UNSET_INTEGER else str(value)
    if isinstance(value, float):
        if value == UNSET_DOUBLE or math.isnan(value):
            return ""
        if value == math.inf:
            return "Infinite"
        return format_number(value)
    return value


def format_number(value: float) -> str:
    """Prices and sizes without binary float noise (0.1 + 0.2 goes out as 0.3)."""
    return repr(round(value, 10))


def encode_message(fields: Iterable[Field]) -> bytes:
    payload = "".join(encode_field(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def split_payload(payload: bytes) -> list[str]:
    fields = payload.decode(errors="backslashreplace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


@dataclass(frozen=True)
class Greeting:
    min_version: int
    max_version: int
    options: str


def parse_greeting_payload(payload: bytes) -> Greeting:
    """Parse ``v157..178 +OPTS`` (or a single ``v157``)."""
    text = payload.decode(errors="replace").strip("\0")
    if not text.startswith("v"):
        raise ProtocolError(f"bad version range {text!r}")
    version_part, _, options = text[1:].partition(" ")
    low, sep, high = version_part.partition("..")
    try:
        min_version = int(low)
        max_version = int(high) if sep else min_version
    except ValueError as exc:
        raise ProtocolError(f"bad version range {text!r}") from exc
    return Greeting(min_version, max_version, options.strip())


def choose_server_version(preferred: int, greeting: Greeting) -> int | None:
    """The version to answer with: the preferred one, lowered into the client's range."""
    version = min(preferred, greeting.max_version, MAX_SERVER_VERSION)
    if version < greeting.min_version or version < MIN_SERVER_VERSION:
        return None
    return version


class FrameReader:
    """Accumulates socket bytes; yields the greeting once, then framed messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.greeted = False

    def feed(self, data: bytes) -> None:
        self._buffer.extend(data)

    def read_greeting(self) -> Greeting | None:
        # Checked on the bytes so far, not only once four have arrived: a pre-v100 client sends
        # a bare version such as ``63\0`` (three bytes) and then waits for an answer.
        head = bytes(self._buffer[:4])
        if head != API_PREFIX[: len(head)]:
            raise ProtocolError("connection did not start with API\\0 (a pre-v100 client?)")
        if len(self._buffer) < 4:
            return None
        payload = self._take_frame(offset=4)
        if payload is None:
            return None
        self.greeted = True
        return parse_greeting_payload(payload)

    def read_message(self) -> list[str] | None:
        payload = self._take_frame(offset=0)
        return None if payload is None else split_payload(payload)

    def _take_frame(self, offset: int) -> bytes | None:
        header_end = offset + 4
        if len(self._buffer) < header_end:
            return None
        (length,) = struct.unpack(">I", self._buffer[offset:header_end])
        if length > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"message of {length} bytes is too large")
        end = header_end + length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[header_end:end])
        del self._buffer[:end]
        return payload


class FieldCursor:
    """Reads a received message field by field, the way IB's decoders do."""

    def __init__(self, fields: Sequence[str], start: int = 0) -> None:
        self._fields = fields
        self.position = start

    def next(self) -> str:
        if self.position >= len(self._fields):
            raise ProtocolError(f"message ended after {len(self._fields)} fields")
        value = self._fields[self.position]
        self.position += 1
        return value

    def next_int(self, default: int = 0) -> int:
        text = self.next()
        return int(float(text)) if text else default

    def next_float(self, default: float = 0.0) -> float:
        text = self.next()
        return parse_float(text, default)

    def next_bool(self) -> bool:
        return truthy(self.next())

    def remaining(self) -> int:
        return len(self._fields) - self.position


def parse_float(text: str, default: float = 0.0) -> float:
    if not text:
        return default
    if text == "Infinite":
        return math.inf
    return float(text)


def truthy(text: str) -> bool:
    text = text.strip().lower()
    if text in ("", "0", "false"):
        return False
    try:
        return float(text) != 0
    except ValueError:
        return text == "true"
