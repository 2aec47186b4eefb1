"""Every limit the service keeps, in one place: what a user may have and send, what is kept of
what arrives from outside, and how large a request may be. Each is defined here once; the rules
that apply them (`validation`, `origins`, `run_commands`, ...) and the columns that hold what
they bound import them from here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from service.domain.errors import ValidationFailed

# A user's keys.
MAX_KEYS_PER_USER: Final = 5  # the default of APIKEYS_MAX_KEYS_PER_USER
NAME_MAX: Final = 64
DESCRIPTION_MAX: Final = 500
MAX_KEY_LIFETIME: Final = timedelta(days=366)  # how far ahead `expiresAt` may be
MAX_ROTATION_GRACE_SECONDS: Final = 7 * 24 * 3600  # how long a rotated-out secret may live on
# A secret retired by a rotation answers EXPIRED (rather than UNKNOWN) this long after its grace.
RETIRED_SECRET_MEMORY: Final = timedelta(days=30)

# What arrives from outside and is kept.
WORKFLOW_ID_MAX: Final = 200
ADDRESS_MAX: Final = 64  # characters of a canonical client address, zone included
USER_AGENT_MAX: Final = 256
LEAK_URL_MAX: Final = 2048
LEAK_SOURCE_MAX: Final = 256
SUBJECT_MAX: Final = 255  # a session token's `sub`: the user id

# A key's scope.
MAX_SCOPE_WORKFLOWS: Final = 50
MAX_SCOPE_ADDRESSES: Final = 20

# Usage.
USAGE_DAYS_KEPT: Final = 90  # also the most days `usage` and `usedBy` look back
MAX_WORKFLOWS_LISTED: Final = 50  # per key, in `usedBy`

# Pages and requests.
MAX_EVENTS_PAGE: Final = 100  # `apiKeyEvents(first:)`
GRAPHQL_BODY_MAX: Final = (
    64 * 1024
)  # bytes; the largest real request is a 500-character description
VERIFY_BODY_MAX: Final = 4096
SCANNING_BODY_MAX: Final = 1024 * 1024
SCANNING_TOKENS_MAX: Final = 1000  # tokens in one secret-scanning report
GRAPHQL_MAX_DEPTH: Final = 8  # the page's deepest query (apiKeyEvents edges node) is 4
GRAPHQL_MAX_ALIASES: Final = 15
GRAPHQL_MAX_TOKENS: Final = 2000


def check_usage_days(days: int) -> None:
    """`days` of usage asked for: 1 to `USAGE_DAYS_KEPT`."""
    if not 1 <= days <= USAGE_DAYS_KEPT:
        raise ValidationFailed("days", f"days must be between 1 and {USAGE_DAYS_KEPT}.")
