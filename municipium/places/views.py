"""Pages of this app (being built)."""
from django.http import Http404



def group_workspace(request, *args, **kwargs):
    raise Http404()
