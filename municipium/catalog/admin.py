from django.contrib import admin

from municipium.audit.admin import AuditedModelAdmin

from .models import Breakdown, Category, Indicator, IndicatorSet, ServiceArea, SetIndicator, Variable


@admin.register(ServiceArea)
class ServiceAreaAdmin(AuditedModelAdmin):
    list_display = ["code", "__str__", "order"]


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0


@admin.register(Breakdown)
class BreakdownAdmin(AuditedModelAdmin):
    list_display = ["code", "__str__"]
    inlines = [CategoryInline]


@admin.register(Variable)
class VariableAdmin(AuditedModelAdmin):
    recompute = True
    list_display = ["code", "label", "service_area", "unit_label", "period_kind", "breakdown"]
    list_filter = ["service_area", "period_kind"]
    search_fields = ["code", "name"]


@admin.register(Indicator)
class IndicatorAdmin(AuditedModelAdmin):
    recompute = True
    list_display = ["code", "label", "service_area", "dimension", "polarity", "formula"]
    list_filter = ["service_area", "dimension", "polarity"]
    search_fields = ["code", "name", "formula"]


class SetIndicatorInline(admin.TabularInline):
    model = SetIndicator
    extra = 0
    autocomplete_fields = ["indicator"]


@admin.register(IndicatorSet)
class IndicatorSetAdmin(AuditedModelAdmin):
    list_display = ["code", "__str__", "group"]
    inlines = [SetIndicatorInline]
