"""gunicorn's access log without personal tokens, and without who and when for respondents.

`municipium serve` and the README's gunicorn line pass `--logger-class
municipium.web.accesslog.PrivateAccessLog`. Every field of a line (request line, path,
query, referrer, headers) goes through lib/logs.scrub; a line for a survey respondent's
page also loses the client's address (and forwarded addresses) and keeps the day only, so
the log cannot be lined up with the responses stored that day (README: Privacy).
"""

from __future__ import annotations

import time

from gunicorn.glogging import Logger

from municipium.lib.logs import is_respondent_path, scrub

_ADDRESSES = ("h", "{x-forwarded-for}i", "{x-real-ip}i", "{forwarded}i", "{remote_addr}e", "{http_x_forwarded_for}e")


class PrivateAccessLog(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = scrub(value)
        if is_respondent_path(environ.get("PATH_INFO", "")):
            for key in _ADDRESSES:
                if key in atoms:
                    atoms[key] = "-"
            atoms["t"] = time.strftime("[%d/%b/%Y]")
        return atoms
