from django.urls import path

from . import views

urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
    path("audit/observations/<int:pk>/", views.observation_history, name="audit-observation"),
    path("audit/observations/<int:pk>/restore/", views.restore, name="audit-restore"),
]
