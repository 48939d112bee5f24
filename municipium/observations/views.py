"""Data entry and import pages: the two ways an officer brings figures in by hand.

Both write through `services.write_observations` only (revisions, audit, recompute), both
ask `access.can_enter` for every unit they touch, and both refuse rather than overwrite:
the entry form on a version conflict, the import on any problem in the file.
"""

import datetime
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from municipium.accounts import access
from municipium.catalog.models import ServiceArea
from municipium.lib.numbers import format_number
from municipium.places.models import Unit

from . import imports, uploads, workbooks
from .forms import EntrySheet, EntryStartForm, ImportForm
from .models import BatchUnit, ImportBatch, Missing, Period, Status, Via, period_code_from_path
from .services import write_observations

PREVIEW_ROWS = 10
SESSION_KEY = "municipium_uploads"

# ----------------------------------------------------------------------------------------
# Data entry


@login_required
def entry_start(request):
    form = EntryStartForm(request.GET or None, user=request.user)
    if form.is_bound and form.is_valid():
        return redirect(
            "entry", form.cleaned_data["unit"].code, form.cleaned_data["period"], form.cleaned_data["area"].code
        )
    if not form.is_bound:
        units = form.fields["unit"].queryset
        if units.count() == 1:
            form.initial["unit"] = units.first().code
    default_period = str(datetime.date.today().year - 1)
    return render(request, "observations/entry_start.html", {"form": form, "default_period": default_period})


def _sheet(request, unit, period, area) -> EntrySheet:
    unit = get_object_or_404(Unit, code=unit)
    # Approvers open the same page to review and approve; only those who enter may write.
    access.require(access.may_enter_or_approve(request.user, unit))
    canonical = period_code_from_path(period)
    area = get_object_or_404(ServiceArea, code=area)
    return EntrySheet(unit, canonical, area, get_language(), user=request.user)


def _entry_page(request, sheet, status=200, confirm=""):
    from .workflow_views import ReopenForm

    statuses = sheet.statuses
    return render(
        request,
        "observations/entry.html",
        {
            "sheet": sheet,
            "missing_choices": Missing.choices,
            "can_write": access.can_enter(request.user, sheet.unit),
            "can_approve": access.can_approve(request.user, sheet.unit) and Status.SUBMITTED in statuses,
            "can_reopen": access.can_approve(request.user, sheet.unit)
            and bool(statuses & {Status.SUBMITTED, Status.APPROVED}),
            "reopen_form": ReopenForm(initial={"unit": sheet.unit.code}),
            "validate_url": reverse("entry-validate", args=[sheet.unit.code, sheet.period_code, sheet.area.code]),
            "confirm": confirm,
        },
        status=status,
    )


@login_required
def entry(request, unit, period, area):
    sheet = _sheet(request, unit, period, area)
    if request.method != "POST":
        return _entry_page(request, sheet)
    access.require(access.can_enter(request.user, sheet.unit))
    if sheet.read_only:
        messages.error(request, _("These figures are submitted and can no longer be changed here."))
        return redirect(request.path)
    submit = request.POST.get("action") == "submit"
    if not sheet.bind(request.POST, submit=submit):
        messages.error(request, _("Nothing was saved: correct the figures marked below."))
        return _entry_page(request, sheet)
    # Warnings are not silent (issue 19): the officer sees them on the page and saves again
    # to confirm those figures; the confirmation goes into the audit trail.
    warned = [slot.key for slot in sheet.slots if slot.warnings and not slot.locked]
    confirmed = set(request.POST.get("confirmed", "").split(","))
    if set(warned) - confirmed:
        messages.warning(
            request,
            _("Nothing was saved yet: check the figures with a warning below, then save again to confirm them."),
        )
        return _entry_page(request, sheet, confirm=",".join(warned))
    note = _("warnings confirmed: %(fields)s") % {"fields": ", ".join(warned)} if warned else ""
    status = Status.SUBMITTED if submit else Status.DRAFT
    with transaction.atomic():
        period_obj = Period.objects.for_code(sheet.period_code)
        sheet.period = period_obj
        sheet.refresh(lock=True)
        if sheet.find_conflicts():
            conflict = True
        else:
            conflict = False
            rows = sheet.rows(status, period_obj)
            if rows:
                batch = ImportBatch(
                    file_name=f"{sheet.unit.code} {sheet.period_code} {sheet.area.code}"[:255],
                    format="form",
                    via=Via.FORM,
                    created_by=request.user,
                )
                result = write_observations(rows, batch=batch, actor=request.user, note=note)
    if conflict:
        messages.error(request, _("Nothing was saved: some figures were changed by someone else meanwhile."))
        return _entry_page(request, sheet, status=409)
    if not rows:
        messages.info(request, _("Nothing to save: no figure is filled in."))
    elif submit:
        messages.success(
            request,
            ngettext("Submitted: %(count)s figure.", "Submitted: %(count)s figures.", result.rows)
            % {"count": format_number(result.rows, 0)},
        )
    else:
        messages.success(
            request,
            _("Saved as draft: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.")
            % {
                "created": format_number(result.created, 0),
                "updated": format_number(result.updated, 0),
                "unchanged": format_number(result.unchanged, 0),
            },
        )
    return redirect(request.path)


