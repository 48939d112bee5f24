"""Static files as `municipium serve` serves them (issue 19): content-hashed names, cached
for a year and more, and gzip or Brotli to a browser that asks. Run in a child process,
because the storage is chosen by the settings when Django starts, as in `serve`."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SERVED = """
import json, os, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)
url = static("js/charts.js")
client = Client()
answers = {}
for encoding in ("br, gzip", "gzip", ""):
    response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    answers[encoding or "none"] = {
        "status": response.status_code,
        "cache": response.get("Cache-Control", ""),
        "encoding": response.get("Content-Encoding", ""),
        "vary": response.get("Vary", ""),
        "length": len(b"".join(response.streaming_content)),
    }
print(json.dumps({"url": url, "storage": settings.STORAGES["staticfiles"]["BACKEND"], "answers": answers}))
"""


def test_a_hashed_static_file_is_cached_for_a_year_and_compressed_when_asked(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "municipium.settings",
        "MUNICIPIUM_DATA_DIR": str(tmp_path),
        "COMPRESSED_STATIC": "1",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SERVED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["storage"] == "municipium.web.staticfiles.CompressedManifestStorage"
    # The name carries the content's hash: js/charts.<hash>.js
    name = result["url"].rsplit("/", 1)[-1]
    assert name.startswith("charts.") and name.endswith(".js") and len(name.split(".")) == 3, name
    answers = result["answers"]
    for answer in answers.values():
        assert answer["status"] == 200
        max_age = int(answer["cache"].split("max-age=")[1].split(",")[0])
        assert max_age >= 365 * 24 * 3600 and "immutable" in answer["cache"], answer
        assert "Accept-Encoding" in answer["vary"]
    assert answers["br, gzip"]["encoding"] == "br"
    assert answers["gzip"]["encoding"] == "gzip"
    assert answers["none"]["encoding"] == ""
    assert answers["br, gzip"]["length"] < answers["gzip"]["length"] < answers["none"]["length"]


def test_serve_turns_compressed_static_files_on_before_django_starts(monkeypatch):
    from municipium import cli

    monkeypatch.setenv("COMPRESSED_STATIC", "")  # so that the test leaves the variable as it found it
    monkeypatch.delenv("COMPRESSED_STATIC")
    seen = {}
    monkeypatch.setattr(cli, "_setup", lambda: seen.setdefault("at_setup", os.environ.get("COMPRESSED_STATIC")))
    monkeypatch.setattr(cli, "cmd_serve", lambda args: 0)
    assert cli.main(["serve"]) == 0
    assert seen["at_setup"] == "1"
