from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocialPlanningConfig(AppConfig):
    name = "municipium.socialplanning"
    verbose_name = _("Social services")
    # Entries this app adds to the "Planning" menu: (label, url name, who sees it). See
    # municipium.web.context.planning_menu. Empty until the app has pages.
    menu: list = []
