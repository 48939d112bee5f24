"""Formula text to tree: the lark grammar, the tree-building callbacks and the checks
that a grammar cannot express (function names, arities, literal arguments).

The tree is built by lark's LALR parser calling the callbacks as it reduces, so there is
no intermediate parse tree and no recursion while parsing. Every lark exception is turned
into a FormulaError here; nothing from lark reaches callers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import cast

from lark import Lark, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from . import errors
from .ast import Binary, Call, Lag, Node, Number, Ref, Round, Text, Unary, Variable, children

# Polars rounds with a multiplier of 10**decimals; beyond 15 digits a float has nothing
# left to round and large multipliers overflow.
MAX_DECIMALS = 15

# Bounds on what a formula may ask of the engine, checked here at parse time so that no
# saved or previewed formula can make a worker spin or allocate by a number someone typed
# (issue 20). Each was measured on the 2-core reference machine: at these limits the worst
# formula compiles and computes in a second or two.
#
# Printing and computing walk the tree recursively, and the Polars expression nests one
# struct per operator, so its cost grows with the square of the depth; 200 levels still
# allows a sum of a hundred and fifty terms or thirty nested if(min(coalesce())).
MAX_DEPTH = 200
# Longer text only adds parentheses or terms; the starter catalogue's longest is 160.
MAX_LENGTH = 2000
# min(), max(), coalesce() and sum()'s categories: the engine packs the arguments in one
# struct, whose cost grows with their square (10,000 ran into the worker timeout).
MAX_ARGUMENTS = 100
# How far back a formula reads, nested lags added up. The engine loads that many earlier
# periods, so this is what keeps lag(x, 10**18) from looping or allocating; a hundred
# periods is more than any yearly or monthly series holds.
MAX_LAG = 100

_WHOLE_NUMBER = re.compile(r"\d+\Z")

# name: (fewest, most) arguments; None = no upper limit.
_ARITY: dict[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "coalesce": (2, None),
    "abs": (1, 1),
    "round": (1, 2),
    "if": (3, 3),
    "lag": (1, 2),
    "sum": (1, None),
}

_OPERATORS = {"OR", "AND", "COMPARE", "PLUS", "MINUS", "TIMES", "DIVIDE", "LSQB", "LPAR"}
_OPERANDS = {"NUMBER", "NAME", "STRING", "NOT"}
_PUNCTUATION = {"COMMA": ",", "RPAR": ")", "RSQB": "]"}

# The typographic signs of pretty() mean the same as their ASCII spellings.
_SIGNS = {"−": "-", "×": "*", "÷": "/", "≤": "<=", "≥": ">=", "≠": "!=", "=": "=="}


def _operand(node: Node | Text) -> Node:
    """Reject quoted text wherever a value is needed (it is only valid as a category)."""
    if isinstance(node, Text):
        raise errors.misplaced_text(node.position)
    return node


def _whole_number(node: Node) -> int | None:
    """The value of a plain whole-number literal like `2`, else None (so `2.0`, `-1`, `x` fail)."""
    if isinstance(node, Number) and _WHOLE_NUMBER.match(node.text):
        return int(node.text)
    return None


class _Build(Transformer):
    """Callbacks named after the grammar's rule aliases; each returns an ast node."""

    def number(self, children):
        (token,) = children
        value = float(token)
        if math.isinf(value):
            raise errors.number_too_large(token.start_pos)
        return Number(value, str(token), token.start_pos)

    def name(self, children):
        (token,) = children
        return Variable(Ref(str(token)), token.start_pos)

    def string(self, children):
        (token,) = children
        return Text(str(token)[1:-1], token.start_pos)

    def unary(self, children):
        op, operand = children
        operand = _operand(operand)
        if op.type == "NOT":
            return Unary("not", operand, op.start_pos)
        # "-5" stays Unary("-", 5) rather than a negative literal: literals are then never
        # negative, which is what makes lag(x, -1) fail the whole-number check.
        return Unary("-", operand, op.start_pos)

    def binary(self, children):
        left, op, right = children
        text = _SIGNS.get(str(op), str(op))
        # Positioned where the left operand starts, so "sum(a + b)" points at the a.
        return Binary(text, _operand(left), _operand(right), left.position)

    def select(self, children):
        target, bracket, category = children
        if not (isinstance(target, Variable) and target.ref.is_plain):
            raise errors.bad_selection(bracket.start_pos)
        return Variable(Ref(target.ref.name, category), target.position)

    def category(self, children):
        (token,) = children
        return str(token)[1:-1] if token.type == "STRING" else str(token)

    def arguments(self, children):
        return list(children)

    def call(self, children):
        token, args = children
        function, position = str(token), token.start_pos
        args = args or []
        if function not in _ARITY:
            raise errors.unknown_function(position, function)
        fewest, most = _ARITY[function]
        if len(args) < fewest or (most is not None and len(args) > most):
            raise errors.wrong_arity(position, function, errors.arity_phrase(fewest, most), len(args))
        if len(args) > MAX_ARGUMENTS:
            raise errors.too_many_arguments(position, function, MAX_ARGUMENTS, len(args))
        if function == "sum":
            return self._sum(position, args)
        operands = [_operand(arg) for arg in (args if function not in ("lag", "round") else args[:1])]
        if function == "lag":
            periods = 1 if len(args) == 1 else _whole_number(_operand(args[1]))
            if not periods:  # None or 0
                raise errors.bad_lag(args[1].position)
            if periods > MAX_LAG:
                raise errors.lag_too_far(args[1].position, MAX_LAG)
            return Lag(operands[0], periods, position)
        if function == "round":
            decimals = 0 if len(args) == 1 else _whole_number(_operand(args[1]))
            if decimals is None or decimals > MAX_DECIMALS:
                raise errors.bad_decimals(args[1].position, MAX_DECIMALS)
            return Round(operands[0], decimals, position)
        return Call(function, tuple(operands), position)

    def _sum(self, position, args):
        target, *listed = args
        if not (isinstance(target, Variable) and target.ref.is_plain):
            raise errors.bad_sum(target.position)
        categories = []
        for arg in listed:
            # A category may be written "65-79", F or 2020, as inside [ ].
            if isinstance(arg, Text):
                categories.append(arg.value)
            elif isinstance(arg, Variable) and arg.ref.is_plain:
                categories.append(arg.ref.name)
            elif isinstance(arg, Number):
                categories.append(arg.text)
            else:
                raise errors.bad_sum(arg.position)
        return Variable(Ref(target.ref.name, None, tuple(categories)), target.position)


