"""Vega-Lite chart specs: one spec per chart serves the page (rendered in the browser by
vega-embed under the strict CSP), the PNG/SVG downloads and the PDF report (rendered on the
server by vl-convert). Specs carry their data inline, already read through
`municipium.benchmarks.read`, so every rendering shows the same numbers.

Numbers on axes and in tooltips follow the page's language through the d3 locale from
`municipium.lib.numbers.d3_locale` (Persian digits included).
"""

import textwrap

import vl_convert
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _

from municipium.lib import numbers

from . import bands

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier only; never fetched
FONT = "DejaVu Sans, Vazirmatn, sans-serif"
# Colours with at least 3:1 contrast against white (WCAG 1.4.11, graphical objects).
COLOURS = {
    "unit": "#0a3d7a",
    "other": "#8a9bb0",
    "median": "#b3261e",
    "band": "#f2c14e",
    "good": "#2e7d32",
    "middle": "#b8860b",
    "poor": "#b3261e",
    "none": "#78909c",
    "highlight": "#111111",
}
# The unit the reader came from (`?unit=`) is outlined in every chart: a condition on the
# row's `highlight` field, which Vega's expression interpreter evaluates without eval (CSP).
HIGHLIGHT = "datum.highlight"
HIGHLIGHT_STROKE_WIDTH = 3


def _outline() -> dict:
    """Encoding channels that outline the highlighted unit's mark and leave the others bare."""
    return {
        "stroke": {"condition": {"test": HIGHLIGHT, "value": COLOURS["highlight"]}, "value": None},
        "strokeWidth": {"condition": {"test": HIGHLIGHT, "value": HIGHLIGHT_STROKE_WIDTH}, "value": 0},
    }


def _highlighted(rows: list[dict]) -> str:
    """The label of the highlighted row, or "" when none is."""
    return next((r["label"] for r in rows if r.get("highlight")), "")


def _subtitle(spec: dict, *lines: str) -> None:
    """The chart's subtitle: its reading key, one line each."""
    lines = tuple(line for line in lines if line)
    spec["title"]["subtitle"] = list(lines) if len(lines) > 1 else lines[0]


# A title or a source line longer than this is set on several lines: Vega draws a title on
# one line however wide, and a long one ran off the chart, losing the group and the year
# at its end (issue 19, item 12).
TITLE_LINE = 48
SOURCE_LINE = 90


def lines(text: str, width: int = TITLE_LINE) -> str | list[str]:
    """The text as it is drawn: itself when it fits, else its words on lines of `width`."""
    if len(text) <= width:
        return text
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def with_source(spec: dict, source: str) -> dict:
    """The spec with the source line (title, group, period, source, date) under its reading
    key, for the images people download and pass on."""
    spec = dict(spec)
    title = dict(spec.get("title") or {"text": ""})
    subtitle = title.get("subtitle") or []
    subtitle = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    source_lines = lines(source, SOURCE_LINE)
    subtitle += [source_lines] if isinstance(source_lines, str) else source_lines
    title["subtitle"] = subtitle
    spec["title"] = title
    return spec


def base(title: str = "", *, width="container", height: int = 260, rtl: bool = False) -> dict:
    """The frame every chart shares: schema, size, fonts, and no actions menu."""
    spec = {
        "$schema": SCHEMA,
        "width": width,
        "height": height,
        "autosize": {"type": "fit", "contains": "padding"},
        "config": {
            "font": FONT,
            "view": {"stroke": None},
            "axis": {"labelFontSize": 11, "titleFontSize": 12},
            "legend": {"orient": "bottom"},
        },
    }
    if title:
        spec["title"] = {"text": lines(title), "anchor": "end" if rtl else "start"}
    return spec


def _fixed_size(spec: dict, width: int) -> dict:
    """Server rendering has no container to fit: give "container" widths a number."""
    spec = dict(spec)
    if spec.get("width") == "container":
        spec["width"] = width
    return spec


# Unicode's right-to-left isolate and its end (UAX #9).
RLI, PDI = "\u2067", "\u2069"


def _isolated(value):
    """A title, or each line of a multi-line one, set apart as right-to-left text."""
    if isinstance(value, str):
        return f"{RLI}{value}{PDI}" if value else value
    if isinstance(value, list):
        return [_isolated(line) for line in value]
    return value


