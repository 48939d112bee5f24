from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Group, Membership, Succession, Unit


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["unit"]


@admin.register(Unit)
class UnitAdmin(AuditedModelAdmin):
    recompute = True
    list_display = ["code", "label", "kind", "parent", "valid_from", "valid_to"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    exclude = ["boundary"]


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin):
    recompute = True
    list_display = ["code", "label", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]


@admin.register(Succession)
class SuccessionAdmin(AuditedModelAdmin):
    list_display = ["predecessor", "successor", "kind", "date"]
    autocomplete_fields = ["predecessor", "successor"]
