"""Pages of the siting app, mounted under the language prefix by the project's urls."""

from django.urls import path

from . import views

app_name = "siting"
urlpatterns = [
    path("", views.projects, name="projects"),
    path("new/", views.project_edit, name="project-new"),
    path("<slug:code>/", views.project, name="project"),
    path("<slug:code>/edit/", views.project_edit, name="project-edit"),
    path("<slug:code>/ahp/", views.ahp_page, name="ahp"),
    path("<slug:code>/criteria/new/", views.criterion_edit, name="criterion-new"),
    path("<slug:code>/criteria/<int:pk>/", views.criterion_edit, name="criterion-edit"),
    path("<slug:code>/runs/<int:number>/", views.run_page, name="run"),
    path("<slug:code>/runs/<int:number>/<str:kind>", views.run_file, name="run-file"),
]
