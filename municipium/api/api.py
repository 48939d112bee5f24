"""The open REST API: catalogue, units, groups, observations, indicator values and group
statistics to read; observations to write in bulk; open-data downloads.

Figures come from what is stored (observations, and what the engine derived from them);
nothing is recomputed here (DESIGN principle 5). Who sees what follows
municipium.accounts.access: the public reads published figures only; a caller with a role
reads the unpublished figures of the groups they are inside. Writes go through the
importer's checks and the one write path (municipium.observations.imports.commit), so an
API write is validated, reported and stored exactly like a file import.

Lists are paged by key (`?after=<id>&limit=`): rows are ordered by id and new rows get
larger ids, so walking the pages while others write neither repeats nor skips a row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator
from importlib import import_module
from typing import Literal

import polars as pl
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field

from municipium.benchmarks import read
from municipium.catalog.models import Category, Indicator, ServiceArea, Variable
from municipium.lib import frames
from municipium.lib.numbers import format_number
from municipium.lib.texts import pick
from municipium.observations import imports
from municipium.observations.models import Observation, Period, PeriodCodeError, Status, Via, parse_period
from municipium.observations.services import AlreadyStored, changes, locked_changes, stored_observations
from municipium.places.models import Group, Membership, Unit, member_in_own_period

from . import opendata
from .auth import ApiError, Caller, CallerThrottle, SessionCaller, TokenAuth, anonymous
from .schemas import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    GroupOut,
    GroupPage,
    GroupStatisticPage,
    IndicatorOut,
    IndicatorValuePage,
    ObservationPage,
    ObservationsIn,
    ServiceAreaOut,
    SimilarOut,
    UnitOut,
    UnitPage,
    VariableOut,
    WriteOut,
    responses,
)


class MunicipiumAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """Reading needs no token (the public reads published figures): say so in the
        schema with the empty security requirement beside the bearer one."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for item in schema.get("paths", {}).values():
            operation = item.get("get")
            if operation and operation.get("security") and {} not in operation["security"]:
                operation["security"] = [*operation["security"], {}]
        return schema


api = MunicipiumAPI(
    title="Municipium",
    version="1",
    description=(
        "Open data on municipal public services: the catalogue of variables and indicators, units and "
        "groups, observations, indicator values and group statistics. Without a token you read published "
        "figures; with a token (Authorization: Bearer ...), or logged in to the site in the same browser, you "
        "read what your roles let you see and write observations of your units (a browser session sends its "
        "CSRF token in X-CSRFToken for writes). Every error has the same shape: {detail, problems[]}.\n\n"
        "Writes never overwrite silently. Send each row with the `version` of the observation as you read it "
        "(0 for one you saw none of): when the stored version differs, and the stored figure is not already "
        "what you send, the whole request is refused with 409 and each conflicting row is listed with the "
        "stored value and version beside yours. A row without `version` is written only when the observation "
        "does not exist yet or is a draft. Submitted, approved and published figures are locked for data "
        "officers (403, per row), as on the entry page: an approver reopens them first. Rows come in as draft "
        "or submitted, as on the import page: approving and publishing (with its embargo) are steps of the "
        "workflow, not a status to send (403; administrators excepted).\n\n"
        "Repeated requests with a token that is not valid from one address are refused with 429 (and "
        "Retry-After) for a while; every token from that address is refused meanwhile."
    ),
    urls_namespace="api",
    auth=[TokenAuth(), SessionCaller(), anonymous],
    throttle=[CallerThrottle()],
)


# ----------------------------------------------------------------------------------------
# Errors: one shape for all of them


def _error(request, status: int, detail: str, problems=None) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "problems": problems or []}, status=status)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    response = _error(request, exc.status, exc.detail, exc.problems)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    """Ninja's own 422 (wrong types, missing fields) in our shape, each problem located by
    its parameter or by the row and field of the request body."""
    problems = []
    for error in exc.errors:
        location = [
            part for part in error.get("loc", ()) if part not in ("body", "query", "path", "payload", "filters")
        ]
        row = None
        if len(location) >= 2 and location[0] == "rows" and isinstance(location[1], int):
            row, location = location[1] + 1, location[2:]
        column = ".".join(str(part) for part in location if not isinstance(part, int)) or None
        problems.append({"row": row, "column": column, "message": error.get("msg", ""), "expected": _expected(error)})
    message = ngettext(
        "the request is not valid: %(count)s problem", "the request is not valid: %(count)s problems", len(problems)
    ) % {"count": format_number(len(problems), 0)}
    return _error(request, 422, message, problems)


def _expected(error: dict) -> str:
    context = error.get("ctx") or {}
    if "expected" in context:
        return str(context["expected"])
    if "le" in context or "ge" in context:
        return _("a number from %(ge)s to %(le)s") % {"ge": context.get("ge", "…"), "le": context.get("le", "…")}
    return ""


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc, Throttled):
        detail = _("too many requests; wait a little and try again")
    elif exc.status_code == 401:
        detail = _("this needs an API token: send 'Authorization: Bearer <token>'")
    elif exc.status_code == 400:
        detail = _("the request body cannot be read: it must be JSON")
    else:
        detail = str(exc)
    return _error(request, exc.status_code, detail)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, _("not found"))


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return _error(request, 413, _("the request is too large; send the rows in several requests"))


