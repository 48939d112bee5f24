from django.urls import include, path

urlpatterns: list = [
    path("", include("municipium.surveys.fieldwork_urls")),
    path("", include("municipium.surveys.results_urls")),
]
