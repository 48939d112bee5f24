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

    def ready(self):
        # Agenda items of meetings may link a planning round (meetings.links: the meetings
        # app sits below this one and never imports it).
        from django.urls import reverse

        from municipium.meetings import links

        from . import access
        from .models import Round

        def choices(body):
            if body.group_id:
                return Round.objects.filter(group_id=body.group_id)
            return Round.objects.filter(group__memberships__unit_id=body.unit_id).distinct()

        links.register(
            "socialplanning.round",
            heading=_("Planning rounds"),
            label=lambda o: o.title,
            url=lambda o: reverse("socialplanning:round", args=[o.code]),
            visible=lambda user, o: access.can_read(user, o),
            choices=choices,
        )
