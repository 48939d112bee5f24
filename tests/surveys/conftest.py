"""Shared fixtures of the survey tests: a unit, its data officer, and a survey of that unit
built from the model questionnaire (all services, all six languages)."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.surveys import starter
from tests import factories


@pytest.fixture
def survey_unit(db):
    return factories.unit("PL-SURV", {"en": "Survey town", "pl": "Miasto ankietowe"})


@pytest.fixture
def survey_officer(survey_unit):
    """A data officer of `survey_unit`; log in with password "x" or `client.force_login`."""
    user = get_user_model().objects.create_user("survey-officer", password="x")
    Role.objects.create(user=user, kind=Role.Kind.OFFICER, unit=survey_unit)
    return user


@pytest.fixture
def model_survey(survey_unit, survey_officer):
    """The 2026 survey of `survey_unit`, with the whole model questionnaire."""
    return starter.create_survey(survey_unit, 2026, code="satisfaction-2026", actor=survey_officer)
