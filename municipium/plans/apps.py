from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "municipium.plans"
    verbose_name = _("Strategic plans")
    menu: list = [(_("Strategic plans"), "plans:plans", None)]

    def ready(self):
        # Agenda items of meetings may link a plan item (meetings.links: the meetings app
        # sits below this one and never imports it).
        from django.urls import reverse

        from municipium.meetings import links

        from . import access
        from .models import Item

        links.register(
            "plans.item",
            heading=_("Plan items"),
            label=lambda o: f"{o.plan.title}: {o.code} {o.title}",
            url=lambda o: reverse("plans:plan", args=[o.plan.code]) + f"#item-{o.pk}",
            visible=lambda user, o: access.can_read(user, o.plan),
            choices=lambda body: (
                Item.objects.filter(plan__unit_id=body.unit_id).select_related("plan")
                if body.unit_id
                else Item.objects.none()
            ),
        )
