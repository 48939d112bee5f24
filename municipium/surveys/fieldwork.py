"""Field work pages: the respondent's questionnaire behind a personal link, interviews and
paper entry by the unit's officers, the import of response exports, the progress board.

Every channel checks answers with `answers.check`. The respondent's pages keep nothing
about the person: no session, no IP address or user agent with the response, the time taken
carried in a signed form field rather than stored, and the answers of earlier pages carried
in hidden fields of the form itself. Only a bad token costs the address a count in the
log-in throttle, so that tokens cannot be guessed at speed.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import transaction
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, ngettext, override
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from municipium.accounts import access as accounts_access
from municipium.accounts.throttle import client_ip, recent_failures, record_failure
from municipium.audit.models import record
from municipium.lib.numbers import format_number
from municipium.lib.texts import pick
from municipium.observations import uploads

from . import answers, imports, links
from .access import can_run
from .models import Contact, Link, Response, Survey, UsedLinks

FIELD_PREFIX = "q-"
START_SALT = "municipium.surveys.start"
# A questionnaire left open longer than this gets no duration rather than a silly one.
MAX_DURATION = 7 * 24 * 3600
SESSION_KEY = "municipium_survey_uploads"
ENTRY_MODES = {Response.Mode.PHONE, Response.Mode.FACE, Response.Mode.PAPER}

# ----------------------------------------------------------------------------------------
# The questionnaire form, shared by the respondent and the interviewer


def _raw(post, questionnaire: answers.Questionnaire) -> dict:
    raw = {}
    for name, question in questionnaire.by_name.items():
        key = FIELD_PREFIX + name
        if question.kind == question.Kind.SELECT_MULTIPLE:
            values = post.getlist(key)
            if values:
                raw[name] = values
        elif key in post:
            raw[name] = post.get(key)
    return raw


def _started(value: str) -> float | None:
    try:
        return float(signing.loads(value, salt=START_SALT, max_age=MAX_DURATION))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def _duration(value: str) -> int | None:
    started = _started(value)
    if started is None:
        return None
    return max(0, int(time.time() - started))


def _items(questionnaire, questions, raw: dict, checked: answers.Checked, errors: dict, language: str) -> list[dict]:
    """What the template draws for one page: group openings and closings, notes and
    questions, only those relevant for the answers so far."""
    relevant = set(checked.relevant)
    items = []
    hidden_depth = 0
    for question in questions:
        kind = question.kind
        if kind in answers.CLOSING:
            if hidden_depth:
                hidden_depth -= 1
            else:
                items.append({"kind": "end"})
            continue
        if hidden_depth:
            if kind in answers.OPENING:
                hidden_depth += 1
            continue
        if kind == question.Kind.BEGIN_REPEAT:
            hidden_depth = 1  # kept for ODK and KoboToolbox, not asked here
            continue
        if kind in (question.Kind.DATE, question.Kind.CALCULATE):
            continue
        if question.name and question.name not in relevant:
            if kind == question.Kind.BEGIN_GROUP:
                hidden_depth = 1
            continue
        label = pick(question.label, language).text or question.name
        item = {
            "kind": {"begin_group": "begin", "note": "note"}.get(kind, "question"),
            "question": question,
            "label": label,
            "hint": pick(question.hint, language).text,
            "field": FIELD_PREFIX + question.name,
            "id": "f-" + question.name,
            "errors": errors.get(question.name, []),
        }
        value = raw.get(question.name)
        if kind in (question.Kind.SELECT_ONE, question.Kind.SELECT_MULTIPLE):
            chosen = (
                set(value if isinstance(value, list) else str(value or "").split())
                if kind == question.Kind.SELECT_MULTIPLE
                else {str(value or "")}
            )
            item["choices"] = [
                {
                    "name": c.name,
                    "label": pick(c.label, language).text or c.name,
                    "checked": c.name in chosen,
                    "missing": c.is_missing,
                }
                for c in questionnaire.choices.get(question.list_name, [])
            ]
            item["multiple"] = kind == question.Kind.SELECT_MULTIPLE
        else:
            item["value"] = "" if value is None else str(value)
            item["input"] = {"integer": "numeric", "decimal": "decimal"}.get(kind, "")
        items.append(item)
    return items


def _carried(questionnaire, raw: dict, shown: set[str]) -> list[tuple[str, str]]:
    """Answers of the other pages, as hidden fields: the form carries them, not a session."""
    pairs = []
    for name, value in raw.items():
        if name in shown:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((FIELD_PREFIX + name, str(item)))
    return pairs


def _page_names(page) -> set[str]:
    return {q.name for q in page if q.name}


def _page_shown(page, checked: answers.Checked) -> bool:
    relevant = set(checked.relevant)
    return any(q.name in relevant for q in page if q.name and q.kind != q.Kind.END_GROUP)


def _language(survey, requested: str | None) -> str:
    offered = survey.languages or [settings.LANGUAGE_CODE]
    return requested if requested in offered else offered[0]


# ----------------------------------------------------------------------------------------
# The respondent


def _not_valid(request, status=404):
    return render(request, "surveys/fieldwork/link_not_valid.html", status=status)


@never_cache
def respond(request, token: str):
    ip = client_ip(request)
    if ip and recent_failures(None, ip) >= settings.LOGIN_FAILURE_LIMIT:
        minutes = max(1, settings.LOGIN_FAILURE_WINDOW // 60)
        return render(request, "surveys/fieldwork/link_throttled.html", {"minutes": minutes}, status=429)
    link = links.find(token)
    if link is None:
        # Counted with failed log-ins (the address only, no token, nothing else), so that
        # guessing tokens is as slow as guessing passwords.
        record_failure(None, ip)
        return _not_valid(request)
    survey = link.survey
    language = get_language()
    questionnaire = answers.Questionnaire.of(survey)
    pages = questionnaire.pages()
    one_page = (request.POST.get("layout") or request.GET.get("layout")) == "all"
    if one_page:
        pages = [questionnaire.questions]
    post = request.POST if request.method == "POST" else None
    raw = _raw(post, questionnaire) if post is not None else {}
    posted_start = post.get("start", "") if post is not None else ""
    start = posted_start if _started(posted_start) is not None else signing.dumps(int(time.time()), salt=START_SALT)
    try:
        index = min(max(int(post.get("page", 0)), 0), len(pages) - 1) if post is not None else 0
    except ValueError:
        index = 0
    action = post.get("action", "update") if post is not None else "show"
    errors: dict = {}
    checked = answers.check(questionnaire, raw, language=language)
    if action == "back":
        index = _step(pages, checked, index, -1)
    elif action == "next":
        page_check = answers.check(questionnaire, raw, language=language, only=_page_names(pages[index]))
        if page_check.ok:
            index = _step(pages, checked, index, +1)
        else:
            errors = page_check.errors_by_question()
    elif action == "submit":
        if checked.ok:
            response = links.use(
                link, answers=checked.answers, language=language, duration_seconds=_duration(posted_start)
            )
            if response is None:
                return _not_valid(request)
            return render(request, "surveys/fieldwork/thanks.html", {"survey": survey})
        errors = checked.errors_by_question()
        index = next((i for i, page in enumerate(pages) if _page_names(page) & set(errors)), index)
    elif action == "show":
        index = 0 if not pages or _page_shown(pages[0], checked) else _step(pages, checked, 0, +1)
    page = pages[index] if pages else []
    shown = _page_names(page)
    last = _step(pages, checked, index, +1) == index
    context = {
        "survey": survey,
        "token": token,
        "items": _items(questionnaire, page, raw, checked, errors, language),
        "carried": _carried(questionnaire, raw, shown),
        "start": start,
        "page": index,
        "last": last,
        "first": _step(pages, checked, index, -1) == index,
        "one_page": one_page,
        "error_count": len(errors),
        "languages": [(code, dict(settings.LANGUAGES).get(code, code)) for code in survey.languages],
        "form_url": request.path,
    }
    template = (
        "surveys/fieldwork/_respondent_form.html"
        if request.headers.get("HX-Request")
        else "surveys/fieldwork/respond.html"
    )
    # 200 even with errors, as the other forms of the site: the page is the answer.
    return render(request, template, context)


def _step(pages, checked, index: int, direction: int) -> int:
    """The next (or previous) page with something relevant on it; `index` when none."""
    position = index + direction
    while 0 <= position < len(pages):
        if _page_shown(pages[position], checked):
            return position
        position += direction
    return index


# ----------------------------------------------------------------------------------------
# Staff pages


def _survey(request, pk: int) -> Survey:
    survey = get_object_or_404(Survey.objects.select_related("unit"), pk=pk)
    accounts_access.require(can_run(request.user, survey.unit))
    return survey


def _strata(survey) -> list[str]:
    return sorted(set(Contact.objects.filter(frame__survey=survey, sampled=True).values_list("stratum", flat=True)))


def _stratum_probability(survey, stratum: str) -> float | None:
    """The stratum's inclusion probability when every sampled contact in it has the same one
    (as in simple random, systematic and stratified draws); otherwise unknown."""
    values = set(
        Contact.objects.filter(frame__survey=survey, sampled=True, stratum=stratum).values_list(
            "inclusion_probability", flat=True
        )
    )
    return values.pop() if len(values) == 1 else None


@login_required
def enter(request, pk: int, mode: str):
    survey = _survey(request, pk)
    if mode not in ENTRY_MODES:
        raise Http404()
    language = get_language()
    questionnaire = answers.Questionnaire.of(survey)
    strata = _strata(survey)
    post = request.POST if request.method == "POST" else None
    raw = _raw(post, questionnaire) if post is not None else {}
    stratum = (post.get("stratum", "") if post is not None else "")[:64]
    respondent_language = _language(survey, post.get("respondent_language") if post is not None else language)
    posted_start = post.get("start", "") if post is not None else ""
    start = posted_start if _started(posted_start) is not None else signing.dumps(int(time.time()), salt=START_SALT)
    checked = answers.check(questionnaire, raw, language=language)
    errors: dict = {}
    if post is not None and post.get("action") == "save":
        if stratum and stratum not in strata:
            errors["_stratum"] = [_("“%(stratum)s” is not a stratum of this survey's sample") % {"stratum": stratum}]
        if not checked.ok:
            errors.update(checked.errors_by_question())
        if not errors:
            with transaction.atomic():
                response = Response.objects.create(
                    survey=survey,
                    mode=mode,
                    language=respondent_language,
                    stratum=stratum,
                    inclusion_probability=_stratum_probability(survey, stratum) if stratum else None,
                    answers=checked.answers,
                    submitted_on=dt.date.today(),
                    duration_seconds=_duration(posted_start) if mode != Response.Mode.PAPER else None,
                    entered_by=request.user,
                )
                # Who keyed in a questionnaire, not what it says: the answers are in the
                # response, and a copy here with a time to the microsecond would tie them to
                # an interviewer's call or visit. Hence the day only (issue 20).
                record(
                    "survey.response_entered",
                    response,
                    actor=request.user,
                    via=mode,
                    after={"mode": mode, "stratum": stratum},
                    day_only=True,
                )
            messages.success(request, _("Questionnaire saved. Here is the next one."))
            return redirect(request.path)
    today = Response.objects.filter(survey=survey, entered_by=request.user, submitted_on=dt.date.today()).count()
    context = {
        "survey": survey,
        "mode": mode,
        "mode_label": Response.Mode(mode).label,
        "items": _items(questionnaire, questionnaire.questions, raw, checked, errors, language),
        "carried": [],
        "start": start,
        "strata": strata,
        "stratum": stratum,
        "stratum_errors": errors.get("_stratum", []),
        "languages": [(code, dict(settings.LANGUAGES).get(code, code)) for code in survey.languages],
        "respondent_language": respondent_language,
        "entered_today": today,
        "error_count": len(errors),
        "one_page": True,
        "form_url": request.path,
    }
    template = (
        "surveys/fieldwork/_entry_form.html" if request.headers.get("HX-Request") else "surveys/fieldwork/enter.html"
    )
    return render(request, template, context)


def progress(survey) -> dict:
    """The board's figures: links, responses by mode, response rate by stratum, days."""
    sampled = dict(
        Contact.objects.filter(frame__survey=survey, sampled=True)
        .values_list("stratum")
        .annotate(n=Count("id"))
        .values_list("stratum", "n")
    )
    answered = dict(
        Response.objects.filter(survey=survey)
        .values_list("stratum")
        .annotate(n=Count("id"))
        .values_list("stratum", "n")
    )
    strata = []
    for stratum in sorted(set(sampled) | set(answered)):
        n, r = sampled.get(stratum, 0), answered.get(stratum, 0)
        strata.append({"stratum": stratum, "sampled": n, "responses": r, "rate": 100 * r / n if n else None})
    total_sampled, total = sum(sampled.values()), sum(answered.values())
    by_mode = dict(
        Response.objects.filter(survey=survey).values_list("mode").annotate(n=Count("id")).values_list("mode", "n")
    )
    # Used links are deleted; their strata's counts are all that is left of them.
    used = UsedLinks.objects.filter(survey=survey).aggregate(n=Sum("count"))["n"] or 0
    return {
        "links_issued": Link.objects.filter(survey=survey).count() + used,
        "links_used": used,
        "sampled": total_sampled,
        "responses": total,
        "rate": 100 * total / total_sampled if total_sampled else None,
        "modes": [
            {"mode": mode, "label": label, "responses": by_mode.get(mode, 0)} for mode, label in Response.Mode.choices
        ],
        "strata": strata,
        "days": list(
            Response.objects.filter(survey=survey)
            .values("submitted_on")
            .annotate(n=Count("id"))
            .order_by("submitted_on")
        ),
    }


