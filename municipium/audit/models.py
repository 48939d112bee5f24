"""Audit events: who changed what, when, before and after, and through which channel.

Observations keep their own fine-grained Revision rows; an import writes one event for the
batch rather than one per row, so the trail stays readable and the import stays fast.
"""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)  # create, update, delete, import, restore, recompute ...
    model = models.CharField(max_length=64, db_index=True)  # app_label.model
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_repr = models.CharField(max_length=255, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    via = models.CharField(max_length=16, blank=True, default="")
    batch = models.ForeignKey(
        "observations.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.model} {self.object_repr}"


def record(
    action: str,
    instance=None,
    *,
    model: str = "",
    actor=None,
    before=None,
    after=None,
    via: str = "",
    batch=None,
    note: str = "",
    object_id="",
    object_repr="",
    day_only: bool = False,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction that makes the change.

    `day_only` keeps the date without the time of day, for events about what a person said
    (a survey response keyed in): their time could tell who it was (README: Privacy).
    """
    if instance is not None:
        model = model or instance._meta.label_lower
        object_id = object_id or str(instance.pk)
        object_repr = object_repr or str(instance)[:255]
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent.objects.create(
        action=action,
        model=model,
        object_id=object_id,
        object_repr=object_repr[:255],
        actor=actor,
        before=before,
        after=after,
        via=via,
        batch=batch,
        note=note,
    )
    if day_only:
        event.at = event.at.replace(hour=0, minute=0, second=0, microsecond=0)
        # `at` is auto_now_add, which create() always fills with now.
        AuditEvent.objects.filter(pk=event.pk).update(at=event.at)
    return event


def snapshot(instance) -> dict:
    """The instance's concrete field values, JSON-ready, for an event's before/after."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    data = {}
    for f in instance._meta.concrete_fields:
        data[f.attname] = getattr(instance, f.attname)
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))
