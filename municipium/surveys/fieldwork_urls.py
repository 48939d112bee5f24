"""Field work: personal links, the respondent's questionnaire, interviews, paper entry, imports."""

from django.urls import path

urlpatterns: list = []
