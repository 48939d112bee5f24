"""The lease a worker holds on the task it runs (beside django-tasks-db's own task rows).

A worker that claims a task writes a lease that ends a short while ahead and renews it
while the task runs (the heartbeat). A worker that is killed, frozen or cut off from the
database stops renewing; once its lease has ended any other worker takes the task back.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskLease(models.Model):
    task = models.OneToOneField(
        "django_tasks_database.DBTaskResult", primary_key=True, on_delete=models.CASCADE, related_name="lease"
    )
    # The worker that holds the lease now; empty while the task waits to be taken again, so
    # a late heartbeat of the lost worker renews nothing.
    worker_id = models.CharField(_("worker"), max_length=64, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    reclaimed = models.PositiveIntegerField(_("taken back from a lost worker"), default=0)
    heartbeat_at = models.DateTimeField(_("last heartbeat"))
    expires_at = models.DateTimeField(_("lease ends"), db_index=True)

    class Meta:
        verbose_name = _("task lease")
        verbose_name_plural = _("task leases")
