"""Formula: a parsed indicator formula and everything the rest of Municipium asks of it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import polars as pl

from . import errors
from .ast import Binary, Node, Ref, Variable, replace_variables, to_text, walk_variables
from .errors import FormulaError
from .evaluate import Lookup, evaluate, to_polars
from .parser import parse_tree


class Formula:
    """An immutable parsed formula. Build it with `parse()`, never directly.

    Two formulas are equal when they compute the same way, whatever their spacing or
    spelling (`a*b` == `a × b`), so formulas can key caches.
    """

    __slots__ = ("text", "tree", "refs", "names", "max_lag", "_occurrences")

    def __init__(self, text: str, tree: Node):
        self.text = text
        self.tree = tree
        read = list(walk_variables(tree))
        self.refs: frozenset[Ref] = frozenset(variable.ref for variable, _lag in read)
        self.names: frozenset[str] = frozenset(ref.name for ref in self.refs)
        # How far back the formula reads, so the caller loads enough earlier periods.
        self.max_lag: int = max((lag for _variable, lag in read), default=0)
        self._occurrences = sorted((variable.position, variable.ref.name) for variable, _lag in read)

    def __eq__(self, other):
        return isinstance(other, Formula) and self.tree == other.tree

    def __hash__(self):
        return hash(self.tree)

    def __str__(self) -> str:
        """Canonical text: ASCII signs, single spaces, only the needed parentheses."""
        return to_text(self.tree)

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def pretty(self) -> str:
        """Text for pages: × ÷ − ≤ ≥ ≠ signs and normalised spacing (parses back too)."""
        return to_text(self.tree, pretty=True)

    def check(self, known: set[str] | frozenset[str]) -> None:
        """Raise FormulaError for the first (leftmost) name not in `known`."""
        for position, name in self._occurrences:
            if name not in known:
                raise errors.unknown_name(position, name)

    def substitute(self, formulas: Mapping[str, Formula]) -> Formula:
        """Inline other indicators' formulas in place of their codes.

        The tree keeps the grouping, so `x / other` with other = `a + b` means
        `x / (a + b)`. One level only: substitute in `dependency_order` so that the
        inlined formulas are themselves already expanded. An indicator code with a
        category or in sum() is an error: indicators have no breakdowns.
        """

        def replace(variable: Variable) -> Node:
            ref = variable.ref
            if ref.name not in formulas:
                return variable
            if ref.category is not None:
                raise errors.bad_selection(variable.position)
            if ref.summed is not None:
                raise errors.bad_sum(variable.position)
            return formulas[ref.name].tree

        tree = replace_variables(self.tree, replace)
        return self if tree == self.tree else _from_tree(tree)

    def ratio(self) -> tuple[Formula, Formula] | None:
        """(numerator, denominator) when the formula is a division at the top, else None.

        A group's pooled value is sum(numerator) / sum(denominator) over its members,
        which weighs large municipalities properly, unlike a mean of ratios.
        """
        if isinstance(self.tree, Binary) and self.tree.op == "/":
            return _from_tree(self.tree.left), _from_tree(self.tree.right)
        return None

    def evaluate(self, lookup: Lookup) -> float | None:
        """One value, for previews. `lookup(ref, lag)` gives the value of `ref` `lag`
        periods before the current one (lag 0 = current), or None when missing."""
        return evaluate(self.tree, lookup)

    def to_polars(self, column: Callable[[Ref], str], over: str = "unit") -> pl.Expr:
        """The formula as a Polars expression, for whole frames at once.

        The frame must be sorted by (over, period), have no gaps in the periods of one
        `over` group, start `max_lag` periods early if earlier values matter, and hold one
        Float64 column named `column(ref)` for each of `self.refs` (the caller sums
        categories for `Ref(..., summed=...)`). The result is a Float64 expression named
        "value", null where the value is missing, never NaN or inf. A formula without
        variables is a literal; use it in with_columns() to broadcast it.
        """
        return to_polars(self.tree, column, over)


def _from_tree(tree: Node) -> Formula:
    # Re-parse the printed tree so that text and positions (for check()) match each other.
    return parse(to_text(tree))


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Formula:
    """Parse formula text. Raises FormulaError with a translated, column-precise message.

    Cached: the same few hundred formulas are parsed on every recompute and page.
    Formulas are immutable, so sharing them is safe.
    """
    return Formula(text, parse_tree(text))


def dependency_order(formulas: Mapping[str, Formula], variables: set[str] | frozenset[str]) -> list[str]:
    """Indicator codes ordered so that each comes after the indicators it uses.

    A name is an indicator if it is a key of `formulas`, else it must be a variable.
    Raises FormulaError naming the indicator and the unknown name, or the circle of
    indicators ("a → b → a"). The order follows `formulas` where dependencies allow, so
    it is stable from one run to the next.
    """
    order: list[str] = []
    done: set[str] = set()
    path: list[str] = []

    def visit(code: str) -> None:
        if code in done:
            return
        if code in path:
            raise errors.cycle([*path[path.index(code) :], code])
        path.append(code)
        formula = formulas[code]
        for position, name in formula._occurrences:
            if name in formulas:
                visit(name)
            elif name not in variables:
                raise errors.unknown_name_in_indicator(code, position, name)
        path.pop()
        done.add(code)
        order.append(code)

    for code in formulas:
        visit(code)
    return order


__all__ = ["Formula", "FormulaError", "Ref", "dependency_order", "parse"]
