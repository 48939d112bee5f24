"""Uploaded files that were checked but never committed do not stay forever (issue 20, item
10): the daily job removes those older than UPLOAD_MAX_AGE_HOURS, and leaves younger ones
(someone may still be looking at their check) alone."""

import os
import time

import pytest

from municipium import cli
from municipium.observations import uploads

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.UPLOAD_MAX_AGE_HOURS = 24
    folder = uploads.directory()
    old, young = folder / "old-token", folder / "young-token"
    old.write_bytes(b"unit,variable,period,value\n")
    young.write_bytes(b"unit,variable,period,value\n")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    return old, young


def test_the_daily_job_removes_uploads_never_committed_and_older_than_the_cutoff(kept, capsys):
    old, young = kept

    assert cli.main(["daily"]) == 0

    assert not old.exists()
    assert young.exists()
    assert "1 uploaded file that was never imported removed" in capsys.readouterr().out


def test_a_sweep_with_nothing_old_removes_nothing(kept):
    old, young = kept
    os.utime(old, None)
    assert uploads.sweep() == 0
    assert old.exists() and young.exists()
