"""Checks across answers: a small subset of XLSForm's expression language, parsed once, evaluated in Python
and written out as XPath for the XForm.

The subset (README, "Checks across answers"): `${question}` references, numbers, quoted strings,
`+ - * div`, `= != < <= > >=`, `and`, `or`, `not(...)`, `selected(${q}, 'code')`, `count-selected(${q})`,
parentheses and a leading minus. Precedence as in XPath 1.0: `or` < `and` < `= !=` < `< <= > >=` < `+ -`
< `* div` < unary minus.

Every rule is typed when the questionnaire loads (`Rule.typecheck`), so evaluation never meets a case where
XPath's coercions would differ from Python's: arithmetic and ordering take numbers only; `=` and `!=` compare
two numbers or two texts; a yes/no question reads as the text 'yes' or 'no' (the XForm's yes/no choice);
a select_multiple is read only through `selected()` and `count-selected()`. Numbers are IEEE doubles on both
sides (`div` by 0 gives ±Infinity or NaN, and any comparison with NaN is false), as in XPath.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput, v_args

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr | or_expr "or" and_expr -> or_
?and_expr: eq_expr | and_expr "and" eq_expr -> and_
?eq_expr: rel_expr
    | eq_expr "=" rel_expr -> eq
    | eq_expr "!=" rel_expr -> ne
?rel_expr: add_expr
    | rel_expr "<" add_expr -> lt
    | rel_expr "<=" add_expr -> le
    | rel_expr ">" add_expr -> gt
    | rel_expr ">=" add_expr -> ge
?add_expr: mul_expr
    | add_expr "+" mul_expr -> add
    | add_expr "-" mul_expr -> sub
?mul_expr: unary
    | mul_expr "*" unary -> mul
    | mul_expr "div" unary -> div
?unary: atom | "-" unary -> neg
?atom: REF -> ref
     | NUMBER -> number
     | STRING -> string
     | "not" "(" or_expr ")" -> not_
     | "selected" "(" REF "," STRING ")" -> selected
     | "count-selected" "(" REF ")" -> count_selected
     | "(" or_expr ")"
REF: "${" /[a-z][a-z0-9_]{0,62}/ "}"
NUMBER: /[0-9]+(\.[0-9]+)?|\.[0-9]+/
STRING: /'[^']*'/ | /"[^"]*"/
%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)

NUM, TEXT, BOOL = "number", "text", "true/false"


class RuleError(ValueError):
    """A rule that does not parse or does not fit its questionnaire; the message says where and why."""


@dataclass(frozen=True)
class Node:
    op: str  # ref, number, string, neg, arith, compare, and, or, not, selected, count_selected
    args: tuple[Any, ...]


@v_args(inline=True)
class _Build(Transformer[Token, Node]):
    def ref(self, tok: Token) -> Node:
        return Node("ref", (str(tok)[2:-1],))

    def number(self, tok: Token) -> Node:
        return Node("number", (float(tok),))

    def string(self, tok: Token) -> Node:
        return Node("string", (str(tok)[1:-1],))

    def neg(self, a: Node) -> Node:
        return Node("neg", (a,))

    def add(self, a: Node, b: Node) -> Node:
        return Node("arith", ("+", a, b))

    def sub(self, a: Node, b: Node) -> Node:
        return Node("arith", ("-", a, b))

    def mul(self, a: Node, b: Node) -> Node:
        return Node("arith", ("*", a, b))

    def div(self, a: Node, b: Node) -> Node:
        return Node("arith", ("div", a, b))

    def eq(self, a: Node, b: Node) -> Node:
        return Node("compare", ("=", a, b))

    def ne(self, a: Node, b: Node) -> Node:
        return Node("compare", ("!=", a, b))

    def lt(self, a: Node, b: Node) -> Node:
        return Node("compare", ("<", a, b))

    def le(self, a: Node, b: Node) -> Node:
        return Node("compare", ("<=", a, b))

    def gt(self, a: Node, b: Node) -> Node:
        return Node("compare", (">", a, b))

    def ge(self, a: Node, b: Node) -> Node:
        return Node("compare", (">=", a, b))

    def and_(self, a: Node, b: Node) -> Node:
        return Node("and", (a, b))

    def or_(self, a: Node, b: Node) -> Node:
        return Node("or", (a, b))

    def not_(self, a: Node) -> Node:
        return Node("not", (a,))

    def selected(self, ref: Token, code: Token) -> Node:
        return Node("selected", (str(ref)[2:-1], str(code)[1:-1]))

    def count_selected(self, ref: Token) -> Node:
        return Node("count_selected", (str(ref)[2:-1],))


def parse(text: str) -> Node:
    """The rule's syntax tree; RuleError naming the place where it stops making sense."""
    try:
        return _Build().transform(_PARSER.parse(text))
    except UnexpectedInput as exc:
        col = getattr(exc, "column", None)
        where = f" at character {col}" if isinstance(col, int) and col > 0 else ""
        got = getattr(exc, "token", None) or getattr(exc, "char", None)
        seen = f" ({str(got)!r} is not expected there)" if got not in (None, "") else ""
        raise RuleError(
            f"not a valid rule{where}{seen}; the subset is ${{question}}, numbers, 'text', + - * div, "
            "= != < <= > >=, and, or, not(...), selected(${q}, 'code'), count-selected(${q})"
        ) from None


