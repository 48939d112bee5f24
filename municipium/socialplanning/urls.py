"""Pages of the socialplanning app, mounted under the language prefix by the project's urls."""

from django.urls import path  # noqa: F401

app_name = "socialplanning"
urlpatterns: list = []
