"""Pages of this app (being built)."""
from django.http import Http404



def report(request, *args, **kwargs):
    raise Http404()
