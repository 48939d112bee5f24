"""Vega-Lite chart specs: one spec per chart serves the page (rendered in the browser by
vega-embed under the strict CSP), the PNG/SVG downloads and the PDF report (rendered on the
server by vl-convert). Specs carry their data inline, already read through
`municipium.benchmarks.read`, so every rendering shows the same numbers.

Numbers on axes and in tooltips follow the page's language through the d3 locale from
`municipium.lib.numbers.d3_locale` (Persian digits included).
"""

import vl_convert

from municipium.lib import numbers

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier only; never fetched
FONT = "DejaVu Sans, Vazirmatn, sans-serif"
# Colours with at least 3:1 contrast against white (WCAG 1.4.11, graphical objects).
COLOURS = {"unit": "#0a3d7a", "other": "#8a9bb0", "median": "#b3261e", "band": "#f2c14e",
           "good": "#2e7d32", "middle": "#b8860b", "poor": "#b3261e", "none": "#78909c"}


def base(title: str = "", *, width="container", height: int = 260, rtl: bool = False) -> dict:
    """The frame every chart shares: schema, size, fonts, and no actions menu."""
    spec = {
        "$schema": SCHEMA,
        "width": width,
        "height": height,
        "autosize": {"type": "fit", "contains": "padding"},
        "config": {"font": FONT, "view": {"stroke": None}, "axis": {"labelFontSize": 11, "titleFontSize": 12},
                   "legend": {"orient": "bottom"}},
    }
    if title:
        spec["title"] = {"text": title, "anchor": "end" if rtl else "start"}
    return spec


def _fixed_size(spec: dict, width: int) -> dict:
    """Server rendering has no container to fit: give "container" widths a number."""
    spec = dict(spec)
    if spec.get("width") == "container":
        spec["width"] = width
    return spec


def render_svg(spec: dict, language: str | None = None, width: int = 720) -> str:
    return vl_convert.vegalite_to_svg(_fixed_size(spec, width), format_locale=numbers.d3_locale(language))


def render_png(spec: dict, language: str | None = None, width: int = 720, scale: float = 2) -> bytes:
    return vl_convert.vegalite_to_png(_fixed_size(spec, width), scale=scale, format_locale=numbers.d3_locale(language))
