"""A published version's content never changes: start-up and `schemas check` refuse, naming the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import ROOT, Settings
from app.main import create_app
from app.questionnaires.definition import DefinitionError
from tests.conftest import TEST_DB_URL


def make_dir(tmp_path: Path) -> tuple[Path, Path, str]:
    key = f"immut-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "survey_schemas"
    (root / key).mkdir(parents=True)
    text = (
        (ROOT / "survey_schemas" / "packaging" / "v1.yaml")
        .read_text(encoding="utf-8")
        .replace("key: packaging", f"key: {key}")
        .replace(
            "status: retired", "status: published"
        )  # a published version, whatever the shipped one is now
    )
    f = root / key / "v1.yaml"
    f.write_text(text, encoding="utf-8")
    return root, f, key


def start(root: Path) -> None:
    with TestClient(create_app(Settings(database_url=TEST_DB_URL, schemas_dir=root))) as c:
        assert c.get("/healthz").status_code == 200


def test_changed_published_file_refuses_to_start(tmp_path: Path) -> None:
    root, f, key = make_dir(tmp_path)
    start(root)  # first sight: hash recorded
    start(root)  # unchanged: fine
    f.write_text(f.read_text(encoding="utf-8").replace("Bán rời, không bao bì", "Bán rời"), encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        start(root)
    assert f"{key}/v1.yaml" in str(exc.value) and "immutable" in str(exc.value)


def test_retiring_is_allowed_and_a_new_file_appears_without_code_changes(tmp_path: Path) -> None:
    root, f, key = make_dir(tmp_path)
    start(root)
    f.write_text(
        f.read_text(encoding="utf-8").replace("status: published", "status: retired"), encoding="utf-8"
    )
    v2 = (
        f.read_text(encoding="utf-8")
        .replace("version: 1", "version: 2")
        .replace("status: retired", "status: published")
    )
    (f.parent / "v2.yaml").write_text(v2, encoding="utf-8")
    with TestClient(create_app(Settings(database_url=TEST_DB_URL, schemas_dir=root))) as c:
        listed = {q["key"]: q for q in c.get("/api/v1/questionnaires").json()}
        assert listed[key]["latest_version"] == 2
        assert listed[key]["versions"] == [
            {"version": 1, "status": "retired"},
            {"version": 2, "status": "published"},
        ]


def test_draft_may_change_freely(tmp_path: Path) -> None:
    root, f, _ = make_dir(tmp_path)
    f.write_text(
        f.read_text(encoding="utf-8").replace("status: published", "status: draft"), encoding="utf-8"
    )
    start(root)
    f.write_text(f.read_text(encoding="utf-8").replace("Bán rời, không bao bì", "Bán rời"), encoding="utf-8")
    start(root)


def cli(root: Path, db_url: str = TEST_DB_URL) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "SCHEMAS_DIR": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "schemas", "check"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_schemas_check_command(tmp_path: Path) -> None:
    root, f, key = make_dir(tmp_path)
    ok = cli(root)
    assert ok.returncode == 0, ok.stderr
    assert f"ok  {key} v1 (published, 11 questions)" in ok.stdout
    f.write_text(f.read_text(encoding="utf-8").replace("Bán rời, không bao bì", "Khác"), encoding="utf-8")
    changed = cli(root)
    assert changed.returncode == 1 and f"{key}/v1.yaml" in changed.stderr
    shutil.rmtree(root / key)
    (root / "broken").mkdir()
    (root / "broken" / "v1.yaml").write_text(
        "key: broken\nversion: 1\nstatus: published\ntitle: {en: x}\nquestions: []\n"
    )
    bad = cli(root)
    assert bad.returncode == 1
    assert "broken/v1.yaml: title.vi" in bad.stderr and "broken/v1.yaml: questions" in bad.stderr


def test_schemas_check_names_the_missing_migration_and_misnamed_files(tmp_path: Path) -> None:
    root, _, _ = make_dir(tmp_path)
    empty = cli(root, f"sqlite:///{tmp_path / 'never-migrated.db'}")
    assert empty.returncode == 2 and "Traceback" not in empty.stderr
    assert "no tables yet" in empty.stderr and "alembic upgrade head" in empty.stderr
    # A scoring profile file not named v<N>.yaml is reported like a misnamed questionnaire, not skipped.
    scoring = root / "scoring" / "point-project"
    scoring.mkdir(parents=True)
    (scoring / "version-1.yaml").write_text("key: point-project\n", encoding="utf-8")
    misnamed = cli(root)
    assert misnamed.returncode == 1
    assert (
        "scoring/point-project/version-1.yaml: $: scoring profile files are named v<N>.yaml"
        in misnamed.stderr
    )
