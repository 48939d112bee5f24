"""The one exception of the formula language, and the user-visible messages it carries.

Formulas are typed by group coordinators in a form, so every message must say where
(column) and what is wrong in words a non-programmer can act on, in their language.
The messages are few on purpose: each one is a string translators have to keep up.
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.lib.numbers import format_number


class FormulaError(ValueError):
    """A formula that cannot be parsed, checked or ordered.

    `message` is the full translated text (the same as `str(error)`), `position` the
    0-based offset into the formula text, `column` the 1-based column shown to people,
    `name` the unknown name when that is the problem, `indicator` the indicator code when
    the error comes from `dependency_order`.
    """

    def __init__(
        self,
        message: str,
        position: int | None = None,
        name: str | None = None,
        indicator: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.position = position
        self.column = None if position is None else position + 1
        self.name = name
        self.indicator = indicator

    def __str__(self) -> str:
        return self.message


# Each helper below is one message. Formulas are single-line, so the column is simply the
# offset + 1 (a line break counts as one column).


def unknown_name(position: int, name: str) -> FormulaError:
    return FormulaError(
        _("column %(column)s: unknown name '%(name)s'") % {"column": position + 1, "name": name},
        position,
        name=name,
    )


def unknown_name_in_indicator(indicator: str, position: int, name: str) -> FormulaError:
    return FormulaError(
        _("indicator %(indicator)s, column %(column)s: unknown name '%(name)s'")
        % {"indicator": indicator, "column": position + 1, "name": name},
        position,
        name=name,
        indicator=indicator,
    )


def cycle(codes: list[str]) -> FormulaError:
    return FormulaError(
        _("indicators refer to each other in a circle: %(cycle)s") % {"cycle": " → ".join(codes)},
        indicator=codes[0],
    )


def empty() -> FormulaError:
    return FormulaError(_("the formula is empty"), 0)


def unexpected_character(position: int, char: str) -> FormulaError:
    return FormulaError(
        _("column %(column)s: unexpected character '%(char)s'") % {"column": position + 1, "char": char},
        position,
    )


def unexpected_token(position: int, token: str, expected: str) -> FormulaError:
    return FormulaError(
        _("column %(column)s: unexpected '%(token)s'; expected %(expected)s")
        % {"column": position + 1, "token": token, "expected": expected},
        position,
    )


def unexpected_end(position: int, expected: str) -> FormulaError:
    return FormulaError(
        _("column %(column)s: unexpected end of formula; expected %(expected)s")
        % {"column": position + 1, "expected": expected},
        position,
    )


def unknown_function(position: int, name: str) -> FormulaError:
    return FormulaError(
        _(
            "column %(column)s: unknown function '%(name)s'; the functions are "
            "min, max, abs, round, if, coalesce, lag and sum"
        )
        % {"column": position + 1, "name": name},
        position,
    )


def wrong_arity(position: int, function: str, expected: str, count: int) -> FormulaError:
    return FormulaError(
        _("column %(column)s: %(function)s() takes %(expected)s, not %(count)s")
        % {
            "column": position + 1,
            "function": function,
            "expected": expected,
            "count": format_number(count, 0),
        },
        position,
    )


def arity_phrase(minimum: int, maximum: int | None) -> str:
    """The "takes ..." part of `wrong_arity`, for the few arities the functions have."""
    if maximum is None:
        return ngettext("at least %(count)s argument", "at least %(count)s arguments", minimum) % {
            "count": format_number(minimum, 0)
        }
    if minimum == maximum == 1:
        return _("one argument")
    if minimum == maximum:
        return ngettext("%(count)s argument", "%(count)s arguments", minimum) % {"count": format_number(minimum, 0)}
    return ngettext("%(minimum)s or %(maximum)s argument", "%(minimum)s or %(maximum)s arguments", maximum) % {
        "minimum": format_number(minimum, 0),
        "maximum": format_number(maximum, 0),
    }


def bad_lag(position: int) -> FormulaError:
    return FormulaError(
        _("column %(column)s: the periods of lag() must be a whole number of at least 1, like lag(x, 2)")
        % {"column": position + 1},
        position,
    )


def bad_decimals(position: int, maximum: int) -> FormulaError:
    return FormulaError(
        _("column %(column)s: the decimals of round() must be a whole number from 0 to %(maximum)s, like round(x, 2)")
        % {"column": position + 1, "maximum": maximum},
        position,
    )


def bad_selection(position: int) -> FormulaError:
    return FormulaError(
        _('column %(column)s: a category can only follow a variable code, like pop["F"]') % {"column": position + 1},
        position,
    )


def bad_sum(position: int) -> FormulaError:
    return FormulaError(
        _(
            "column %(column)s: sum() takes a variable code and optionally its categories, "
            'like sum(pop) or sum(pop, "65-79", "80+")'
        )
        % {"column": position + 1},
        position,
    )


def misplaced_text(position: int) -> FormulaError:
    return FormulaError(
        _('column %(column)s: quoted text can only be a category, like pop["F"]') % {"column": position + 1},
        position,
    )


def number_too_large(position: int) -> FormulaError:
    return FormulaError(
        _("column %(column)s: the number is too large") % {"column": position + 1},
        position,
    )


def too_deep(position: int, maximum: int) -> FormulaError:
    return FormulaError(
        ngettext(
            "column %(column)s: the formula is nested too deeply; it may nest at most %(maximum)s level",
            "column %(column)s: the formula is nested too deeply; it may nest at most %(maximum)s levels",
            maximum,
        )
        % {"column": position + 1, "maximum": format_number(maximum, 0)},
        position,
    )


def too_long(position: int, maximum: int) -> FormulaError:
    return FormulaError(
        ngettext(
            "column %(column)s: the formula is too long; it may have at most %(maximum)s character",
            "column %(column)s: the formula is too long; it may have at most %(maximum)s characters",
            maximum,
        )
        % {"column": position + 1, "maximum": format_number(maximum, 0)},
        position,
    )


def too_many_arguments(position: int, function: str, maximum: int, count: int) -> FormulaError:
    return FormulaError(
        ngettext(
            "column %(column)s: %(function)s() takes at most %(maximum)s argument, not %(count)s",
            "column %(column)s: %(function)s() takes at most %(maximum)s arguments, not %(count)s",
            maximum,
        )
        % {
            "column": position + 1,
            "function": function,
            "maximum": format_number(maximum, 0),
            "count": format_number(count, 0),
        },
        position,
    )


def lag_too_far(position: int, maximum: int) -> FormulaError:
    return FormulaError(
        ngettext(
            "column %(column)s: lag() may reach at most %(maximum)s period back, lags inside lags added up",
            "column %(column)s: lag() may reach at most %(maximum)s periods back, lags inside lags added up",
            maximum,
        )
        % {"column": position + 1, "maximum": format_number(maximum, 0)},
        position,
    )


def expected_phrase(kinds: list[str]) -> str:
    """Join what the parser expected ("an operator", "')'") into one readable phrase."""
    phrases = {
        "operand": _("a number, a name or '('"),
        "operator": _("an operator"),
        "category": _('a category, like "F"'),
        ",": "','",
        ")": "')'",
        "]": "']'",
        "end": _("the end of the formula"),
    }
    if "operand" in kinds:
        # Where an operand may come, that is what people need to hear; listing "')'" too
        # (allowed after "min(") would only blur the message.
        kinds = ["operand"]
    words = [phrases[kind] for kind in kinds]
    if len(words) == 1:
        return words[0]
    return _("%(first)s or %(last)s") % {"first": ", ".join(words[:-1]), "last": words[-1]}
