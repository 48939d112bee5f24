"""What an agenda item may link: an indicator, an indicator set, a survey, and what the
planning modules add (an agreement, a plan item).

The meetings app sits below those modules (they reuse its bodies and decisions), so it cannot
import them; instead each kind of linkable thing is registered here with how to name it, where
its page is and who may see it. A module registers its own kinds in its AppConfig.ready():

    links.register("cooperation.agreement", label=..., url=..., visible=..., choices=...)

A link the reader may not see is shown as "a linked item" without its name (never a hint).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from municipium.lib.texts import pick


@dataclass(frozen=True)
class Kind:
    model: str  # app_label.model
    heading: Any  # the option group's heading in the agenda form
    label: Callable[[Any], str]
    url: Callable[[Any], str | None]
    visible: Callable[[Any, Any], bool]  # (user, obj)
    choices: Callable[[Any], Any]  # (body) -> queryset of linkable objects


KINDS: dict[str, Kind] = {}


def register(model: str, **kwargs) -> None:
    KINDS[model] = Kind(model=model, **kwargs)


def kind_of(obj) -> Kind | None:
    return KINDS.get(obj._meta.label_lower) if obj is not None else None


def describe(item, user) -> dict | None:
    """The link of an agenda item as the reader may see it: {"label", "url"} or None."""
    obj = item.link
    kind = kind_of(obj)
    if obj is None or kind is None:
        return None
    if not kind.visible(user, obj):
        return {"label": str(_("a linked item")), "url": None}
    return {"label": kind.label(obj), "url": kind.url(obj)}


def option_value(obj) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def grouped_choices(body) -> list:
    """For the agenda form's select: [(heading, [(value, label), ...]), ...]."""
    groups = []
    for kind in KINDS.values():
        options = [(option_value(o), kind.label(o)) for o in kind.choices(body)]
        if options:
            groups.append((kind.heading, options))
    return groups


def resolve(value: str, body):
    """The object an option value names, if it is among the body's choices; else None."""
    if not value:
        return None
    model, _sep, pk = value.rpartition(":")
    kind = KINDS.get(model)
    if kind is None or not pk.isdigit():
        return None
    return kind.choices(body).filter(pk=int(pk)).first()


def content_type(obj) -> ContentType:
    return ContentType.objects.get_for_model(obj)


# -- the kinds the core offers ---------------------------------------------------------------


def _indicators(body):
    from municipium.catalog.models import Indicator

    return Indicator.objects.order_by("code")


def _sets(body):
    from municipium.catalog.models import IndicatorSet

    return IndicatorSet.objects.order_by("code")


def _surveys(body):
    from municipium.places.models import Membership
    from municipium.surveys.models import Survey

    units = (
        [body.unit_id]
        if body.unit_id
        else list(Membership.objects.filter(group=body.group_id).values_list("unit_id", flat=True))
    )
    return Survey.objects.filter(unit_id__in=units).select_related("unit").order_by("unit__code", "-year")


def _survey_visible(user, survey) -> bool:
    from municipium.surveys import access

    return access.can_see_results(user, survey)


register(
    "catalog.indicator",
    heading=_("Indicators"),
    label=lambda o: f"{pick(o.name).text or o.code}",
    url=lambda o: reverse("indicator", args=[o.code]),
    visible=lambda user, o: True,
    choices=_indicators,
)
register(
    "catalog.indicatorset",
    heading=_("Indicator sets"),
    label=lambda o: f"{pick(o.name).text or o.code}",
    url=lambda o: None,
    visible=lambda user, o: True,
    choices=_sets,
)
register(
    "surveys.survey",
    heading=_("Surveys"),
    label=lambda o: f"{o.unit.label}: {o}",
    url=lambda o: reverse("survey", args=[o.pk]),
    visible=_survey_visible,
    choices=_surveys,
)
