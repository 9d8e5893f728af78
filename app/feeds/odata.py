"""OData v4 query options as ODK Central reads them: parsed once, anything unsupported refused by name.

An option this server does not implement (`$orderby`, `$search`, a function in `$filter`, a field that cannot be
filtered on, ...) is a 400 naming it, never silently ignored: an ignored filter gives an analyst wrong totals.
Errors are problem+json carrying Central's own `code` (e.g. 400.18) and `message` as extension members, so
clients written for Central (pyodk, ruODK) report them as they would Central's.

`$filter` grammar (Central's subset): comparisons `field op literal` (or `literal op field`) with `eq ne lt le gt
ge`, joined by `and` / `or`, negated by `not`, grouped by parentheses; literals are `'text'` (a quote doubled
inside), `null`, `true` / `false`, numbers, dates (`2026-11-20`) and timestamps (`2026-11-20T08:30:00Z`, or with
an offset). Which fields may be filtered is the feed's business (app.feeds.service); this module only parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from app.core.errors import AppError, Invalid, field_error
from app.core.pagination import decode_cursor

# Without $top a page holds this many rows and ends with @odata.nextLink (Power BI and Excel follow it); a larger
# $top is served in pages of this size too, so no request builds an unbounded document.
MAX_PAGE = 5000

OPTIONS = ("$top", "$skip", "$count", "$filter", "$select", "$skiptoken", "$format", "$expand", "$wkt")


class ODataError(AppError):
    """A query option or filter this server does not read (400), in Central's shape as well as ours."""

    status, slug, title = 400, "odata-query", "OData query not supported"


def odata_error(param: str, code: float, rule: str, message: str) -> ODataError:
    return ODataError(
        message, errors=[field_error(f"query.{param}", rule, message)], code=code, message=message
    )


# -- $filter ------------------------------------------------------------------------------------------------

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")


@dataclass(frozen=True)
class Literal:
    value: Any  # str | None | bool | int | float | datetime | date
    raw: str


