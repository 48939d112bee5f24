"""The two ways to compute a formula: one value (previews) and a Polars expression (the
compute engine). They live side by side because they must agree to the last bit; the
property tests in tests/test_formulas_properties.py hold them to it.

Rules both follow ("missing is explicit", DESIGN principle 2):

- a missing input gives a missing result, except inside coalesce(), whose job it is;
- division by zero, and any result that is not finite (overflow to inf, NaN), is missing:
  a blank is never 0 and never inf; a denominator below the smallest normal float
  (a subnormal such as 5e-324) counts as zero, since Polars divides by a constant as a
  multiplication by its reciprocal, which is inf for a subnormal (0 ÷ 5e-324 would be
  NaN there and 0 here);
- comparisons give 1.0 or 0.0, and missing if either side is missing;
- `and`, `or`, `not` read any non-zero number as true and give 1.0 or 0.0; with a missing
  side the result is missing, even where logic could decide (`0 and missing`), because
  a half-known answer would look known on a page;
- if(cond, a, b) is missing when cond is missing; only the chosen branch matters;
- min() and max() are missing if any argument is missing (a group's "smallest" value
  from incomplete data would be wrong without saying so); use coalesce() to skip blanks;
- round(x, n) rounds half away from zero (2.5 → 3, -2.5 → -3), the way people round by
  hand, computed as Polars does: round(x × 10ⁿ) ÷ 10ⁿ, or x itself if x × 10ⁿ overflows;
- lag(e, n) is e as it was n periods earlier: every variable inside e is read n periods
  back (nested lags add up) while constants stay constant, so lag(coalesce(x, 0)) is 0,
  not missing, for a first period whose x is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import polars as pl

from .ast import Binary, Call, Lag, Node, Number, Ref, Round, Unary, Variable, walk_variables

# Below this a denominator counts as zero (see the module's rules).
SMALLEST_DIVISOR = 2.2250738585072014e-308  # sys.float_info.min, the smallest normal float

Lookup = Callable[[Ref, int], float | None]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _round_half_away(value: float) -> float:
    """Rust's f64::round (what Polars' half_away_from_zero uses), exactly.

    Not `math.floor(value + 0.5)`: that addition itself rounds, turning
    0.49999999999999994 into 1. `a - floor(a)` is exact for a float a ≥ 0.
    """
    if not math.isfinite(value):  # value × 10ⁿ overflowed; the caller keeps the value
        return value
    magnitude = abs(value)
    whole = math.floor(magnitude)
    rounded = whole + 1.0 if magnitude - whole >= 0.5 else float(whole)
    return math.copysign(rounded, value)


def evaluate(node: Node, lookup: Lookup, lag: int = 0) -> float | None:
    """One value; `lookup(ref, lag)` gives a variable's value `lag` periods back."""
    match node:
        case Number(value=number):
            return number
        case Variable(ref=ref):
            value = lookup(ref, lag)
            return None if value is None else _finite(float(value))
        case Lag(operand=operand, periods=periods):
            return evaluate(operand, lookup, lag + periods)
        case Unary(op="-", operand=operand):
            value = evaluate(operand, lookup, lag)
            return None if value is None else -value
        case Unary(op="not", operand=operand):
            value = evaluate(operand, lookup, lag)
            return None if value is None else float(value == 0)
        case Binary(op=op, left=left, right=right):
            a, b = evaluate(left, lookup, lag), evaluate(right, lookup, lag)
            if a is None or b is None:
                return None
            match op:
                case "+":
                    return _finite(a + b)
                case "-":
                    return _finite(a - b)
                case "*":
                    return _finite(a * b)
                case "/":
                    return None if abs(b) < SMALLEST_DIVISOR else _finite(a / b)
                case "<":
                    return float(a < b)
                case "<=":
                    return float(a <= b)
                case ">":
                    return float(a > b)
                case ">=":
                    return float(a >= b)
                case "==":
                    return float(a == b)
                case "!=":
                    return float(a != b)
                case "and":
                    return float(a != 0 and b != 0)
                case "or":
                    return float(a != 0 or b != 0)
        case Round(operand=operand, decimals=decimals):
            value = evaluate(operand, lookup, lag)
            if value is None:
                return None
            if decimals == 0:
                return _round_half_away(value)
            multiplier = 10.0**decimals
            rounded = _round_half_away(value * multiplier) / multiplier
            # Polars keeps the value itself when value × 10ⁿ overflows: a number that
            # large has no decimals to round anyway.
            return rounded if math.isfinite(rounded) else value
        case Call(function="if", args=(condition, then, otherwise)):
            value = evaluate(condition, lookup, lag)
            if value is None:
                return None
            return evaluate(then if value != 0 else otherwise, lookup, lag)
        case Call(function="coalesce", args=args):
            for arg in args:
                value = evaluate(arg, lookup, lag)
                if value is not None:
                    return value
            return None
        case Call(function="abs", args=(arg,)):
            value = evaluate(arg, lookup, lag)
            return None if value is None else abs(value)
        case Call(function=("min" | "max") as function, args=args):
            values = [evaluate(arg, lookup, lag) for arg in args]
            known = [value for value in values if value is not None]
            if len(known) < len(values):
                return None
            return min(known) if function == "min" else max(known)
    raise TypeError(f"not a formula node: {node!r}")