@login_required
def board(request, pk: int):
    survey = _survey(request, pk)
    unlinked = Contact.objects.filter(frame__survey=survey, sampled=True, link__isnull=True).count()
    with override(_language(survey, get_language())):
        default_subject = _("Your opinion on communal services")
        default_message = _(
            "Please answer our short questionnaire about communal services. This personal link works once: {link}"
        )
    return render(
        request,
        "surveys/fieldwork/board.html",
        {
            "survey": survey,
            "progress": progress(survey),
            "unlinked": unlinked,
            "languages": [(code, dict(settings.LANGUAGES).get(code, code)) for code in survey.languages],
            "default_subject": default_subject,
            "default_message": default_message,
            "modes": [
                (mode, Response.Mode(mode).label)
                for mode in (Response.Mode.PHONE, Response.Mode.FACE, Response.Mode.PAPER)
            ],
        },
    )


@login_required
@require_POST
def issue_links(request, pk: int):
    survey = _survey(request, pk)
    language = _language(survey, request.POST.get("language"))
    how = request.POST.get("how", "csv")
    reissue = request.POST.get("reissue") == "on"

    def url_for(token: str) -> str:
        with override(language):
            return request.build_absolute_uri(reverse("survey-respond", args=[token]))

    if how == "email":
        subject = (request.POST.get("subject") or "").strip()[:200]
        message = (request.POST.get("message") or "").strip()
        if not subject or "{link}" not in message:
            messages.error(
                request, _("Give the e-mail a subject and put {link} in the message where the personal link goes.")
            )
            return redirect("survey-fieldwork", survey.pk)
        with transaction.atomic():
            issued = links.issue(survey, request.user, reissue=reissue, emails_only=True, note="e-mail")
            sent = links.send(issued, url_for, subject=subject, message=message)
        messages.success(
            request,
            ngettext("%(count)s personal link sent by e-mail.", "%(count)s personal links sent by e-mail.", sent)
            % {"count": format_number(sent, 0)},
        )
        return redirect("survey-fieldwork", survey.pk)
    if how not in ("csv", "xlsx"):
        raise Http404()
    issued = links.issue(survey, request.user, reissue=reissue, note=how)
    if not issued:
        messages.info(
            request, _("Every sampled contact already has a link; tick “new links” to replace the unused ones.")
        )
        return redirect("survey-fieldwork", survey.pk)
    rows = links.mail_merge_rows(issued, url_for)
    body = links.as_csv(rows) if how == "csv" else links.as_xlsx(rows)
    content_type = (
        "text/csv; charset=utf-8"
        if how == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{survey.code}-links.{how}"'
    response["Cache-Control"] = "no-store"
    return response


# ----------------------------------------------------------------------------------------
# Import of response exports


@login_required
def import_responses(request, pk: int):
    survey = _survey(request, pk)
    context = {"survey": survey, "limit_mb": format_number(imports.max_bytes() / 1048576, 0)}
    if request.method == "POST" and request.POST.get("action") == "commit":
        taken = uploads.take(request, SESSION_KEY, request.POST.get("token", ""))
        if taken is None or taken[1].get("survey") != survey.pk:
            messages.error(request, _("That upload is no longer here; upload the file again."))
            return redirect("survey-import", survey.pk)
        data, kept = taken
        result = imports.commit(survey, data, kept["name"], expected_sha256=kept["sha256"], actor=request.user)
        if result.committed:
            messages.success(
                request,
                ngettext(
                    "Imported %(count)s response from %(file)s.",
                    "Imported %(count)s responses from %(file)s.",
                    len(result.responses),
                )
                % {"count": format_number(len(result.responses), 0), "file": kept["name"]},
            )
            return redirect("survey-fieldwork", survey.pk)
        context["result"] = result
        return render(request, "surveys/fieldwork/import.html", context)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["file_error"] = _("Choose a file to check.")
            return render(request, "surveys/fieldwork/import.html", context)
        name = Path(upload.name or "upload.csv").name[:200]
        data = upload.read(imports.max_bytes() + 1)
        result = imports.read(survey, data, name)
        context["result"] = result
        if result.ok:
            context["token"] = uploads.keep(request, SESSION_KEY, data, name, survey=survey.pk)
        return render(request, "surveys/fieldwork/import.html", context)
    return render(request, "surveys/fieldwork/import.html", context)
