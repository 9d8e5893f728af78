"""Criteria are named, never shown as raw ids: every criterion of a published profile carries `label: {vi, en}`,
the pages show it in the page's language, and a label is display text that leaves the profile's hash (and so
every ranking of a published profile) exactly as it was."""

from __future__ import annotations

import copy
import html
import re
from typing import Any

import pytest

from app.core.config import get_settings
from app.planner import i18n, views
from app.prioritisation.profiles import Profiles, parse
from app.questionnaires.registry import Registry
from tests.planner.conftest import NAMES, World

# The hashes point-project v1 and v2 were published with (before criteria had labels): recorded in every
# deployment's definition_hash table and in every frozen ranking; labels must not change them.
PUBLISHED_HASHES = {
    ("point-project", 1): "1a7f1fb483c996fdd12c17955b85b0208df0066e18ec837d9f35054386c2f988",
    ("point-project", 2): "e1a7598665e81004c68c7ef95c579a04b8b0194ec0f79f8a270a38146f77e4b1",
}


def _loaded() -> tuple[Registry, Profiles]:
    settings = get_settings()
    registry = Registry.load(settings.schemas_dir)
    profiles, problems = Profiles.load(settings.schemas_dir, registry)
    assert problems == []
    return registry, profiles


def test_every_criterion_of_a_published_profile_has_a_label_in_both_languages() -> None:
    _, profiles = _loaded()
    usable = [p for p in profiles.items.values() if p.status != "draft"]
    assert usable
    unlabelled = [
        f"{p.key} v{p.version}: {c.id}"
        for p in usable
        for c in p.criteria
        if not (c.label and c.label.get("vi", "").strip() and c.label.get("en", "").strip())
    ]
    assert not unlabelled, f"give these criteria a label: {{vi, en}} in their profile file: {unlabelled}"


def test_labels_leave_the_published_hashes_as_they_were() -> None:
    _, profiles = _loaded()
    for (key, version), digest in PUBLISHED_HASHES.items():
        assert profiles.items[(key, version)].content_hash == digest, (key, version)


def test_a_label_is_display_text_but_the_rest_is_hashed() -> None:
    registry, profiles = _loaded()
    p = profiles.items[("point-project", 2)]
    doc = copy.deepcopy(p.raw)
    for c in doc["criteria"]:
        c.pop("label")
    bare, problems = parse(doc, "bare.yaml", registry)
    assert problems == [] and bare is not None and bare.content_hash == p.content_hash
    doc["criteria"][0]["label"] = {"vi": "Tên khác", "en": "Another name"}
    relabelled, _ = parse(doc, "relabelled.yaml", registry)
    assert relabelled is not None and relabelled.content_hash == p.content_hash
    assert relabelled.criteria[0].label == {"vi": "Tên khác", "en": "Another name"}
    doc["criteria"][0]["weight"] = 0.5
    reweighted, _ = parse(doc, "reweighted.yaml", registry)
    assert reweighted is not None and reweighted.content_hash != p.content_hash


@pytest.mark.parametrize(
    "label",
    ["Việc làm", {"vi": "Việc làm"}, {"vi": "", "en": "Jobs"}, {"vi": "Việc làm", "en": "Jobs", "fr": "x"}],
)
def test_a_label_needs_both_languages(label: Any) -> None:
    registry, profiles = _loaded()
    doc = copy.deepcopy(profiles.items[("point-project", 2)].raw)
    doc["criteria"][7]["label"] = label
    prof, problems = parse(doc, "bad.yaml", registry)
    assert prof is None
    assert [(pr.path, "vi" in pr.message and "en" in pr.message) for pr in problems] == [
        ("criteria.7.label", True)
    ]


def test_without_a_label_the_id_is_made_readable() -> None:
    assert i18n.criterion_label("vi", None, "jobs_created") == "Jobs created"
    assert i18n.criterion_label("en", {"vi": "Việc làm", "en": "Jobs"}, "jobs") == "Jobs"
    assert i18n.criterion_label("vi", {"vi": "Việc làm", "en": "Jobs"}, "jobs") == "Việc làm"
    registry, profiles = _loaded()
    doc = copy.deepcopy(profiles.items[("point-project", 2)].raw)
    for c in doc["criteria"]:
        c.pop("label")
    bare, _ = parse(doc, "bare.yaml", registry)
    assert bare is not None
    legend = views.criteria_legend(bare, "vi")
    assert [x["label"] for x in legend if x["id"] == "demonstration_reach"] == ["Demonstration reach"]


def _profile_labels(world: World, version: int, lang: str) -> dict[str, str]:
    """The criteria's labels as the profile document served by the API says them."""
    doc = world.client.get(f"/api/v1/scoring-profiles/point-project/versions/{version}").json()
    return {c["id"]: c["label"][lang] for c in doc["criteria"]}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_pages_name_every_criterion_by_its_label(world: World, version: int, lang: str) -> None:
    c, _ = world.browser("planner")
    labels = _profile_labels(world, version, lang)
    page = html.unescape(
        c.get("/planner/priorities", params={"profile": f"point-project:{version}", "lang": lang}).text
    )
    missing_word = "thiếu" if lang == "vi" else "missing"
    for cid, label in labels.items():
        assert label in page, (cid, label)
        assert f"{missing_word}: {cid}" not in page and f">{cid}<" not in page, cid
    assert not re.search(rf"{missing_word}: [a-z]+_[a-z_]+", page)  # no raw id in any flag
    # C answered nothing: each criterion it misses is flagged by name, as the API lists them.
    api = world.client.get("/api/v1/priorities", headers=world.keys["planner"],
                           params={"profile": "point-project", "profile_version": version}).json()  # fmt: skip
    item_c = next(it for it in api["items"] if it["facility"]["name"] == NAMES["C"])
    assert item_c["missing"]
    row_c = page.split('<td class="num rank">')
    row_c_text = next(cell for cell in row_c[1:] if NAMES["C"] in cell)
    for cid in item_c["missing"]:
        assert f"{missing_word}: {labels[cid]}" in re.sub(r"\s+", " ", row_c_text), cid
