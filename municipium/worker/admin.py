from django.contrib import admin

from .models import TaskLease


@admin.register(TaskLease)
class TaskLeaseAdmin(admin.ModelAdmin):
    """Read only: what the workers hold and how often a task was taken back (README: The task
    worker). The task itself, its status and any recorded failure are under Task results."""

    list_display = ("task", "worker_id", "attempts", "reclaimed", "heartbeat_at", "expires_at")
    list_filter = ("reclaimed",)
    ordering = ("-heartbeat_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