# ----------------------------------------------------------------------------------------
# Filters shared by the lists


class Paging(Schema):
    after: int = Field(0, ge=0, le=2**62, description="Return rows after this id (the `next` link carries it)")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class DataFilters(Schema):
    unit: list[str] | None = Field(None, description="Unit codes (repeat the parameter for several)")
    group: str | None = Field(None, description="Only the members of this group")
    period_from: str | None = Field(None, description="First period, e.g. 2020, 2020Q1 or 2020-01")
    period_to: str | None = Field(None, description="Last period")
    changed_since: dt.datetime | None = Field(None, description="Only rows changed after this moment (ISO 8601)")


def _caller(request) -> Caller:
    caller = request.auth
    caller.require_read()
    return caller


def _unknown(column: str, message: str) -> ApiError:
    return ApiError(422, message, [{"row": None, "column": column, "message": message, "expected": ""}])


def _codes(model, codes, column: str, label: str) -> list[int]:
    """Ids of the given codes; an unknown code is a 422 naming it."""
    codes = [c for c in (codes or []) if c]
    found = dict(model.objects.filter(code__in=codes).values_list("code", "pk"))
    missing = [c for c in codes if c not in found]
    if missing:
        raise _unknown(column, _("unknown %(what)s: %(codes)s") % {"what": label, "codes": ", ".join(missing)})
    return list(found.values())


def _period_bounds(filters: DataFilters) -> tuple[dt.date | None, dt.date | None]:
    bounds = []
    for column, code in (("period_from", filters.period_from), ("period_to", filters.period_to)):
        if not code:
            bounds.append(None)
            continue
        try:
            _code, _kind, _ordinal, start, end = parse_period(code)
        except PeriodCodeError as error:
            raise _unknown(column, str(error)) from error
        bounds.append(start if column == "period_from" else end)
    return bounds[0], bounds[1]


def _filter(queryset: QuerySet, filters: DataFilters, *, changed_field: str) -> QuerySet:
    if filters.unit:
        queryset = queryset.filter(unit_id__in=_codes(Unit, filters.unit, "unit", _("unit")))
    if filters.group:
        group = _codes(Group, [filters.group], "group", _("group"))
        # A member in the row's own period: a unit that joined in 2023 is no member for 2022.
        queryset = queryset.filter(member_in_own_period(group))
    start, end = _period_bounds(filters)
    if start:
        queryset = queryset.filter(period__start__gte=start)
    if end:
        queryset = queryset.filter(period__end__lte=end)
    if filters.changed_since:
        queryset = queryset.filter(**{f"{changed_field}__gt": _utc(filters.changed_since)})
    return queryset


def _utc(moment: dt.datetime) -> dt.datetime:
    """The moment in UTC (naive ones are taken as UTC). PostgreSQL refuses offsets beyond
    ±15:59, so the database is only ever given UTC."""
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # the first hours of year 1 east of Greenwich: before everything
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _page(request, queryset: QuerySet, paging: Paging, serialize: Callable[[dict], dict]) -> dict:
    """One page of `queryset` (values rows with an "id") after `paging.after`."""
    rows = list(queryset.filter(id__gt=paging.after).order_by("id")[: paging.limit + 1])
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    next_url = _next_url(request, paging, rows[-1]["id"]) if more else None
    return {"items": [serialize(row) for row in rows], "next": next_url, "limit": paging.limit}


def _next_url(request, paging: Paging, last: int) -> str:
    """The link to the page after the row with id `last`, with the same filters."""
    query = request.GET.copy()
    query["after"] = str(last)
    query["limit"] = str(paging.limit)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


# ----------------------------------------------------------------------------------------
# Catalogue, units and groups: public


@api.get("/service-areas", response=responses(list[ServiceAreaOut]), tags=["catalogue"])
def service_areas(request):
    """Service areas (water, waste, housing, ...)."""
    _caller(request)
    return list(ServiceArea.objects.values("code", "name", "order"))


def _variable(v: Variable) -> dict:
    breakdown = None
    if v.breakdown_id:
        breakdown = {
            "code": v.breakdown.code,
            "name": v.breakdown.name,
            "categories": [{"code": c.code, "name": c.name} for c in v.breakdown.categories.all()],
        }
    return {
        "code": v.code,
        "service_area": v.service_area.code,
        "name": v.name,
        "description": v.description,
        "unit_of_measure": v.unit_of_measure,
        "period_kind": v.period_kind,
        "breakdown": breakdown,
        "min_value": v.min_value,
        "max_value": v.max_value,
        "source": v.source,
    }


def _indicator(i: Indicator) -> dict:
    return {
        "code": i.code,
        "service_area": i.service_area.code,
        "name": i.name,
        "definition": i.definition,
        "formula": i.formula,
        "unit_of_measure": i.unit_of_measure,
        "dimension": i.dimension,
        "polarity": i.polarity,
        "period_kind": i.period_kind,
        "decimals": i.decimals,
        "target": i.target,
        "thresholds": i.thresholds or {},
    }


