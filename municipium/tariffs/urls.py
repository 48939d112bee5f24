"""Pages of the tariffs app, mounted under the language prefix by the project's urls."""

from django.urls import path

from . import views

app_name = "tariffs"
urlpatterns = [
    path("", views.studies, name="studies"),
    path("new/", views.study_edit, name="study-new"),
    path("<slug:code>/", views.study, name="study"),
    path("<slug:code>/edit/", views.study_edit, name="study-edit"),
    path("<slug:code>/package/", views.package, name="package"),
    path("<slug:code>/fill/", views.fill, name="fill"),
    path("<slug:code>/hand-off/", views.hand_off, name="hand-off"),
    path("<slug:code>/classes/new/", views.class_edit, name="class-new"),
    path("<slug:code>/classes/<int:pk>/", views.class_edit, name="class-edit"),
    path("<slug:code>/scenarios/new/", views.scenario_edit, name="scenario-new"),
    path("<slug:code>/scenarios/<int:pk>/", views.scenario, name="scenario"),
    path("<slug:code>/scenarios/<int:pk>/edit/", views.scenario_edit, name="scenario-edit"),
    path("<slug:code>/scenarios/<int:pk>/adopt/", views.adopt, name="adopt"),
]
