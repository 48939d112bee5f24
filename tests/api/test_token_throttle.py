"""Failed token attempts from one address are counted in the database with the log-in
form's failures, and past the limit the address gets 429 with Retry-After."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from municipium.accounts.models import LoginAttempt

from .conftest import Api, person, token_for


@pytest.fixture
def limit(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW = 600
    settings.LOGIN_TRUST_FORWARDED_FOR = True
    return settings


def from_address(secret: str, ip: str):
    return Api(secret).get("/units", headers={"X-Forwarded-For": ip})


def test_repeated_bad_tokens_from_one_address_are_refused_with_429_and_retry_after(world, limit):
    for _attempt in range(3):
        assert from_address("mpm_00000000_guess", "203.0.113.9").status_code == 401
    assert LoginAttempt.objects.filter(ip="203.0.113.9").count() == 3  # in the database: every app server sees them
    response = from_address("mpm_00000000_guess", "203.0.113.9")
    assert response.status_code == 429
    assert set(response.json()) == {"detail", "problems"} and "not valid" in response.json()["detail"]
    assert 590 <= int(response["Retry-After"]) <= 600


def test_a_valid_token_from_the_address_under_attack_is_refused_too_but_others_and_the_public_are_not(world, limit):
    good = token_for(person("officer_a", "officer", unit=world.a))
    for _attempt in range(3):
        from_address("mpm_00000000_guess", "203.0.113.9")
    assert from_address(good, "203.0.113.9").status_code == 429
    assert from_address(good, "198.51.100.7").status_code == 200
    assert Client().get("/api/units", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200  # no token


def test_the_limit_lifts_when_the_window_has_passed_and_login_failures_count_alike(world, limit):
    good = token_for(person("officer_a", "officer", unit=world.a))
    LoginAttempt.objects.bulk_create([LoginAttempt(username="ann", ip="203.0.113.9") for _ in range(3)])
    assert from_address(good, "203.0.113.9").status_code == 429
    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(seconds=601))
    assert from_address(good, "203.0.113.9").status_code == 200
