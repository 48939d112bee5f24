"""The permission matrix: every role × every endpoint × own unit, other unit of the same
group, unit of another group — generated from the one table below, for each way of calling
(an API token, or the person's logged-in browser session with its CSRF token): both must
give the same answers.

The caller's own unit is A (or, for the coordinator, their group east = A and B). Each
unit has a draft year (2025), so "read" means "sees unpublished figures"; published ones
everybody reads. Writes are dry runs: they pass every check a real write does.
"""

import pytest

from municipium.benchmarks import engine
from tests import factories as f

from .conftest import Api, SessionApi, obs_row, person, token_for

TARGETS = {"own": "A", "other unit": "B", "other group": "C"}
ENDPOINTS = ("read observations", "read indicator values", "download", "write", "publish")
CALLERS = ("token", "session")

# role: (role kind, scope) and the endpoint × target pairs it is allowed; all others refused.
EVERYONE_INSIDE_EAST = {(e, t) for e in ENDPOINTS[:3] for t in ("own", "other unit")}
MATRIX = {
    "anonymous": (None, None, set()),
    "viewer": ("viewer", "unit", EVERYONE_INSIDE_EAST),
    "officer": ("officer", "unit", EVERYONE_INSIDE_EAST | {("write", "own")}),
    "approver": ("approver", "unit", EVERYONE_INSIDE_EAST),  # approves, does not enter
    # Publishing is the workflow's step (workflow.publish), not a status rows are sent with:
    # only an administrator may send published rows (issue 20, item 8).
    "coordinator": ("coordinator", "group", EVERYONE_INSIDE_EAST | {("write", t) for t in ("own", "other unit")}),
    "admin": ("admin", None, {(e, t) for e in ENDPOINTS for t in TARGETS}),
}


def allowed(api: Api, endpoint: str, unit: str) -> bool:
    draft = {"unit": unit, "period_from": "2025"}
    if endpoint == "read observations":
        return bool(api.get("/observations", draft).json()["items"])
    if endpoint == "read indicator values":
        return bool(api.get("/indicator-values", draft).json()["items"])
    if endpoint == "download":
        return len(api.get("/data/indicators.csv", draft).content.decode("utf-8-sig").splitlines()) > 1
    status = "published" if endpoint == "publish" else "draft"
    response = api.post("/observations?dry_run=true", {"rows": [obs_row(unit, "produced", 2026, 5, status=status)]})
    assert response.status_code in (200, 401, 403), response.content
    return response.status_code == 200


@pytest.mark.parametrize("via", CALLERS)
@pytest.mark.parametrize("role", MATRIX)
def test_permission_matrix(world, role, via):
    f.write(
        [
            f.row(u, v, 2025, 10 + i, status="draft")
            for i, u in enumerate((world.a, world.b, world.c))
            for v in (world.produced, world.billed)
        ]
    )
    engine.recompute_all()
    kind, scope, allowed_pairs = MATRIX[role]
    api = Api()
    if kind:
        user = person(
            role, kind, unit=world.a if scope == "unit" else None, group=world.east if scope == "group" else None
        )
        api = Api(token_for(user)) if via == "token" else SessionApi(user)
    got = {(e, t) for e in ENDPOINTS for t, unit in TARGETS.items() if allowed(api, e, unit)}
    assert got == allowed_pairs, (
        f"{role} by {via}: unexpectedly allowed {got - allowed_pairs}, refused {allowed_pairs - got}"
    )