def right_to_left_texts(spec):
    """The spec with its titles, subtitles and axis and legend titles isolated as right-to-left
    text, for rendering on the server. The browser lays the texts out in the page's direction;
    vl-convert lays out every text as left to right, so a Persian subtitle ending in "." or
    "٪" came out jumbled, and the lines of a two-line subtitle were drawn over each other."""
    if isinstance(spec, list):
        return [right_to_left_texts(item) for item in spec]
    if not isinstance(spec, dict):
        return spec
    out = {}
    for key, value in spec.items():
        if key == "data":
            out[key] = value
        elif key == "title" and isinstance(value, dict):
            out[key] = {**value, **{k: _isolated(value[k]) for k in ("text", "subtitle") if k in value}}
        elif key == "title":
            out[key] = _isolated(value)
        else:
            out[key] = right_to_left_texts(value)
    return out


def for_server(spec: dict, language: str | None = None, width: int = 720) -> dict:
    """The spec as vl-convert is given it: a fixed width, and right-to-left titles isolated."""
    spec = _fixed_size(spec, width)
    code = (language or get_language() or "en").split("-")[0]
    if not get_language_info(code)["bidi"]:
        return spec
    spec = right_to_left_texts(spec)
    # vl-convert measures Persian digits narrower than it draws them: the title of a value
    # axis on the right was set over its labels.
    config = spec.setdefault("config", {})
    config["axisRight"] = {"titlePadding": 14, **config.get("axisRight", {})}
    return spec


def render_svg(spec: dict, language: str | None = None, width: int = 720) -> str:
    return vl_convert.vegalite_to_svg(for_server(spec, language, width), format_locale=numbers.d3_locale(language))


def render_png(spec: dict, language: str | None = None, width: int = 720, scale: float = 2) -> bytes:
    return vl_convert.vegalite_to_png(
        for_server(spec, language, width), scale=scale, format_locale=numbers.d3_locale(language)
    )


# --- Indicator page ---
# One indicator across one group's members. Rows come from municipium.benchmarks.indicator_views
# with the values already formatted for tooltips (`value_text`), so the tooltip, the table
# and the map say the same number in the reader's locale.

# Beyond this many members a ranking's bars stand upright without names (the table names them).
RANKING_NAMED_BARS = 60
# From this many members the distribution is a histogram rather than one tick per member.
HISTOGRAM_FROM = 30


def _band_colour(rows: list[dict]) -> dict:
    """Colour by band with a legend in words (colour never carries the meaning alone)."""
    order = [bands.GOOD, bands.MIDDLE, bands.POOR, bands.NONE]
    present = [b for b in order if any(r["band"] == b for r in rows)] or [bands.NONE]
    return {
        "field": "band_label",
        "type": "nominal",
        "title": _("Band"),
        "scale": {"domain": [str(bands.LABELS[b]) for b in present], "range": [COLOURS[b] for b in present]},
    }


def _quartile_layers(statistic: dict | None, axis: str, title: str) -> tuple[list[dict], list[dict]]:
    """The p25–p75 band (drawn under the marks) and the median rule (drawn over them)."""
    if not statistic or statistic.get("median") is None:
        return [], []
    under, over = [], []
    if statistic.get("p25") is not None and statistic.get("p75") is not None:
        under.append(
            {
                "data": {"values": [statistic]},
                "mark": {"type": "rect", "color": COLOURS["band"], "opacity": 0.35},
                "encoding": {
                    axis: {"field": "p25", "type": "quantitative", "title": title},
                    f"{axis}2": {"field": "p75"},
                },
            }
        )
    over.append(
        {
            "data": {"values": [statistic]},
            "mark": {"type": "rule", "color": COLOURS["median"], "strokeWidth": 2, "strokeDash": [6, 3]},
            "encoding": {
                axis: {"field": "median", "type": "quantitative", "title": title},
                "tooltip": [{"field": "median_text", "title": _("Group median")}],
            },
        }
    )
    return under, over


def _tooltip(rows_have_rank: bool = True) -> list[dict]:
    tip = [{"field": "label", "title": _("Unit")}, {"field": "value_text", "title": _("Value")}]
    if rows_have_rank:
        tip += [{"field": "rank_text", "title": _("Rank")}, {"field": "band_label", "title": _("Band")}]
    return tip


