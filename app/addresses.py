"""The client's address, honouring X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(
    remote_addr: str | None, forwarded_for: str | None, trusted_proxies: Sequence[Network]
) -> str:
    """Walk X-Forwarded-For from the right, skipping our own proxies; the first other
    hop is the client. An untrusted peer's header is ignored (it could say anything)."""
    address = remote_addr or ""
    if not forwarded_for or not _in(address, trusted_proxies):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _in(hop, trusted_proxies):
            return hop
        address = hop
    return address


def allowed(address: str, networks: Sequence[Network]) -> bool:
    return not networks or _in(address, networks)


def _in(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
