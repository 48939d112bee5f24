"""A small world for the API tests and the people who use it.

Two groups: `east` (units A and B, an exchange group) and `west` (unit C). The variables
`produced` and `billed` give the indicator `nrw` (non-revenue water, %). 2023 is published
everywhere; 2024 is a draft for A, published for B and C.
"""

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client

from municipium.api.models import issue_token
from municipium.benchmarks import engine
from municipium.places.models import Group
from tests import factories as f
from tests.factories import person  # noqa: F401  (the cast, re-exported for the API tests)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    # Throttling counts in the cache; each test starts with a full budget.
    cache.clear()
    settings.API_RATES = {"anon": None, "token": None, "session": None}
    # Tests that try bad tokens on purpose would trip the failed-token limit; the test of
    # that limit lowers it again.
    settings.LOGIN_FAILURE_LIMIT = 1000


class World:
    pass


@pytest.fixture
def world(db):
    w = World()
    w.produced = f.variable("produced", min_value=0)
    w.billed = f.variable("billed", min_value=0, max_value=1e9)
    w.nrw = f.indicator(
        "nrw",
        "100 * (produced - billed) / produced",
        polarity="lower_is_better",
        unit_of_measure={"en": "%", "pl": "%"},
    )
    w.nrw.name = {"en": "Non-revenue water", "pl": "Woda niedochodowa"}
    w.nrw.save()
    w.a, w.b, w.c = f.unit("A"), f.unit("B"), f.unit("C")
    w.east = f.group("east", [w.a, w.b], kind=Group.Kind.EXCHANGE)
    w.west = f.group("west", [w.c], kind=Group.Kind.EXCHANGE)
    rows = []
    for u, (p23, b23, p24, b24) in {w.a: (100, 80, 110, 77), w.b: (200, 150, 210, 168), w.c: (50, 45, 60, 54)}.items():
        rows += [f.row(u, w.produced, 2023, p23), f.row(u, w.billed, 2023, b23)]
        status = "draft" if u is w.a else "published"
        rows += [f.row(u, w.produced, 2024, p24, status=status), f.row(u, w.billed, 2024, b24, status=status)]
    f.write(rows)
    engine.recompute_all()
    return w


def token_for(user, scopes=("read", "write"), **kwargs) -> str:
    return issue_token(user, f"{user.username} token", scopes=scopes, **kwargs)[1]


class Api:
    """A test client speaking to /api/ with an optional bearer token."""

    def __init__(self, token: str | None = None):
        self.client = Client(HTTP_HOST="localhost")
        self.token = token

    def _headers(self, headers):
        out = dict(headers or {})
        if self.token:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def get(self, path, params=None, headers=None):
        """The response; a streamed one (the open-data downloads) read whole, as a client
        receives it, with `streamed` set."""
        response = self.client.get(f"/api{path}", params or {}, headers=self._headers(headers))
        if not response.streaming:
            return response
        whole = HttpResponse(b"".join(response.streaming_content), status=response.status_code)
        for name, value in response.items():
            whole[name] = value
        whole.streamed = True
        return whole

    def post(self, path, body, headers=None, raw=False):
        import json

        data = body if raw else json.dumps(body)
        return self.client.post(f"/api{path}", data, content_type="application/json", headers=self._headers(headers))


class SessionApi(Api):
    """The same, from the browser of a person logged in to the site: their session cookie
    and, for writes, the CSRF token a page of the site gave them (checks enforced)."""

    def __init__(self, user):
        super().__init__()
        self.client = Client(enforce_csrf_checks=True, HTTP_HOST="localhost")
        self.client.force_login(user)
        assert self.client.get("/en/login/").status_code == 200  # sets the CSRF cookie

    def _headers(self, headers):
        return {"X-CSRFToken": self.client.cookies["csrftoken"].value, **(headers or {})}


@pytest.fixture
def public():
    return Api()


def obs_row(unit, variable, period, value=None, **extra):
    row = {"unit": unit, "variable": variable, "period": period}
    if value is not None:
        row["value"] = value
    row.update(extra)
    return row
