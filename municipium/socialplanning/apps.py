from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _signed_in(user) -> bool:
    return user.is_authenticated


class SocialPlanningConfig(AppConfig):
    name = "municipium.socialplanning"
    verbose_name = _("Social services")
    # Entries this app adds to the "Planning" menu: (label, url name, who sees it). See
    # municipium.web.context.planning_menu.
    menu: list = [
        (_("Social-service planning"), "socialplanning:index", _signed_in),
    ]
