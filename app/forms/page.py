"""The hosted form page's HTML shell: the built assets (named by their manifest) and the page's configuration.

The configuration travels as JSON inside `<script type="application/json">`, so the page needs no inline
script (the CSP allows scripts from this server only) and makes no request before the person submits.
"""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static/forms"

_TITLES = {"vi": "Khảo sát nhu cầu hỗ trợ khuyến công", "en": "Industrial-extension needs survey"}
_NOSCRIPT = {
    "vi": "Trang này cần JavaScript để hiển thị biểu mẫu.",
    "en": "This page needs JavaScript to show the form.",
}


@lru_cache(maxsize=1)
def manifest() -> dict[str, str]:
    """Logical asset name → content-hashed file name, as written by `make assets`."""
    return json.loads((STATIC_DIR / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


LICENSES = "embed-licenses.txt"


def asset_names() -> frozenset[str]:
    """The files GET /static/forms/{asset} serves: the built assets and their licences, nothing else."""
    return frozenset(manifest().values()) | {LICENSES}


def _script_json(value: Any) -> str:
    # Inside <script> only "</" could end the element early; "<" as \u003c (and & / U+2028/9 for old parsers)
    # keeps any text from questionnaires or link names inert.
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        raw.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


HEIGHT_MESSAGE = "khuyencong:height"

# What a portal pastes after the iframe: the page (in the frame) posts `{type: "khuyencong:height", height}` to
# its parent whenever its content changes height; this listener, on the portal's own page (ours keeps its strict
# CSP: no inline script), sizes the frame that sent it, so a phone scrolls the portal only. ES5, no dependency.
_LISTENER = """<script>
addEventListener("message", function (e) {
  var d = e.data, h = d && Number(d.height);
  if (e.origin !== ORIGIN || !d || d.type !== "khuyencong:height" || !(h > 0 && h < 100000)) return;
  Array.prototype.forEach.call(document.getElementsByTagName("iframe"), function (f) {
    if (f.contentWindow === e.source) f.style.height = Math.ceil(h) + "px";
  });
});
</script>"""


def portal_html(url: str) -> str:
    """The HTML a portal pastes: the iframe of the page at `url` and the listener that gives the frame its
    content's height, from messages of the page's origin only (the iframe keeps 1400 px where scripts are off)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    frame = (f'<iframe src="{escape(url)}" title="{escape(_TITLES["vi"])}" '
             'style="width:100%;height:1400px;border:0" loading="lazy" allow="geolocation; clipboard-write"></iframe>')  # fmt: skip
    return f"{frame}\n{_LISTENER.replace('ORIGIN', json.dumps(origin))}"


def render(config: dict[str, Any]) -> str:
    """The whole page for one form link (the script reads `config` and renders the form)."""
    lang = "en" if config.get("lang") == "en" else "vi"
    assets = manifest()
    return (
        "<!doctype html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(_TITLES[lang])}</title>\n"
        f'<link rel="stylesheet" href="{STATIC_URL}/{escape(assets["embed.css"])}">\n'
        f'<script src="{STATIC_URL}/{escape(assets["embed.js"])}" defer></script>\n'
        "</head>\n<body>\n"
        f'<div id="kc-embed"><noscript><p>{escape(_NOSCRIPT[lang])}</p></noscript></div>\n'
        f'<script type="application/json" id="kc-embed-config">{_script_json(config)}</script>\n'
        "</body>\n</html>\n"
    )
