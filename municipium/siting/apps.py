from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SitingConfig(AppConfig):
    name = "municipium.siting"
    verbose_name = _("Siting")
    # Entries this app adds to the "Planning" menu: (label, url name, who sees it). See
    # municipium.web.context.planning_menu.
    menu: list = [(_("Choosing a site for a shared facility"), "siting:projects", None)]
