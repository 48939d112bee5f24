"""A respondent cannot be traced from the database or the logs (issue 20, README: Privacy):
links are created in random order and deleted when used, leaving a count per stratum;
personal tokens never reach a log, and a respondent's requests leave neither address nor
time of day; an interview or paper entry is audited without its answers and to the day."""

import datetime as dt
import io
import logging

import pytest
from django.urls import reverse
from django.utils.translation import override

from municipium.audit.models import AuditEvent
from municipium.cli import gunicorn_command
from municipium.lib.logs import ScrubTokens, scrub
from municipium.surveys import links
from municipium.surveys.fieldwork import progress
from municipium.surveys.models import Contact, Link, Response, UsedLinks
from municipium.web.accesslog import PrivateAccessLog

from .fieldwork import officer_of, questionnaire, sampled_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    survey = questionnaire()
    sampled_frame(
        survey,
        {"north": [f"n{i:03}@example.org" for i in range(60)], "south": [f"Main St {i}" for i in range(40)]},
        probability={"north": 0.2, "south": 0.05},
    )
    return survey


def test_link_ids_do_not_follow_the_order_of_the_frame(survey):
    issued = links.issue(survey, None)
    positions = [link.contact.position for link in Link.objects.select_related("contact").order_by("pk")]
    assert positions != sorted(positions)
    # Runs of consecutive positions, as a frame-ordered issue would give, are rare.
    ascending = sum(b == a + 1 for a, b in zip(positions, positions[1:], strict=False))
    assert ascending < 20
    # The coordinator's mail-merge file still follows the frame.
    assert [item.contact.position for item in issued] == sorted(item.contact.position for item in issued)


def test_a_link_keeps_no_time_and_a_used_one_leaves_only_its_strata_count(survey):
    assert not {"created", "used_on"} & {field.name for field in Link._meta.get_fields()}
    tokens = {item.contact.address: item.token for item in links.issue(survey, None)}
    contact = Contact.objects.get(address="n007@example.org")
    response = links.use(
        links.find(tokens["n007@example.org"]), answers={"uses_water": "no"}, language="en", duration_seconds=60
    )
    assert response.stratum == "north" and response.submitted_on == dt.date.today()
    assert not Link.objects.filter(token_hash=links.hash_token(tokens["n007@example.org"])).exists()
    assert not Link.objects.filter(contact=contact).exists() and Link.objects.count() == 99
    assert dict(UsedLinks.objects.values_list("stratum", "count")) == {"north": 1, "south": 0}
    figures = progress(survey)
    assert (figures["links_issued"], figures["links_used"]) == (100, 1)
    assert links.issue(survey, None) == []  # nobody gets a second link, the respondent neither


def test_an_interview_is_audited_without_its_answers_and_to_the_day(client, survey):
    client.force_login(officer_of(survey.unit))
    address = reverse("survey-enter", args=[survey.pk, "phone"])
    client.post(
        address,
        {"q-uses_water": "yes", "q-sat_water": "5", "q-age": "67", "action": "save", "stratum": "south"},
    )
    response = Response.objects.get()
    assert response.answers["age"] == 67
    event = AuditEvent.objects.get(action="survey.response_entered")
    assert event.after == {"mode": "phone", "stratum": "south"} and event.object_id == str(response.pk)
    assert (event.at.hour, event.at.minute, event.at.second, event.at.microsecond) == (0, 0, 0, 0)


TOKEN = "Zq3-personal_TOKEN_x9"


@pytest.mark.parametrize(
    "text",
    [
        f"GET /fa/s/{TOKEN}/?layout=all HTTP/1.1",
        f"Not Found: /en/s/{TOKEN}/",
        f"https://stats.example.org/sr/s/{TOKEN}/",
        f"/s/{TOKEN}/",
        f"/en/invitations/accept/{TOKEN}/",
        f"/api/v1/x?token={TOKEN}&page=2",
    ],
)
def test_tokens_are_scrubbed_from_any_log_text(text):
    assert TOKEN not in scrub(text) and "REDACTED" in scrub(text)


def test_other_addresses_stay_readable_in_the_log():
    for text in ("GET /en/units/s/ HTTP/1.1", "/en/indicators/water_nrw/data/?format=csv", "/en/s/"):
        assert scrub(text) == text


def test_djangos_log_of_a_used_or_unknown_link_has_no_token(client):
    stream = io.StringIO()
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, ScrubTokens) for f in h.filters))
    # Swap the stream without setStream(): that flushes the old one, which an earlier test
    # on the same worker may have left closed (pytest's captured stderr), and then fails.
    with handler.lock:
        previous, handler.stream = handler.stream, stream
    try:
        with override("en"):
            url = reverse("survey-respond", args=[TOKEN])
        assert client.get(url).status_code == 404
    finally:
        with handler.lock:
            handler.stream = previous
    assert "Not Found" in stream.getvalue() and TOKEN not in stream.getvalue()


class _Response:
    status = "200 OK"
    sent = 1234
    headers: list = []


class _Request:
    def __init__(self, headers):
        self.headers = headers


def access_line(capsys, path, query=""):
    from gunicorn.config import Config

    command = gunicorn_command("python", "127.0.0.1", 8000, 1)
    config = Config()
    config.set("accesslog", command[command.index("--access-logfile") + 1])
    config.set("logger_class", command[command.index("--logger-class") + 1])
    logger = config.logger_class(config)
    assert isinstance(logger, PrivateAccessLog)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": path + (f"?{query}" if query else ""),
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "198.51.100.7",
        "HTTP_REFERER": f"https://stats.example.org{path}",
        "HTTP_USER_AGENT": "Firefox",
    }
    request = _Request([("X-FORWARDED-FOR", "203.0.113.9"), ("REFERER", environ["HTTP_REFERER"])])
    capsys.readouterr()
    logger.access(_Response(), request, environ, dt.timedelta(seconds=0, microseconds=1500))
    return capsys.readouterr().out


def test_serves_access_log_keeps_no_token_and_no_address_or_time_of_a_respondent(capsys):
    line = access_line(capsys, f"/fa/s/{TOKEN}/", "layout=all")
    assert "POST /fa/s/REDACTED/?layout=all" in line
    assert TOKEN not in line and "198.51.100.7" not in line and "203.0.113.9" not in line
    assert dt.date.today().strftime("[%d/%b/%Y]") in line and ":" not in line.split("]")[0]


def test_serves_access_log_keeps_staff_requests_as_they_were(capsys):
    line = access_line(capsys, "/en/surveys/3/fieldwork/")
    assert "198.51.100.7" in line and "POST /en/surveys/3/fieldwork/" in line
