from django.urls import path

from . import views

urlpatterns = [
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/areas/<str:code>/", views.area, name="catalogue-area"),
]