@api.get("/variables", response=responses(list[VariableOut]), tags=["catalogue"])
def variables(request, service_area: str | None = None):
    """Variables: the raw figures units report, with unit of measure and breakdown."""
    _caller(request)
    rows = Variable.objects.select_related("service_area", "breakdown").prefetch_related("breakdown__categories")
    if service_area:
        rows = rows.filter(service_area_id__in=_codes(ServiceArea, [service_area], "service_area", _("service area")))
    return [_variable(v) for v in rows]


@api.get("/variables/{code}", response=responses(VariableOut), tags=["catalogue"])
def variable(request, code: str):
    _caller(request)
    found = Variable.objects.select_related("service_area", "breakdown").filter(code=code).first()
    if found is None:
        raise Http404
    return _variable(found)


@api.get("/indicators", response=responses(list[IndicatorOut]), tags=["catalogue"])
def indicators(request, service_area: str | None = None):
    """Indicators: formulas over variables, with texts per language and unit of measure."""
    _caller(request)
    rows = Indicator.objects.select_related("service_area")
    if service_area:
        rows = rows.filter(service_area_id__in=_codes(ServiceArea, [service_area], "service_area", _("service area")))
    return [_indicator(i) for i in rows]


@api.get("/indicators/{code}", response=responses(IndicatorOut), tags=["catalogue"])
def indicator(request, code: str):
    _caller(request)
    found = Indicator.objects.select_related("service_area").filter(code=code).first()
    if found is None:
        raise Http404
    return _indicator(found)


UNIT_FIELDS = ("id", "code", "name", "kind", "parent__code", "valid_from", "valid_to")


def _unit(row: dict) -> dict:
    return {**row, "parent": row.pop("parent__code")}


@api.get("/units", response=responses(UnitPage), tags=["units and groups"])
def units(request, paging: Query[Paging], kind: str | None = None, group: str | None = None):
    """Units: municipalities, regions, utilities."""
    _caller(request)
    rows = Unit.objects.values(*UNIT_FIELDS)
    if kind:
        rows = rows.filter(kind=kind)
    if group:
        ids = _codes(Group, [group], "group", _("group"))
        rows = rows.filter(pk__in=Membership.objects.filter(group_id__in=ids).values("unit_id"))
    return _page(request, rows, paging, _unit)


@api.get("/units/{code}", response=responses(UnitOut), tags=["units and groups"])
def unit(request, code: str):
    _caller(request)
    rows = list(Unit.objects.filter(code=code).values(*UNIT_FIELDS))
    if not rows:
        raise Http404
    return _unit(rows[0])


@api.get("/units/{code}/similar", response=responses(SimilarOut), tags=["units and groups"])
def similar_units(request, code: str, indicator: str | None = None, period: str | None = None):
    """The units most like this one by size and kind (Kolada's "similar municipalities"):
    the same kind, the same country, closest in latest published population; with
    `indicator` and `period`, their median and the national figure beside it (published
    figures only). The same rule as the profile and indicator pages (benchmarks.read)."""
    _caller(request)
    unit = Unit.objects.filter(code=code).defer("boundary").first()
    if unit is None:
        raise Http404
    similar = read.similar_units(unit)
    out: dict = {
        "unit": unit.code,
        "country": similar.country.code if similar else None,
        "population": similar.population if similar else None,
        "population_period": similar.period if similar else None,
        "rule": similar.how()
        if similar
        else _("No similar units: the unit has no country or no published population."),
        "units": [{"code": u.code, "name": u.name, "population": p} for u, p in similar.units] if similar else [],
    }
    if indicator or period:
        if not (indicator and period):
            raise _unknown(
                "period" if indicator else "indicator", _("Give both an indicator and a period, or neither.")
            )
        chosen = Indicator.objects.get(pk=_codes(Indicator, [indicator], "indicator", _("indicator"))[0])
        try:
            code = parse_period(period)[0]
        except PeriodCodeError as error:
            raise _unknown("period", str(error)) from None
        found = Period.objects.filter(code=code).first()
        if found is None:
            raise _unknown("period", _("unknown %(what)s: %(codes)s") % {"what": _("period"), "codes": period})
        country, national = read.national([chosen.pk], found, unit)
        medians = read.medians([chosen.pk], found, [u.pk for u, _p in similar.units]) if similar else {}
        mine, theirs = medians.get(chosen.pk), national.get(chosen.pk)
        out |= {
            "indicator": chosen.code,
            "period": found.code,
            "similar_median": mine.value if mine else None,
            "similar_n": mine.n if mine else None,
            "national": theirs.value if theirs else None,
            "national_n": theirs.n if theirs else None,
        }
    return out


