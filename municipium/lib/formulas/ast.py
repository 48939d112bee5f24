"""The parsed form of a formula: a small tree of immutable nodes, and the printers.

Nodes compare by meaning, not by where they were written (`position` and a number's
spelling are left out of equality), so `parse(str(f)) == f` is the round-trip test and
formulas can be used as dictionary keys.

There are no parenthesis nodes: the tree carries the grouping, and the printers put back
exactly the parentheses needed to read the same tree again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple


class Ref(NamedTuple):
    """One column a formula reads.

    `Ref('pop', None, None)` the plain variable (or indicator) pop;
    `Ref('pop', 'F', None)` its category F;
    `Ref('pop', None, ())` the sum over all its categories;
    `Ref('pop', None, ('65-79', '80+'))` the sum over the listed categories.
    The caller decides how each becomes a value (see `Formula.to_polars`).
    """

    name: str
    category: str | None = None
    summed: tuple[str, ...] | None = None

    @property
    def is_plain(self) -> bool:
        return self.category is None and self.summed is None


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    text: str = field(default="", compare=False)  # as written: 1e3 stays 1e3 on pages
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Variable:
    ref: Ref
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Text:
    """A quoted string. Only the parser sees it: it is valid only as a category."""

    value: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / < <= > >= == != and or
    left: Node
    right: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    function: str  # min max abs if coalesce
    args: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Round:
    operand: Node
    decimals: int
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Lag:
    operand: Node
    periods: int
    position: int = field(default=0, compare=False)


Node = Number | Variable | Unary | Binary | Call | Round | Lag

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
ARITHMETIC = ("+", "-", "*", "/")

# Binding strength, loosest first; mirrors the grammar's rule nesting.
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, **dict.fromkeys(COMPARISONS, 4), "+": 5, "-": 5, "*": 6, "/": 6}
_UNARY_MINUS = 7
_ATOM = 9

_CANONICAL = {op: op for op in (*COMPARISONS, *ARITHMETIC, "and", "or", "not")}
# What people see on pages. The grammar accepts these signs too, so pages can be copied.
_PRETTY = {
    **_CANONICAL,
    "-": "−",
    "*": "×",
    "/": "÷",
    "<=": "≤",
    ">=": "≥",
    "==": "=",
    "!=": "≠",
}

_BARE_CATEGORY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KEYWORDS = {"and", "or", "not"}


def precedence(node: Node) -> int:
    if isinstance(node, Binary):
        return _PRECEDENCE[node.op]
    if isinstance(node, Unary):
        return _PRECEDENCE["not"] if node.op == "not" else _UNARY_MINUS
    return _ATOM


def quote(category: str) -> str:
    return f"'{category}'" if '"' in category else f'"{category}"'


def _category(category: str, pretty: bool) -> str:
    if pretty and _BARE_CATEGORY.match(category) and category not in _KEYWORDS:
        return category
    return quote(category)


def to_text(node: Node, pretty: bool = False) -> str:
    """Print a tree as formula text that parses back to the same tree.

    Canonical (ASCII, used by `str()` and to re-parse after `substitute`) or pretty
    (typographic signs, for pages). Parentheses appear only where the tree needs them;
    an operand of equal strength on the right keeps its parentheses because float
    arithmetic is not associative and `a - (b - c)` is not `a - b - c`.
    """
    symbols = _PRETTY if pretty else _CANONICAL

    def text(node: Node) -> str:
        match node:
            case Number():
                return node.text or repr(node.value)
            case Variable(ref=ref):
                if ref.category is not None:
                    return f"{ref.name}[{_category(ref.category, pretty)}]"
                if ref.summed is not None:
                    return "sum(" + ", ".join([ref.name, *(quote(c) for c in ref.summed)]) + ")"
                return ref.name
            case Unary(op="-", operand=operand):
                return symbols["-"] + wrap(operand, precedence(operand) < _UNARY_MINUS)
            case Unary(op="not", operand=operand):
                return "not " + wrap(operand, precedence(operand) < _PRECEDENCE["not"])
            case Binary(op=op, left=left, right=right):
                strength = _PRECEDENCE[op]
                # Comparisons do not chain, so an equal-strength left side needs parentheses too.
                left_needs = precedence(left) < strength or (op in COMPARISONS and precedence(left) == strength)
                right_needs = precedence(right) <= strength
                return f"{wrap(left, left_needs)} {symbols[op]} {wrap(right, right_needs)}"
            case Call(function=function, args=args):
                return f"{function}(" + ", ".join(text(arg) for arg in args) + ")"
            case Round(operand=operand, decimals=decimals):
                return f"round({text(operand)})" if decimals == 0 else f"round({text(operand)}, {decimals})"
            case Lag(operand=operand, periods=periods):
                return f"lag({text(operand)})" if periods == 1 else f"lag({text(operand)}, {periods})"
        raise TypeError(f"not a formula node: {node!r}")

    def wrap(node: Node, needed: bool) -> str:
        return f"({text(node)})" if needed else text(node)

    return text(node)


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Unary(operand=operand) | Round(operand=operand) | Lag(operand=operand):
            return (operand,)
        case Binary(left=left, right=right):
            return (left, right)
        case Call(args=args):
            return args
    return ()


def depth(node: Node) -> int:
    """How deeply the tree nests (iteratively, so any tree can be measured)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


def walk_variables(node: Node, lag: int = 0):
    """Yield (variable node, total lag) for every variable read, in reading order."""
    stack = [(node, lag)]
    while stack:
        current, lag = stack.pop()
        if isinstance(current, Variable):
            yield current, lag
            continue
        if isinstance(current, Lag):
            lag += current.periods
        stack.extend((child, lag) for child in reversed(children(current)))


def replace_variables(node: Node, replace) -> Node:
    """Rebuild the tree with each Variable node passed through `replace(node)`."""
    match node:
        case Variable():
            return replace(node)
        case Unary():
            return Unary(node.op, replace_variables(node.operand, replace), node.position)
        case Binary():
            return Binary(
                node.op, replace_variables(node.left, replace), replace_variables(node.right, replace), node.position
            )
        case Call():
            return Call(node.function, tuple(replace_variables(a, replace) for a in node.args), node.position)
        case Round():
            return Round(replace_variables(node.operand, replace), node.decimals, node.position)
        case Lag():
            return Lag(replace_variables(node.operand, replace), node.periods, node.position)
    return node
