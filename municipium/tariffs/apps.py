from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TariffsConfig(AppConfig):
    name = "municipium.tariffs"
    verbose_name = _("Tariffs")
    # Entries this app adds to the "Planning" menu: (label, url name, who sees it). See
    # municipium.web.context.planning_menu.
    menu: list = [(_("Fees and tariffs"), "tariffs:studies", None)]