def _groups_page(request, rows, paging: Paging) -> dict:
    page = _page(request, rows.values("id", "code", "name", "description", "kind"), paging, dict)
    members: dict[int, list] = {}
    for m in (
        Membership.objects.filter(group_id__in=[g["id"] for g in page["items"]])
        .values("group_id", "unit__code", "valid_from", "valid_to")
        .order_by("unit__code")
    ):
        members.setdefault(m["group_id"], []).append(
            {"unit": m["unit__code"], "valid_from": m["valid_from"], "valid_to": m["valid_to"]}
        )
    for item in page["items"]:
        item["memberships"] = members.get(item["id"], [])
    return page


@api.get("/groups", response=responses(GroupPage), tags=["units and groups"])
def groups(request, paging: Query[Paging], kind: str | None = None):
    """Groups with their memberships (and the dates each member belongs)."""
    _caller(request)
    rows = Group.objects.all()
    if kind:
        rows = rows.filter(kind=kind)
    return _groups_page(request, rows, paging)


@api.get("/groups/{code}", response=responses(GroupOut), tags=["units and groups"])
def group(request, code: str):
    _caller(request)
    rows = Group.objects.filter(code=code)
    if not rows.exists():
        raise Http404
    return _groups_page(request, rows, Paging(after=0, limit=1))["items"][0]


# ----------------------------------------------------------------------------------------
# Observations


class ObservationFilters(DataFilters):
    variable: list[str] | None = Field(None, description="Variable codes")
    status: list[Literal["draft", "submitted", "approved", "published"]] | None = None


def visible_observations(caller: Caller) -> QuerySet:
    """Observations the caller may read: published ones, and every status of the units
    whose unpublished data they see."""
    rows = Observation.objects.all()
    if caller.admin:
        return rows
    return rows.filter(Q(status=Status.PUBLISHED) | Q(unit_id__in=caller.insider_units))


@api.get("/observations", response=responses(ObservationPage), tags=["observations"])
def observations(request, filters: Query[ObservationFilters], paging: Query[Paging]):
    """Observations (raw figures) with their status; `changed_since` for incremental sync."""
    caller = _caller(request)
    rows = _filter(visible_observations(caller), filters, changed_field="updated_at")
    if filters.variable:
        rows = rows.filter(variable_id__in=_codes(Variable, filters.variable, "variable", _("variable")))
    if filters.status:
        rows = rows.filter(status__in=filters.status)
    rows = rows.values(
        "id",
        "unit__code",
        "variable__code",
        "period__code",
        "breakdown",
        "value",
        "missing",
        "status",
        "source",
        "comment",
        "version",
        "updated_at",
    )
    return _page(
        request,
        rows,
        paging,
        lambda r: {**r, "unit": r["unit__code"], "variable": r["variable__code"], "period": r["period__code"]},
    )


@api.post("/observations", response=responses(WriteOut), tags=["observations"], auth=[TokenAuth(), SessionCaller()])
def write_observations(request, payload: ObservationsIn, dry_run: bool = False):
    """Store observations in bulk, all or nothing, with the checks and the problem report
    of a file import. Needs a token with the write scope (or a logged-in browser session
    with its CSRF token); every unit must be one the caller may enter (and, when the token
    names units, one of those).

    No write is lost to another: a row carrying the `version` the client read is refused
    with 409 when the stored observation has changed since (unless it already holds exactly
    what the row sends); a row without `version` is written only over nothing or a draft.
    Submitted, approved and published figures are locked for data officers (403), as on the
    entry page: an approver reopens them first. Rows come in as draft or submitted, by the
    import page's rule (`imports.status_problems`): approving and publishing are the
    workflow's steps."""
    caller: Caller = request.auth
    caller.require_write()
    table = _table(payload, name=caller.label)
    _check_units(caller, table)
    options = imports.ImportOptions()
    # The versions and statuses checked must still hold when the rows are written: the
    # stored rows stay locked from the check to the commit.
    with transaction.atomic():
        resolved, report = imports.check(table, options)
        if report.problem_count:
            raise _refused(report)
        _check_statuses(caller, resolved)
        _check_versions(caller, payload, table, resolved)
        if dry_run:
            return {"dry_run": True, "rows": report.rows, "created": 0, "updated": 0, "unchanged": 0, "batch": None}
        keys = _keys(table)
        # Version 0 means "must not exist yet": the write path holds it against a writer that
        # creates the same figure after the check above, where no row could be locked.
        new_only = [key for key, row in zip(keys, payload.rows, strict=True) if row.version == 0]
        try:
            report = imports.commit(table, options=options, actor=caller.user, via=Via.API, new_only=new_only)
        except AlreadyStored as taken:
            raise _created_meanwhile(keys, taken.keys) from None
        if not report.committed:  # the catalogue changed between the check and the write
            raise _refused(report)
    return {
        "dry_run": False,
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "batch": report.batch.pk,
    }


def _keys(table: imports.Table) -> list[tuple]:
    """(unit_id, variable_id, period_code, breakdown) of each row, in the request's order,
    as the importer resolved them (the rows have passed its checks)."""
    frame = table.frame
    units = dict(Unit.objects.filter(code__in=frame.get_column("unit").unique().to_list()).values_list("code", "pk"))
    variables = dict(
        Variable.objects.filter(code__in=frame.get_column("variable").unique().to_list()).values_list("code", "pk")
    )
    return [
        (units[u], variables[v], parse_period(p)[0], b or "")
        for u, v, p, b in frame.select("unit", "variable", "period", "breakdown").iter_rows()
    ]


