"""Pages of the plans app, mounted at /<language>/plans/."""

from django.urls import path

from . import views

app_name = "plans"
urlpatterns = [
    path("", views.plans, name="plans"),
    path("new/", views.plan_new, name="plan-new"),
    path("upload/", views.upload, name="upload"),
    path("<slug:code>/", views.plan, name="plan"),
    path("<slug:code>/edit/", views.plan_edit, name="plan-edit"),
    path("<slug:code>/action/", views.plan_action, name="plan-action"),
    path("<slug:code>/report/", views.report, name="report"),
    path("<slug:code>/versions/", views.versions, name="versions"),
    path("<slug:code>/plan.<str:fmt>", views.download, name="download"),
    path("<slug:code>/items/new/", views.item_edit, name="item-new"),
    path("<slug:code>/items/<int:pk>/", views.item_edit, name="item-edit"),
    path("<slug:code>/items/<int:item_pk>/targets/new/", views.target_edit, name="target-new"),
    path("<slug:code>/items/<int:item_pk>/targets/<int:pk>/", views.target_edit, name="target-edit"),
]
