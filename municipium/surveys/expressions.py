"""The XLSForm expression language (`relevant`, `constraint`), the part questionnaires use.

ODK and KoboToolbox evaluate these XPath expressions in the respondent's browser. Municipium
runs them on the server instead: the strict Content-Security-Policy forbids eval, the answers
must be checked there anyway, and one evaluator means the web form, interviewer mode, paper
entry and imports all agree on what was required and what was allowed.

Supported: `${name}` references and `.` (the answer being checked), numbers and quoted
strings, `or and = != < <= > >= + - * div mod`, unary minus, parentheses, and the functions
`selected`, `count-selected`, `not`, `string-length`, `if`, `coalesce`, `number`, `int`,
`true`, `false`. Anything else is refused when the questionnaire is imported, with the
position of the problem, rather than silently ignored in the field.

Values follow XPath: an unanswered question is the empty string; comparisons are numeric
when both sides are numbers (or numeric text) and textual otherwise; a multiple choice is a
space-separated list of choice names, as ODK stores it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, VisitError

from municipium.lib.numbers import format_number

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr | or_expr "or" and_expr          -> or_
?and_expr: comparison | and_expr "and" comparison   -> and_
?comparison: sum | sum COMPARE sum                  -> compare
?sum: product | sum ADD product                     -> arith
?product: unary | product MUL unary                 -> arith
?unary: atom | "-" unary                            -> neg
?atom: NUMBER                                       -> number
     | STRING                                       -> string
     | REF                                          -> ref
     | "."                                          -> current
     | FUNC "(" [or_expr ("," or_expr)*] ")"        -> call
     | "(" or_expr ")"
COMPARE: "!=" | "<=" | ">=" | "=" | "<" | ">"
ADD: "+" | "-"
MUL: "*" | /div\b/ | /mod\b/
REF: /\$\{[A-Za-z_][A-Za-z0-9_.\-]*\}/
FUNC: /(?!div\b|mod\b|and\b|or\b)[a-z][a-z\-]*(?=\s*\()/
NUMBER: /\d+(\.\d+)?/
STRING: /'[^']*'/ | /"[^"]*"/
%import common.WS
%ignore WS
"""

# name: (fewest, most) arguments.
_FUNCTIONS = {
    "selected": (2, 2),
    "count-selected": (1, 1),
    "not": (1, 1),
    "string-length": (1, 1),
    "if": (3, 3),
    "coalesce": (2, 2),
    "number": (1, 1),
    "int": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
}

_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