def _check_versions(caller: Caller, payload: ObservationsIn, table: imports.Table, resolved: pl.DataFrame) -> None:
    """Refuse the request when a row would change a locked figure (403) or one changed
    since the client read it (409), listing every such row."""
    keys = _keys(table)
    wanted = {tuple(row[:4]): row for row in resolved.iter_rows()}
    rows = [wanted[key] for key in keys]
    stored = stored_observations(keys, lock=True)
    locked = locked_changes(rows, caller.user, stored, keep_blank=True)
    if locked:
        problems = [
            {
                "row": position + 1,
                "column": None,
                "expected": _("leave this row out, or ask an approver to reopen the figure"),
                "message": _(
                    "%(unit)s, %(variable)s, %(period)s is %(status)s and can no longer be changed by a data officer"
                )
                % {
                    "unit": o.unit.code,
                    "variable": o.variable.code,
                    "period": o.period.code,
                    "status": str(Status(o.status).label).lower(),
                },
            }
            for position, o in locked
        ]
        raise ApiError(
            403,
            ngettext(
                "%(count)s row would change locked figures; nothing was stored",
                "%(count)s rows would change locked figures; nothing was stored",
                len(problems),
            )
            % {"count": format_number(len(problems), 0)},
            problems,
        )
    problems = []
    for position, (sent, row) in enumerate(zip(payload.rows, rows, strict=True)):
        observation = stored.get(keys[position])
        if observation is not None and not changes(row, observation, keep_blank=True):
            continue  # already what the row sends: writing it loses nothing
        now = observation.version if observation is not None else 0
        if sent.version is None:
            if observation is None or observation.status == Status.DRAFT:
                continue
            message = _("this figure is %(status)s: send the version you read to change it") % {
                "status": str(Status(observation.status).label).lower()
            }
        elif sent.version == now:
            continue
        else:
            message = _(
                "someone changed this figure after you read it (version %(sent)s, now %(now)s); nothing was stored"
            ) % {"sent": sent.version, "now": now}
        problems.append(
            {
                "row": position + 1,
                "column": "version",
                "message": message,
                "expected": _("version %(now)s, after checking the stored figure") % {"now": now},
                "conflict": {
                    "stored_value": observation.value if observation else None,
                    "stored_missing": observation.missing if observation else "",
                    "stored_status": observation.status if observation else "",
                    "stored_version": now,
                    "sent_value": row[4],
                    "sent_missing": row[5],
                    "sent_version": sent.version,
                },
            }
        )
    if problems:
        raise ApiError(
            409,
            ngettext(
                "%(count)s row conflicts with what is stored now; nothing was stored",
                "%(count)s rows conflict with what is stored now; nothing was stored",
                len(problems),
            )
            % {"count": format_number(len(problems), 0)},
            problems,
        )


def _created_meanwhile(keys: list[tuple], taken: list[tuple]) -> ApiError:
    """409 for the rows sent with version 0 whose figure another writer stored meanwhile."""
    periods = dict(Period.objects.filter(pk__in={key[2] for key in taken}).values_list("pk", "code"))
    taken_codes = {(u, v, periods[p], b) for u, v, p, b in taken}
    units = dict(Unit.objects.filter(pk__in={key[0] for key in taken}).values_list("pk", "code"))
    variables = dict(Variable.objects.filter(pk__in={key[1] for key in taken}).values_list("pk", "code"))
    problems = [
        {
            "row": position + 1,
            "column": "version",
            "message": _(
                "%(unit)s, %(variable)s, %(period)s was stored by someone else while this request "
                "was written, but the row was sent with version 0 (new); nothing was stored"
            )
            % {"unit": units[key[0]], "variable": variables[key[1]], "period": key[2]},
            "expected": _("read the stored figure and send its version"),
        }
        for position, key in enumerate(keys)
        if key in taken_codes
    ]
    return ApiError(
        409,
        ngettext(
            "%(count)s row conflicts with what is stored now; nothing was stored",
            "%(count)s rows conflict with what is stored now; nothing was stored",
            len(problems),
        )
        % {"count": format_number(len(problems), 0)},
        problems,
    )


def _table(payload: ObservationsIn, name: str) -> imports.Table:
    """The rows as the importer's Table of strings: from here on they are checked and
    written exactly like the rows of a file. Row numbers are positions in `rows` from 1."""
    records = [row.dict() for row in payload.rows]

    def text(value):
        if value is None:
            return None
        if isinstance(value, float):
            return opendata._number(value) if value == value and abs(value) != float("inf") else str(value)
        return str(value)

    data = {"_row": list(range(1, len(records) + 1)), "_sheet": [None] * len(records)}
    for column in imports.COLUMNS:
        data[column] = [text(record.get(column)) for record in records]
    frame = pl.DataFrame(
        data, schema={"_row": pl.Int64, "_sheet": pl.String, **{c: pl.String for c in imports.COLUMNS}}
    )
    # As for a file: surrounding spaces do not count and an empty field is no field.
    frame = frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in imports.COLUMNS)
    body = json.dumps(records, sort_keys=True, default=str).encode("utf-8")
    return imports.Table(name, "json", frame, headers={"": {c: c for c in imports.COLUMNS}}, decimal=".", data=body)


