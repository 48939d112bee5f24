"""Send a reminder once, however many servers run the daily job.

Every reminder Municipium sends from `municipium daily` (data deadlines, overdue decisions,
overdue obligations, and whatever the planning modules add) follows one rule, kept here:

1. **claim** the step with a conditional UPDATE that sets its timestamp column only where it
   is still empty: of several servers running the job at once, exactly one changes the row;
2. **send** inside the same transaction, in the installation's language (a daily job has no
   reader whose language it could follow);
3. if the mail server refuses, the transaction **rolls the claim back**, so the next run
   tries again; the failure is logged and counted, and the job goes on with the next step.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

log = logging.getLogger(__name__)


def send_once(row: QuerySet, column: str, send: Callable[[], int], what: str) -> tuple[int, int]:
    """Claim `column` (a nullable timestamp) on the one row `row` selects, then `send()`,
    which returns how many messages it sent. Returns (sent, failed): (0, 0) when another run
    had claimed the step already (or `row` no longer matches, e.g. a deadline moved),
    (0, 1) when sending failed and the claim was rolled back."""
    try:
        with transaction.atomic():
            if not row.filter(**{f"{column}__isnull": True}).update(**{column: timezone.now()}):
                return 0, 0
            with translation.override(settings.LANGUAGE_CODE):
                return send(), 0
    except (smtplib.SMTPException, OSError):
        log.exception("%s could not be sent", what)
        return 0, 1
