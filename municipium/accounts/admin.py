from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Invitation, Role


@admin.register(Role)
class RoleAdmin(AuditedModelAdmin):
    list_display = ["user", "kind", "unit", "group", "created"]
    list_filter = ["kind"]
    search_fields = ["user__username", "unit__code", "group__code"]
    autocomplete_fields = ["unit", "group"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read only: invitations are made and withdrawn on the invitations page, which sends the
    e-mail and writes the audit trail; the token's hash is of no use to anyone here."""

    list_display = ["email", "kind", "unit", "group", "invited_by", "created", "expires", "accepted_at", "revoked_at"]
    list_filter = ["kind"]
    search_fields = ["email", "unit__code", "group__code"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
