"""The OpenRosa 1.0 documents: the forms list, a form's manifest and the OpenRosaResponse message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

VERSION_HEADER = {"X-OpenRosa-Version": "1.0"}
XML_TYPE = "text/xml; charset=utf-8"
NS_LIST = "http://openrosa.org/xforms/xformsList"
NS_MANIFEST = "http://openrosa.org/xforms/xformsManifest"
NS_RESPONSE = "http://openrosa.org/http/response"


@dataclass(frozen=True)
class FormItem:
    form_id: str
    name: str
    version: str
    md5: str
    download_url: str
    manifest_url: str
    description: str | None = None


@dataclass(frozen=True)
class MediaItem:
    filename: str
    md5: str
    download_url: str


def _doc(root: Element) -> bytes:
    return tostring(root, encoding="utf-8", xml_declaration=True)


def form_list(items: Iterable[FormItem]) -> bytes:
    root = Element("xforms", xmlns=NS_LIST)
    for it in items:
        x = SubElement(root, "xform")
        SubElement(x, "formID").text = it.form_id
        SubElement(x, "name").text = it.name
        SubElement(x, "version").text = it.version
        SubElement(x, "hash").text = f"md5:{it.md5}"
        if it.description:
            SubElement(x, "descriptionText").text = it.description
        SubElement(x, "downloadUrl").text = it.download_url
        SubElement(x, "manifestUrl").text = it.manifest_url
    return _doc(root)


def manifest(items: Iterable[MediaItem]) -> bytes:
    root = Element("manifest", xmlns=NS_MANIFEST)
    for it in items:
        m = SubElement(root, "mediaFile")
        SubElement(m, "filename").text = it.filename
        SubElement(m, "hash").text = f"md5:{it.md5}"
        SubElement(m, "downloadUrl").text = it.download_url
    return _doc(root)


def message(text: str, nature: str = "") -> bytes:
    """An OpenRosaResponse: Collect shows the message text to the person after a submission."""
    root = Element("OpenRosaResponse", xmlns=NS_RESPONSE)
    SubElement(root, "message", nature=nature).text = text
    return _doc(root)
