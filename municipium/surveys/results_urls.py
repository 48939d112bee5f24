"""After field work: cleaning, weighting, analysis, the report and publication."""

from django.urls import path

from . import results_views as views

urlpatterns: list = [
    path("surveys/<int:pk>/clean/", views.clean, name="survey-clean"),
    path("surveys/<int:pk>/weight/", views.weight, name="survey-weight"),
    path("surveys/<int:pk>/analysis/", views.analyse, name="survey-analyse"),
    path("surveys/<int:pk>/report/", views.report, name="survey-report"),
    path("surveys/<int:pk>/report.pdf", views.report_pdf, name="survey-report-pdf"),
    path("surveys/<int:pk>/publish/", views.publish_results, name="survey-publish"),
]
