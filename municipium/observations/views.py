"""Pages of this app (being built)."""
from django.http import Http404



def entry_start(request, *args, **kwargs):
    raise Http404()


def import_start(request, *args, **kwargs):
    raise Http404()
