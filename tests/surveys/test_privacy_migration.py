"""The migration that forgets used links (surveys 0003/0004) on data written before it:
used links become counts per stratum, waiting links get new ids in random order, and the
answers leave the audit trail (issue 20, README: Privacy)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("surveys", "0002_contact_link_issued")]
AFTER = [("surveys", "0004_link_without_dates")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "surveys"]
    return executor.loader.project_state([*others, *targets]).apps


@pytest.mark.django_db(transaction=True)
def test_used_links_become_counts_and_the_answers_leave_the_audit_trail():
    apps = migrate(BEFORE)
    try:
        Unit = apps.get_model("places", "Unit")
        Survey = apps.get_model("surveys", "Survey")
        Frame = apps.get_model("surveys", "Frame")
        Contact = apps.get_model("surveys", "Contact")
        Link = apps.get_model("surveys", "Link")
        AuditEvent = apps.get_model("audit", "AuditEvent")
        unit = Unit.objects.create(code="U-MIG", name={"en": "U"}, kind="municipality")
        survey = Survey.objects.create(unit=unit, year=2025, code="s")
        frame = Frame.objects.create(survey=survey, filename="f.csv", sha256="0" * 64)
        for i in range(30):
            contact = Contact.objects.create(
                frame=frame, position=i + 1, stratum="a" if i < 20 else "b", sampled=True, link_issued=True
            )
            Link.objects.create(
                survey=survey,
                contact=None if i % 3 == 0 else contact,
                token_hash=f"{i:064}",
                stratum=contact.stratum,
                used_on=dt.date(2025, 5, 3) if i % 3 == 0 else None,
            )
        AuditEvent.objects.create(
            action="survey.response_entered",
            model="surveys.response",
            object_id="1",
            after={"mode": "phone", "stratum": "a", "answers": {"age": 67}},
            via="phone",
        )
        apps = migrate(AFTER)
        Link = apps.get_model("surveys", "Link")
        UsedLinks = apps.get_model("surveys", "UsedLinks")
        AuditEvent = apps.get_model("audit", "AuditEvent")
        assert dict(UsedLinks.objects.values_list("stratum", "count")) == {"a": 7, "b": 3}
        waiting = list(Link.objects.order_by("pk").values_list("contact__position", flat=True))
        assert len(waiting) == 20 and waiting != sorted(waiting)
        event = AuditEvent.objects.get(action="survey.response_entered")
        assert event.after == {"mode": "phone", "stratum": "a"}
        assert (event.at.hour, event.at.minute, event.at.second, event.at.microsecond) == (0, 0, 0, 0)
    finally:
        migrate(AFTER)
