from django.urls import path

from . import views

urlpatterns = [
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/areas/<str:code>/", views.area, name="catalogue-area"),
    path("catalogue/indicators/<str:code>/edit/", views.indicator_edit, name="catalogue-indicator-edit"),
    path("catalogue/indicators/<str:code>/preview/", views.indicator_preview, name="catalogue-indicator-preview"),
]
