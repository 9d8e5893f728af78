"""Submission instance XML → the JSON body the responses service takes (and nothing more).

The translation holds no rule of its own: it turns each element's text into the JSON value a client would
have posted (yes/no → true/false, a select_multiple's space-separated names → a list, numbers → numbers, a
geopoint "lat lon alt accuracy" → {lat, lon, alt, accuracy_m}) and leaves every check to the one validator
behind the JSON routes. Text that is not what its type needs is passed on as text, so the validator names it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from app.core.config import get_settings
from app.openrosa.xform import FACILITY_FIELDS, NEW, NEW_GROUP, NO, YES
from app.questionnaires.definition import Definition, Question

_INT_RE = re.compile(r"^[+-]?\d+$")
_OWN = {"facility_id", NEW_GROUP, "meta", "start", "end"}


class SubmissionError(Exception):
    """The XML is not a submission of one of our forms: a message in Vietnamese and English."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


@dataclass(frozen=True)
class Instance:
    """What the XML says before it is translated: which form, which response, which revision."""

    form_id: str
    version: int
    instance_id: str  # the response id (the uuid of `meta/instanceID`)
    deprecated_id: str | None  # set on an edit: the response this submission revises
    root: Element


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: Element, name: str) -> Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: Element | None) -> str | None:
    if el is None or len(el):
        return None
    t = el.text or ""
    return t if t.strip() else None


def _uuid(value: str | None, what: str) -> str:
    raw = (value or "").strip()
    try:
        return str(uuid.UUID(raw.removeprefix("uuid:")))
    except ValueError:
        raise SubmissionError(
            f"meta/{what} phải có dạng uuid:… (nhận được {raw[:60]!r}).",
            f"meta/{what} must be uuid:… (got {raw[:60]!r}).",
        ) from None


class _Limited(TreeBuilder):
    """The tree of an instance, built while expat streams through it, refused the moment it goes past a limit:
    nesting depth, element count, or characters of text and attribute values in all (OPENROSA_MAX_XML_*).

    A phone's instance is a few levels deep with one element per question; a post nested two million levels
    or holding a million elements is refused at the first element past the limit, before more is read."""

    def __init__(self, depth: int, elements: int, chars: int) -> None:
        super().__init__()
        self.max_depth, self.max_elements, self.max_chars = depth, elements, chars
        self.depth = self.elements = self.chars = 0

    def _count(self, n: int) -> None:
        self.chars += n
        if self.chars > self.max_chars:
            raise SubmissionError(
                f"Bản ghi có quá nhiều chữ (hơn {self.max_chars:,} ký tự, giới hạn OPENROSA_MAX_XML_TEXT_CHARS).",
                f"The instance holds more than {self.max_chars:,} characters of text "
                "(limit OPENROSA_MAX_XML_TEXT_CHARS).",
            )

    def start(self, tag: Any, attrs: dict[str, str]) -> Element:
        self.depth += 1
        self.elements += 1
        if self.depth > self.max_depth:
            raise SubmissionError(
                f"Bản ghi lồng quá {self.max_depth} cấp (giới hạn OPENROSA_MAX_XML_DEPTH); "
                "đây không phải bản ghi của biểu mẫu này.",
                f"The instance nests deeper than {self.max_depth} levels (limit OPENROSA_MAX_XML_DEPTH).",
            )
        if self.elements > self.max_elements:
            raise SubmissionError(
                f"Bản ghi có hơn {self.max_elements:,} phần tử (giới hạn OPENROSA_MAX_XML_ELEMENTS).",
                f"The instance has more than {self.max_elements:,} elements (limit OPENROSA_MAX_XML_ELEMENTS).",
            )
        self._count(len(tag) + sum(len(k) + len(v) for k, v in attrs.items()))
        return super().start(tag, attrs)

    def end(self, tag: Any) -> Element:
        self.depth -= 1
        return super().end(tag)

    def data(self, data: str) -> None:
        self._count(len(data))
        super().data(data)


def parse(xml: bytes) -> Element:
    """The instance's tree, parsed once by a streaming parser with limits (DTDs, entities and external
    references refused by defusedxml; depth, element count and text size bounded by `_Limited`)."""
    s = get_settings()
    target = _Limited(s.openrosa_max_xml_depth, s.openrosa_max_xml_elements, s.openrosa_max_xml_text_chars)
    parser = DefusedXMLParser(target=target, forbid_dtd=True)
    try:
        parser.feed(xml)
        root: Element = parser.close()
    except (DefusedXmlException, SyntaxError, ValueError) as exc:
        raise SubmissionError(
            f"Tệp xml_submission_file không phải XML hợp lệ ({str(exc)[:200]}).",
            f"xml_submission_file is not well-formed XML ({str(exc)[:200]}).",
        ) from None
    return root


