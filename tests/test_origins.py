"""Client addresses and user agents are made canonical, then checked, in one place."""

from __future__ import annotations

import pytest

from service.domain.limits import ADDRESS_MAX, USER_AGENT_MAX
from service.domain.origins import canonical_address, client_address, peer_address, user_agent

# 64 characters as sent, 65 once canonical: `1::2` spells out the zero group it stands for.
LENGTHENED = "1::2:3:4:5:6:7%" + "z" * 49


def test_an_address_is_kept_as_ipaddress_prints_it() -> None:
    assert canonical_address("203.0.113.7") == "203.0.113.7"
    assert canonical_address("2001:DB8:0:0:0:0:0:1") == "2001:db8::1"
    assert canonical_address("0000:0000:0000:0000:0000:0000:0000:0001") == "::1"
    assert canonical_address("fe80::1%eth0") == "fe80::1%eth0"


def test_the_length_is_checked_after_canonicalising() -> None:
    assert len(LENGTHENED) == ADDRESS_MAX
    assert canonical_address(LENGTHENED) is None
    fits = "1::2:3:4:5:6:7%" + "z" * 48  # 64 once canonical
    assert canonical_address(fits) == "1:0:2:3:4:5:6:7%" + "z" * 48


@pytest.mark.parametrize(
    "raw",
    ["", "localhost", "a" * 65, "203.0.113.07", "1.2.3.4 ", "::1%", "x" * 100_000, "1:2"],
)
def test_what_is_not_an_address_is_none(raw: str) -> None:
    assert canonical_address(raw) is None


def test_a_stated_address_must_be_text() -> None:
    assert client_address(["203.0.113.7"]) is None
    assert client_address(None) is None
    assert client_address("203.0.113.7") == "203.0.113.7"


def test_the_peer_is_the_connections_client_when_it_is_an_address() -> None:
    assert peer_address({"client": ("127.0.0.1", 5000)}) == "127.0.0.1"
    assert peer_address({"client": ("a" * 65, 0)}) is None  # a forwarded value, say
    assert peer_address({"client": None}) is None
    assert peer_address({}) is None


def test_a_user_agent_loses_control_characters_and_is_bounded() -> None:
    assert user_agent("blk-cli/2.1\x00\x1b[31m\n") == "blk-cli/2.1[31m"
    assert user_agent("\ud800ok") == "ok"  # a lone surrogate no column holds
    assert user_agent("x" * 10_000) == "x" * USER_AGENT_MAX
    assert user_agent("\x00\x01") is None
    assert user_agent(42) is None