_parser = Lark(
    (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8"),
    parser="lalr",
    # The basic lexer always reads and/or/not as keywords; the default contextual one
    # would take "and" for a code where a keyword cannot stand ("and + 1").
    lexer="basic",
    transformer=_Build(),
    maybe_placeholders=True,
)


def _expected(tokens: set[str]) -> str:
    kinds = []
    if tokens & _OPERANDS:
        kinds.append("operand")
    if tokens & _OPERATORS:
        kinds.append("operator")
    if tokens <= {"STRING", "NAME", "NUMBER"} and tokens:
        kinds = ["category"]  # only after "["
    kinds += [_PUNCTUATION[t] for t in ("COMMA", "RPAR", "RSQB") if t in tokens]
    if "$END" in tokens or not kinds:
        kinds.append("end")
    return errors.expected_phrase(kinds)


def parse_tree(text: str) -> Node:
    """Parse formula text into a tree, or raise FormulaError."""
    if not text.strip():
        raise errors.empty()
    if len(text) > MAX_LENGTH:
        # Before parsing: the parser's work grows with the text.
        raise errors.too_long(MAX_LENGTH, MAX_LENGTH)
    try:
        # The transformer builds the formula's nodes while parsing, so parse() returns
        # one of them (lark types it as a Tree).
        node = cast("Node | Text", _parser.parse(text))
    except VisitError as error:  # a callback's FormulaError, wrapped by lark
        raise error.orig_exc from None
    except UnexpectedToken as error:
        token = error.token
        # error.expected is LALR's lookahead set, which over-promises after default
        # reductions (it offers ')' at the top level); accepts() replays the parser
        # without callbacks and lists only what would really be taken.
        expected = _expected(error.interactive_parser.accepts())
        if token.type == "$END":
            raise errors.unexpected_end(len(text.rstrip()), expected) from None
        raise errors.unexpected_token(token.start_pos, str(token), expected) from None
    except UnexpectedCharacters as error:
        position = error.pos_in_stream or 0
        raise errors.unexpected_character(position, text[position]) from None
    except UnexpectedInput as error:  # any other lark complaint: report where it happened
        position = getattr(error, "pos_in_stream", None) or 0
        raise errors.unexpected_character(position, text[position : position + 1]) from None
    formula = _operand(node)
    _check_bounds(formula)
    return formula


def _check_bounds(tree: Node) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH or reading more than MAX_LAG periods back
    (lags inside lags add up), pointing at the leftmost place that goes past the limit.

    Iterative, like everything that meets a tree before it is known to be shallow.
    """
    too_deep: int | None = None
    too_far: int | None = None
    stack: list[tuple[Node, int, int]] = [(tree, 1, 0)]
    while stack:
        node, level, lag = stack.pop()
        if level > MAX_DEPTH:
            too_deep = node.position if too_deep is None else min(too_deep, node.position)
            continue
        if isinstance(node, Lag):
            lag += node.periods
            if lag > MAX_LAG:
                too_far = node.position if too_far is None else min(too_far, node.position)
                continue
        stack.extend((child, level + 1, lag) for child in children(node))
    if too_deep is not None:
        raise errors.too_deep(too_deep, MAX_DEPTH)
    if too_far is not None:
        raise errors.lag_too_far(too_far, MAX_LAG)
