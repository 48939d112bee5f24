from django.urls import path

from . import views

urlpatterns = [
    path("entry/", views.entry_start, name="entry-start"),
    path("import/", views.import_start, name="import"),
]