@login_required
@require_POST
def entry_validate(request, unit, period, area):
    """Messages for every field as the officer types (htmx swaps them out of band)."""
    sheet = _sheet(request, unit, period, area)
    sheet.bind(request.POST, submit=False)
    return render(request, "observations/entry_messages.html", {"sheet": sheet})


@login_required
def entry_template(request, unit, period, area):
    sheet = _sheet(request, unit, period, area)
    data = workbooks.build_template(sheet.unit, sheet.period_code, [sheet.area], language=get_language())
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"municipium-{sheet.unit.code}-{sheet.period_code}-{sheet.area.code}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ----------------------------------------------------------------------------------------
# Import


def _read(data: bytes, name: str):
    """(Table or None, report) for a long-format file or a filled Municipium template."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if data[:4] == b"PK\x03\x04" and suffix in ("xlsx", "xlsm", ""):
        probe = imports.ImportReport(file=name)
        workbook = imports.open_workbook(data, name, "xlsx", probe)
        if workbook is not None and workbooks.META_SHEET in workbook.sheet_names:
            report = imports.ImportReport(
                file=name, format="template", size=len(data), sha256=hashlib.sha256(data).hexdigest()
            )
            table = workbooks.read_template(data, name=name, report=report, workbook=workbook)
            return table, report
    return imports.read_table(data, name=name)


def _check(request, data: bytes, name: str):
    table, report = _read(data, name)
    if table is None:
        return None, report
    resolved, report = imports.check(table, None, report)
    if not report.problems:
        imports.refuse_unwritable(resolved, request.user, report)
    return table, report


def _preview(table) -> list[list]:
    if table is None:
        return []
    return table.frame.select(imports.COLUMNS).head(PREVIEW_ROWS).rows()


def _history(user):
    batches = ImportBatch.objects.filter(via=Via.IMPORT).select_related("created_by")
    if not access.is_admin(user):
        units = access.reached_units(user)
        # The batches that wrote figures of these units, as each write recorded them
        # (BatchUnit): not from the revisions, millions after a country's import (issue 18).
        batches = batches.filter(
            pk__in=BatchUnit.objects.filter(unit_id__in=units).values("batch_id")
        ) | batches.filter(created_by=user)
    return batches.distinct().order_by("-created_at")[:50]


@login_required
def import_start(request):
    if not access.entry_units(request.user).exists():
        raise Http404()
    context = {"columns": imports.COLUMNS, "history": _history(request.user)}
    form = ImportForm()
    if request.method == "POST" and request.POST.get("action") == "commit":
        return _commit(request, context)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            name = Path(upload.name or "upload").name[:200]
            data = upload.read(settings.MAX_IMPORT_BYTES + 1)
            table, report = _check(request, data, name)
            context.update(report=report, preview=_preview(table))
            if report.ok and table is not None:
                context["token"] = uploads.keep(request, SESSION_KEY, data, name)
    context["form"] = form
    return render(request, "observations/import.html", context)


def _commit(request, context):
    taken = uploads.take(request, SESSION_KEY, request.POST.get("token", ""))
    if taken is None:
        messages.error(request, _("That upload is no longer here; upload the file again."))
        return redirect("import")
    data, kept = taken
    if not uploads.unchanged(data, kept):
        messages.error(request, _("The uploaded file changed on the server; upload it again."))
        return redirect("import")
    table, report = _check(request, data, kept["name"])
    if table is not None and report.ok:
        report = imports.commit(table, actor=request.user, via=Via.IMPORT)
    if report.committed:
        messages.success(
            request,
            _("Imported %(file)s: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.")
            % {
                "file": kept["name"],
                "created": format_number(report.created, 0),
                "updated": format_number(report.updated, 0),
                "unchanged": format_number(report.unchanged, 0),
            },
        )
        return redirect("import")
    context.update(form=ImportForm(), report=report, preview=_preview(table))
    return render(request, "observations/import.html", context)
