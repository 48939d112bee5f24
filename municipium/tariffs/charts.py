"""Chart specs of the tariff pages (Vega-Lite, drawn by static/js/charts.js on the page and
as PNG in the council's PDF, from the same spec)."""

from django.utils.translation import gettext as _

from municipium.benchmarks.charts import COLOURS, base
from municipium.lib import numbers


def scenarios(results, *, measure: str, rtl: bool = False, target: float | None = None) -> dict:
    """Each scenario's cost recovery (or average tariff) over its years, side by side; a
    dashed rule at the recovery target when one is given."""
    rows = []
    years: list[str] = []
    for result in results:
        if result.path is None:
            continue
        for year in result.path.years:
            value = year.recovery if measure == "recovery" else year.tariff
            label = numbers.localise_digits(str(year.year))
            if label not in years:
                years.append(label)
            rows.append(
                {
                    "scenario": result.scenario.name,
                    "year": label,
                    "value": value,
                    "value_text": numbers.format_share(100 * value, 0)
                    if measure == "recovery"
                    else numbers.format_number(value, 2),
                }
            )
    title = _("Cost recovery by scenario") if measure == "recovery" else _("Average tariff by scenario")
    spec = base(title, height=240, rtl=rtl)
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    x = {
        "field": "year",
        "type": "ordinal",
        "sort": years,
        "title": _("Year"),
        "scale": {"domain": years, "reverse": rtl},
        "axis": {"labelAngle": 0},
    }
    y = {
        "field": "value",
        "type": "quantitative",
        "title": _("Cost recovery") if measure == "recovery" else _("Average tariff per unit billed"),
    }
    if measure == "recovery":
        y["axis"] = {"format": ".0%"}
    if rtl:
        y.setdefault("axis", {})["orient"] = "right"
    tooltip = [
        {"field": "scenario", "title": _("Scenario")},
        {"field": "year", "title": _("Year")},
        {"field": "value_text", "title": _("Value")},
    ]
    layers = [
        {
            "mark": {"type": "line", "point": {"size": 50, "filled": True}, "strokeWidth": 2},
            "encoding": {
                "x": x,
                "y": y,
                "color": {"field": "scenario", "type": "nominal", "title": _("Scenario")},
                "shape": {"field": "scenario", "type": "nominal", "title": _("Scenario")},
                "tooltip": tooltip,
            },
        }
    ]
    if target is not None and measure == "recovery":
        layers.append(
            {
                "data": {"values": [{"target": target}]},
                "mark": {"type": "rule", "color": COLOURS["median"], "strokeDash": [6, 3], "strokeWidth": 2},
                "encoding": {"y": {"field": "target", "type": "quantitative"}},
            }
        )
        spec["title"]["subtitle"] = _("Dashed line: the cost recovery target.")
    spec["data"] = {"values": rows}
    spec["layer"] = layers
    return spec
