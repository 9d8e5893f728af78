"""An app that also serves the test-only questionnaire (tests/questionnaires/schemas: every question type)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEST_ONLY = ROOT / "tests" / "questionnaires" / "schemas"


def app_with_test_forms() -> Any:
    """The app on a copy of survey_schemas/ plus the test-only questionnaire (site-visit v1)."""
    from app.core.config import get_settings
    from app.main import create_app

    root = Path(tempfile.mkdtemp(prefix="kc-schemas-")) / "survey_schemas"
    shutil.copytree(ROOT / "survey_schemas", root)
    for folder in TEST_ONLY.iterdir():
        shutil.copytree(folder, root / folder.name)
    return create_app(get_settings().model_copy(update={"schemas_dir": root}))
