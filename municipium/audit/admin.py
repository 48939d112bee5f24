from django.contrib import admin

from .models import AuditEvent, record, snapshot


class AuditedModelAdmin(admin.ModelAdmin):
    """Admin whose saves and deletes leave an audit event with before and after.

    `recompute = True` on admins of models that derived figures depend on (indicators,
    units, groups and their memberships) schedules a background recompute after a change.
    """

    recompute = False

    def log_change(self, request, obj, message):
        self._changed()
        return super().log_change(request, obj, message)

    def log_addition(self, request, obj, message):
        self._changed()
        return super().log_addition(request, obj, message)

    def log_deletions(self, request, queryset):
        self._changed()
        return super().log_deletions(request, queryset)

    def _changed(self):
        if self.recompute:
            from municipium.lib.signals import everything_may_have_changed

            everything_may_have_changed()

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        record(
            "update" if change else "create", obj, actor=request.user, before=before, after=snapshot(obj), via="admin"
        )

    def delete_model(self, request, obj):
        before, label, pk, text = snapshot(obj), obj._meta.label_lower, str(obj.pk), str(obj)
        super().delete_model(request, obj)
        record("delete", model=label, object_id=pk, object_repr=text, actor=request.user, before=before, via="admin")

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        # Inline rows (memberships, set entries, categories) are data changes too.
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            before, label, pk, text = snapshot(obj), obj._meta.label_lower, str(obj.pk), str(obj)
            obj.delete()
            record(
                "delete", model=label, object_id=pk, object_repr=text, actor=request.user, before=before, via="admin"
            )
        for obj in instances:
            existed = obj.pk is not None
            before = snapshot(type(obj).objects.get(pk=obj.pk)) if existed else None
            obj.save()
            record(
                "update" if existed else "create",
                obj,
                actor=request.user,
                before=before,
                after=snapshot(obj),
                via="admin",
            )
        formset.save_m2m()


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "model", "object_repr", "via", "batch"]
    list_filter = ["action", "model", "via"]
    search_fields = ["object_repr", "object_id", "note"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
