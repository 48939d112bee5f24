from django.urls import path

from . import views

urlpatterns = [
    path("groups/<str:code>/", views.group_workspace, name="group"),
]
