"""After field work: cleaning, weighting, analysis, the report and publication."""

from django.urls import path

urlpatterns: list = []
