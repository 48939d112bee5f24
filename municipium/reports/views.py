"""The unit's reports: the list (and making one), one report (and editing it), its PDF.

Who may do what:
- make, edit, publish and withdraw reports: whoever may enter or approve the unit's data (and
  administrators); a report is a draft, theirs alone, until they publish it;
- read a published report: those, anyone inside a group that shares the unit's unpublished
  figures, and everyone else only when the report's figures are all published. Anyone else,
  and everyone else for a draft, gets 404.
"""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from municipium.accounts import access
from municipium.audit.models import record
from municipium.places.models import Unit

from . import pdf
from .figures import sections
from .forms import ReportForm
from .models import Report


def can_write(user, unit) -> bool:
    return access.may_enter_or_approve(user, unit)


def _visible(user, report: Report) -> bool:
    if can_write(user, report.unit):
        return True
    # A draft's introduction and commentary are the unit's own until it publishes them.
    return report.is_published and (access.sees_unpublished(user, unit=report.unit) or report.figures_are_public())


def _report(request, code: str, pk: int) -> Report:
    report = get_object_or_404(Report.objects.select_related("unit", "period", "group"), pk=pk, unit__code=code)
    access.require(_visible(request.user, report))
    return report


def _public(user, report: Report) -> bool:
    # The report sets its unit against its group: both must share their drafts with the user.
    return not access.sees_unpublished(user, unit=report.unit, group=report.group)


def reports(request, code):
    unit = get_object_or_404(Unit, code=code)
    writer = can_write(request.user, unit)
    form = None
    if request.method == "POST":
        access.require(writer)
        form = ReportForm(request.POST, unit=unit)
        if form.is_valid():
            report = form.save(actor=request.user)
            messages.success(
                request,
                _(
                    "The report was made as a draft that only the unit's people can read. Add an introduction "
                    "and commentary below, then publish it."
                ),
            )
            return redirect("report-detail", code=unit.code, pk=report.pk)
    elif writer:
        form = ReportForm(unit=unit)
    listed = [
        r
        for r in Report.objects.filter(unit=unit).select_related("period", "group")
        if writer or _visible(request.user, r)
    ]
    return render(request, "reports/list.html", {"unit": unit, "reports": listed, "form": form, "writer": writer})


def report(request, code, pk):
    report = _report(request, code, pk)
    writer = can_write(request.user, report.unit)
    form = None
    if request.method == "POST":
        access.require(writer)
        form = ReportForm(request.POST, instance=report, unit=report.unit)
        if form.is_valid():
            form.save(actor=request.user)
            messages.success(request, _("The report was saved."))
            return redirect("report-detail", code=code, pk=report.pk)
        report.refresh_from_db()
    elif writer:
        form = ReportForm(instance=report, unit=report.unit)
    context = {
        "unit": report.unit,
        "report": report,
        "form": form,
        "writer": writer,
        "sections": sections(report, public=_public(request.user, report)),
    }
    return render(request, "reports/report.html", context)


@require_POST
def report_publish(request, code, pk):
    """Publish a draft (its introduction and commentary then reach its readers) or take a
    published report back to draft; audited."""
    report = _report(request, code, pk)
    access.require(can_write(request.user, report.unit))
    publish = request.POST.get("action") == "publish"
    if publish != report.is_published:
        with transaction.atomic():
            before = report.snapshot()
            report.published_at = timezone.now() if publish else None
            report.save(update_fields=["published_at", "updated_at"])
            record(
                "publish" if publish else "unpublish",
                report,
                actor=request.user,
                before=before,
                after=report.snapshot(),
                via="form",
            )
    if publish:
        messages.success(request, _("The report is published: whoever may see its figures can read it."))
    else:
        messages.success(request, _("The report is a draft again: only the unit's people can read it."))
    return redirect("report-detail", code=code, pk=report.pk)


@require_GET
def report_pdf(request, code, pk):
    report = _report(request, code, pk)
    content = pdf.render(report, public=_public(request.user, report))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf.filename(report)}"'
    return response