def ranking(rows: list[dict], *, title: str, measure: str, statistic: dict | None = None, rtl: bool = False) -> dict:
    """One bar per member, best first, coloured by band; the group median as a dashed rule and
    the middle half of the group (p25–p75) as a shaded band.

    rows: {unit, label, value, value_text, rank, rank_text, band, band_label, highlight}, best
    first; the row with `highlight` true (the unit the reader came from) is outlined.
    statistic: {median, p25, p75, median_text} or None.
    """
    named = len(rows) <= RANKING_NAMED_BARS
    spec = base(title, height=320, rtl=rtl)
    if named:
        # One band of fixed height per member: the chart grows with the group.
        spec["autosize"] = {"type": "fit-x", "contains": "padding"}
        spec["height"] = {"step": 22}
    highlighted = _highlighted(rows)
    _subtitle(
        spec,
        _("Dashed line: group median. Shaded: the middle half of the group (25th–75th percentile)."),
        _("Outlined: %(unit)s") % {"unit": highlighted} if highlighted else "",
    )
    value_axis, unit_axis = ("x", "y") if named else ("y", "x")
    value = {"field": "value", "type": "quantitative", "title": measure}
    unit = {"field": "label", "type": "nominal", "title": None, "sort": [r["label"] for r in rows]}
    if named:
        # Right to left, bars grow from the right and the names stand on the right.
        value["scale"] = {"reverse": rtl}
        unit["axis"] = {"orient": "right" if rtl else "left", "labelLimit": 180}
    else:
        unit["axis"] = {"labels": False, "ticks": False, "title": _("Members, best first")}
        unit["scale"] = {"reverse": rtl}
    under, over = _quartile_layers(statistic, value_axis, measure)
    bars = {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            value_axis: value,
            unit_axis: unit,
            "color": _band_colour(rows),
            "tooltip": _tooltip(),
            **(_outline() if highlighted else {}),
        },
    }
    spec["data"] = {"values": rows}
    spec["layer"] = [*under, bars, *over]
    return spec


def series(
    rows: list[dict],
    *,
    periods: list[str],
    title: str,
    measure: str,
    medians: list[dict] | None = None,
    rtl: bool = False,
) -> dict:
    """The chosen members' values over all periods, with the group's median as a dashed line.

    rows: {label, period, value, value_text, highlight}; periods: the period codes in time
    order; medians: {period, value, value_text}. The highlighted unit's line is drawn thick.
    """
    spec = base(title, height=220, rtl=rtl)
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    highlighted = _highlighted(rows)
    _subtitle(
        spec,
        _("Dashed line: group median."),
        _("Thick line: %(unit)s") % {"unit": highlighted} if highlighted else "",
    )
    # The periods are the axis's labels: written in the reader's digits (۲۰۲۴ in Persian).
    periods = [numbers.localise_digits(p) for p in periods]
    rows = [{**r, "period": numbers.localise_digits(r["period"])} for r in rows]
    medians = [{**m, "period": numbers.localise_digits(m["period"])} for m in medians or []]
    x = {
        "field": "period",
        "type": "ordinal",
        "sort": periods,
        "title": _("Period"),
        "scale": {"domain": periods, "reverse": rtl},
        "axis": {"labelAngle": 0},
    }
    y = {"field": "value", "type": "quantitative", "title": measure}
    if rtl:
        y["axis"] = {"orient": "right"}
    tooltip = [
        {"field": "label", "title": _("Unit")},
        {"field": "period", "title": _("Period")},
        {"field": "value_text", "title": _("Value")},
    ]
    # Shape as well as colour tells the lines apart.
    labels = list(dict.fromkeys(r["label"] for r in rows))
    layers = [
        {
            "mark": {"type": "line", "point": {"size": 60, "filled": True}, "strokeWidth": 2},
            "encoding": {
                "x": x,
                "y": y,
                # One domain for colour and shape: one legend, not two side by side.
                "color": {"field": "label", "type": "nominal", "title": _("Unit"), "scale": {"domain": labels}},
                "shape": {"field": "label", "type": "nominal", "title": _("Unit"), "scale": {"domain": labels}},
                "tooltip": tooltip,
            },
        }
    ]
    if highlighted:
        layers.append(
            {
                "transform": [{"filter": HIGHLIGHT}],
                "mark": {"type": "line", "color": COLOURS["highlight"], "strokeWidth": 5, "opacity": 0.45},
                "encoding": {"x": x, "y": y, "detail": {"field": "label", "type": "nominal"}},
            }
        )
    if medians:
        label = _("Group median")
        layers.append(
            {
                "data": {"values": [{**m, "label": label} for m in medians]},
                "mark": {
                    "type": "line",
                    "color": COLOURS["median"],
                    "strokeDash": [6, 3],
                    "strokeWidth": 2,
                    "point": {"color": COLOURS["median"], "shape": "diamond", "size": 50},
                },
                "encoding": {"x": x, "y": y, "tooltip": tooltip},
            }
        )
    spec["data"] = {"values": rows}
    spec["layer"] = layers
    return spec


