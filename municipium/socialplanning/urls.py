"""Pages of the socialplanning app, mounted under the language prefix by the project's urls."""

from django.urls import path

from . import views

app_name = "socialplanning"
urlpatterns = [
    path("", views.index, name="index"),
    path("types/", views.types, name="types"),
    path("types/new/", views.type_edit, name="type-new"),
    path("types/<slug:code>/", views.type_edit, name="type-edit"),
    path("norms/new/", views.norms_edit, name="norms-new"),
    path("norms/<int:pk>/", views.norms_edit, name="norms-edit"),
    path("norms/<int:pk>/version/", views.norms_version, name="norms-version"),
    path("supply/<str:unit>/", views.supply, name="supply"),
    path("rounds/new/", views.round_new, name="round-new"),
    path("rounds/<slug:code>/", views.round_view, name="round"),
    path("rounds/<slug:code>/accessibility/", views.accessibility, name="accessibility"),
    path("rounds/<slug:code>/shared/<int:pk>/quotas/", views.quotas, name="quotas"),
    path("rounds/<slug:code>/<str:unit>/", views.proposal, name="proposal"),
]
