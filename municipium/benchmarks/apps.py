from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "municipium.benchmarks"
    label = "benchmarks"

    def ready(self):
        from municipium.lib.signals import figures_changed

        figures_changed.connect(_recompute, dispatch_uid="municipium.benchmarks.recompute")


def _recompute(sender, variable_ids=None, period_ids=None, unit_ids=None, **kwargs) -> None:
    """Derived figures follow the raw ones: the affected slices, or everything."""
    from .tasks import recompute_after_commit, recompute_changed

    if variable_ids is None:
        recompute_after_commit()
    else:
        recompute_changed.enqueue(variable_ids=variable_ids, period_ids=period_ids, unit_ids=unit_ids)
