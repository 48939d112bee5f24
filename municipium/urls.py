from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    # Until the public pages exist, the start page is the administration site.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
]
