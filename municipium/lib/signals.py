"""Signals by which a lower floor tells a higher one that something happened, without
importing it (ARCHITECTURE.md, "Floors").

`figures_changed` says that derived figures may no longer match the raw ones. The places,
catalogue and observations apps send it; the compute engine (benchmarks) listens and
schedules the recompute once the transaction commits. Before this signal each of those apps
imported the engine's task module, so the bottom of the house depended on its top.
"""

from django.dispatch import Signal

# Keyword arguments: `variable_ids` and `period_ids`, the raw figures that changed (the
# engine recomputes only the slices that read them), or both None when anything may have
# moved (an indicator's formula, a group's memberships, a unit's validity): a full pass;
# `unit_ids`, the units whose figures changed, or None when they are many (or not known).
figures_changed = Signal()


def everything_may_have_changed(sender=None) -> None:
    """A change that can move any derived figure: recompute all once this commits."""
    figures_changed.send(sender=sender, variable_ids=None, period_ids=None)


def raw_figures_changed(
    variable_ids: list[int], period_ids: list[int], sender=None, unit_ids: list[int] | None = None
) -> None:
    """Observations of these variables in these periods (of these units, if given) changed
    (sent after the commit)."""
    figures_changed.send(sender=sender, variable_ids=variable_ids, period_ids=period_ids, unit_ids=unit_ids)
