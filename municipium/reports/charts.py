"""The report's charts: the benchmarks chart specs (the same ones the indicator page uses)
with the report's unit marked out. One spec per chart serves the page (vega-embed in the
browser) and the PDF (a PNG from `municipium.benchmarks.charts.render_png`)."""

import json

from municipium.benchmarks import charts


def ranking(rows: list[dict], *, title: str, measure: str, statistic: dict | None, rtl: bool = False) -> dict:
    """The group's members best first, the report's unit outlined and named in bold.

    rows: as for `charts.ranking`, with `highlight` True on the report's unit: the ranking
    outlines it and names it in its subtitle; here its name is bold and the others pale."""
    spec = charts.ranking(rows, title=title, measure=measure, statistic=statistic, rtl=rtl)
    if len(rows) <= charts.RANKING_NAMED_BARS:
        # The height is the bars' alone, not shared with the titles and the legend.
        spec["autosize"] = {"type": "fit-x", "contains": "padding"}
        spec["height"] = max(80, 22 * len(rows))
    for layer in spec["layer"]:
        if layer.get("mark", {}).get("type") == "bar":
            encoding = layer["encoding"]
            encoding["opacity"] = {"condition": {"test": "datum.highlight", "value": 1}, "value": 0.7}
            unit_axis = "y" if encoding["y"].get("type") == "nominal" else "x"
            own = [r["label"] for r in rows if r.get("highlight")]
            if own and encoding[unit_axis].get("axis", {}).get("labels", True):
                encoding[unit_axis]["axis"]["labelFontWeight"] = {
                    "condition": {"test": f"datum.value === {json.dumps(own[0])}", "value": "bold"},
                    "value": "normal",
                }
    return spec


def series(
    rows: list[dict], *, periods: list[str], title: str, measure: str, medians: list[dict], rtl: bool = False
) -> dict:
    """The unit's values over the periods with the group median as a dashed line."""
    return charts.series(rows, periods=periods, title=title, measure=measure, medians=medians, rtl=rtl)
