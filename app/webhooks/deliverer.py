"""The deliverer: POSTs each due outbox row, signed per Standard Webhooks, and records the outcome.

- Claiming: a worker takes a few due rows in one short write transaction (PostgreSQL: `FOR UPDATE SKIP
  LOCKED`, so concurrent deliverers in other processes take other rows; SQLite: its single writer serialises
  claims), stamps them with a claim token and moves `next_attempt_at` past the lease, so no other deliverer
  sees them as due while the attempt runs. The HTTP request runs with no transaction open; its outcome is
  written only if the claim is still this worker's. A deliverer killed mid-attempt leaves its rows to come
  due again when the lease ends: delivery is at least once, under the same `webhook-id`.
- Timing: the in-process deliverer is woken right after the commit that wrote outbox rows; every deliverer
  also polls (WEBHOOK_POLL_SECONDS) for retries and for rows other processes wrote. A failure (non-2xx, a
  timeout, a refused address) is retried after WEBHOOK_RETRY_DELAYS (5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
  10 h: the eighth failure, ~27.6 h after the first, gives up: `failed`).
- Bounded: httpx with WEBHOOK_TIMEOUT_SECONDS per phase, no redirects followed, no proxy from the
  environment, at most 512 bytes of the answer read; the address is checked again (app.webhooks.urls) and
  the request goes to exactly the address checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select, update
from sqlmodel import col

from app.core.config import get_settings
from app.core.db import session_scope
from app.models import Webhook, WebhookDelivery
from app.models.types import utcnow
from app.webhooks import outbox, urls

log = logging.getLogger(__name__)

CLAIM_BATCH = 8  # claimed, attempted one after the other, recorded in one transaction
SNIPPET_BYTES = 512
USER_AGENT = "khuyencong-webhooks/1"


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The Standard Webhooks v1 signature: HMAC-SHA256 of `id.timestamp.body` with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def longest_attempt() -> float:
    """The longest one attempt can take: connect, send and the answer's first bytes, each within the timeout."""
    return 3 * get_settings().webhook_timeout_seconds


def lease_seconds() -> float:
    """How long claimed rows are not due again: at least two attempts of the longest kind, and a margin."""
    return 2 * longest_attempt() + 5


@dataclass(frozen=True)
class Attempt:
    id: int
    msg_id: str
    payload: str
    attempts: int
    url: str
    secrets: tuple[str, ...]


_DUE = select(col(WebhookDelivery.id)).where(col(WebhookDelivery.status) == "pending")


def _due(now: Any, limit: int) -> Any:
    return (
        _DUE.where(col(WebhookDelivery.next_attempt_at) <= now)
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
    )


