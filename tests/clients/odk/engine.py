"""Drive ODK Web Forms' XForms engine (tests/clients/odk/harness.mjs under Node) from Python tests."""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
INSTALLED = HERE / "node_modules" / "@getodk" / "xforms-engine" / "package.json"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js is needed for the ODK engine tests (Node 20: apt-get install -y nodejs)")
    if not INSTALLED.is_file():
        raise RuntimeError(
            f"The ODK engine is not installed in {HERE}/node_modules: run `make test` (it runs "
            f"`npm ci` there from the lockfile) or `cd {HERE.relative_to(HERE.parents[2])} && npm ci`."
        )
    return node


_proc: subprocess.Popen[str] | None = None
_lock = threading.Lock()


def _engine() -> subprocess.Popen[str]:
    """One engine process for the test session (Node, jsdom and the engine load once)."""
    global _proc
    if _proc is None or _proc.poll() is not None:
        _proc = subprocess.Popen(
            [_node(), str(HERE / "harness.mjs"), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
            encoding="utf-8", bufsize=1,
        )  # fmt: skip
        atexit.register(_proc.kill)
    return _proc


def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each case filled by the engine, as harness.mjs describes; an engine failure fails the test."""
    with _lock:
        proc = _engine()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"cases": cases}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"the ODK engine harness exited ({proc.poll()}):\n{err[-4000:]}")
    results: list[dict[str, Any]] = json.loads(line)["results"]
    for r in results:
        if "error" in r:
            raise RuntimeError(f"the ODK engine failed on a case:\n{r['error']}")
    return results


def fill(form: bytes | str, media: dict[str, str], answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    xml = form.decode() if isinstance(form, bytes) else form
    return run([{"form": xml, "media": media, "answers": answers, **extra}])[0]
