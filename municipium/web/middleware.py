"""Requests refused before any view sees them."""

from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RefuseNulMiddleware:
    """A NUL character in a page's address or query is "not found" (nothing lives at such an
    address), in a form field a 400 (issue 20: PostgreSQL cannot store or compare text
    holding NUL, and a page with one in a parameter answered 500). No person types one;
    only tools and probes send it. The API (/api/) gets its own error shape ({detail,
    problems}) with 400, as its schema promises."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        in_address = "\x00" in request.path or _has_nul(request.GET)
        in_form = request.method == "POST" and not in_address and _has_form_nul(request)
        if in_address or in_form:
            message = _("The request holds a NUL character, which no field accepts.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message, "problems": []}, status=400)
            if in_address:
                raise Http404()
            return HttpResponseBadRequest(message)
        return self.get_response(request)


def _has_form_nul(request) -> bool:
    """A NUL in a form field; a JSON body (the API's writes) is left to its own checks."""
    if not request.content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return False
    return _has_nul(request.POST)


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
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store, private"
        return response


class SecondFactorRequiredMiddleware:
    """Where settings.SECOND_FACTOR_REQUIRED_FOR_ADMINS is on, an administrator without a
    second factor reaches only the page that sets one up (and can log out): an
    administrator's password alone must not open the whole installation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        user = getattr(request, "user", None)
        if settings.SECOND_FACTOR_REQUIRED_FOR_ADMINS and user is not None and user.is_authenticated:
            from django.shortcuts import redirect
            from django.urls import reverse

            from municipium.accounts import second_factor

            allowed = (reverse("second-factor"), reverse("second-factor-qr"), reverse("logout"))
            if (
                request.path not in allowed
                and not request.path.startswith(settings.STATIC_URL)
                and second_factor.must_set_up(user)
            ):
                return redirect("second-factor")
        return self.get_response(request)
