"""Pages of the socialplanning app, mounted under the language prefix by the project's urls."""

from django.urls import path

from . import views

app_name = "socialplanning"
urlpatterns = [
    path("", views.index, name="index"),
    path("types/", views.types, name="types"),
    path("supply/<str:unit>/", views.supply, name="supply"),
    path("rounds/new/", views.round_new, name="round-new"),
    path("rounds/<slug:code>/", views.round_view, name="round"),
    path("rounds/<slug:code>/accessibility/", views.accessibility, name="accessibility"),
    path("rounds/<slug:code>/shared/<int:pk>/quotas/", views.quotas, name="quotas"),
    path("rounds/<slug:code>/<str:unit>/", views.proposal, name="proposal"),
]
