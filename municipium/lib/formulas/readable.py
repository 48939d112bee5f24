"""Formulas for readers: the parsed tree printed with names in place of codes.

`100 * (water_produced - water_billed) / water_produced` reads on the indicator page as
"100 × (Water produced − Water billed) ÷ Water produced". The tree is printed, not the text
edited, so the grouping is exactly what the engine computes, with the same parentheses as
`Formula.pretty()`. Names come from the caller (a catalogue lookup in the reader's
language); a code without a name stays a code.

    readable_text(f, names={"water_produced": "Water produced", ...})
    readable_html(f, names=..., href=lambda code: f"#variable-{code}")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.lib.numbers import comma, format_number, item_separator, localise_digits

from .ast import (
    _ATOM,
    _PRECEDENCE,
    _PRETTY,
    _UNARY_MINUS,
    COMPARISONS,
    Binary,
    Call,
    Lag,
    Node,
    Number,
    Round,
    Unary,
    Variable,
    precedence,
)
from .formula import Formula


def _function_words() -> dict[str, str]:
    # Built per call: the words follow the language active when the formula is printed.
    return {
        "min": _("smallest of"),
        "max": _("largest of"),
        "abs": _("absolute value of"),
        "coalesce": _("first known of"),
    }


def _number(node: Number) -> str:
    """A constant as the reader's language writes numbers (numbers.format_number: Persian
    digits and decimal mark, a decimal comma in Polish), as written otherwise: its decimals
    ("0.50" keeps its zero), no grouping ("1000"), an exponent kept ("1e3": ۱e۳ in Persian)."""
    text = node.text or repr(node.value)
    mantissa, mark, exponent = text.partition("e") if "e" in text else text.partition("E")
    decimals = len(mantissa.partition(".")[2])
    return format_number(float(mantissa), decimals, grouping=False) + (mark + localise_digits(exponent) if mark else "")


def _render(tree: Node, word: Callable[[Variable], str], esc: Callable[[str], str]) -> str:
    """Print the tree; `word(variable)` gives a variable's already escaped text, `esc`
    escapes everything else (identity for plain text)."""
    words = _function_words()

    def text(node: Node) -> str:
        match node:
            case Number():
                return esc(_number(node))
            case Variable():
                return word(node)
            case Unary(op="-", operand=operand):
                return esc(_PRETTY["-"]) + wrap(operand, precedence(operand) < _UNARY_MINUS)
            case Unary(op="not", operand=operand):
                return esc(_("not") + " ") + wrap(operand, precedence(operand) < _PRECEDENCE["not"])
            case Binary(op=op, left=left, right=right):
                strength = _PRECEDENCE[op]
                left_needs = precedence(left) < strength or (op in COMPARISONS and precedence(left) == strength)
                right_needs = precedence(right) <= strength
                sign = {"and": _("and"), "or": _("or")}.get(op, _PRETTY[op])
                return f"{wrap(left, left_needs)} {esc(sign)} {wrap(right, right_needs)}"
            case Call(function="if", args=(condition, then, otherwise)):
                return (
                    esc(_("if") + " ")
                    + text(condition)
                    + esc(" " + _("then") + " ")
                    + text(then)
                    + esc(" " + _("else") + " ")
                    + text(otherwise)
                )
            case Call(function=function, args=args):
                inner = esc(item_separator()).join(text(arg) for arg in args)
                return esc(words.get(function, function) + " (") + inner + esc(")")
            case Round(operand=operand, decimals=decimals):
                if decimals == 0:
                    return esc(_("rounded") + " (") + text(operand) + esc(")")
                rounded = ngettext("rounded to %(n)s decimal", "rounded to %(n)s decimals", decimals) % {
                    "n": format_number(decimals, 0)
                }
                return esc(rounded + " (") + text(operand) + esc(")")
            case Lag(operand=operand, periods=periods):
                when = ngettext("%(n)s period earlier", "%(n)s periods earlier", periods) % {
                    "n": format_number(periods, 0)
                }
                if periods == 1:
                    when = _("previous period")
                return wrap(operand, precedence(operand) < _ATOM) + esc(f" ({when})")
        raise TypeError(f"not a formula node: {node!r}")

    def wrap(node: Node, needed: bool) -> str:
        return esc("(") + text(node) + esc(")") if needed else text(node)

    return text(tree)


def _describe(variable: Variable, names: Mapping[str, str], categories: Mapping[tuple[str, str], str]) -> str:
    """A variable reference in words: its name, and which of its categories it reads."""
    ref = variable.ref
    name = names.get(ref.name) or ref.name

    def category(code: str) -> str:
        return categories.get((ref.name, code)) or code

    if ref.category is not None:
        return f"{name} [{category(ref.category)}]"
    if ref.summed == ():
        return _("%(name)s, all categories") % {"name": name}
    if ref.summed:
        return f"{name} [{comma().join(category(c) for c in ref.summed)}]"
    return name


def readable_text(
    formula: Formula, names: Mapping[str, str], categories: Mapping[tuple[str, str], str] | None = None
) -> str:
    """The formula as plain text with names for codes (downloads, titles, screen readers)."""
    categories = categories or {}
    return _render(formula.tree, lambda v: _describe(v, names, categories), lambda s: s)


def readable_html(
    formula: Formula,
    names: Mapping[str, str],
    categories: Mapping[tuple[str, str], str] | None = None,
    href: Callable[[str], str | None] | None = None,
) -> SafeString:
    """The formula as HTML: each name a link (`href(code)`, e.g. to its entry in the list
    of variables) or a span, carrying its code as a `data-code` attribute."""
    categories = categories or {}

    def word(variable: Variable) -> str:
        text, code = _describe(variable, names, categories), variable.ref.name
        target = href(code) if href else None
        if target:
            return format_html('<a class="formula-name" href="{}" data-code="{}">{}</a>', target, code, text)
        return format_html('<span class="formula-name" data-code="{}">{}</span>', code, text)

    return mark_safe(_render(formula.tree, word, lambda s: str(conditional_escape(s))))  # noqa: S308 - every part escaped above


def readable(
    formula: str | Formula,
    names: Mapping[str, str] | None = None,
    categories: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """Formula text (or a parsed formula) as plain readable text; codes stay codes unless
    `names` gives them a name. Raises FormulaError for text that does not parse."""
    from .formula import parse

    parsed = parse(formula) if isinstance(formula, str) else formula
    return readable_text(parsed, names or {}, categories)
