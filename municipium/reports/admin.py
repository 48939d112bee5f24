from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Report, ReportIndicator


class ReportIndicatorInline(admin.TabularInline):
    model = ReportIndicator
    extra = 0
    raw_id_fields = ["indicator"]


@admin.register(Report)
class ReportAdmin(AuditedModelAdmin):
    list_display = ["title", "unit", "period", "group", "language", "updated_at"]
    list_filter = ["language"]
    search_fields = ["title", "unit__code"]
    raw_id_fields = ["unit", "created_by"]
    inlines = [ReportIndicatorInline]
