"""The committed built assets are those of the committed sources (so `make run` serves what the sources say)."""

from __future__ import annotations

import hashlib

from app.core.config import ROOT
from app.planner.web import STATIC, manifest

WEB = ROOT / "web" / "planner"


def test_built_assets_match_their_sources() -> None:
    digest = hashlib.sha256()
    for name in ["package-lock.json", "build.mjs", *sorted(f"src/{p.name}" for p in (WEB / "src").iterdir())]:
        digest.update(f"{name}\0".encode())
        digest.update((WEB / name).read_bytes())
        digest.update(b"\0")
    assert manifest()["sources"] == digest.hexdigest(), (
        "web/planner changed: run `make assets` and commit the result"
    )
    for logical in ("planner.js", "planner.css"):
        for suffix in ("", ".gz", ".br"):
            assert (STATIC / f"{manifest()[logical]}{suffix}").is_file()
    licences = (STATIC / "planner-licenses.txt").read_text()
    assert "htmx.org" in licences and "chart.js" in licences and "@picocss/pico" in licences
