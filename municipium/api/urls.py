"""Mounted at /api/ by the project's urls (outside the language prefixes: an API address
names no language; Accept-Language chooses the language of messages and labels)."""

from django.urls import path

from .api import api

urlpatterns = [path("", api.urls)]
