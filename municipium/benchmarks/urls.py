from django.urls import path

from . import views

urlpatterns = [
    path("units/<str:code>/", views.unit_profile, name="unit"),
    path("indicators/<str:code>/", views.indicator_page, name="indicator"),
    path("compare/", views.compare, name="compare"),
]
