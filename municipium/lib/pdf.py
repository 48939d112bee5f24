"""The PDF shell every printed document goes through (council reports, survey reports, and
the planning modules' decision packages and minutes).

WeasyPrint lays out print HTML that may read only data URIs and our own static files (the
print stylesheet and its fonts): nothing from the network and nothing else from the disk,
whatever ends up in the HTML. Charts go in as PNG data URIs (WeasyPrint clips SVG text).
"""

from pathlib import Path
from urllib.parse import unquote, urlparse

import weasyprint
from django.contrib.staticfiles import finders
from weasyprint.urls import URLFetcher

# The print stylesheet, and the anchor by which the static folder is found.
STYLESHEET = "css/report-print.css"


def static_root() -> Path:
    """The folder our static files are read from (source folders or collected files)."""
    found = finders.find(STYLESHEET)
    if not found:
        raise FileNotFoundError(STYLESHEET)
    return Path(found).resolve().parent.parent


class StaticOnlyFetcher(URLFetcher):
    """Fetches data URIs and files under `root`; refuses everything else."""

    def __init__(self, root: Path):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.root = root

    def fetch(self, url, headers=None):
        if url.startswith("file:"):
            path = Path(unquote(urlparse(url).path)).resolve()
            if not path.is_relative_to(self.root):
                raise ValueError(f"not a static file: {url}")
        return super().fetch(url, headers)


def html_document(content: str) -> weasyprint.Document:
    """Lay out print HTML that may read only data URIs and our static files."""
    root = static_root()
    return weasyprint.HTML(string=content, base_url=root.as_uri() + "/", url_fetcher=StaticOnlyFetcher(root)).render()


def pdf_bytes(content: str) -> bytes:
    """Print HTML to PDF bytes."""
    return html_document(content).write_pdf()


def printed(template: str, context: dict) -> bytes:
    """A print template rendered in the active language to PDF: the template gets the print
    stylesheet, the reading direction and the language beside its own context (the planning
    modules' minutes, reports and decision packages all print through here)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    html = render_to_string(
        template,
        {
            **context,
            "stylesheet": STYLESHEET,
            "rtl": translation.get_language_bidi(),
            "language": translation.get_language(),
        },
    )
    return pdf_bytes(html)
