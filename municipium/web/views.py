"""The start page and search."""

from django.shortcuts import render

from municipium.catalog.models import ServiceArea
from municipium.meetings.models import Decision
from municipium.places.models import Group, Unit

from .search import search


def start(request):
    groups = list(Group.objects.order_by("kind", "code"))
    context = {
        "groups": groups,
        "areas": ServiceArea.objects.all(),
        "unit_count": Unit.objects.count(),
        "top_units": Unit.objects.filter(parent__isnull=True).order_by("code")[:50],
        "query": request.GET.get("q", ""),
        "hits": search(request.GET.get("q", "")),
        # The decisions the person owns, overdue ones marked (issue 13: on the owners' start page).
        "my_decisions": list(Decision.objects.owned_by(request.user).select_related("body", "meeting")[:20]),
    }
    return render(request, "web/start.html", context)


def search_results(request):
    """The live result list under the search box (htmx), or a full page without JavaScript."""
    query = request.GET.get("q", "")
    hits = search(query)
    if request.htmx:
        return render(request, "web/search_results.html", {"hits": hits, "query": query})
    return start(request)
