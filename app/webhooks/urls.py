"""The SSRF guard: a hook's URL is http(s) and reaches only public addresses (unless
WEBHOOK_ALLOW_PRIVATE_URLS=true), checked when the hook is created and again at every delivery, against
the addresses the host resolves to then; the delivery connects to the very address checked (so a DNS answer
that changes between the check and the connection — DNS rebinding — cannot redirect it)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from app.core.config import get_settings

MAX_URL_LENGTH = 2000


class Refused(ValueError):
    """The URL may not be used: `code` (a slug) and a message naming the rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IP literals resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: `url` names the checked address; `host` goes in the Host header (and SNI)."""

    url: str
    host_header: str
    hostname: str
    https: bool


def check_form(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a well-formed http(s) URL without credentials; Refused otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused("too_long", f"The URL may be at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(
            "invalid_url", "Not a valid URL; give one like https://example.org/hooks/khuyencong."
        ) from None
    if parts.scheme not in ("http", "https"):
        raise Refused("scheme", "The URL must start with https:// or http://.")
    if not parts.hostname:
        raise Refused(
            "invalid_url", "The URL names no host; give one like https://example.org/hooks/khuyencong."
        )
    if parts.username is not None or parts.password is not None:
        raise Refused(
            "credentials", "The URL may not carry a user name or password; the signature authenticates."
        )
    if parts.fragment:
        raise Refused("fragment", "The URL may not carry a #fragment.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check(url: str) -> Target:
    """The URL checked now (form, then every address its host resolves to): where to connect; Refused if not."""
    scheme, host, port = check_form(url)
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError, OSError):
        raise Refused("unresolvable", f"The host {host} does not resolve to an address.") from None
    if not addresses:  # pragma: no cover - getaddrinfo raises instead
        raise Refused("unresolvable", f"The host {host} does not resolve to an address.")
    if not get_settings().webhook_allow_private_urls:
        for a in addresses:
            if not is_public(a):
                raise Refused(
                    "private_address",
                    f"The host {host} resolves to {a}, a private, loopback or link-local address; webhooks reach "
                    "public addresses only (WEBHOOK_ALLOW_PRIVATE_URLS=true allows others).",
                )
    parts = urlsplit(url)
    chosen = addresses[0]
    netloc = f"[{chosen}]" if ":" in chosen else chosen
    if parts.port is not None:
        netloc += f":{parts.port}"
    pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.netloc
    return Target(url=pinned, host_header=host_header, hostname=host, https=scheme == "https")
