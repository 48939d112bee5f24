"""The report as a PDF for the council, in the report's language (Persian right to left).

The same `figures.sections` as the page; each chart is the page's Vega-Lite spec drawn to a
PNG on the server (WeasyPrint clips SVG text) and embedded as a data URI. WeasyPrint may read
only data URIs and our own static files (the print stylesheet and its fonts): nothing from the
network, and nothing else from the disk, whatever ends up in the HTML (the shell is
`lib/pdf.py`, shared with every other printed document).
"""

import base64

import weasyprint
from django.template.loader import render_to_string
from django.utils import translation

from municipium.benchmarks.charts import render_png
from municipium.lib.pdf import STYLESHEET, html_document

from .figures import sections
from .models import Report


def filename(report: Report) -> str:
    return f"{report.unit.code}-{report.period.code}-{report.language}.pdf"


def html(report: Report, *, public: bool) -> str:
    """The print HTML in the report's language, charts embedded as PNG data URIs."""
    with translation.override(report.language):
        parts = sections(report, public=public)
        for part in parts:
            png = render_png(part.spec, report.language)
            part.image = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        return render_to_string(
            "reports/print.html",
            {
                "report": report,
                "unit": report.unit,
                "sections": parts,
                "stylesheet": STYLESHEET,
                "rtl": translation.get_language_bidi(),
                "language": report.language,
            },
        )


def document(report: Report, *, public: bool) -> weasyprint.Document:
    return html_document(html(report, public=public))


def render(report: Report, *, public: bool) -> bytes:
    return document(report, public=public).write_pdf()
