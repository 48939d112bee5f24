"""An uploaded file kept between its check and its commit, for every importer.

The file is checked first and shown; the person then commits exactly that file. It waits
under DATA_DIR/uploads named by a random token, and the session holds what the token means
(file name, sha256 and whatever the caller adds), so a token from another session or a
file changed on disk is refused instead of imported.
"""

import datetime as dt
import hashlib
import secrets
import time
from pathlib import Path

from django.conf import settings


def directory() -> Path:
    path = Path(settings.DATA_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep(request, slot: str, data: bytes, name: str, **facts) -> str:
    """Keep `data` for this session under `slot`; returns the token the commit form sends."""
    token = secrets.token_urlsafe(24)
    (directory() / token).write_bytes(data)
    uploads = request.session.get(slot, {})
    uploads[token] = {"name": name, "sha256": hashlib.sha256(data).hexdigest(), **facts}
    request.session[slot] = uploads
    return token


def take(request, slot: str, token: str) -> tuple[bytes, dict] | None:
    """The kept file and what was noted about it, removed from keeping; None when this
    session kept no such file or it is gone. Whether it changed on disk since it was checked
    is `unchanged`'s to say (callers tell the two apart to the person)."""
    uploads = request.session.get(slot, {})
    kept = uploads.pop(token, None)
    request.session[slot] = uploads
    path = directory() / token if token and "/" not in token and "." not in token else None
    if kept is None or path is None or not path.is_file():
        return None
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    return data, kept


def unchanged(data: bytes, kept: dict) -> bool:
    return hashlib.sha256(data).hexdigest() == kept["sha256"]


def sweep(max_age: dt.timedelta | None = None, *, now: float | None = None) -> int:
    """Remove the kept files older than `max_age` (settings.UPLOAD_MAX_AGE_HOURS): files
    that were checked but never committed, whose session ended or whose person walked away.
    A commit after that asks for the file again ("no longer here"). Run by the daily job;
    returns how many files were removed."""
    if max_age is None:
        max_age = dt.timedelta(hours=settings.UPLOAD_MAX_AGE_HOURS)
    cutoff = (time.time() if now is None else now) - max_age.total_seconds()
    removed = 0
    for path in directory().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # taken by its commit, or swept by another run, meanwhile
            continue
    return removed
