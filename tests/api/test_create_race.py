"""Version 0 means "this figure must not exist yet" (issue 20, item 7): of many writers that
create the same new figure at once, exactly one succeeds and every other gets 409.

The API checks versions before it writes, but a row that does not exist yet cannot be
locked, so two writers can both pass that check. The write path itself
(`services.write_observations`, its `new_only` keys) refuses to store over a figure another
writer created in the meantime. On SQLite the interleaving is driven step by step; on
PostgreSQL real threads race through the API."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from municipium.api import api as api_module
from municipium.observations import history
from municipium.observations.models import ImportBatch, Observation, Revision
from municipium.observations.services import AlreadyStored, Row, write_observations
from tests import factories as f
from tests.factories import person

from .conftest import Api, obs_row, token_for


@pytest.fixture
def officer_world():
    produced = f.variable("produced", min_value=0)
    unit = f.unit("A")
    f.group("east", [unit], kind="exchange")
    officer = person("officer_a", "officer", unit=unit)
    return {"unit": unit, "produced": produced, "officer": officer}


@pytest.mark.django_db
def test_a_figure_created_by_another_writer_after_the_check_is_a_conflict_not_an_overwrite(officer_world, monkeypatch):
    checked = api_module._check_versions

    def check_then_someone_else_creates(*args, **kwargs):
        checked(*args, **kwargs)  # nothing stored yet: version 0 passes the check
        f.write([f.row(officer_world["unit"], officer_world["produced"], 2030, 7, status="draft")])  # the other writer

    monkeypatch.setattr(api_module, "_check_versions", check_then_someone_else_creates)
    api = Api(token_for(officer_world["officer"]))

    response = api.post("/observations", {"rows": [obs_row("A", "produced", 2030, 8, version=0)]})

    assert response.status_code == 409, response.content
    body = response.json()
    assert "nothing was stored" in body["detail"]
    [problem] = body["problems"]
    assert (problem["row"], problem["column"]) == (1, "version")
    assert "A, produced, 2030" in problem["message"] and "version 0" in problem["message"]
    # The other writer shared this test's one connection, so its row went with the
    # refused request's rollback; what matters is that 8 never overwrote 7.
    assert not Revision.objects.filter(value=8).exists()
    assert not Observation.objects.filter(unit=officer_world["unit"], period__code="2030").exists()


@pytest.mark.django_db
def test_the_write_path_refuses_new_only_keys_that_are_stored_and_writes_nothing(officer_world):
    unit, produced = officer_world["unit"], officer_world["produced"]
    f.write([f.row(unit, produced, 2030, 7, status="draft")])
    period = f.period("2030")
    other = f.period("2031")
    batches = ImportBatch.objects.count()

    with pytest.raises(AlreadyStored) as refused:
        write_observations(
            [Row(unit.pk, produced.pk, other.pk, "", 1.0), Row(unit.pk, produced.pk, period.pk, "", 8.0)],
            batch=ImportBatch(file_name="test"),
            new_only={(unit.pk, produced.pk, other.pk, ""), (unit.pk, produced.pk, period.pk, "")},
        )

    assert refused.value.keys == [(unit.pk, produced.pk, period.pk, "")]
    assert Observation.objects.get(period=period).value == 7
    assert not Observation.objects.filter(period=other).exists()
    assert ImportBatch.objects.count() == batches
    # The same figure sent again is no conflict: nothing would be lost.
    result = write_observations(
        [Row(unit.pk, produced.pk, period.pk, "", 7.0)],
        batch=ImportBatch(file_name="test"),
        new_only={(unit.pk, produced.pk, period.pk, "")},
    )
    assert result.unchanged == 1


WRITERS = 50
ROUNDS = 3


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_of_fifty_simultaneous_creators_of_one_figure_exactly_one_wins(officer_world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for truly concurrent writers; SQLite queues writers behind one lock")
    tokens = [token_for(officer_world["officer"]) for _ in range(WRITERS)]
    for round_ in range(ROUNDS):
        period = 2040 + round_
        barrier = threading.Barrier(WRITERS)
        answers: list = [None] * WRITERS

        def write(i: int) -> None:
            client = Client(HTTP_HOST="localhost")
            body = json.dumps({"rows": [obs_row("A", "produced", period, i + 1, version=0)]})
            try:
                barrier.wait(timeout=60)
                response = client.post(
                    "/api/observations",
                    body,
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {tokens[i]}"},
                )
                answers[i] = (response.status_code, response.json())
            except Exception as error:  # pragma: no cover - shown in the assertion below
                answers[i] = (None, repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        codes = sorted(code for code, _body in answers)
        assert codes == [200] + [409] * (WRITERS - 1), answers
        [winner] = [i for i, (code, _body) in enumerate(answers) if code == 200]
        stored = Observation.objects.get(unit=officer_world["unit"], period__code=str(period))
        assert (stored.value, stored.version) == (winner + 1, 1), f"round {round_}"
        assert [(r.version, r.value) for r in history.versions(stored)] == [(1, winner + 1)]
        assert not Revision.objects.filter(observation=stored).exists()  # the row is its first version
        for code, body in answers:
            if code == 409:
                assert "nothing was stored" in body["detail"]
                assert body["problems"][0]["column"] == "version"