@dataclass(frozen=True)
class Comparison:
    op: str
    field: str
    literal: Literal
    at: int  # position in the expression, for messages


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Comparison | BoolOp | Not

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<paren>[()])
    | (?P<comma>,)
    | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*(?:/[A-Za-z_$][A-Za-z0-9_$]*)*)
    )""",
    re.VERBOSE,
)


def _unparseable(reason: str) -> ODataError:
    return odata_error(
        "$filter",
        400.18,
        "unparseable",
        f"The OData filter expression you provided could not be parsed: {reason}",
    )


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _unparseable(f"unexpected character {text[pos:].lstrip()[:1]!r} at {pos}.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


def _literal(kind: str, raw: str, at: int) -> Literal:
    if kind == "string":
        return Literal(raw[1:-1].replace("''", "'"), raw)
    if kind == "datetime":
        try:
            return Literal(datetime.fromisoformat(raw.replace("Z", "+00:00")), raw)
        except ValueError:
            raise _unparseable(f"{raw} at {at} is not a valid timestamp.") from None
    if kind == "date":
        try:
            return Literal(date.fromisoformat(raw), raw)
        except ValueError:
            raise _unparseable(f"{raw} at {at} is not a valid date.") from None
    if kind == "number":
        return Literal(float(raw) if any(c in raw for c in ".eE") else int(raw), raw)
    if raw in ("null", "true", "false"):
        return Literal({"null": None, "true": True, "false": False}[raw], raw)
    raise _unparseable(f"expected a value at {at}, found {raw!r}.")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise _unparseable("the expression ends too early.")
        self.i += 1
        return tok

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1] in words

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            raise _unparseable(f"unexpected {tok[1]!r} at {tok[2]}.")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.is_word("or"):
            self.take()
            node = BoolOp("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.is_word("and"):
            self.take()
            node = BoolOp("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[0] == "paren" and tok[1] == "(":
            self.take()
            node = self.or_()
            close = self.take()
            if close[:2] != ("paren", ")"):
                raise _unparseable(f"expected ')' at {close[2]}, found {close[1]!r}.")
            return node
        return self.comparison()

    def operand(self) -> tuple[str, Any, int]:
        """("field", path, at) or ("literal", Literal, at); a function call is refused by name."""
        kind, raw, at = self.take()
        nxt = self.peek()
        if kind == "word" and nxt is not None and nxt[:2] == ("paren", "("):
            raise odata_error(
                "$filter",
                400.18,
                "unsupported_function",
                f"The function {raw}() at {at} is not supported in $filter; compare a field with a value instead "
                "(e.g. __system/submissionDate ge 2026-01-01T00:00:00Z).",
            )
        if kind == "word" and raw not in ("null", "true", "false"):
            return "field", raw, at
        if kind in ("paren", "comma"):
            raise _unparseable(f"unexpected {raw!r} at {at}.")
        return "literal", _literal(kind, raw, at), at

    def comparison(self) -> Node:
        left = self.operand()
        op_tok = self.take()
        if op_tok[0] != "word" or op_tok[1] not in COMPARISONS:
            if op_tok[0] == "word" and op_tok[1] in ("has", "in", "add", "sub", "mul", "div", "mod"):
                raise odata_error("$filter", 400.18, "unsupported_operator",
                                  f"The operator {op_tok[1]!r} at {op_tok[2]} is not supported in $filter; "
                                  f"use one of {', '.join(COMPARISONS)}, and, or, not.")  # fmt: skip
            raise _unparseable(
                f"expected a comparison ({', '.join(COMPARISONS)}) at {op_tok[2]}, found {op_tok[1]!r}."
            )
        right = self.operand()
        op = op_tok[1]
        if left[0] == "field" and right[0] == "literal":
            return Comparison(op, left[1], right[1], left[2])
        if left[0] == "literal" and right[0] == "field":
            flipped = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}.get(op, op)
            return Comparison(flipped, right[1], left[1], right[2])
        raise _unparseable(f"a comparison at {left[2]} must compare one field with one value.")


def parse_filter(text: str) -> Node:
    """The expression tree of a `$filter` value (400 when it cannot be parsed or uses what is not supported)."""
    if len(text) > 4000:
        raise _unparseable("the expression is longer than 4,000 characters.")
    return _Parser(text).parse()


def fields_of(node: Node) -> list[Comparison]:
    if isinstance(node, Comparison):
        return [node]
    if isinstance(node, Not):
        return fields_of(node.operand)
    return fields_of(node.left) + fields_of(node.right)


def as_instant(lit: Literal, path: str) -> datetime | None:
    """A timestamp literal (a date means its 00:00 UTC); null stays None; anything else is a 400."""
    if lit.value is None:
        return None
    if isinstance(lit.value, datetime):
        return lit.value
    if isinstance(lit.value, date):
        return datetime(lit.value.year, lit.value.month, lit.value.day, tzinfo=UTC)
    raise odata_error("$filter", 400.18, "type_mismatch",
                      f"{path} is a timestamp; compare it with one such as 2026-11-20T00:00:00Z, not {lit.raw}.")  # fmt: skip


# -- the options themselves -----------------------------------------------------------------------------------


@dataclass
class Options:
    top: int | None = None
    skip: int = 0
    count: bool = False
    filter: Node | None = None
    filter_text: str | None = None
    select: list[str] | None = None
    skiptoken: str | None = None
    last_seq: int | None = None
    wkt: bool = False
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def page_size(self) -> int:
        return MAX_PAGE if self.top is None else min(self.top, MAX_PAGE)


def _bool(param: str, value: str) -> bool:
    # Central reads `$count=true` and `True` (pyodk sends Python's str(True)).
    low = value.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    raise odata_error(
        param, 400.8, "expected_boolean", f"Unexpected {param} value {value}; expected true or false."
    )


def _int(param: str, value: str) -> int:
    if not value.strip().isdigit() or len(value.strip()) > 12:
        raise odata_error(param, 400.8, "expected_integer",
                          f"Unexpected {param} value {value}; expected a whole number, 0 or more.")  # fmt: skip
    return int(value)


def parse_options(params: list[tuple[str, str]], *, allowed: tuple[str, ...] = OPTIONS) -> Options:
    """The query options of an OData request; 400 naming the first option or value not supported."""
    opts = Options()
    for name, value in params:
        if name in opts.raw:
            raise odata_error(name, 400.8, "repeated", f"The query option {name} is given more than once.")
        opts.raw[name] = value
        if name not in allowed:
            what = "query option" if name.startswith("$") else "query parameter"
            raise odata_error(
                name,
                400.4,
                "unsupported_option",
                f"The {what} {name} is not supported by this server; supported: {', '.join(allowed)}.",
            )
        if name == "$top":
            opts.top = _int(name, value)
        elif name == "$skip":
            opts.skip = _int(name, value)
        elif name == "$count":
            opts.count = _bool(name, value)
        elif name == "$wkt":
            opts.wkt = _bool(name, value)
        elif name == "$filter":
            opts.filter_text = value
            opts.filter = parse_filter(value)
        elif name == "$select":
            opts.select = [p.strip() for p in value.split(",") if p.strip()]
            if not opts.select:
                raise odata_error(
                    name, 400.8, "empty", "$select lists no property; name at least one, or leave it out."
                )
        elif name == "$skiptoken":
            try:
                opts.last_seq = decode_cursor(value, int)[0]
            except Invalid:
                raise odata_error(name, 400.35, "invalid_skiptoken",
                                  "Invalid $skiptoken: pass back @odata.nextLink exactly as received.") from None  # fmt: skip
            opts.skiptoken = value
        elif name == "$format":
            if value.split(";")[0].strip().lower() not in ("json", "application/json"):
                raise odata_error(name, 400.8, "unsupported_format",
                                  f"Unexpected $format value {value}; this server answers JSON only.")  # fmt: skip
        elif name == "$expand" and value.strip() != "*":
            raise odata_error(name, 400.8, "unsupported_expand",
                              f'The given OData expand expression is not supported by this server: "{value}". '
                              'Only "$expand=*" is (these forms have no repeat groups).')  # fmt: skip
    return opts
