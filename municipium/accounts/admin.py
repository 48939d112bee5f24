from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Role


@admin.register(Role)
class RoleAdmin(AuditedModelAdmin):
    list_display = ["user", "kind", "unit", "group", "created"]
    list_filter = ["kind"]
    search_fields = ["user__username", "unit__code", "group__code"]
    autocomplete_fields = ["unit", "group"]
