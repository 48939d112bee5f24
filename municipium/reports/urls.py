from django.urls import path

from . import views

urlpatterns = [
    path("reports/<str:code>/", views.report, name="report"),
]