def _refused(report: imports.ImportReport) -> ApiError:
    problems = [
        {"row": p.row, "column": p.column, "message": p.message, "expected": p.expected} for p in report.problems
    ]
    message = ngettext(
        "%(count)s problem found; nothing was stored",
        "%(count)s problems found; nothing was stored",
        report.problem_count,
    ) % {"count": format_number(report.problem_count, 0)}
    return ApiError(422, message, problems)


def _check_units(caller: Caller, table: imports.Table) -> None:
    """Refuse the whole request when any row names a unit the token may not write.
    Unknown codes are left to the importer's check, which suggests close ones."""
    codes = table.frame.get_column("unit").drop_nulls().unique().to_list()
    refused = sorted(u.code for u in Unit.objects.filter(code__in=codes) if not caller.may_write(u))
    if refused:
        message = _("you may not write observations of: %(units)s; nothing was stored") % {"units": ", ".join(refused)}
        raise ApiError(403, message, [{"row": None, "column": "unit", "message": message, "expected": ""}])


def _check_statuses(caller: Caller, resolved: pl.DataFrame) -> None:
    """Rows come in as draft or submitted, as on the import page (`imports.status_problems`,
    the one rule): approving and publishing are the workflow's steps."""
    problems = imports.status_problems(resolved, caller.user, caller.label)
    if problems:
        raise ApiError(
            403,
            problems[0].message,
            [{"row": None, "column": "status", "message": p.message, "expected": p.expected} for p in problems],
        )


# ----------------------------------------------------------------------------------------
# Indicator values and group statistics


class IndicatorFilters(DataFilters):
    indicator: list[str] | None = Field(None, description="Indicator codes")


def _reader(caller: Caller) -> read.Reader:
    """Whose eyes the caller reads indicator values with (`read.Reader`, the one rule)."""
    return read.Reader(admin=caller.admin, insider_units=frozenset(caller.insider_units))


def _selection(filters: IndicatorFilters) -> read.Selection:
    """The filters as ids (`read.Selection`); an unknown code is a 422 naming it."""
    start, end = _period_bounds(filters)
    periods = None
    if start or end:  # the periods between the bounds, read once for the whole listing
        chosen = Period.objects.all()
        if start:
            chosen = chosen.filter(start__gte=start)
        if end:
            chosen = chosen.filter(end__lte=end)
        periods = tuple(chosen.values_list("pk", flat=True))

    def ids(model, codes, column: str, label: str) -> tuple[int, ...] | None:
        return tuple(_codes(model, codes, column, label)) if codes else None

    return read.Selection(
        indicators=ids(Indicator, filters.indicator, "indicator", _("indicator")),
        units=ids(Unit, filters.unit, "unit", _("unit")),
        groups=ids(Group, [filters.group] if filters.group else None, "group", _("group")),
        periods=periods,
        changed_since=_utc(filters.changed_since) if filters.changed_since else None,
    )


def _value_status(row: dict) -> str:
    return "published" if read.is_published(row["basis"], row["marked"], row["same_as_public"]) else "unpublished"


@api.get("/indicator-values", response=responses(IndicatorValuePage), tags=["indicators"])
def indicator_values(request, filters: Query[IndicatorFilters], paging: Query[Paging]):
    """Indicator values as the engine stored them; `changed_since` compares `computed_at`."""
    caller = _caller(request)
    rows = read.value_page(_selection(filters), _reader(caller), after=paging.after, limit=paging.limit + 1)
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    for row in rows:
        row["status"] = "published" if row.pop("published") else "unpublished"
    return {"items": rows, "next": _next_url(request, paging, rows[-1]["id"]) if more else None, "limit": paging.limit}


class StatisticFilters(Schema):
    indicator: list[str] | None = None
    group: list[str] | None = None
    period_from: str | None = None
    period_to: str | None = None
    changed_since: dt.datetime | None = None


STAT_FIELDS = ("members", "n", "min", "p10", "p25", "median", "p75", "p90", "max", "mean", "pooled")


