from django.urls import path

from . import views

urlpatterns = [
    path("entry/", views.entry_start, name="entry-start"),
    path("entry/<str:unit>/<str:period>/<str:area>/", views.entry, name="entry"),
    path("entry/<str:unit>/<str:period>/<str:area>/validate/", views.entry_validate, name="entry-validate"),
    path("entry/<str:unit>/<str:period>/<str:area>/template.xlsx", views.entry_template, name="entry-template"),
    path("import/", views.import_start, name="import"),
]
