from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def app():  # type: ignore[no-untyped-def]
    """This folder's app also serves the test-only questionnaire (geopoint, image, file, exclusive)."""
    from tests.schemas_app import app_with_test_forms

    return app_with_test_forms()
