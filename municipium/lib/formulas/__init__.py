"""The indicator formula language.

An indicator is a formula over variable codes, such as
``100 * (water_produced - water_billed) / water_produced``. Formulas are parsed by a lark
grammar (grammar.lark), never eval'd, and computed either for one value (`evaluate`,
previews) or for whole frames (`to_polars`, the compute engine); both give the same
numbers and treat missing data the same way (see evaluate.py for the rules).

    f = parse("100 * (water_produced - water_billed) / water_produced")
    f.refs, f.names, f.max_lag, f.check(known), f.substitute({...}), f.ratio()
    f.to_polars(column), f.evaluate(lookup), f.pretty(), str(f)
    dependency_order(formulas, variables)

Syntax: numbers (12, 1.5, 1e3); codes; + - * / and unary -; parentheses;
< <= > >= == != (1.0 or 0.0); and, or, not; min(a, b, ...), max(a, b, ...), abs(x),
round(x), round(x, n), if(cond, a, b), coalesce(a, b, ...), lag(x), lag(x, n),
sum(x), sum(x, "65-79", "80+"); categories pop["F"] or pop[F].

Bounds (parser.py, checked at parse time so that no formula can make the engine spin or
allocate by a number someone typed): at most 2,000 characters, 200 levels of nesting,
100 arguments to one function, and 100 periods back through lag(), nested lags added up.
"""

from .ast import Ref
from .errors import FormulaError
from .formula import Formula, dependency_order, parse

__all__ = ["Formula", "FormulaError", "Ref", "dependency_order", "parse"]
