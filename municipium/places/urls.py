from django.urls import path

from . import views

urlpatterns = [
    path("groups/<str:code>/", views.group_workspace, name="group"),
    path("groups/<str:code>/adopt/", views.adopt, name="group-adopt"),
    path("groups/<str:code>/adapt/", views.adapt, name="group-adapt"),
    path("groups/<str:code>/remove/", views.remove, name="group-remove"),
    path("groups/<str:code>/availability/", views.declare_availability, name="group-availability"),
]