class Deliverer:
    """Worker threads delivering the outbox (inside the server, or alone: `khuyencong deliver`)."""

    def __init__(self, engine: Engine | None = None, workers: int | None = None) -> None:
        self.engine = engine
        self.workers = workers or get_settings().webhook_workers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        t = get_settings().webhook_timeout_seconds
        self.client = httpx.Client(
            timeout=httpx.Timeout(t),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )

    # -- running ------------------------------------------------------------------------------------------

    def start(self) -> Deliverer:
        for i in range(self.workers):
            th = threading.Thread(target=self._loop, name=f"webhook-deliverer-{i}", daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the workers: each finishes the attempt it is in (what is not recorded is retried later)."""
        self._stop.set()
        outbox.due.set()
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            outbox.due.clear()  # before looking: a commit after this wakes the wait below at once
            try:
                while not self._stop.is_set() and self.run_once():
                    pass
            except Exception:  # noqa: BLE001 - a database hiccup: log, wait a poll, go on
                log.exception("webhook delivery round failed")
            outbox.due.wait(get_settings().webhook_poll_seconds)

    def run_once(self) -> int:
        """Claim up to CLAIM_BATCH due rows, deliver them, record the outcomes; the number attempted."""
        claimed = self.claim(CLAIM_BATCH)
        started = time.monotonic()
        done = []
        for attempt, token in claimed:
            # An attempt starts only if it ends within the claim's lease (a slow receiver before it may have
            # used it up): after the lease another deliverer may take the row, and no attempt runs twice.
            if time.monotonic() - started + longest_attempt() > lease_seconds():
                break
            done.append((attempt, token, *self.send(attempt)))
        self.record(done)
        self.release(claimed[len(done) :])
        return len(claimed)

    # -- the three steps ----------------------------------------------------------------------------------

    def claim(self, limit: int) -> list[tuple[Attempt, str]]:
        now = utcnow()
        with session_scope(engine=self.engine) as s:  # a read first: no write lock taken while idle
            if s.execute(_due(now, 1)).first() is None:
                return []
        token = uuid.uuid4().hex
        with session_scope(write=True, engine=self.engine) as s:
            ids = list(s.execute(_due(now, limit).with_for_update(skip_locked=True)).scalars())
            if not ids:
                return []
            s.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_(ids))
                .values(
                    claim=token,
                    next_attempt_at=now + timedelta(seconds=lease_seconds()),
                    attempts=WebhookDelivery.attempts + 1,
                    last_attempt_at=now,
                )  # fmt: skip
            )
            rows = s.execute(
                select(col(WebhookDelivery.id), col(WebhookDelivery.msg_id), col(WebhookDelivery.payload),
                       col(WebhookDelivery.attempts), col(Webhook.url), col(Webhook.secret), col(Webhook.previous_secret),
                       col(Webhook.previous_secret_until))
                .join(Webhook, col(Webhook.id) == WebhookDelivery.webhook_id)
                .where(col(WebhookDelivery.id).in_(ids))
                .order_by(col(WebhookDelivery.id))
            ).all()  # fmt: skip
        out = []
        for r in rows:
            keys = (r.secret,) + (
                (r.previous_secret,) if r.previous_secret and r.previous_secret_until > now else ()
            )
            out.append((Attempt(r.id, r.msg_id, r.payload, r.attempts, r.url, keys), token))
        return out

    def send(self, a: Attempt) -> tuple[int | None, str | None]:
        """POST one message; (HTTP status or None, error or None when delivered)."""
        try:
            target = urls.check(a.url)
        except urls.Refused as exc:
            return None, f"refused: {exc.message}"
        ts = int(time.time())
        headers = {
            "host": target.host_header,
            "content-type": "application/json",
            "webhook-id": a.msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": " ".join(sign(k, a.msg_id, ts, a.payload) for k in a.secrets),
        }
        extensions = {"sni_hostname": target.hostname} if target.https else {}
        try:
            with self.client.stream(
                "POST", target.url, content=a.payload.encode(), headers=headers, extensions=extensions
            ) as resp:
                snippet = b""
                if not 200 <= resp.status_code < 300:
                    for chunk in resp.iter_bytes():
                        snippet += chunk
                        if len(snippet) >= SNIPPET_BYTES:
                            break
        except httpx.TimeoutException:
            return None, f"timeout (no answer within {get_settings().webhook_timeout_seconds:g} s)"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= resp.status_code < 300:
            return resp.status_code, None
        text = snippet[:SNIPPET_BYTES].decode("utf-8", "replace").strip()
        return resp.status_code, f"HTTP {resp.status_code}" + (f": {text}" if text else "")

    def release(self, unsent: list[tuple[Attempt, str]]) -> None:
        """Give back the claimed rows no attempt was started for (the lease would have run out first): due again
        now, their attempt not counted, so neither this deliverer nor another waits out a lease for them."""
        if not unsent:
            return
        now = utcnow()
        with session_scope(write=True, engine=self.engine) as s:
            for a, token in unsent:
                s.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.id) == a.id,
                        col(WebhookDelivery.claim) == token,
                        col(WebhookDelivery.status) == "pending",
                    )  # fmt: skip
                    .values(claim=None, next_attempt_at=now, attempts=a.attempts - 1)
                )

    def record(self, outcomes: list[tuple[Attempt, str, int | None, str | None]]) -> None:
        """Write the outcomes of a claimed batch in one transaction (one commit, not one per message)."""
        if not outcomes:
            return
        now = utcnow()
        delays = get_settings().webhook_retry_delays
        with session_scope(write=True, engine=self.engine) as s:
            for a, token, status, error in outcomes:
                values: dict[str, Any] = {"claim": None, "last_status": status,
                                          "last_error": error[:500] if error else None}  # fmt: skip
                if error is None:
                    values.update(status="delivered", delivered_at=now, next_attempt_at=None)
                elif a.attempts <= len(delays):
                    values["next_attempt_at"] = now + timedelta(seconds=delays[a.attempts - 1])
                else:
                    values.update(status="failed", next_attempt_at=None)
                s.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.id) == a.id,
                        col(WebhookDelivery.claim) == token,
                        col(WebhookDelivery.status) == "pending",
                    )  # fmt: skip
                    .values(**values)
                )


def run_forever() -> None:
    """`khuyencong deliver`: deliver until SIGINT/SIGTERM."""
    import signal

    d = Deliverer().start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    d.stop()
