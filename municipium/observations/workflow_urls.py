from django.urls import path

from . import workflow_views as views

urlpatterns = [
    path("groups/<str:code>/status/", views.status_board_latest, name="group-status-latest"),
    path("groups/<str:code>/status/<str:period>/", views.status_board, name="group-status"),
    path("groups/<str:code>/status/<str:period>/deadline/", views.set_deadline, name="group-status-deadline"),
    path("groups/<str:code>/status/<str:period>/remind/", views.remind, name="group-status-remind"),
    path("groups/<str:code>/status/<str:period>/approve/", views.approve, name="group-status-approve"),
    path("groups/<str:code>/status/<str:period>/reopen/", views.reopen, name="group-status-reopen"),
    path("groups/<str:code>/status/<str:period>/publish/", views.publish, name="group-status-publish"),
    path("entry/<str:unit>/<str:period>/<str:area>/approve/", views.entry_approve, name="entry-approve"),
    path("entry/<str:unit>/<str:period>/<str:area>/reopen/", views.entry_reopen, name="entry-reopen"),
]
