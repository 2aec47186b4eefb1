"""What a key may be used for: the workflows it may run and the networks it may be used from.

A key without a scope (None) serves every workflow of its owner, from anywhere. A narrowed key
serves only what it lists; a use outside its scope is the owner's configuration speaking, not a
guess at a key, so it is refused with a reason of its own and counts as neither a use nor a
failure.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.domain.errors import ValidationFailed
from service.domain.limits import MAX_SCOPE_ADDRESSES, MAX_SCOPE_WORKFLOWS
from service.domain.run_commands import clean_workflow_id
from service.domain.verdicts import Refusal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Scope:
    """A key's scope as the verification path reads it: workflow ids, and networks parsed once."""

    workflow_ids: tuple[str, ...] | None = None
    networks: tuple[Network, ...] | None = None

    @classmethod
    def of(cls, workflow_ids: Sequence[str] | None, addresses: Sequence[str] | None) -> Scope:
        return cls(
            tuple(workflow_ids) if workflow_ids is not None else None,
            tuple(ipaddress.ip_network(a) for a in addresses) if addresses is not None else None,
        )

    @property
    def restricts_workflows(self) -> bool:
        return self.workflow_ids is not None

    def refusal(self, workflow_id: str | None, address: str | None) -> Refusal | None:
        """Why this scope refuses a use for `workflow_id` from `address` (canonical, as
        `service.domain.origins` keeps it), or None when it allows it. A use that names no
        workflow is refused by a key restricted to workflows; one from an address that cannot be
        told, by a key restricted to networks."""
        if self.workflow_ids is not None and workflow_id not in self.workflow_ids:
            return Refusal.WORKFLOW_NOT_ALLOWED
        if self.networks is not None and not within(address, self.networks):
            return Refusal.ADDRESS_NOT_ALLOWED
        return None


UNSCOPED = Scope()


def within(address: str | None, networks: Iterable[Network]) -> bool:
    """Whether a canonical client address lies inside one of `networks` (an IPv4 address mapped
    into IPv6 counts as the IPv4 address it carries; a zone names no other network)."""
    ip = _ip(address) if address is not None else None
    return ip is not None and any(ip.version == net.version and ip in net for net in networks)


@functools.lru_cache(maxsize=4096)
def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def clean_workflow_ids(raw: Sequence[str] | None) -> tuple[str, ...] | None:
    """1 to `MAX_SCOPE_WORKFLOWS` workflow ids, each by the rules of run commands; duplicates
    dropped, order kept. None: every workflow."""
    if raw is None:
        return None
    try:
        ids = tuple(dict.fromkeys(clean_workflow_id(workflow_id) for workflow_id in raw))
    except ValidationFailed as refused:
        raise ValidationFailed("workflowIds", refused.message) from None
    if not 1 <= len(ids) <= MAX_SCOPE_WORKFLOWS:
        raise ValidationFailed(
            "workflowIds",
            f"List 1 to {MAX_SCOPE_WORKFLOWS} workflows, or none (null) for every workflow.",
        )
    return ids


def clean_addresses(raw: Sequence[str] | None) -> tuple[str, ...] | None:
    """1 to `MAX_SCOPE_ADDRESSES` IPv4 or IPv6 addresses or networks, as `ipaddress` prints
    them (a single address as a /32 or /128); duplicates dropped, order kept. A network with
    host bits set is refused rather than widened in silence. None: anywhere."""
    if raw is None:
        return None
    kept: dict[str, None] = {}
    for number, entry in enumerate(raw, start=1):
        try:
            if "%" in entry:
                raise ValueError("a zone names no network")
            kept[str(ipaddress.ip_network(entry.strip()))] = None
        except ValueError:
            raise ValidationFailed(
                "allowedAddresses",
                f"Entry {number} is not an IPv4 or IPv6 address or network (for example"
                " 203.0.113.7, 198.51.100.0/24 or 2001:db8::/32, without host bits set).",
            ) from None
    if not 1 <= len(kept) <= MAX_SCOPE_ADDRESSES:
        raise ValidationFailed(
            "allowedAddresses",
            f"List 1 to {MAX_SCOPE_ADDRESSES} addresses or networks, or none (null) for anywhere.",
        )
    return tuple(kept)
