"""Pages of the meetings app, mounted at /<language>/meetings/ by the project's urls."""

from django.urls import path

from . import views

app_name = "meetings"
urlpatterns = [
    path("", views.bodies, name="bodies"),
    path("new/", views.body_new, name="body-new"),
    path("decisions/", views.decisions, name="decisions"),
    path("decisions/<int:pk>/status/", views.decision_status, name="decision-status"),
    path("calendar/", views.my_calendar, name="my-calendar"),
    path("consultations/", views.consultations, name="consultations"),
    path("consultations/new/", views.consultation_new, name="consultation-new"),
    path("consultations/<slug:code>/", views.consultation, name="consultation"),
    path("consultations/<slug:code>/edit/", views.consultation_edit, name="consultation-edit"),
    path("consultations/<slug:code>/document/", views.consultation_document, name="consultation-document"),
    path("consultations/<slug:code>/manage/", views.consultation_manage, name="consultation-manage"),
    path("consultations/<slug:code>/report/", views.consultation_report, name="consultation-report"),
    path("bodies/<slug:code>/", views.body, name="body"),
    path("bodies/<slug:code>/edit/", views.body_edit, name="body-edit"),
    path("bodies/<slug:code>/calendar.ics", views.body_calendar, name="body-calendar"),
    path("bodies/<slug:code>/decisions/", views.decisions, name="body-decisions"),
    path("bodies/<slug:code>/members/<int:pk>/remove/", views.member_remove, name="member-remove"),
    path("bodies/<slug:code>/meetings/new/", views.meeting_new, name="meeting-new"),
    path("bodies/<slug:code>/meetings/<int:pk>/", views.meeting, name="meeting"),
    path("bodies/<slug:code>/meetings/<int:pk>/edit/", views.meeting_edit, name="meeting-edit"),
    path("bodies/<slug:code>/meetings/<int:pk>/minutes.pdf", views.meeting_pdf, name="meeting-pdf"),
]
