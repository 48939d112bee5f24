from django.urls import include, path

from . import views

urlpatterns: list = [
    path("surveys/", views.survey_list, name="survey-list"),
    path("surveys/new/", views.survey_new, name="survey-new"),
    path("surveys/<int:pk>/", views.survey_questionnaire, name="survey"),
    path("surveys/<int:pk>/xlsform/", views.survey_xlsform, name="survey-xlsform"),
    path("surveys/<int:pk>/questions/<str:name>/", views.question_edit, name="survey-question"),
    path("surveys/<int:pk>/services/", views.survey_service, name="survey-service"),
    path("surveys/<int:pk>/sample/", views.survey_sample, name="survey-sample"),
    path("", include("municipium.surveys.fieldwork_urls")),
    path("", include("municipium.surveys.results_urls")),
]
