"""Pages of the cooperation app, mounted at /<language>/cooperation/."""

from django.urls import path

from . import views

app_name = "cooperation"
urlpatterns = [
    path("", views.agreements, name="agreements"),
    path("agreements/new/", views.agreement_edit, name="agreement-new"),
    path("agreements/<slug:code>/", views.agreement, name="agreement"),
    path("agreements/<slug:code>/edit/", views.agreement_edit, name="agreement-edit"),
    path("agreements/<slug:code>/zones/", views.zone_add, name="zone-add"),
    path("groups/<slug:code>/inventory/", views.inventory, name="inventory"),
    path("obligations/", views.obligations, name="obligations"),
    path("obligations/<int:pk>/report/", views.obligation_report, name="obligation-report"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("facilities/new/", views.facility_edit, name="facility-new"),
    path("facilities/<slug:code>/", views.facility, name="facility"),
    path("facilities/<slug:code>/edit/", views.facility_edit, name="facility-edit"),
    path("facilities/<slug:code>/package/", views.package, name="package"),
]
