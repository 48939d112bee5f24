"""A web worker loads at start what Django would otherwise load on its first request
(web/warmup.py, called by municipium.wsgi): the first reader after a restart waited 1.9-3 s
for a page whose own work takes a tenth of a second (issue 18)."""

import gc
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from municipium.web.warmup import warm_up

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh process, as a gunicorn worker imports the WSGI module: what is loaded after it.
PROBE = """
import gc, json, sys
import municipium.wsgi
from django.template import engines
from django.urls import get_resolver
from django.utils.translation import trans_real
loader = engines["django"].engine.template_loaders[0]
print(json.dumps({
    "modules": sorted(name for name in sys.modules if name.startswith("municipium.")),
    "languages": sorted(get_resolver()._reverse_dict),
    "catalogues": sorted(trans_real._translations),
    "templates": sorted(key.split("-")[0] for key in loader.get_template_cache),
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
}))
"""


def test_the_wsgi_module_loads_urls_translations_and_templates_before_the_first_request():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # municipium.wsgi sets its own
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    # The URL configuration and the views it imports, the API's among them.
    assert {"municipium.urls", "municipium.api.api", "municipium.benchmarks.profile_views"} <= set(loaded["modules"])
    # The reverse table and the translation catalogues of every language the pages are served in.
    assert set(settings.LANGUAGE_CODES) <= set(loaded["languages"])
    assert set(settings.LANGUAGE_CODES) <= set(loaded["catalogues"])
    # The project's templates, compiled and kept by the cached loader.
    assert {"base.html", "benchmarks/profile.html", "benchmarks/indicator.html"} <= set(loaded["templates"])
    # All of it out of the garbage collector's walks: a full collection looks only at what
    # requests made (the probe's own few objects are all it still tracks).
    assert loaded["frozen"] > 100_000 and loaded["tracked"] < loaded["frozen"] / 100


def test_a_broken_template_is_left_to_its_page_and_the_worker_still_starts(tmp_path, caplog):
    (tmp_path / "broken.html").write_text("{% if %}never closed", encoding="utf-8")
    (tmp_path / "fine.html").write_text("{{ value }}", encoding="utf-8")
    engine = {**settings.TEMPLATES[0], "DIRS": [tmp_path]}
    with override_settings(TEMPLATES=[engine]), caplog.at_level(logging.WARNING, logger="municipium.web.warmup"):
        try:
            seconds = warm_up()
        finally:
            gc.unfreeze()  # this test process is no worker: its objects go back to the collector
    assert seconds > 0
    warned = [record.getMessage() for record in caplog.records]
    assert len(warned) == 1 and "broken.html" in warned[0], warned
