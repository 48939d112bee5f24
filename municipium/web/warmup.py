"""What a web worker does once when it starts, before it takes its first request.

Django loads lazily: the URL configuration (and with it every module the API and the pages
import, WeasyPrint and the GIS libraries among them), the reverse tables of the URL
patterns (one per language), each language's translation catalogue and number symbols, and
each template are first read by the first request that needs them. In a fresh worker that
request took 1.9-3 s (a unit profile whose own work takes 0.12 s, issue 18): the first
reader after every deploy or restart waited for it. `municipium.wsgi` calls `warm_up` at
import, which gunicorn does in each worker before it accepts connections, so that cost is
paid at start instead.

What it loaded stays as long as the worker: it is then moved out of the cyclic garbage
collector's sight (`gc.freeze`), so that a full collection walks only what requests made.
Walking the loaded modules, templates and catalogues too, a full collection stopped a unit
profile for about 0.2 s once in some 80 requests: the page's slowest of 80 (306 ms against
a median of 123) at the full scale of issue 18 on PostgreSQL; the 95th percentile moved
within its noise (bench/RESULTS.md).

Nothing here touches the database: a worker must start while the database is busy or
migrating, and no request's figures can be prepared before it is asked for."""

import gc
import logging
import time
from pathlib import Path

from django.conf import settings
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver, reverse
from django.utils import translation

from municipium.lib import numbers

log = logging.getLogger(__name__)


def warm_up() -> float:
    """Load the URL configuration, its reverse tables, the translations and number symbols
    in every language, and compile the project's templates. Returns the seconds it took."""
    started = time.perf_counter()
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports the URL configuration and every view module
    for code in settings.LANGUAGE_CODES:
        with translation.override(code):  # activating a language reads its catalogues
            reverse("start")  # the reverse table is built per language, on first use
            numbers.format_number(-1234.5, 1, code)  # reads Babel's data for the language
    for name in _template_names():
        try:
            get_template(name)  # the cached loader keeps it compiled
        except (TemplateDoesNotExist, TemplateSyntaxError) as error:
            # A broken template is the request's error to report, where it names the page;
            # the worker still starts.
            log.warning("template %s not compiled at start: %s", name, error)
    gc.collect()  # what loading left as garbage goes now, not frozen with the rest
    gc.freeze()
    return time.perf_counter() - started


def _template_names() -> list[str]:
    """The project's templates (its own folder and its apps'), not those of libraries."""
    roots = [Path(folder) for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])]
    roots += sorted(Path(settings.BASE_DIR, "municipium").glob("*/templates"))
    names = []
    for root in roots:
        names += sorted(str(path.relative_to(root)) for path in root.rglob("*.html"))
    return list(dict.fromkeys(names))
