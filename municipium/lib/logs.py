"""Logs without secrets: personal survey links and invitation tokens never reach a log.

A survey respondent's link `/fa/s/<token>/` is the one thing that ties a person (the
address the link was sent to) to their answers; an invitation's token lets its holder
choose a password. Both travel in the path, so the server's access log, Django's "Not
Found: /…" warnings and a referring page's address would write them down. `scrub` replaces
them, and any query parameter named like a token, with `REDACTED`; `ScrubTokens` applies it
to every log record (settings.LOGGING), and web/accesslog.py to gunicorn's access log,
which also leaves out the address and the time of day of a respondent's requests
(README: Privacy).
"""

from __future__ import annotations

import logging
import re

REDACTED = "REDACTED"

# A personal path: after the start, a host or a language prefix, never inside another path
# (a unit coded "s" keeps its address readable).
_PATH = re.compile(
    r"(?P<head>(?:^|(?<=[\s\"'(])|//[^/\s\"']+)(?:/[a-z]{2}(?:-[A-Za-z]+)?)?/(?:s|invitations/accept)/)"
    r"[^/?#\s\"']+"
)
_RESPONDENT = re.compile(r"^(?:/[a-z]{2}(?:-[A-Za-z]+)?)?/s/")
_QUERY = re.compile(r"(?P<head>[?&;](?:[^=&#\s\"']*(?:token|key|secret)[^=&#\s\"']*)=)[^&#\s\"']*", re.IGNORECASE)


def scrub(text: str) -> str:
    """`text` with personal link tokens and token-like query values replaced."""
    if not text:
        return text
    text = _PATH.sub(lambda m: m.group("head") + REDACTED, text)
    return _QUERY.sub(lambda m: m.group("head") + REDACTED, text)


def is_respondent_path(path: str) -> bool:
    """A survey respondent's page (`/<language>/s/<token>/`): nobody's address or time is kept."""
    return bool(_RESPONDENT.match(path or ""))


class ScrubTokens(logging.Filter):
    """A logging filter that scrubs the finished message (and a traceback's text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