def refs(node: Node) -> list[str]:
    """The questions a rule names, each once, in the order written."""
    out: list[str] = []

    def walk(n: Any) -> None:
        if not isinstance(n, Node):
            return
        if n.op in ("ref", "selected", "count_selected"):
            if n.args[0] not in out:
                out.append(n.args[0])
            return
        for a in n.args:
            walk(a)

    walk(node)
    return out


def typecheck(node: Node, types: Mapping[str, str], choices: Mapping[str, tuple[str, ...]]) -> None:
    """RuleError unless the rule is a true/false test over known questions, each used as its type allows.

    types: question id → questionnaire type; choices: question id → its choice codes."""
    if _type(node, types, choices) != BOOL:
        raise RuleError("a rule must be a test (a comparison, selected(), and/or/not), not a value")


def _ref_type(qid: str, types: Mapping[str, str]) -> str:
    t = types.get(qid)
    if t is None:
        raise RuleError(f"${{{qid}}} is not a question of this questionnaire")
    if t in ("integer", "decimal"):
        return NUM
    if t in ("text", "date", "select_one", "boolean"):
        return TEXT
    if t == "select_multiple":
        raise RuleError(
            f"${{{qid}}} has several choices: use selected(${{{qid}}}, 'code') or count-selected(${{{qid}}})"
        )
    raise RuleError(f"${{{qid}}} is a {t} question; a rule cannot read its answer")


def _type(n: Node, types: Mapping[str, str], choices: Mapping[str, tuple[str, ...]]) -> str:
    if n.op == "ref":
        return _ref_type(n.args[0], types)
    if n.op == "number":
        return NUM
    if n.op == "string":
        return TEXT
    if n.op == "neg":
        if _type(n.args[0], types, choices) != NUM:
            raise RuleError("a minus sign applies to a number")
        return NUM
    if n.op == "arith":
        op, a, b = n.args
        if _type(a, types, choices) != NUM or _type(b, types, choices) != NUM:
            raise RuleError(
                f"'{op}' applies to numbers (integer or decimal questions, numbers, count-selected)"
            )
        return NUM
    if n.op == "compare":
        op, a, b = n.args
        ta, tb = _type(a, types, choices), _type(b, types, choices)
        if op in ("<", "<=", ">", ">=") and (ta != NUM or tb != NUM):
            raise RuleError(f"'{op}' compares numbers; {_side(a)} is {ta} and {_side(b)} is {tb}")
        if ta != tb or ta == BOOL:
            raise RuleError(
                f"'{op}' compares two numbers or two texts; {_side(a)} is {ta} and {_side(b)} is {tb}"
            )
        for ref, lit in ((a, b), (b, a)):
            if ref.op == "ref" and lit.op == "string":
                _check_literal(ref.args[0], lit.args[0], types, choices)
        return BOOL
    if n.op in ("and", "or"):
        for a in n.args:
            if _type(a, types, choices) != BOOL:
                raise RuleError(f"'{n.op}' joins tests (comparisons, selected(), not(...)), not values")
        return BOOL
    if n.op == "not":
        if _type(n.args[0], types, choices) != BOOL:
            raise RuleError("not(...) takes a test, not a value")
        return BOOL
    qid = n.args[0]
    t = types.get(qid)
    if t is None:
        raise RuleError(f"${{{qid}}} is not a question of this questionnaire")
    if n.op == "selected":
        if t not in ("select_one", "select_multiple"):
            raise RuleError(f"selected() reads a question with choices; ${{{qid}}} is {t}")
        if n.args[1] not in choices.get(qid, ()):
            raise RuleError(f"{n.args[1]!r} is not a choice code of ${{{qid}}}")
        return BOOL
    if t != "select_multiple":
        raise RuleError(f"count-selected() reads a question with several choices; ${{{qid}}} is {t}")
    return NUM


