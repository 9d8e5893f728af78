"""A webhook receiver on loopback that verifies every delivery with the `standardwebhooks` library."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook as Verifier


class Receiver:
    """Answers each POST with the next status of `plan` (then 204), after `delay` seconds; records all."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.plan: list[int] = []
        self.delay = 0.0
        self.on_request: Callable[[], None] | None = None
        self._lock = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if outer.on_request is not None:
                    outer.on_request()
                with outer._lock:
                    outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = outer.plan.pop(0) if outer.plan else 204
                    outer._lock.notify_all()
                if outer.delay:
                    time.sleep(outer.delay)
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"no" if status >= 300 else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/khuyencong"

    def wait_for(self, n: int, timeout: float = 20.0) -> list[tuple[dict[str, str], bytes]]:
        """At least `n` requests received (or fail after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} of {n} deliveries arrived within {timeout} s"
                self._lock.wait(left)
            return list(self.received)

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request's payload, each verified by the standardwebhooks library (raises if one is not)."""
        out = []
        for headers, body in list(self.received):
            payload = Verifier(secret).verify(body.decode(), headers)
            assert payload == json.loads(body)
            out.append({**payload, "_id": headers["webhook-id"]})
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