def distribution(
    rows: list[dict], *, title: str, measure: str, statistic: dict | None = None, rtl: bool = False
) -> dict:
    """How the members' values spread: one tick per member (a strip) in small groups, a
    histogram in large ones; the median and the middle half as on the ranking.

    rows: {label, value, value_text, band, band_label, highlight}; the highlighted unit's
    value is marked by a solid rule.
    """
    histogram = len(rows) >= HISTOGRAM_FROM
    spec = base(title, height=200 if histogram else 70, rtl=rtl)
    # The plot gets the height; title and legend come on top of it.
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    highlighted = _highlighted(rows)
    _subtitle(
        spec,
        _("Dashed line: group median. Shaded: the middle half of the group (25th–75th percentile)."),
        _("Solid line: %(unit)s") % {"unit": highlighted} if highlighted else "",
    )
    under, over = _quartile_layers(statistic, "x", measure)
    x = {"field": "value", "type": "quantitative", "title": measure, "scale": {"reverse": rtl, "zero": False}}
    if histogram:
        marks = {
            "mark": {"type": "bar", "color": COLOURS["unit"], "tooltip": True},
            "encoding": {
                "x": {**x, "bin": {"maxbins": 20}},
                "y": {
                    "aggregate": "count",
                    "type": "quantitative",
                    "title": _("Members"),
                    **({"axis": {"orient": "right"}} if rtl else {}),
                },
            },
        }
    else:
        marks = {
            "mark": {"type": "tick", "thickness": 3, "size": 60},
            "encoding": {"x": x, "color": _band_colour(rows), "tooltip": _tooltip(rows_have_rank=False)},
        }
    if highlighted:
        over.append(
            {
                "transform": [{"filter": HIGHLIGHT}],
                "mark": {"type": "rule", "color": COLOURS["highlight"], "strokeWidth": HIGHLIGHT_STROKE_WIDTH},
                "encoding": {
                    "x": {"field": "value", "type": "quantitative"},
                    "tooltip": _tooltip(rows_have_rank=False),
                },
            }
        )
    spec["data"] = {"values": rows}
    spec["layer"] = [*under, marks, *over]
    return spec


# --- Compare page ---


def compare_small_multiple(
    title: str,
    points: list[dict],
    *,
    unit_title: str = "",
    period_title: str = "",
    value_title: str = "",
    decimals: int = 1,
    rtl: bool = False,
) -> dict:
    """One indicator's values for the chosen units over time: a line per unit.
    `points` are {"period": code, "order": ordinal, "unit": label, "value": number,
    "highlight": bool}; the highlighted unit's line (the profile the reader came from) is
    drawn over a thick dark band, and the subtitle names it."""
    spec = base(title, height=160, rtl=rtl)
    # The plot keeps its height whatever the titles and legend take (at phone width they
    # squeezed it to a strip), and a long unit of measure on the value axis is shortened to
    # the plot's height instead of running up over the chart's title.
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    number = f",.{int(decimals)}f"
    encoding = {
        "x": {
            "field": "period",
            "type": "ordinal",
            "title": period_title,
            "sort": {"field": "order", "order": "ascending"},
            "axis": {"labelAngle": 0},
            **({"scale": {"reverse": True}} if rtl else {}),
        },
        "y": {
            "field": "value",
            "type": "quantitative",
            "title": value_title,
            "scale": {"zero": False},
            "axis": {"format": number, "titleLimit": 160, **({"orient": "right"} if rtl else {})},
        },
        "color": {"field": "unit", "type": "nominal", "title": unit_title, "scale": {"scheme": "tableau10"}},
        "tooltip": [
            {"field": "unit", "type": "nominal", "title": unit_title},
            {"field": "period", "type": "ordinal", "title": period_title},
            # The value as the page writes it (numbers.format_number): d3's format writes a
            # small negative value rounded to zero as "−0.0".
            {"field": "value_text", "type": "nominal", "title": value_title},
        ],
    }
    spec["data"] = {"values": points}
    highlighted = next((p["unit"] for p in points if p.get("highlight")), "")
    if not highlighted:
        spec.update({"mark": {"type": "line", "point": True}, "encoding": encoding})
        return spec
    spec["title"]["subtitle"] = _("Thick line: %(unit)s") % {"unit": highlighted}
    spec["layer"] = [
        {
            "transform": [{"filter": HIGHLIGHT}],
            "mark": {"type": "line", "color": COLOURS["highlight"], "strokeWidth": 6, "opacity": 0.35},
            "encoding": {"x": encoding["x"], "y": encoding["y"], "detail": {"field": "unit", "type": "nominal"}},
        },
        {"mark": {"type": "line", "point": True}, "encoding": encoding},
    ]
    return spec
