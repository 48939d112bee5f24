from django.urls import path

from . import views

urlpatterns = [
    path("reports/<str:code>/", views.reports, name="report"),
    path("reports/<str:code>/<int:pk>/", views.report, name="report-detail"),
    path("reports/<str:code>/<int:pk>/publish/", views.report_publish, name="report-publish"),
    path("reports/<str:code>/<int:pk>/report.pdf", views.report_pdf, name="report-pdf"),
]
