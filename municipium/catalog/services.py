"""Operations on the catalogue that span models and are audited in one transaction."""

from django.db import transaction
from django.db.models import Max

from municipium.audit.models import record, snapshot

from .models import IndicatorSet, SetIndicator


def group_set(group, *, actor=None, via: str = "form") -> IndicatorSet:
    """The group's indicator set (the first, if it has several), made when it has none."""
    found = IndicatorSet.objects.filter(group=group).order_by("code").first()
    if found is None:
        found = IndicatorSet.objects.create(code=f"{group.code}-set", name=dict(group.name), group=group)
        record("create", found, actor=actor, after=snapshot(found), via=via)
    return found


def adopt(group, indicators, *, actor=None, via: str = "form") -> list[SetIndicator]:
    """Add indicators to the group's set, after those already in it; ones already there are
    skipped. Audited; derived figures are recomputed after the commit."""
    from municipium.lib.signals import everything_may_have_changed

    added = []
    with transaction.atomic():
        indicator_set = group_set(group, actor=actor, via=via)
        present = set(indicator_set.entries.values_list("indicator_id", flat=True))
        order = indicator_set.entries.aggregate(m=Max("order"))["m"] or 0
        for indicator in indicators:
            if indicator.pk in present:
                continue
            order += 1
            entry = SetIndicator.objects.create(indicator_set=indicator_set, indicator=indicator, order=order)
            record(
                "create",
                entry,
                actor=actor,
                after=snapshot(entry),
                via=via,
                object_repr=f"{indicator_set.code}: {indicator.code}",
            )
            present.add(indicator.pk)
            added.append(entry)
        if added:
            everything_may_have_changed()
    return added
