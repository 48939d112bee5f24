from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Invitation, Role, SecondFactor


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


@admin.register(SecondFactor)
class SecondFactorAdmin(admin.ModelAdmin):
    """An administrator's reset of someone's second factor (a lost phone) is deleting it
    here; the person logs in with the password alone and may set up a new one. Nothing else
    is shown or changed: the setup key and the recovery codes' digests stay out of sight,
    and out of the audit trail (`second_factor.turn_off` records who reset whose)."""

    list_display = ["user", "confirmed", "created"]
    search_fields = ["user__username"]
    fields = ["user", "confirmed", "created"]
    readonly_fields = ["user", "confirmed", "created"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        from .second_factor import turn_off

        turn_off(request.user, obj.user, note="second factor reset by an administrator")

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
