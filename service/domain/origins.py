"""Where a request came from, as the service records it: a client address and a user agent.

Both reach the database (a key's "last used from", the audit trail) and the failure limits, and
both come from outside: the gateway's `clientAddress` and `userAgent`, the connection's peer (which
uvicorn takes from `X-Forwarded-For` when a trusted proxy sends it), the `User-Agent` header. Each
is made canonical first and checked afterwards, here and nowhere else, so that nothing longer or
stranger than a column holds can reach one: an unusable value is not recorded, and never changes
a verdict.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from service.domain.limits import ADDRESS_MAX, USER_AGENT_MAX
from service.domain.text import without_control_characters

# Longer text cannot be an address whose canonical form fits: leading zeros (four per group,
# 45 characters with an embedded IPv4 address) and a zone of at most ADDRESS_MAX characters.
_ADDRESS_TEXT_MAX = 45 + ADDRESS_MAX


@functools.lru_cache(maxsize=4096)
def canonical_address(raw: str) -> str | None:
    """The address as `ipaddress` prints it, or None when `raw` is not an IP address or its
    canonical form is longer than `ADDRESS_MAX`. The length is checked after canonicalising,
    which can lengthen an address (`1::2:3:4:5:6:7` is `1:0:2:3:4:5:6:7`). A gateway sends the
    same few addresses again and again: each is parsed once, then remembered."""
    if len(raw) > _ADDRESS_TEXT_MAX:
        return None
    try:
        canonical = str(ipaddress.ip_address(raw))
    except ValueError:
        return None
    return canonical if len(canonical) <= ADDRESS_MAX else None


def client_address(raw: object) -> str | None:
    """A client address as a caller states it (the gateway's `clientAddress`), canonical, or
    None when it is not one."""
    return canonical_address(raw) if isinstance(raw, str) else None


def peer_address(scope: Mapping[str, Any]) -> str | None:
    """The canonical address of the connection's peer, or None (no peer, as on a Unix socket, or
    a forwarded value that is not an address)."""
    client = scope.get("client")
    return canonical_address(client[0]) if client else None


def user_agent(raw: object) -> str | None:
    """What is kept of a user agent: control characters removed, at most `USER_AGENT_MAX`
    characters; None when nothing is left (or it is not text)."""
    if not isinstance(raw, str):
        return None
    kept = without_control_characters(raw[: USER_AGENT_MAX * 4])
    return kept[:USER_AGENT_MAX] or None
