"""Field work: personal links, the respondent's questionnaire, interviews, paper entry, imports."""

from django.urls import path

from . import fieldwork

urlpatterns: list = [
    path("s/<str:token>/", fieldwork.respond, name="survey-respond"),
    path("surveys/<int:pk>/fieldwork/", fieldwork.board, name="survey-fieldwork"),
    path("surveys/<int:pk>/fieldwork/links/", fieldwork.issue_links, name="survey-links"),
    path("surveys/<int:pk>/fieldwork/enter/<str:mode>/", fieldwork.enter, name="survey-enter"),
    path("surveys/<int:pk>/fieldwork/import/", fieldwork.import_responses, name="survey-import"),
]
