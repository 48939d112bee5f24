"""Requests refused before any view sees them."""

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _


class RefuseNulMiddleware:
    """A NUL character in the path, the query or a form field is refused with 400 (issue
    20: PostgreSQL cannot store or compare text holding NUL, and a search or filter with
    one answered 500). No person types one; only tools and probes send it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest(_("The request holds a NUL character, which no field accepts."))
        return self.get_response(request)


def _has_nul(params) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in params.lists())


class NoStoreWhenSignedInMiddleware:
    """Pages served to a signed-in person are not kept by the browser or any cache between
    (ASVS level 2, V8.2.1): unpublished figures and personal pages must not be readable from
    a shared computer's history after log-out. Public pages keep their caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store, private"
        return response
