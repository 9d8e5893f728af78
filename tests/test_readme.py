"""The README's walk-through, extracted from the README itself and run as written against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Walk-through") :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the README has no ```sh block under '## Walk-through'"
    return match.group(1)


def block_under(heading: str) -> str:
    """The first ```sh block of a README section (pasted by a newcomer after the walk-through)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"the README has no ```sh block under {heading!r}"
    return match.group(1)


def test_readme_walkthrough_runs_as_written(client, live_server, tmp_path) -> None:
    # The walk-through, then the Review and ODK Collect blocks pasted after it, in the same shell.
    after = [block_under("\n## Review\n"), block_under("\n## Field officers with ODK Collect\n")]
    script = walkthrough() + "echo walk-through-done\n" + "".join(after)
    assert script.startswith("make run &"), "the walk-through starts the server with `make run &`"
    host = live_server.removeprefix("http://")
    body = "\n".join(script.splitlines()[1:])  # the server is the live one, started as `make run` does
    body = body.replace("localhost:8000", host).replace(".venv/bin/", f"{BIN}/")
    harness = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'  # any HTTP error stops the script
    done = subprocess.run(["bash", "-c", harness + body], cwd=tmp_path, env=os.environ.copy(), capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"the walk-through failed:\n{done.stdout}\n{done.stderr}"
    out = done.stdout.splitlines()
    assert "walk-through-done" in out, done.stdout
    after_blocks = out[out.index("walk-through-done") + 1 :]
    assert any("<xforms" in line for line in after_blocks), "the ODK Collect block lists the forms"
    assert any("Đã hỏi lại: 500 triệu." in line for line in after_blocks), "the review block's thread"
    out = out[: out.index("walk-through-done")]
    assert '"loans"' in out and "201" in out and "200" in out, done.stdout
    assert out.index("201") < out.index("200")
    assert "has_issues" in out and "Số tiền vay 500 triệu đồng có đúng không?" in out, (
        "the officer lists the planner's question"
    )
    assert any(re.search(r"/embed/kf_[\w-]+$", line) for line in out), "a form link's page address"
    assert (tmp_path / "loans.csv").read_text(encoding="utf-8-sig").startswith("response_id,")
    assert int(out[-1]) > 0, "the budgeted selection spent something"
