"""The UI schema (react-jsonschema-form `uiSchema`) that goes with a version's JSON Schema.

It holds only what a renderer needs and the JSON Schema cannot say: yes/no as two radio choices with their
words, one choice as radio buttons (nothing preselected), several choices as checkboxes, long text as a text
area (not text of a set form, such as a phone number), the question order, and each question's unit and hint
as `ui:options` for renderers that show them apart (the JSON Schema's `description` already carries
"hint (unit)" for those that do not).

The second edition's types:
- `geopoint`: `"ui:field": "geopoint"` (the hosted page registers a field of that name: latitude, longitude and
  accuracy, with "use my location"); a renderer without it ignores the name and shows the object's number
  inputs, titled and ordered here;
- `image` / `file`: `ui:options.attachment` ("image" or "file") and `ui:options.accept` (an HTML `accept`
  list). The answer is the file's name (not RJSF's data-URL `file` widget): the portal uploads the file itself
  to `PUT /api/v1/responses/{id}/attachments/{name}` once the response is stored;
- a multiple choice with exclusive choices ("none"): `ui:options.exclusive`, their codes; ticking one unticks
  and disables the others (the server refuses it alongside another).
"""

from __future__ import annotations

from typing import Any

from app.questionnaires.definition import Definition, Question

YES_NO = {"vi": ["Có", "Không"], "en": ["Yes", "No"]}
SUBMIT = {"vi": "Gửi", "en": "Send"}
TEXTAREA_FROM = 200  # characters: a text question allowing more gets a text area
GEOPOINT_TITLES = {
    "vi": {"lat": "Vĩ độ", "lon": "Kinh độ", "accuracy_m": "Độ chính xác (m)", "alt": "Độ cao (m)"},
    "en": {"lat": "Latitude", "lon": "Longitude", "accuracy_m": "Accuracy (m)", "alt": "Altitude (m)"},
}


def _text(value: Any, lang: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get(lang) or value.get("vi") or next(iter(value.values()), None)
    return str(value)


def question_ui(q: Question, lang: str) -> dict[str, Any]:
    ui: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if q.type == "boolean":
        ui["ui:widget"] = "radio"
        ui["ui:enumNames"] = YES_NO[lang]
        options["inline"] = True
    elif q.type == "select_one":
        ui["ui:widget"] = "radio"
    elif q.type == "select_multiple":
        ui["ui:widget"] = "checkboxes"
        if q.exclusive_codes:
            options["exclusive"] = list(q.exclusive_codes)
    elif q.type == "geopoint":
        titles = GEOPOINT_TITLES[lang]
        ui["ui:field"] = "geopoint"
        ui["ui:order"] = list(titles)
        ui.update({k: {"ui:title": v} for k, v in titles.items()})
    elif q.type in ("image", "file"):
        options["attachment"] = q.type
        accept = q.accept or (("image/*",) if q.type == "image" else ())
        if accept:
            options["accept"] = ",".join(accept)
    elif q.type == "text" and q.pattern is None and (q.max_length is None or q.max_length > TEXTAREA_FROM):
        ui["ui:widget"] = "textarea"
        options["rows"] = 4
    if (unit := _text(q.unit, lang)) is not None:
        options["unit"] = unit
    if (hint := _text(q.hint, lang)) is not None:
        options["hint"] = hint
    if options:
        ui["ui:options"] = options
    return ui


def export(defn: Definition, lang: str = "vi") -> dict[str, Any]:
    """The uiSchema of one version in one language (labels and titles come from the JSON Schema)."""
    ui: dict[str, Any] = {
        "ui:order": [q.id for q in defn.questions],
        "ui:submitButtonOptions": {"submitText": SUBMIT[lang]},
    }
    for q in defn.questions:
        if entry := question_ui(q, lang):
            ui[q.id] = entry
    return ui
