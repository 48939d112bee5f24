"""API tokens: only a hash is stored; revoked, expired, forged and malformed ones are refused."""

import datetime as dt

from django.utils import timezone

from municipium.api.models import ApiToken, hash_secret, issue_token
from tests.factories import person

from .conftest import Api, token_for


def test_only_a_hash_of_the_token_is_stored_and_its_prefix_is_visible(db):
    token, secret = issue_token(person("ann"), "sync", scopes=["read"])
    assert secret.startswith(token.prefix + "_")
    assert token.hashed == hash_secret(secret) and secret not in (token.hashed, token.prefix)
    assert str(token) == f"{token.prefix} sync"


def test_a_valid_token_is_used_and_its_last_use_recorded(world):
    secret = token_for(person("officer_a", "officer", unit=world.a))
    assert Api(secret).get("/observations").status_code == 200
    assert ApiToken.objects.get().last_used is not None


def refused(response, words):
    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body) == {"detail", "problems"} and words in body["detail"]


def test_revoked_expired_forged_and_malformed_tokens_are_refused(world):
    user = person("officer_a", "officer", unit=world.a)
    revoked, secret_revoked = issue_token(user, "old", scopes=["read"])
    revoked.revoked = timezone.now()
    revoked.save()
    refused(Api(secret_revoked).get("/units"), "revoked")
    expired_secret = issue_token(user, "short", scopes=["read"], expires=timezone.now() - dt.timedelta(seconds=1))[1]
    refused(Api(expired_secret).get("/units"), "expired")
    good = token_for(user)
    refused(Api(good[:-3] + "xyz").get("/units"), "not valid")  # right prefix, wrong secret
    refused(Api("mpm_00000000_" + "a" * 43).get("/units"), "not valid")
    refused(Api("something-else").get("/units"), "not a Municipium API token")
    refused(Api().get("/units", headers={"Authorization": f"Basic {good}"}), "Bearer")
    user.is_active = False
    user.save()
    refused(Api(good).get("/units"), "inactive")


def test_a_token_without_the_read_scope_cannot_read(world):
    secret = token_for(person("writer", "officer", unit=world.a), scopes=("write",))
    response = Api(secret).get("/observations")
    assert response.status_code == 403 and "read" in response.json()["detail"]


def test_callers_over_their_rate_are_told_to_wait(world, settings):
    settings.API_RATES = {"anon": "3/min", "token": "5/min"}
    public = Api()
    assert [public.get("/units").status_code for _ in range(4)] == [200, 200, 200, 429]
    response = public.get("/units")
    assert response.json()["detail"] and "Retry-After" in response.headers
    # A token has a budget of its own.
    api = Api(token_for(person("ann", "viewer", unit=world.a)))
    assert [api.get("/units").status_code for _ in range(6)] == [200] * 5 + [429]
