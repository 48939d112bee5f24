from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _signed_in(user) -> bool:
    return bool(user and user.is_authenticated)


class MeetingsConfig(AppConfig):
    name = "municipium.meetings"
    verbose_name = _("Meetings")
    # Entries this app adds to the "Planning" menu: (label, url name, who sees it). See
    # municipium.web.context.planning_menu.
    menu: list = [
        (_("Working bodies and meetings"), "meetings:bodies", None),
        (_("Decisions"), "meetings:decisions", None),
        (_("Public consultations"), "meetings:consultations", None),
        (_("My meetings calendar"), "meetings:my-calendar", _signed_in),
    ]
