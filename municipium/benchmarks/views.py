"""Pages of this app (being built)."""

from django.http import Http404


def unit_profile(request, *args, **kwargs):
    raise Http404()


def indicator_page(request, *args, **kwargs):
    raise Http404()


def compare(request, *args, **kwargs):
    raise Http404()