def _side(n: Node) -> str:
    return f"${{{n.args[0]}}}" if n.op == "ref" else "the other side" if n.op != "string" else repr(n.args[0])


def _check_literal(
    qid: str, text: str, types: Mapping[str, str], choices: Mapping[str, tuple[str, ...]]
) -> None:
    t = types[qid]
    if t == "boolean" and text not in ("yes", "no"):
        raise RuleError(f"${{{qid}}} is a yes/no question: compare it with 'yes' or 'no'")
    if t == "select_one" and text not in choices.get(qid, ()):
        raise RuleError(f"{text!r} is not a choice code of ${{{qid}}}")


# Evaluation -------------------------------------------------------------------------------------------------


def _num(v: Any) -> float:
    return float(v)


def _text(v: Any) -> str:
    if v is True:
        return "yes"
    if v is False:
        return "no"
    return str(v)


def _div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "div": _div,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compile_rule(node: Node, types: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    """A function of the answers (every named question answered, each of its own type) to the rule's truth."""

    def build(n: Node) -> Callable[[Mapping[str, Any]], Any]:
        op, args = n.op, n.args
        if op == "ref":
            qid = args[0]
            if types[qid] in ("integer", "decimal"):
                return lambda ans: _num(ans[qid])
            return lambda ans: _text(ans[qid])
        if op in ("number", "string"):
            value = args[0]
            return lambda ans: value
        if op == "neg":
            inner = build(args[0])
            return lambda ans: -inner(ans)
        if op == "arith":
            f, a, b = _ARITH[args[0]], build(args[1]), build(args[2])
            return lambda ans: f(a(ans), b(ans))
        if op == "compare":
            c, a, b = _COMPARE[args[0]], build(args[1]), build(args[2])
            # NaN compares false everywhere in XPath, `!=` too
            if args[0] == "!=":
                return lambda ans: _ne(a(ans), b(ans))
            return lambda ans: c(a(ans), b(ans))
        if op == "and":
            a, b = build(args[0]), build(args[1])
            return lambda ans: bool(a(ans)) and bool(b(ans))
        if op == "or":
            a, b = build(args[0]), build(args[1])
            return lambda ans: bool(a(ans)) or bool(b(ans))
        if op == "not":
            a = build(args[0])
            return lambda ans: not a(ans)
        if op == "selected":
            qid, code = args
            if types[qid] == "select_multiple":
                return lambda ans: code in ans[qid]
            return lambda ans: ans[qid] == code
        qid = args[0]  # count_selected
        return lambda ans: float(len(ans[qid]))

    f = build(node)
    return lambda ans: bool(f(ans))


def _ne(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and (math.isnan(a) or math.isnan(b)):
        return False
    return bool(a != b)


# XPath ------------------------------------------------------------------------------------------------------


def _xpath_literal(text: str) -> str:
    return f"'{text}'" if "'" not in text else f'"{text}"'


def _xpath_number(x: float) -> str:
    return str(int(x)) if x.is_integer() else repr(x)


def to_xpath(node: Node, path: Callable[[str], str]) -> str:
    """The rule as XPath 1.0 over the form's instance (`path(qid)` is a question's absolute path)."""
    op, args = node.op, node.args
    if op == "ref":
        return path(args[0])
    if op == "number":
        return _xpath_number(args[0])
    if op == "string":
        return _xpath_literal(args[0])
    if op == "neg":
        return f"-({to_xpath(args[0], path)})"
    if op in ("arith", "compare"):
        return f"({to_xpath(args[1], path)} {args[0]} {to_xpath(args[2], path)})"
    if op in ("and", "or"):
        return f"({to_xpath(args[0], path)} {op} {to_xpath(args[1], path)})"
    if op == "not":
        return f"not({to_xpath(args[0], path)})"
    if op == "selected":
        return f"selected({path(args[0])}, {_xpath_literal(args[1])})"
    return f"count-selected({path(args[0])})"
