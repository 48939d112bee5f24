"""Service types and norms tables are reference data an administrator edits per country;
every change is audited (AuditedModelAdmin)."""

from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Norm, NormTable, ServiceType


@admin.register(ServiceType)
class ServiceTypeAdmin(AuditedModelAdmin):
    list_display = ["code", "label", "kind", "level", "country", "minimum_places", "order"]
    list_filter = ["kind", "level", "country"]
    search_fields = ["code", "name"]


class NormInline(admin.TabularInline):
    model = Norm
    extra = 0


@admin.register(NormTable)
class NormTableAdmin(AuditedModelAdmin):
    list_display = ["code", "version", "title", "jurisdiction", "status", "effective"]
    list_filter = ["status", "jurisdiction"]
    inlines = [NormInline]
