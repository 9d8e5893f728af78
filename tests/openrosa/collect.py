"""A field officer's phone, played through HTTP: the OpenRosa requests Collect makes, the form filled by ODK's
engine (tests/clients/odk), and helpers to read the server's OpenRosa XML."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient

from app.openrosa.protocol import NS_LIST, NS_MANIFEST, NS_RESPONSE
from tests.clients.odk import engine

OR = {"X-OpenRosa-Version": "1.0"}  # Collect sends it on every request


def basic(name: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", **OR}


def officer(
    make_key: Any, name: str = "lamdong-tablet-1", provinces: list[str] | None = None
) -> dict[str, str]:
    """A new field officer key, as Collect's Basic credentials (user = key name, password = secret)."""
    bearer = make_key("field_officer", provinces=provinces or ["68"], name=name)
    return basic(name, bearer["Authorization"].removeprefix("Bearer "))


def form_list(client: TestClient, auth: dict[str, str]) -> dict[str, dict[str, str]]:
    r = client.get("/openrosa/formList", headers=auth)
    assert r.status_code == 200 and r.headers["x-openrosa-version"] == "1.0", r.text
    root = ET.fromstring(r.content)
    assert root.tag == f"{{{NS_LIST}}}xforms"
    out = {}
    for x in root.findall(f"{{{NS_LIST}}}xform"):
        item = {child.tag.split("}")[1]: (child.text or "") for child in x}
        out[item["formID"]] = item
    return out


def download(client: TestClient, auth: dict[str, str], item: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The form and its media, as Collect fetches them: form, manifest, each media file (hashes checked)."""
    form = client.get(item["downloadUrl"], headers=auth)
    assert form.status_code == 200 and form.headers["x-openrosa-version"] == "1.0"
    assert item["hash"] == "md5:" + hashlib.md5(form.content).hexdigest()
    man = client.get(item["manifestUrl"], headers=auth)
    assert man.status_code == 200 and man.headers["x-openrosa-version"] == "1.0"
    media = {}
    for mf in ET.fromstring(man.content).findall(f"{{{NS_MANIFEST}}}mediaFile"):
        name = mf.findtext(f"{{{NS_MANIFEST}}}filename") or ""
        got = client.get(mf.findtext(f"{{{NS_MANIFEST}}}downloadUrl") or "", headers=auth)
        assert got.status_code == 200 and got.headers["x-openrosa-version"] == "1.0"
        assert mf.findtext(f"{{{NS_MANIFEST}}}hash") == "md5:" + hashlib.md5(got.content).hexdigest()
        media[name] = got.content.decode("utf-8")
    return form.content, media


def post(
    client: TestClient, auth: dict[str, str], xml: str | bytes, attachments: list[dict[str, Any]] = ()
) -> Any:  # type: ignore[assignment]
    """POST /openrosa/submission as Collect does: multipart, xml_submission_file first, then the files."""
    files: list[tuple[str, tuple[str, bytes, str]]] = [
        ("xml_submission_file", ("submission.xml", xml.encode() if isinstance(xml, str) else xml, "text/xml"))
    ]
    for a in attachments:
        files.append((a["name"], (a["name"], base64.b64decode(a["base64"]), a["type"])))
    return client.post("/openrosa/submission", files=files, headers=auth)


def message(resp: Any) -> str:
    assert resp.headers["content-type"].startswith("text/xml"), resp.headers["content-type"]
    root = ET.fromstring(resp.content)
    assert root.tag == f"{{{NS_RESPONSE}}}OpenRosaResponse"
    return root.findtext(f"{{{NS_RESPONSE}}}message") or ""


def fill(form: bytes, media: dict[str, str], answers: dict[str, Any], files: dict[str, Any] | None = None,
         **extra: Any) -> dict[str, Any]:  # fmt: skip
    return engine.run([{"form": form.decode(), "media": media, "language": "vi", "answers": answers,
                        "files": files or {}, **extra}])[0]  # fmt: skip
