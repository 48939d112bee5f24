"""The report as a PDF for the council, in the report's language (Persian right to left).

The same `figures.sections` as the page; each chart is the page's Vega-Lite spec drawn to a
PNG on the server (WeasyPrint clips SVG text) and embedded as a data URI. WeasyPrint may read
only data URIs and our own static files (the print stylesheet and its fonts): nothing from the
network, and nothing else from the disk, whatever ends up in the HTML.
"""

import base64
from pathlib import Path

import weasyprint
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint.urls import URLFetcher

from municipium.benchmarks.charts import render_png

from .figures import sections
from .models import Report

STYLESHEET = "css/report-print.css"


def static_root() -> Path:
    """The folder our static files are read from (source folders or collected files)."""
    found = finders.find(STYLESHEET)
    if not found:
        raise FileNotFoundError(STYLESHEET)
    return Path(found).resolve().parent.parent


class StaticOnlyFetcher(URLFetcher):
    def __init__(self, root: Path):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.root = root

    def fetch(self, url, headers=None):
        if url.startswith("file:"):
            from urllib.parse import unquote, urlparse

            path = Path(unquote(urlparse(url).path)).resolve()
            if not path.is_relative_to(self.root):
                raise ValueError(f"not a static file: {url}")
        return super().fetch(url, headers)


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


def html_document(content: str) -> weasyprint.Document:
    """Lay out print HTML that may read only data URIs and our static files (also used by
    the survey report)."""
    root = static_root()
    return weasyprint.HTML(string=content, base_url=root.as_uri() + "/", url_fetcher=StaticOnlyFetcher(root)).render()


def document(report: Report, *, public: bool) -> weasyprint.Document:
    return html_document(html(report, public=public))


def render(report: Report, *, public: bool) -> bytes:
    return document(report, public=public).write_pdf()
