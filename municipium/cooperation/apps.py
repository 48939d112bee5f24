from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CooperationConfig(AppConfig):
    name = "municipium.cooperation"
    verbose_name = _("Cooperation")
    menu: list = [
        (_("Agreements between municipalities"), "cooperation:agreements", None),
    ]

    def ready(self):
        # Agenda items of meetings may link an agreement (meetings.links: the meetings app
        # sits below this one and never imports it).
        from django.urls import reverse

        from municipium.meetings import links

        from . import access
        from .models import Agreement

        def choices(body):
            if body.group_id:
                return Agreement.objects.filter(group_id=body.group_id)
            return Agreement.objects.filter(parties__unit_id=body.unit_id).distinct()

        links.register(
            "cooperation.agreement",
            heading=_("Agreements"),
            label=lambda o: o.title,
            url=lambda o: reverse("cooperation:agreement", args=[o.code]),
            visible=lambda user, o: access.can_read(user, o),
            choices=choices,
        )
