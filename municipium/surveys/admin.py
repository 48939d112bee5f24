"""Administration of surveys. Questions and choices are shown but not edited here: changes
to a questionnaire go through the survey pages or an XLSForm upload, which check every
expression and scale; the admin would bypass those checks."""

from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Choice, Frame, Question, Survey


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class QuestionInline(_ReadOnlyInline):
    model = Question
    fields = ["order", "kind", "name", "list_name", "required", "relevant", "constraint", "role", "service"]


class ChoiceInline(_ReadOnlyInline):
    model = Choice
    fields = ["list_name", "order", "name", "is_missing"]


@admin.register(Survey)
class SurveyAdmin(AuditedModelAdmin):
    list_display = ["code", "unit", "year", "step"]
    list_filter = ["step", "year"]
    search_fields = ["code", "unit__code"]
    readonly_fields = ["form_settings", "sample_plan", "version", "created", "created_by"]
    inlines = [QuestionInline, ChoiceInline]


@admin.register(Frame)
class FrameAdmin(AuditedModelAdmin):
    list_display = ["survey", "filename", "size", "stratum_column", "imported"]
    readonly_fields = ["survey", "filename", "sha256", "size", "stratum_column", "imported_by", "draw"]
