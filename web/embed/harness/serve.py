"""A tiny stand-alone harness for working on the hosted form page without a database.

    .venv/bin/python web/embed/harness/serve.py [--port 8765]

then open http://127.0.0.1:8765/?lang=vi (or &state=revoked|expired|exhausted). It serves the built assets and
the same HTML shell as /embed/{token}, with every published questionnaire, and a stand-in for
POST /api/v1/responses that checks answers with the real validator and facility bodies with the real model,
keeps responses in memory (same id and body → 200, other body → 409) and answers as the API does, and a
stand-in for the attachment upload (photos and files).
For development only: the real page and its tests are app/forms/ and tests/forms/.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from pydantic import ValidationError  # noqa: E402

from app.core.errors import problem_body, validation_errors  # noqa: E402
from app.forms import page  # noqa: E402
from app.places import service as places  # noqa: E402
from app.questionnaires import ui_schema  # noqa: E402
from app.questionnaires.registry import Registry  # noqa: E402
from app.responses.schemas import ResponseCreate  # noqa: E402

PROVINCE = "68"
registry = Registry.load(ROOT / "survey_schemas")
stored: dict[str, tuple[str, dict[str, Any]]] = {}
files: dict[str, bytes] = {}


def config(lang: str, state: str) -> dict[str, Any]:
    qs = []
    for key in registry.keys:
        d = registry.latest_published(key)
        if d is None:
            continue
        qs.append({"key": d.key, "version": d.version, "title": d.title.get(lang) or d.title["vi"],
                   "schema": registry.json_schema(d, lang), "ui_schema": ui_schema.export(d, lang)})  # fmt: skip
    wards = places.wards(PROVINCE) or {}
    return {
        "lang": lang,
        "state": state,
        "token": "kcf_harness",
        "api_base": "/api/v1",
        "link": {"id": "harness", "name": "Harness"},
        "province": {"code": PROVINCE, "name": places.provinces()[PROVINCE]},
        "wards": [{"code": c, "name": w["name"]} for c, w in wards.items()],
        "questionnaires": qs,
        "lang_urls": {"vi": "?lang=vi", "en": "?lang=en"},
        "max_attachment_bytes": 16 * 1_048_576,
    }


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any, ctype: str = "application/json") -> None:
        self._send(status, json.dumps(value, ensure_ascii=False).encode(), ctype)

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        if url.path.startswith(page.STATIC_URL + "/"):
            f = page.STATIC_DIR / url.path.rsplit("/", 1)[1]
            if f.is_file():
                ctype = "text/css" if f.suffix == ".css" else "text/javascript"
                return self._send(200, f.read_bytes(), ctype + "; charset=utf-8")
            return self._send(404, b"", "text/plain")
        if url.path == "/":
            page.manifest.cache_clear()  # `make assets` may have rebuilt them
            q = parse_qs(url.query)
            lang = "en" if q.get("lang") == ["en"] else "vi"
            html = page.render(config(lang, q.get("state", ["active"])[0]))
            return self._send(200, html.encode(), "text/html; charset=utf-8")
        self._send(404, b"", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path != "/api/v1/responses":
            return self._send(404, b"", "text/plain")
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        problem = "application/problem+json"
        try:
            body = ResponseCreate.model_validate_json(raw)
        except ValidationError as exc:
            return self._json(
                422,
                problem_body(422, "invalid", "Invalid request", None, validation_errors(exc.errors())),
                problem,
            )
        digest = json.dumps(json.loads(raw), sort_keys=True)
        if body.id in stored:
            old, out = stored[body.id]
            return (
                self._json(200, out)
                if old == digest
                else self._json(409, problem_body(409, "conflict", "Conflict", None), problem)
            )
        d = registry.for_responses(body.questionnaire, body.version)
        errors = registry.validator(d).validate(body.answers)
        if errors:
            return self._json(
                422,
                problem_body(422, "invalid-answers", "Answers do not match the questionnaire", None, errors),
                problem,
            )
        out = {"id": body.id, "questionnaire": d.key, "version": d.version, "facility_id": str(uuid.uuid4()),
               "answers": body.answers, "received_at": datetime.now(UTC).isoformat(), "revision": 1}  # fmt: skip
        stored[body.id] = (digest, out)
        print("stored", json.dumps(out, ensure_ascii=False), flush=True)
        self._json(201, out)

    def do_PUT(self) -> None:  # noqa: N802
        """A stand-in for PUT /api/v1/responses/{id}/attachments/{name}: kept in memory, as the API answers."""
        parts = urlparse(self.path).path.split("/")
        if len(parts) != 7 or parts[1:4] != ["api", "v1", "responses"] or parts[5] != "attachments":
            return self._send(404, b"", "text/plain")
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        key = f"{parts[4]}/{parts[6]}"
        created = key not in files
        files.setdefault(key, data)
        if files[key] != data:
            return self._json(
                409, problem_body(409, "conflict", "Conflict", None), "application/problem+json"
            )
        print("attachment", key, len(data), "bytes", flush=True)
        self._json(201 if created else 200, {"name": parts[6], "size": len(data)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8765)
    port = ap.parse_args().port
    print(f"harness on http://127.0.0.1:{port}/", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