def _no_variables(ref: Ref, lag: int) -> float | None:
    raise AssertionError("a constant sub-formula read a variable")


def _let(bindings: dict[str, pl.Expr], body: pl.Expr) -> pl.Expr:
    """`body` computed with pl.field(name) standing for each bound expression.

    Polars copies an expression each time it is used, and a copy inside a copy doubles
    again, so `pl.when(e.is_finite()).then(e)` at every level makes a formula of twelve
    additions take seconds. Packing the operands in a struct computes each once; the
    body then reads the fields, which cost nothing to repeat.
    """
    return (
        pl.struct(*(expr.alias(name) for name, expr in bindings.items()))
        .struct.with_fields(__value=body)
        .struct.field("__value")
    )


def to_polars(node: Node, column: Callable[[Ref], str], over: str) -> pl.Expr:
    """A Float64 expression that is null wherever `evaluate` gives None.

    evaluate() turns a non-finite result into None at every step. Doing the same here
    would cost a pass over the data per operator, so instead: + − × ÷, minus, abs and
    round carry an inf or NaN on unchanged (each of them gives a non-finite result for
    a non-finite operand, so the outcome is the same), and values are cleaned only where
    an inf or NaN could vanish: a denominator (x ÷ inf = 0), the operands of
    comparisons, logic, if, coalesce, min and max, and the final result. Input columns
    are cleaned as they are read.
    """

    def finite(compiled: tuple[pl.Expr, bool]) -> pl.Expr:
        expr, clean = compiled
        if clean:
            return expr
        value = pl.field("value")
        # is_finite() is null for null, and when(null) falls through to null.
        return _let({"value": expr}, pl.when(value.is_finite()).then(value))

    def truth(expr: pl.Expr) -> pl.Expr:
        return (expr != 0).cast(pl.Float64)

    def compile(node: Node, lag: int) -> tuple[pl.Expr, bool]:
        """(expression, clean): clean = known to hold no NaN or inf."""
        if not isinstance(node, Variable) and next(walk_variables(node), None) is None:
            # No variables: compute it here, with the scalar rules, once. Besides saving
            # work this keeps Polars 2.1 from folding e.g. `0 < coalesce(0, x)` into a
            # one-row result that with_columns() then refuses to broadcast.
            return pl.lit(evaluate(node, _no_variables), dtype=pl.Float64), True
        match node:
            case Variable(ref=ref):
                expr = pl.col(column(ref)).cast(pl.Float64)
                # A column is cheap to repeat, so no _let needed here.
                expr = pl.when(expr.is_finite()).then(expr)
                if lag:
                    # The frame is sorted by (unit, period) without gaps, so the row `lag`
                    # places up is `lag` periods earlier if it belongs to the same unit.
                    # Same result as .shift(lag).over(unit), fifty times faster: no group-by.
                    same_unit = pl.col(over) == pl.col(over).shift(lag)
                    expr = pl.when(same_unit).then(expr.shift(lag))
                return expr, True
            case Lag(operand=operand, periods=periods):
                return compile(operand, lag + periods)
            case Unary(op="-", operand=operand):
                expr, clean = compile(operand, lag)
                return -expr, clean
            case Unary(op="not", operand=operand):
                return (finite(compile(operand, lag)) == 0).cast(pl.Float64), True
            case Binary(op=op, left=left, right=right) if op in ("+", "-", "*", "/"):
                a, _ = compile(left, lag)
                if op == "/":
                    # x ÷ 0 is ±inf and 0 ÷ 0 NaN, cleaned later; but x ÷ inf is 0, which
                    # would pass for a value, so the denominator is cleaned now.
                    divisor = finite(compile(right, lag))
                    return a / pl.when(divisor.abs() >= SMALLEST_DIVISOR).then(divisor), False
                b, _ = compile(right, lag)
                return (a + b if op == "+" else a - b if op == "-" else a * b), False
            case Binary(op=op, left=left, right=right):
                a, b = finite(compile(left, lag)), finite(compile(right, lag))
                match op:
                    case "<":
                        result = a < b
                    case "<=":
                        result = a <= b
                    case ">":
                        result = a > b
                    case ">=":
                        result = a >= b
                    case "==":
                        result = a == b
                    case "!=":
                        result = a != b
                    case "and":
                        # Arithmetic on 0/1, not Polars' &, which gives false for
                        # false & null; the formula language says missing.
                        return truth(a) * truth(b), True
                    case "or":
                        return (truth(a) + truth(b) > 0).cast(pl.Float64), True
                return result.cast(pl.Float64), True
            case Round(operand=operand, decimals=decimals):
                expr, clean = compile(operand, lag)
                return expr.round(decimals, mode="half_away_from_zero"), clean
            case Call(function="abs", args=(arg,)):
                expr, clean = compile(arg, lag)
                return expr.abs(), clean
            case Call(function="if", args=args):
                (c, _), (a, a_clean), (b, b_clean) = (compile(arg, lag) for arg in args)
                known = pl.field("c").is_finite()  # null or false when missing; no branch then
                body: pl.Expr = (
                    pl.when(known & (pl.field("c") != 0)).then(pl.field("a")).when(known).then(pl.field("b"))
                )
                return _let({"c": c, "a": a, "b": b}, body), a_clean and b_clean
            case Call(function="coalesce", args=args):
                operands = []
                for arg in args:
                    operands.append(finite(compile(arg, lag)))
                    if next(walk_variables(arg), None) is None:
                        # A constant: missing adds nothing, and a value ends the search
                        # (Polars 2.1 also mishandles a coalesce that starts with one).
                        if evaluate(arg, _no_variables) is None:
                            operands.pop()
                        else:
                            break
                if len(operands) == 1:
                    return operands[0], True
                return pl.coalesce(operands) if operands else pl.lit(None, dtype=pl.Float64), True
            case Call(function=("min" | "max") as function, args=args):
                names = [f"arg{i}" for i in range(len(args))]
                fields = [pl.field(name) for name in names]
                horizontal = pl.min_horizontal if function == "min" else pl.max_horizontal
                # all_horizontal is null when any field is null (and none false), so a
                # missing argument makes the result missing, unlike min_horizontal alone.
                body = pl.when(pl.all_horizontal([f.is_finite() for f in fields])).then(horizontal(fields))
                return _let({n: compile(a, lag)[0] for n, a in zip(names, args)}, body), True
        raise TypeError(f"not a formula node: {node!r}")

    # A fixed name, whichever way the expression was built; callers alias it anyway.
    return finite(compile(node, 0)).alias("value")