def read(xml: bytes) -> Instance:
    """Parse the instance (once, with limits) and read its form, version, instanceID and deprecatedID."""
    root = parse(xml)
    form_id = root.get("id") or ""
    try:
        version = int(root.get("version") or "")
    except ValueError:
        raise SubmissionError(
            "Bản ghi thiếu phiên bản biểu mẫu (thuộc tính version); hãy tải lại biểu mẫu.",
            "The instance has no form version (version attribute); download the form again.",
        ) from None
    meta = _child(root, "meta")
    if meta is None or _text(_child(meta, "instanceID")) is None:
        raise SubmissionError("Bản ghi thiếu meta/instanceID.", "The instance has no meta/instanceID.")
    instance_id = _uuid(_text(_child(meta, "instanceID")), "instanceID")
    deprecated = _text(_child(meta, "deprecatedID"))
    return Instance(
        form_id, version, instance_id, _uuid(deprecated, "deprecatedID") if deprecated else None, root
    )


def _number(text: str) -> Any:
    s = text.strip()
    if _INT_RE.match(s):
        return int(s)
    try:
        d = Decimal(s)
    except InvalidOperation:
        return text
    if not d.is_finite():
        return text
    return float(d)


def _integer(text: str) -> Any:
    """A whole number, exactly (VND amounts travel as decimals like "50000000000.0")."""
    s = text.strip()
    if _INT_RE.match(s):
        return int(s)
    try:
        d = Decimal(s)
    except InvalidOperation:
        return text
    if d.is_finite() and d == d.to_integral_value():
        return int(d)
    return _number(text)  # a fraction: the validator says it is not a whole number


def _geopoint(text: str) -> Any:
    parts = text.split()
    if not 2 <= len(parts) <= 4:
        return text
    nums = [_number(p) for p in parts]
    if any(isinstance(n, str) for n in nums):
        return text
    point: dict[str, Any] = {"lat": nums[0], "lon": nums[1]}
    if len(nums) > 2:
        point["alt"] = nums[2]
    if len(nums) > 3:
        point["accuracy_m"] = nums[3]
    return point


def value(q: Question, text: str) -> Any:
    """One element's text as the JSON value of question `q`."""
    t = q.type
    if t == "integer":
        return _integer(text)
    if t == "decimal":
        return _number(text)
    if t == "boolean":
        return {YES: True, NO: False}.get(text.strip(), text)
    if t == "select_one":
        return text.strip()
    if t == "select_multiple":
        return text.split()
    if t == "geopoint":
        return _geopoint(text)
    if t in ("image", "file"):
        return text.strip()
    return text  # text and date as typed


def to_body(inst: Instance, d: Definition) -> dict[str, Any]:
    """The JSON body of POST /api/v1/responses that this instance stands for."""
    root = inst.root
    answers: dict[str, Any] = {}
    for el in root:
        name = _local(el.tag)
        if name in _OWN:
            continue
        q = d.question(name)
        text = _text(el)
        if text is None:
            continue  # empty: not answered (or not relevant)
        answers[name] = value(q, text) if q is not None else text  # unknown: the validator names it
    body: dict[str, Any] = {
        "id": inst.instance_id,
        "questionnaire": d.key,
        "version": d.version,
        "answers": answers,
    }
    fid = _text(_child(root, "facility_id"))
    if fid is not None and fid.strip() == NEW:
        group = _child(root, NEW_GROUP)
        fac: dict[str, Any] = {}
        for field in FACILITY_FIELDS:
            v = _text(_child(group, field)) if group is not None else None
            if v is not None:
                fac[field] = v.strip() if field != "name" else v
        body["facility"] = fac
    elif fid is not None:
        body["facility_id"] = fid.strip()
    collected = _text(_child(root, "end")) or _text(_child(root, "start"))
    if collected is None:
        raise SubmissionError(
            "Bản ghi thiếu thời điểm thu thập (end); hãy dùng biểu mẫu tải từ máy chủ này.",
            "The instance has no collection time (end); use the form downloaded from this server.",
        )
    body["collected_at"] = collected.strip()
    return body
