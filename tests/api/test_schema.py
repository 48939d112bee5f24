"""Schemathesis against our OpenAPI document, in process: every operation is called with
generated requests and each response must match what the document promises (status codes,
the error schema, content types, response bodies)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from municipium.wsgi import application

from .conftest import Api

EXAMPLES = 15
# Parameters whose values the schema cannot enumerate: codes of things in the database and
# period codes (a well-formed string may still be an unknown code or a year out of range).
DATABASE_VALUES = {"unit", "group", "indicator", "variable", "service_area", "period_from", "period_to"}


def rejected_only_for_unknown_values(ctx, response, case):
    """Schemathesis' own check expects every schema-valid request to succeed; ours refuses
    unknown codes with 422 naming them. Allow exactly that and nothing else."""
    if case.operation.method.upper() == "GET" and response.status_code == 422:
        columns = {problem["column"] for problem in response.json()["problems"]}
        assert columns <= DATABASE_VALUES, f"schema-valid request refused for {columns - DATABASE_VALUES}"


@pytest.fixture
def in_process(world):
    # Django's WSGI handler closes the database connection around each request; inside a
    # test's transaction that would lose the data (Django's own test client does the same).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def test_the_openapi_document_is_3_1_and_declares_the_error_schema_on_every_route(db):
    document = Api().get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "403", "404", "409", "422", "429"):
                content = operation["responses"][status]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_the_docs_are_served_from_our_own_origin(db):
    page = Api().get("/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower()


def test_every_operation_keeps_the_promises_of_the_schema(in_process):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    failures, labels = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(
                excluded_checks=[positive_data_acceptance], additional_checks=[rejected_only_for_unknown_values]
            )

        try:
            check()
        except Exception as error:  # collect all operations' failures, then report them together
            failures.append(f"{operation.label}: {error}")
    assert "POST /api/observations" in labels and len(labels) >= 14, labels
    assert not failures, "\n\n".join(failures)
