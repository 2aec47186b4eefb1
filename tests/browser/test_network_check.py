"""The page's IPv4 and IPv6 network check (service/static/js/networks.js), run in Chromium, agrees
with the server's own (service/domain/scope.py, Python's `ipaddress`): which texts are networks,
which client addresses fall inside, and the entry it suggests for an address lets that address in.

Hand-picked edge cases (leading zeros, netmasks and host masks, `::` in every place, embedded
IPv4, zones, host bits set, prefixes out of range, non-ASCII digits) and a few hundred random ones
from a fixed seed, all in one evaluation.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from playwright.async_api import Page

from service.domain.errors import ValidationFailed
from service.domain.scope import clean_addresses, within
from tests.browser.support import open_page

EDGE_NETWORKS = [
    "203.0.113.7",
    "198.51.100.0/24",
    "198.51.100.5/24",
    "2001:DB8::/32",
    "2001:db8::1/128",
    "::",
    "::/0",
    "0.0.0.0/0",
    " 10.0.0.0/8 ",
    "10.0.0.0/08",
    "10.0.0.0/33",
    "10.0.0.0/",
    "10.0.0.0/+8",
    "/8",
    "1.2.3.4/24/1",
    "1.2.3.0/255.255.255.0",
    "1.2.3.4/255.255.255.0",
    "1.2.3.0/0.0.0.255",
    "0.0.0.0/0.0.0.0",
    "1.2.3.4/255.255.255.255",
    "1.2.3.4/0.0.0.0",
    "1.2.3.0/255.0.255.0",
    "01.2.3.4",
    "1.2.3.04",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "１.2.3.4",
    "1.2.3.4/２４",
    "::ffff:1.2.3.4",
    "::ffff:1.2.3.0/120",
    "::ffff:0:0/96",
    "::1.2.3.4",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1::",
    "::1",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    ":::",
    "1:2:3:4:5:6:7::",
    "::1:2:3:4:5:6:7",
    "1:2:3:4:5:6::7:8",
    "abcd::/16",
    "abcde::/16",
    "g::/16",
    "fe80::1%eth0",
    "2001:db8::/129",
    "2001:db8::/-1",
    "::/00",
    "example.com",
    "",
    "  ",
]
EDGE_ADDRESSES = [
    "203.0.113.7",
    "198.51.100.9",
    "2001:db8::1",
    "::ffff:198.51.100.9",
    "::ffff:203.0.113.7",
    "fe80::1%eth0",
    "10.1.2.3",
    "::1",
    "::",
    "0.0.0.0",
    "255.255.255.255",
]


def server_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network the server stores for `text`, or None when it refuses it."""
    try:
        cleaned = clean_addresses([text])
    except ValidationFailed:
        return None
    assert cleaned is not None
    return ipaddress.ip_network(cleaned[0])


def random_cases(seed: int = 20261207) -> tuple[list[str], list[str]]:
    draw = random.Random(seed)
    networks, addresses = [], []
    for _ in range(300):
        bits = draw.choice([32, 128])
        value = draw.getrandbits(bits)
        ip = ipaddress.IPv4Address(value) if bits == 32 else ipaddress.IPv6Address(value)
        prefix = draw.randint(0, bits)
        if draw.random() < 0.7:  # a network, written in one of the ways it can be
            network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
            networks.append(
                draw.choice([str(network), network.exploded, f"{network.network_address}/{prefix}"])
            )
        else:  # most likely with host bits set
            networks.append(f"{ip}/{prefix}")
        addresses.append(str(ip))
    return networks, addresses


def parsed(network: ipaddress.IPv4Network | ipaddress.IPv6Network | None) -> Any:
    """A network as the page's `parseNetwork` is compared: version, number, prefix."""
    if network is None:
        return None
    return [network.version, str(int(network.network_address)), network.prefixlen]


async def test_the_pages_network_check_agrees_with_the_servers(page: Page) -> None:
    more_networks, more_addresses = random_cases()
    texts = EDGE_NETWORKS + more_networks
    good = [text for text in texts if server_network(text) is not None]
    draw = random.Random(7)
    within_cases = []
    for address in EDGE_ADDRESSES + more_addresses:
        chosen = [*draw.sample(good, 3), draw.choice(["203.0.113.0/24", "::ffff:0:0/96"])]
        within_cases.append((address, chosen))
    # Each network's edges: its first and last addresses, and the ones just outside.
    for text in good[:200]:
        network = server_network(text)
        assert network is not None
        top = 2**network.max_prefixlen - 1
        first, last = int(network.network_address), int(network.broadcast_address)
        address_of = ipaddress.IPv4Address if network.version == 4 else ipaddress.IPv6Address
        for number in {max(first - 1, 0), first, last, min(last + 1, top)}:
            within_cases.append((str(address_of(number)), [text]))

    await open_page(page)  # the sign-in box: the page's modules are served from its origin
    answers = await page.evaluate(
        """async ([texts, withinCases, addresses]) => {
          const { parseNetwork, within, allowedEntryFor } = await import('/js/networks.js');
          const parse = (text) => {
            const network = parseNetwork(text);
            return network && [network.version, network.value.toString(), Number(network.prefix)];
          };
          return {
            parsed: texts.map(parse),
            within: withinCases.map(([address, networks]) =>
              within(address, networks.map(parseNetwork).filter(Boolean))),
            entries: addresses.map(allowedEntryFor),
          };
        }""",
        [texts, within_cases, EDGE_ADDRESSES + more_addresses],
    )

    expected = [parsed(server_network(text)) for text in texts]
    wrong = [
        (t, got, want)
        for t, got, want in zip(texts, answers["parsed"], expected, strict=True)
        if got != want
    ]
    assert not wrong, f"{len(wrong)} texts read differently, e.g. {wrong[:5]}"

    expected_within = [
        within(address, [n for n in map(server_network, networks) if n is not None])
        for address, networks in within_cases
    ]
    wrong = [
        case
        for case, got, want in zip(within_cases, answers["within"], expected_within, strict=True)
        if got != want
    ]
    assert not wrong, f"{len(wrong)} addresses placed differently, e.g. {wrong[:5]}"
    assert sum(expected_within) > 100 and len(expected_within) - sum(expected_within) > 100

    # The entry suggested for an address, saved, lets that address in.
    for address, entry in zip(EDGE_ADDRESSES + more_addresses, answers["entries"], strict=True):
        network = server_network(entry)
        assert network is not None and within(address, [network]), (address, entry)