@api.get("/group-statistics", response=responses(GroupStatisticPage), tags=["indicators"])
def group_statistics(request, filters: Query[StatisticFilters], paging: Query[Paging]):
    """Group statistics (quartiles, median, mean, pooled value) per indicator, group and
    period; `n` says how many members they stand on."""
    caller = _caller(request)
    rows = read.visible_statistics(admin=caller.admin, insider_groups=caller.insider_groups)
    if filters.indicator:
        rows = rows.filter(indicator_id__in=_codes(Indicator, filters.indicator, "indicator", _("indicator")))
    if filters.group:
        rows = rows.filter(group_id__in=_codes(Group, filters.group, "group", _("group")))
    start, end = _period_bounds(DataFilters(period_from=filters.period_from, period_to=filters.period_to))
    if start:
        rows = rows.filter(period__start__gte=start)
    if end:
        rows = rows.filter(period__end__lte=end)
    if filters.changed_since:
        rows = rows.filter(computed_at__gt=_utc(filters.changed_since))
    rows = rows.values(
        "id",
        "indicator__code",
        "group__code",
        "period__code",
        "breakdown",
        *STAT_FIELDS,
        "computed_at",
        "basis",
        "marked",
        "same_as_public",
    )
    return _page(
        request,
        rows,
        paging,
        lambda r: {
            "id": r["id"],
            "indicator": r["indicator__code"],
            "group": r["group__code"],
            "period": r["period__code"],
            "breakdown": r["breakdown"],
            **{f: r[f] for f in STAT_FIELDS},
            "computed_at": r["computed_at"],
            "status": _value_status(r),
        },
    )


# ----------------------------------------------------------------------------------------
# Open-data downloads


class Download:
    """The selection of an open-data download, checked (an unknown code is a 422 before
    anything is sent) and read by `read.value_frames` (the rule of the listing, one
    indicator at a time, in bounded memory)."""

    def __init__(self, caller: Caller, filters: IndicatorFilters):
        self.selection = _selection(filters)
        self.reader = _reader(caller)

    def count(self, most: int) -> int:
        """How many rows the download holds, counted no further than `most` + 1."""
        return read.value_count(self.selection, self.reader, most=most)

    def frames(self, language: str | None = None) -> Iterator[pl.DataFrame]:
        """The rows for the open-data writers as frames of at most `opendata.CHUNK_ROWS`
        rows (`opendata.FRAME_SCHEMA`), names in `language`, in the order of the indicator,
        unit and period codes: memory holds a chunk and the names of the units and
        indicators (the catalogue's size, not the data's), whatever the selection."""
        units = list(Unit.objects.only("code", "name").order_by("pk"))
        unit_ids = [unit.pk for unit in units]
        unit_codes = [unit.code for unit in units]
        unit_names = [pick(unit.name, language).text for unit in units]
        del units
        indicators = {i.pk: i for i in Indicator.objects.only("code", "name", "unit_of_measure", "decimals")}
        published = pl.when(pl.col("published")).then(pl.lit("published")).otherwise(pl.lit("unpublished"))
        # Read while the previous chunk is written (`frames.read_ahead`); closed as soon as
        # the client goes away (the response closes this generator), so the reading thread
        # and its connection end then, not whenever the collector gets to them.
        chunks = read.value_frames(self.selection, self.reader, size=opendata.CHUNK_ROWS)
        with contextlib.closing(frames.read_ahead(chunks)) as ahead:
            for chunk in ahead:
                indicator = indicators[chunk.item(0, "indicator_id")]
                name = pick(indicator.name, language).text
                measure = pick(indicator.unit_of_measure, language).text
                unit_id = chunk.get_column("unit_id")
                yield pl.DataFrame(
                    {
                        "indicator": pl.repeat(indicator.code, chunk.height, eager=True, dtype=pl.String),
                        "indicator_name": pl.repeat(name, chunk.height, eager=True, dtype=pl.String),
                        "unit_of_measure": pl.repeat(measure, chunk.height, eager=True, dtype=pl.String),
                        "unit": unit_id.replace_strict(unit_ids, unit_codes, return_dtype=pl.String),
                        "unit_name": unit_id.replace_strict(unit_ids, unit_names, return_dtype=pl.String),
                        "period": chunk.get_column("period"),
                        "breakdown": chunk.get_column("breakdown"),
                        "value": chunk.get_column("value"),
                        "missing": chunk.get_column("missing"),
                        "status": chunk.select(published.alias("status")).to_series(),
                        "decimals": pl.repeat(indicator.decimals, chunk.height, eager=True, dtype=pl.Int64),
                    },
                    schema=opendata.FRAME_SCHEMA,
                )

    def rows(self, language: str | None = None) -> Iterator[dict]:
        """The same rows one by one, as mappings (the Excel download, at most
        `OPENDATA_XLSX_MAX_ROWS` of them)."""
        for frame in self.frames(language):
            yield from frame.iter_rows(named=True)


DOWNLOAD_CONTENT = {
    200: {
        "description": "The indicator values in the chosen format",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
            "application/json": {"schema": {"type": "object"}},
            "application/vnd.sdmx.data+csv": {"schema": {"type": "string"}},
        },
    }
}