class ExpressionError(ValueError):
    """An expression that does not parse or names something that does not exist."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Expression:
    text: str
    tree: object
    references: frozenset[str]

    def evaluate(self, answers: dict, current=None):
        return _evaluate(self.tree, answers, current)

    def holds(self, answers: dict, current=None) -> bool:
        return _truth(self.evaluate(answers, current))


class _Build(Transformer):
    def number(self, items):
        return ("lit", float(items[0]))

    def string(self, items):
        return ("lit", str(items[0])[1:-1])

    def ref(self, items):
        return ("ref", str(items[0])[2:-1])

    def current(self, items):
        return ("cur",)

    def neg(self, items):
        return ("neg", items[0])

    def or_(self, items):
        return ("or", items[0], items[1])

    def and_(self, items):
        return ("and", items[0], items[1])

    def compare(self, items):
        return ("cmp", str(items[1]), items[0], items[2])

    def arith(self, items):
        return ("arith", str(items[1]).strip(), items[0], items[2])

    def call(self, items):
        name = str(items[0])
        args = [item for item in items[1:] if not isinstance(item, Token)]
        if name not in _FUNCTIONS:
            raise ExpressionError(_("Unknown function “%(name)s”.") % {"name": name}, items[0].start_pos)
        low, high = _FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise ExpressionError(
                ngettext(
                    "The function “%(name)s” takes %(low)s to %(high)s argument, not %(count)s.",
                    "The function “%(name)s” takes %(low)s to %(high)s arguments, not %(count)s.",
                    high,
                )
                % {
                    "name": name,
                    "low": format_number(low, 0),
                    "high": format_number(high, 0),
                    "count": format_number(len(args), 0),
                },
                items[0].start_pos,
            )
        return ("call", name, args)


def _references(tree) -> set[str]:
    if not isinstance(tree, tuple):
        return set()
    if tree[0] == "ref":
        return {tree[1]}
    found: set[str] = set()
    for part in tree[1:]:
        if isinstance(part, list):
            for item in part:
                found |= _references(item)
        else:
            found |= _references(part)
    return found


@lru_cache(maxsize=2048)
def parse(text: str, known: frozenset[str] | None = None) -> Expression:
    """Parse an expression; with `known`, every `${name}` must be one of those names."""
    try:
        tree = _Build().transform(_PARSER.parse(text))
    except VisitError as error:
        if isinstance(error.orig_exc, ExpressionError):
            raise error.orig_exc from None
        raise
    except UnexpectedInput as error:
        position = getattr(error, "pos_in_stream", None)
        near = text[position : position + 12] if position is not None else ""
        if near:
            message = _("The expression does not parse near “%(near)s” (character %(position)s).") % {
                "near": near,
                "position": position + 1,
            }
        else:
            message = _("The expression ends too early.")
        raise ExpressionError(message, position) from None
    references = frozenset(_references(tree))
    if known is not None:
        unknown = sorted(references - known)
        if unknown:
            raise ExpressionError(
                _("The expression refers to a question that does not exist: ${%(name)s}.") % {"name": unknown[0]}
            )
    return Expression(text, tree, references)


def _value(raw):
    """An answer as XPath sees it: '' when missing, a list as space-separated names."""
    if raw is None:
        return ""
    if isinstance(raw, (list, tuple)):
        return " ".join(str(item) for item in raw)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)):
        return float(raw)
    return str(raw)


def _number(value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    try:
        return float(str(value).strip())
    except ValueError:
        return math.nan


def _truth(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    return value != ""


def _text(value) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _compare(op: str, left, right) -> bool:
    a, b = _number(left), _number(right)
    if not (math.isnan(a) or math.isnan(b)) and left != "" and right != "":
        pair = (a, b)
    else:
        pair = (_text(left), _text(right))
        if op not in ("=", "!="):
            return False
    return {
        "=": pair[0] == pair[1],
        "!=": pair[0] != pair[1],
        "<": pair[0] < pair[1],
        "<=": pair[0] <= pair[1],
        ">": pair[0] > pair[1],
        ">=": pair[0] >= pair[1],
    }[op]


def _evaluate(node, answers: dict, current):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "ref":
        return _value(answers.get(node[1]))
    if kind == "cur":
        return _value(current)
    if kind == "neg":
        return -_number(_evaluate(node[1], answers, current))
    if kind == "or":
        return _truth(_evaluate(node[1], answers, current)) or _truth(_evaluate(node[2], answers, current))
    if kind == "and":
        return _truth(_evaluate(node[1], answers, current)) and _truth(_evaluate(node[2], answers, current))
    if kind == "cmp":
        return _compare(node[1], _evaluate(node[2], answers, current), _evaluate(node[3], answers, current))
    if kind == "arith":
        a, b = _number(_evaluate(node[2], answers, current)), _number(_evaluate(node[3], answers, current))
        op = node[1]
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0:
            return math.nan
        return a / b if op == "div" else math.fmod(a, b)
    name, args = node[1], node[2]
    if name == "if":
        chosen = args[1] if _truth(_evaluate(args[0], answers, current)) else args[2]
        return _evaluate(chosen, answers, current)
    values = [_evaluate(arg, answers, current) for arg in args]
    if name == "selected":
        return _text(values[1]) in _text(values[0]).split()
    if name == "count-selected":
        return float(len(_text(values[0]).split()))
    if name == "not":
        return not _truth(values[0])
    if name == "string-length":
        return float(len(_text(values[0])))
    if name == "coalesce":
        return values[0] if values[0] != "" else values[1]
    if name == "number":
        return _number(values[0])
    if name == "int":
        number = _number(values[0])
        return float(math.trunc(number)) if math.isfinite(number) else number
    return name == "true"
