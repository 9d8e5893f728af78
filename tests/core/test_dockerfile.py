"""The image's build: dependencies in a layer of their own (a README or code edit does not reinstall them), and a
.dockerignore keeping local state out of the build context. (No Docker daemon in CI: the files are read.)"""

from __future__ import annotations

import re

from app.core.config import ROOT


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        m = re.match(r"^(FROM|COPY|RUN|ENV|WORKDIR|USER|CMD|EXPOSE|VOLUME|HEALTHCHECK)\s+(.*)$", line.strip())
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def test_dependencies_are_installed_before_anything_but_pyproject_is_copied() -> None:
    steps = instructions()
    first_install = next(i for i, (op, arg) in enumerate(steps) if op == "RUN" and "pip install ." in arg)
    copied_before = [arg for op, arg in steps[:first_install] if op == "COPY"]
    assert copied_before == ["pyproject.toml ./"], copied_before
    copied_after = " ".join(arg for op, arg in steps[first_install:] if op == "COPY")
    for needed in ("app", "migrations", "survey_schemas", "alembic.ini", "README.md"):
        assert needed in copied_after, needed


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "data", "tests", "**/node_modules"} <= ignored
    assert not ignored & {"app", "migrations", "survey_schemas", "README.md", "pyproject.toml", "alembic.ini"}
