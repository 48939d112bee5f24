from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import ImportBatch, Observation, Period, Revision, ValidationRule


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "start", "end"]
    list_filter = ["kind"]


class RevisionInline(admin.TabularInline):
    """The stored revisions: a figure nobody changed since it was written has none, its row
    being its first version (models.Revision); the history page shows every version."""

    model = Revision
    extra = 0
    can_delete = False
    readonly_fields = [
        "version",
        "value",
        "missing",
        "status",
        "source",
        "comment",
        "changed_at",
        "changed_by",
        "via",
        "batch",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Observation)
class ObservationAdmin(admin.ModelAdmin):
    """Read-only here: writes must go through write_observations (revisions, audit, recompute)."""

    list_display = ["unit", "variable", "period", "breakdown", "value", "missing", "status", "updated_at"]
    list_filter = ["status", "missing", "period"]
    search_fields = ["unit__code", "variable__code"]
    list_select_related = ["unit", "variable", "period"]
    inlines = [RevisionInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "file_name",
        "format",
        "via",
        "created_at",
        "created_by",
        "rows",
        "created",
        "updated",
        "unchanged",
    ]
    list_filter = ["via", "format"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A batch is the provenance of the figures it wrote: who, when, through what
        # (the channel of their first versions, models.Revision).
        return False


@admin.register(ValidationRule)
class ValidationRuleAdmin(AuditedModelAdmin):
    """Checks coordinators put on variables; the entry form runs them as officers type."""

    list_display = ["variable", "kind", "expression", "minimum", "maximum", "threshold", "severity", "group", "active"]
    list_filter = ["kind", "severity", "active", "group"]
    search_fields = ["variable__code", "expression"]
    list_select_related = ["variable", "group"]
    fieldsets = [
        (None, {"fields": ["variable", "kind", "severity", "group", "active"]}),
        (None, {"fields": ["expression", "minimum", "maximum", "threshold", "message"]}),
    ]
