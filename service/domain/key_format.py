"""What a key looks like: `blk_` + 32 base62 characters of randomness (190 bits, from
`secrets`) + a 6 character base62 CRC32 checksum of everything before it:
`blk_4eC39HqLyjWDarjtT1zdp7dc3ZcS5ukS0DI9QN`.

The checksum lets a mistyped or truncated key be refused without touching the database, and lets
secret scanners recognise our keys with few false positives (GitHub's token format does the same).
"""

from __future__ import annotations

import hmac
import re
import secrets
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6

# Every pair of base62 digits, so that the six-digit checksum is three look-ups (it is computed
# for every key presented to the service).
_PAIRS = tuple(a + b for a in BASE62 for b in BASE62)
_PAIR = len(_PAIRS)  # 62**2


def checksum(body: str) -> str:
    """The CRC32 of `body` in six base62 digits (62**6 > 2**32), most significant first."""
    high, low = divmod(zlib.crc32(body.encode("ascii")), _PAIR)
    high, middle = divmod(high, _PAIR)
    return _PAIRS[high] + _PAIRS[middle] + _PAIRS[low]


class KeyFormat:
    """The shape of this deployment's keys: prefix, randomness, checksum."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        tail = RANDOM_LENGTH + CHECKSUM_LENGTH
        self._pattern = re.compile(re.escape(prefix) + f"[0-9A-Za-z]{{{tail}}}")

    @property
    def scanning_pattern(self) -> str:
        """The regular expression a secret scanner looks for: exactly this deployment's keys
        (the checksum then tells a real key from a look-alike)."""
        return rf"\b{self._pattern.pattern}\b"

    @property
    def length(self) -> int:
        return len(self.prefix) + RANDOM_LENGTH + CHECKSUM_LENGTH

    def generate(self) -> str:
        body = self.prefix + "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
        return body + checksum(body)

    def is_well_formed(self, candidate: str) -> bool:
        """Prefix, length, alphabet and checksum; no database needed."""
        if self._pattern.fullmatch(candidate) is None:
            return False
        body, check = candidate[:-CHECKSUM_LENGTH], candidate[-CHECKSUM_LENGTH:]
        return hmac.compare_digest(checksum(body), check)

    def mask(self, last_four: str) -> str:
        """What the settings page shows before a key is revealed: prefix and last four only."""
        return f"{self.prefix}****{last_four}"


def last_four(key: str) -> str:
    return key[-4:]