@api.get(
    "/data/indicators.{fmt}",
    response=responses(None),
    tags=["open data"],
    url_name="download_indicators",
    openapi_extra={"responses": DOWNLOAD_CONTENT},
)
def download_indicators(request, fmt: Literal["csv", "xlsx", "jsonstat", "sdmx.csv"], filters: Query[IndicatorFilters]):
    """Indicator values as CSV, Excel, JSON-stat 2.0 or SDMX-CSV 2.0, with the filters of
    /indicator-values (unpaged). CSV, SDMX-CSV and JSON-stat are streamed as they are
    written, in bounded memory, whatever the size of the selection. Excel holds at most
    `OPENDATA_XLSX_MAX_ROWS` rows (a sheet holds 1,048,576); a larger selection is refused
    with 422, naming the limit and the CSV download of the same rows."""
    caller = _caller(request)
    language = get_language()
    download = Download(caller, filters)
    if fmt == "xlsx":
        return _xlsx_download(request, download, language)
    rows = download.frames(language)
    if fmt == "csv":
        body = opendata.csv_chunks(rows)
    elif fmt == "jsonstat":
        body = opendata.jsonstat_chunks(
            rows,
            label=_("Municipium indicator values"),
            source="Municipium",
            updated=timezone.now().isoformat(timespec="seconds"),
        )
    else:
        body = opendata.sdmx_csv_chunks(rows)
    response = StreamingHttpResponse(_in_language(body, language), content_type=opendata.MEDIA_TYPES[fmt])
    extension = {"jsonstat": "json", "sdmx.csv": "sdmx.csv"}.get(fmt, fmt)
    response["Content-Disposition"] = f'attachment; filename="indicators.{extension}"'
    if fmt == "sdmx.csv":
        # Where SDMX software finds the structure the file's STRUCTURE_ID names.
        structure = request.build_absolute_uri(reverse("api:sdmx_structure"))
        response["Link"] = f'<{structure}>; rel="describedby"; type="application/vnd.sdmx.structure+xml"'
    return response


def _in_language(pieces: Iterator[bytes], language: str) -> Iterator[bytes]:
    """The pieces written with `language` active: a streamed body is written after the view
    returned, when the request's language may no longer be the active one."""
    with translation.override(language):
        yield from pieces


def _xlsx_download(request, download: Download, language: str):
    """The workbook is written to a temporary file in constant memory and sent from there:
    a zip file cannot be sent before it is finished."""
    limit = settings.OPENDATA_XLSX_MAX_ROWS
    if download.count(most=limit) > limit:
        query = request.GET.copy()
        csv_url = request.build_absolute_uri(
            reverse("api:download_indicators", kwargs={"fmt": "csv"}) + (f"?{query.urlencode()}" if query else "")
        )
        message = ngettext(
            "the Excel download holds at most %(limit)s row and this selection has more: "
            "narrow it (indicator, unit, group, period_from, period_to) or download the same rows as CSV: %(csv)s",
            "the Excel download holds at most %(limit)s rows and this selection has more: "
            "narrow it (indicator, unit, group, period_from, period_to) or download the same rows as CSV: %(csv)s",
            limit,
        ) % {"limit": format_number(limit, 0), "csv": csv_url}
        raise ApiError(
            422,
            message,
            [
                {
                    "row": None,
                    "column": "fmt",
                    "message": message,
                    "expected": _("a narrower selection, or the CSV download"),
                }
            ],
        )
    target = tempfile.TemporaryFile(prefix="municipium-xlsx-")
    opendata.write_xlsx(download.rows(language), target, sheet=_("Indicators"))
    target.seek(0)
    return FileResponse(
        target, as_attachment=True, filename="indicators.xlsx", content_type=opendata.MEDIA_TYPES["xlsx"]
    )


SDMX_STRUCTURE_CONTENT = {
    200: {
        "description": "SDMX-ML 2.1 structure message",
        "content": {"application/vnd.sdmx.structure+xml": {"schema": {"type": "string"}}},
    }
}


@api.get(
    f"/sdmx/dataflow/{opendata.SDMX_AGENCY}/{opendata.SDMX_DATAFLOW}/{opendata.SDMX_VERSION}",
    response=responses(None),
    tags=["open data"],
    url_name="sdmx_structure",
    openapi_extra={"responses": SDMX_STRUCTURE_CONTENT},
)
def sdmx_structure(request):
    """The SDMX structure of /data/indicators.sdmx.csv as an SDMX-ML 2.1 message: the dataflow
    its STRUCTURE_ID names, the data structure definition, the concepts and the codelists
    (units, indicators, breakdown categories with the total _T, observation and
    confidentiality statuses), with names in every language of the site. At the address an
    SDMX REST client asks for the dataflow (with its references)."""
    _caller(request)
    languages = list(settings.LANGUAGE_CODES)

    def named(rows) -> dict[str, dict[str, str]]:
        return {row.code: {language: pick(row.name, language).text for language in languages} for row in rows}

    categories: dict = {}
    for category in Category.objects.order_by("breakdown__code", "order", "code"):
        categories.setdefault(category.code, category)
    body = opendata.sdmx_structure(
        units=named(Unit.objects.order_by("code")),
        indicators=named(Indicator.objects.order_by("code")),
        breakdowns=named(categories.values()),
        languages=languages,
        prepared=timezone.now().replace(microsecond=0).isoformat(),
    )
    return HttpResponse(body, content_type=opendata.STRUCTURE_MEDIA_TYPE)


# ----------------------------------------------------------------------------------------
# The planning modules: each keeps its routes in a module of this package with a `router`.

for _module in ("meetings", "plans", "cooperation", "tariffs", "siting", "socialplanning"):
    api.add_router(f"/{_module}/", import_module(f"municipium.api.{_module}").router)
