"""Pages of this app (being built)."""
from django.http import Http404



def catalogue(request, *args, **kwargs):
    raise Http404()


def area(request, *args, **kwargs):
    raise Http404()
