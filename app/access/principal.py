"""Who is calling: the one object every rule about access looks at."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

ROLES = ("admin", "planner", "field_officer", "portal", "form_link")
KEY_ROLES = ROLES[:4]  # the roles an API key may have; form links are made by their own route
# Where a response came from, by who submitted it: a field officer's key (JSON or OpenRosa) is `field`, a
# portal key or a form link (an establishment's own report) `portal`, an admin or planner key `office`.
CHANNELS = ("field", "portal", "office")
_CHANNEL_OF_ROLE = {"field_officer": "field", "portal": "portal", "form_link": "portal"}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request.

    `kind` says what authenticated it: an API key ("key") or a portal's form link ("form_link").
    `questionnaires`: the only questionnaires it may submit to (None: any).
    """

    key_id: int
    name: str
    role: str
    provinces: frozenset[str] | None  # None: every province
    client_ip: str | None = None
    request_id: str | None = None
    kind: str = "key"
    questionnaires: frozenset[str] | None = None

    @property
    def all_provinces(self) -> bool:
        return self.provinces is None

    def has_role(self, *roles: str) -> bool:
        """Is the caller one of these roles? An admin always is (the one place that rule is spelled)."""
        return self.role == "admin" or self.role in roles

    @property
    def channel(self) -> str:
        """The channel of what this caller submits (one of CHANNELS)."""
        return _CHANNEL_OF_ROLE.get(self.role, "office")

    def in_scope(self, province_code: str | None) -> bool:
        return self.provinces is None or (province_code is not None and province_code in self.provinces)


def hash_secret(secret: str) -> str:
    # Secrets carry 256 bits of entropy, so one SHA-256 is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()
