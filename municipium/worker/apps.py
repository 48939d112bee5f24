from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkerConfig(AppConfig):
    name = "municipium.worker"
    label = "worker"
    verbose_name = _("Background worker")

    def ready(self):
        from django.db.models.signals import post_save
        from django_tasks_db.models import DBTaskResult

        from .worker import notify_queued

        # Idle workers on PostgreSQL wake up when a task is queued (worker.Wakeup).
        post_save.connect(notify_queued, sender=DBTaskResult, dispatch_uid="municipium.worker.notify_queued")
