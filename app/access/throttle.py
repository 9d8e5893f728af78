"""The failed-credential throttle: wrong keys, secrets and sign-ins counted per client address and per key name.

Every place that checks a credential calls the same two functions (API keys and form-link tokens in
`access.deps.authenticate`, HTTP Basic from ODK Collect, the planner's sign-in form, the feeds' sessions):

    refuse_if_throttled(client_ip)                  # before the check: 429 if this address failed too often
    principal = check(...)                          # the caller's own check
    if principal is None:
        raise failed_credential(client_ip=..., name=..., via=..., request_id=...) or Unauthorized(...)

The rules (defaults in app.core.config: AUTH_FAILURE_LIMIT_PER_ADDRESS=20, AUTH_FAILURE_LIMIT_PER_NAME=10,
AUTH_FAILURE_WINDOW_SECONDS=300):

- A failure is a credential that was sent and is wrong (unknown, revoked or expired key or token, a wrong
  secret for a key name, an unreadable Authorization header). No credential at all is not a failure: ODK
  Collect asks without one first, to get the challenge.
- Per address: after LIMIT_PER_ADDRESS failures within the window, every credential from that address is
  refused with 429 and Retry-After *before it is checked*, until the oldest of those failures leaves the
  window. A correct credential from the throttled address is refused too while it lasts (as ODK Central
  locks out an address that kept guessing): whoever is guessing there learns nothing more.
- Per key name (HTTP Basic and the feeds' sign-in name a key; a bearer secret names none): after
  LIMIT_PER_NAME failures naming it, from anywhere, a *wrong* credential naming it is 429 instead of 401.
  A correct one is still checked and admitted: a key is never refused or slowed because others failed with
  its name from elsewhere.
- Each failure is audited (`auth.failed`: the name given, the address, how it came, the request id), and the
  moment an address or a name becomes throttled (`auth.throttled`); attempts refused unchecked are not
  failures (the access log counts them). Rows are written off the request path, in batches.

The store is in-process (per worker, like the per-key rate limit): a deployment with W workers admits up to
W × the limit before every worker refuses. A cross-process store is a later step.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from app.access import audit
from app.core.config import get_settings
from app.core.errors import TooManyRequests

log = logging.getLogger("khuyencong.access")

MAX_TRACKED = 100_000  # addresses and names remembered at once (the least recently failed are forgotten)


class CredentialsThrottled(TooManyRequests):
    slug, title = "credentials-throttled", "Too many failed credentials"

    def __init__(self, detail: str, wait: int, reason: str) -> None:
        super().__init__(detail, headers={"Retry-After": str(wait)})
        self.retry_after = wait
        self.reason = reason  # "address" or "name"


class FailureWindows:
    """The last `limit` failure times per bucket (an address, a key name), within a sliding window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, deque[float]] = OrderedDict()
        self._clock = clock

    def _live(self, key: str, now: float, window: float) -> deque[float] | None:
        times = self._buckets.get(key)
        if times is None:
            return None
        while times and times[0] <= now - window:
            times.popleft()
        if not times:
            del self._buckets[key]
            return None
        return times

    def wait(self, key: str, limit: int, window: float) -> int | None:
        """Seconds until `key` may try again when it has `limit` failures in the window, else None."""
        now = self._clock()
        with self._lock:
            times = self._live(key, now, window)
            if times is None or len(times) < limit:
                return None
            return max(1, math.ceil(times[-limit] + window - now))

    def add(self, key: str, limit: int, window: float) -> int:
        """Count one failure of `key`; returns how many it now has in the window (at most `limit` are kept)."""
        now = self._clock()
        with self._lock:
            times = self._live(key, now, window)
            if times is None:
                times = self._buckets[key] = deque(maxlen=max(1, limit))
                while len(self._buckets) > MAX_TRACKED:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
            before = len(times)
            times.append(now)
            return before + 1

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


failures = FailureWindows()


def _wait_text(wait: int) -> str:
    return f"{wait} s" if wait < 120 else f"{math.ceil(wait / 60)} min"


def refuse_if_throttled(client_ip: str | None) -> None:
    """Before a credential is checked: raise `CredentialsThrottled` (429, Retry-After) when its address has
    failed AUTH_FAILURE_LIMIT_PER_ADDRESS times within the window. Call it first wherever a credential is
    checked; see the module's docstring for the rules."""
    s = get_settings()
    wait = failures.wait(f"ip:{client_ip}", s.auth_failure_limit_per_address, s.auth_failure_window_seconds)
    if wait is not None:
        raise CredentialsThrottled(
            f"Too many failed credentials from this address; retry in {_wait_text(wait)}.", wait, "address"
        )


def failed_credential(
    *, client_ip: str | None, name: str | None, via: str, request_id: str | None, reason: str = "unknown_key"
) -> CredentialsThrottled | None:
    """After a credential was found wrong: count the failure for its address and (when one was given) its key
    name, and audit it. Returns the 429 to raise instead of the caller's own 401 when the address or the name
    was already throttled, else None:

        raise failed_credential(client_ip=ip, name=name, via="basic", request_id=rid) or Unauthorized(...)

    `via` says where the credential came (bearer, basic, planner_sign_in, feed_session, ...)."""
    s = get_settings()
    window, per_ip, per_name = (
        s.auth_failure_window_seconds,
        s.auth_failure_limit_per_address,
        s.auth_failure_limit_per_name,
    )
    name = (name or "")[:120] or None
    name_wait = failures.wait(f"name:{name}", per_name, window) if name else None
    ip_wait = failures.wait(f"ip:{client_ip}", per_ip, window)
    ip_count = failures.add(f"ip:{client_ip}", per_ip, window)
    name_count = failures.add(f"name:{name}", per_name, window) if name else 0
    detail = {"via": via, "reason": reason}
    audit.record_detached(name, "auth.failed", "credential", name or via, detail, client_ip=client_ip,
                          request_id=request_id)  # fmt: skip
    for what, count, limit in (("address", ip_count, per_ip), ("name", name_count, per_name)):
        if count == limit:
            log.warning("failed credentials throttled", extra={"client": client_ip, "key_name": name})
            audit.record_detached(name, "auth.throttled", "credential", name or via,
                                  {**detail, "by": what, "failures": count, "window_s": window},
                                  client_ip=client_ip, request_id=request_id)  # fmt: skip
    if ip_wait is not None:
        return CredentialsThrottled(
            f"Too many failed credentials from this address; retry in {_wait_text(ip_wait)}.",
            ip_wait,
            "address",
        )
    if name_wait is not None:
        return CredentialsThrottled(
            f"Too many failed credentials for the key {name!r}; retry in {_wait_text(name_wait)}.",
            name_wait,
            "name",
        )
    return None
