"""Vega-Lite specs for the survey results, on the frame and colours of every other chart
(`municipium.benchmarks.charts.base`). One spec serves the page (vega-embed under the strict
CSP, via static/js/charts.js) and the PDF report (a PNG through `render_png`).

Rows carry their numbers already formatted (`*_text`) for tooltips, so the tooltip, the
table beside the chart and the PDF say the same number in the reader's locale.
"""

from django.utils.translation import gettext as _

from municipium.benchmarks.charts import COLOURS, base
from municipium.lib.survey import estimates

QUADRANT_COLOURS = {
    estimates.CONCENTRATE: COLOURS["poor"],
    estimates.KEEP_UP: COLOURS["good"],
    estimates.OVERKILL: COLOURS["unit"],
    estimates.LOW_PRIORITY: COLOURS["none"],
}


def quadrant_labels() -> dict:
    return {
        estimates.CONCENTRATE: _("Concentrate here"),
        estimates.KEEP_UP: _("Keep up the good work"),
        estimates.OVERKILL: _("Possibly more than needed"),
        estimates.LOW_PRIORITY: _("Low priority"),
    }


def matrix(
    rows: list[dict],
    *,
    mean_importance: float,
    mean_satisfaction: float,
    title: str,
    axis: str,
    rtl: bool = False,
) -> dict:
    """The importance–satisfaction matrix: one point per service, the means as dashed rules
    dividing it into the four priority quadrants (named in the legend, not by colour alone).

    rows: {label, importance, satisfaction, importance_text, satisfaction_text, gap_text,
    quadrant, quadrant_label}.
    """
    labels = quadrant_labels()
    present = [q for q in QUADRANT_COLOURS if any(r["quadrant"] == q for r in rows)]
    spec = base(title, height=320, rtl=rtl)
    spec["title"]["subtitle"] = _("Dashed lines: the average importance and satisfaction over the services.")
    x = {
        "field": "satisfaction",
        "type": "quantitative",
        "title": _("Satisfaction (%(axis)s)") % {"axis": axis},
        "scale": {"zero": False, "reverse": rtl, "padding": 20},
    }
    y = {
        "field": "importance",
        "type": "quantitative",
        "title": _("Importance (%(axis)s)") % {"axis": axis},
        "scale": {"zero": False, "padding": 20},
    }
    if rtl:
        y["axis"] = {"orient": "right"}
    tooltip = [
        {"field": "label", "title": _("Service")},
        {"field": "satisfaction_text", "title": _("Satisfaction")},
        {"field": "importance_text", "title": _("Importance")},
        {"field": "gap_text", "title": _("Gap")},
        {"field": "quadrant_label", "title": _("Priority")},
    ]
    colour = {
        "field": "quadrant_label",
        "type": "nominal",
        "title": _("Priority"),
        "scale": {"domain": [str(labels[q]) for q in present], "range": [QUADRANT_COLOURS[q] for q in present]},
    }
    spec["data"] = {"values": rows}
    spec["layer"] = [
        {
            "data": {"values": [{"value": mean_satisfaction}]},
            "mark": {"type": "rule", "strokeDash": [6, 3], "color": COLOURS["other"]},
            "encoding": {"x": {**x, "field": "value"}},
        },
        {
            "data": {"values": [{"value": mean_importance}]},
            "mark": {"type": "rule", "strokeDash": [6, 3], "color": COLOURS["other"]},
            "encoding": {"y": {**y, "field": "value"}},
        },
        {
            "mark": {"type": "point", "filled": True, "size": 120, "tooltip": True},
            "encoding": {
                "x": x,
                "y": y,
                "color": colour,
                # The same domain as the colour's: one legend for both, not two side by side
                # (the second ran off the chart's edge).
                "shape": {
                    "field": "quadrant_label",
                    "type": "nominal",
                    "title": _("Priority"),
                    "scale": {"domain": colour["scale"]["domain"]},
                },
                "tooltip": tooltip,
            },
        },
        {
            "mark": {"type": "text", "dy": -12, "fontSize": 11, "align": "center"},
            "encoding": {"x": x, "y": y, "text": {"field": "label"}},
        },
    ]
    return spec


def shares(rows: list[dict], *, title: str, rtl: bool = False) -> dict:
    """Share satisfied per service as bars with their 95 % confidence intervals as lines.

    rows: {label, share, ci_low, ci_high (all 0–100), share_text, interval_text, n_text}.
    """
    spec = base(title, height=300, rtl=rtl)
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    spec["height"] = {"step": 26}
    spec["title"]["subtitle"] = _("Lines: 95% confidence interval.")
    value = {
        "field": "share",
        "type": "quantitative",
        "title": _("Share satisfied (%)"),
        "scale": {"domain": [0, 100], "reverse": rtl},
    }
    service = {
        "field": "label",
        "type": "nominal",
        "title": None,
        "sort": None,
        "axis": {"orient": "right" if rtl else "left", "labelLimit": 200},
    }
    tooltip = [
        {"field": "label", "title": _("Service")},
        {"field": "share_text", "title": _("Share satisfied")},
        {"field": "interval_text", "title": _("95% confidence interval")},
        {"field": "n_text", "title": _("Answers")},
    ]
    spec["data"] = {"values": rows}
    spec["layer"] = [
        {
            "mark": {"type": "bar", "color": COLOURS["unit"], "opacity": 0.8, "tooltip": True},
            "encoding": {"x": value, "y": service, "tooltip": tooltip},
        },
        {
            "mark": {"type": "rule", "color": COLOURS["median"], "strokeWidth": 2},
            "encoding": {"x": {**value, "field": "ci_low"}, "x2": {"field": "ci_high"}, "y": service},
        },
    ]
    return spec
