"""Issue 20, findings 2 and 3: what a phone posts never makes the server answer more than it was sent, parse
its instance more than once, or hold the event loop; deep, huge or crowded XML is refused early, by name."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest

from app.openrosa import messages, submission
from tests.factories import facility_body
from tests.openrosa.collect import message, officer, post

MAX_FIELD_ERRORS = 50


def _instance(fid: str, inner: str = "", instance_id: str | None = None) -> str:
    return (f"<data id='loans' version='2'><facility_id>{fid}</facility_id><needs_loan>no</needs_loan>{inner}"
            f"<end>2026-11-20T08:30:00.000+07:00</end>"
            f"<meta><instanceID>uuid:{instance_id or uuid.uuid4()}</instanceID></meta></data>")  # fmt: skip


def _facility(client: Any, make_key: Any) -> str:
    reg = make_key("field_officer", provinces=["68"], name=f"reg-{uuid.uuid4().hex[:6]}")
    r = client.post("/api/v1/facilities", json=facility_body(), headers=reg)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_many_bad_elements_get_a_bounded_message(client, make_key) -> None:
    auth = officer(make_key)
    fid = _facility(client, make_key)
    inner = "".join(f"<zz{i:04d}>1</zz{i:04d}>" for i in range(3000))
    xml = _instance(fid, inner)
    r = post(client, auth, xml)
    assert r.status_code == 400
    text = message(r)
    assert text.startswith("Bản ghi chưa được nhận: có 3")  # every error counted ...
    bullets = text.count("• ")
    assert bullets == MAX_FIELD_ERRORS + 1  # ... the first 50 named, then how many more
    assert re.search(r"… và 2[  ,.]?9\d\d lỗi khác\.$", text), text[-200:]
    assert "'zz0000' không phải câu hỏi" in text and "zz2999" not in text
    assert len(r.content) < len(xml) / 4


def test_parsing_and_the_message_are_built_off_the_event_loop_and_the_instance_is_parsed_once(
    client, make_key, monkeypatch
) -> None:
    auth = officer(make_key)
    fid = _facility(client, make_key)
    seen: dict[str, list[bool]] = {"parse": [], "message": []}

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    real_parse, real_message = submission.parse, messages.for_error

    def spy_parse(xml: bytes) -> Any:
        seen["parse"].append(on_loop())
        return real_parse(xml)

    def spy_message(*a: Any, **k: Any) -> str:
        seen["message"].append(on_loop())
        return real_message(*a, **k)

    monkeypatch.setattr(submission, "parse", spy_parse, raising=False)
    monkeypatch.setattr(messages, "for_error", spy_message)
    bad = _instance(fid, "".join(f"<zz{i}>1</zz{i}>" for i in range(200)))
    r = post(client, auth, bad)
    assert r.status_code == 400 and "lỗi khác" in message(r)
    assert seen == {"parse": [False], "message": [False]}  # once, in a worker thread
    seen["parse"].clear()
    r = post(client, auth, _instance(fid))
    assert r.status_code == 201, message(r)
    assert seen["parse"] == [False]


@pytest.mark.parametrize(
    "build, limit",
    [
        (lambda fid: "<data id='loans' version='2'>" + "<a>" * 200_000 + "</a>" * 200_000 + "</data>",
         "OPENROSA_MAX_XML_DEPTH"),
        (lambda fid: _instance(fid, "<x/>" * 6000), "OPENROSA_MAX_XML_ELEMENTS"),
        (lambda fid: _instance(fid, "<zz>" + "ư" * 1_100_000 + "</zz>"), "OPENROSA_MAX_XML_TEXT_CHARS"),
        (lambda fid: "<data id='loans' version='2' a='" + "b" * 1_100_000 + "'/>", "OPENROSA_MAX_XML_TEXT_CHARS"),
    ],
    ids=["deep", "crowded", "long-text", "long-attribute"],
)  # fmt: skip
def test_deep_crowded_or_huge_xml_is_refused_by_name(client, make_key, build, limit: str) -> None:
    auth = officer(make_key)
    fid = _facility(client, make_key)
    r = post(client, auth, build(fid))
    assert r.status_code == 400 and r.headers["x-openrosa-version"] == "1.0"
    text = message(r)
    assert text.startswith("Bản ghi chưa được nhận.") and limit in text, text
    assert len(r.content) < 1000
    # nothing was stored
    assert (
        client.get("/api/v1/responses", headers=make_key("admin", name=f"a-{uuid.uuid4().hex[:4]}")).json()[
            "items"
        ]
        == []
    )


def test_the_limits_are_settings(client, make_key, monkeypatch) -> None:
    from app.core.config import get_settings

    auth = officer(make_key)
    fid = _facility(client, make_key)
    inner = "<g><h><i>x</i></h></g>"  # data/g/h/i: four levels (a group the form does not have: ignored)
    monkeypatch.setattr(get_settings(), "openrosa_max_xml_depth", 3, raising=False)
    r = post(client, auth, _instance(fid, inner))
    assert r.status_code == 400 and "lồng quá 3 cấp" in message(r)
    monkeypatch.setattr(get_settings(), "openrosa_max_xml_depth", 4, raising=False)
    r = post(client, auth, _instance(fid, inner))
    assert r.status_code == 201, message(r)
