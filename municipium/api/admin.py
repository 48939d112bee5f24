import secrets

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from municipium.audit.admin import AuditedModelAdmin
from municipium.audit.models import record

from .models import TOKEN_PREFIX, ApiToken, hash_secret


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    list_display = ["prefix", "name", "user", "scopes", "created", "last_used", "expires", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["prefix", "name", "user__username"]
    autocomplete_fields = ["units"]
    readonly_fields = ["prefix", "created", "last_used"]
    fields = ["user", "name", "scopes", "units", "expires", "revoked", "prefix", "created", "last_used"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        secret = None
        if not change:
            # The secret is made here and shown once; only its hash is kept.
            obj.prefix = f"{TOKEN_PREFIX}_{secrets.token_hex(4)}"
            secret = f"{obj.prefix}_{secrets.token_urlsafe(32)}"
            obj.hashed = hash_secret(secret)
        super().save_model(request, obj, form, change)
        if secret:
            messages.warning(
                request, _("The token is %(secret)s — copy it now, it will not be shown again.") % {"secret": secret}
            )

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        now = timezone.now()
        for token in queryset.filter(revoked__isnull=True):
            token.revoked = now
            token.save(update_fields=["revoked"])
            record("revoke", token, actor=request.user, via="admin")
