"""What every page's frame needs: the language menu with links to this same page in each
language, the reading direction, and the menu entries the person's roles open."""

from django.apps import apps
from django.conf import settings
from django.urls import reverse, translate_url
from django.utils.translation import get_language, get_language_bidi, get_language_info

from municipium.accounts import access
from municipium.lib import numbers
from municipium.places.models import Group


def planning_menu(user) -> list[dict]:
    """The "Planning" menu: entries the planning apps declare on their AppConfig as
    `menu = [(label, url name, visible)]`, where `visible(user)` says who sees the entry
    (None: everyone). Each app adds its own entries, so no app edits the page frame."""
    entries = []
    for config in apps.get_app_configs():
        for label, url_name, visible in getattr(config, "menu", ()):
            if visible is None or visible(user):
                entries.append({"label": label, "url": reverse(url_name)})
    return entries


def site(request) -> dict:
    current = get_language() or settings.LANGUAGE_CODE
    path = request.get_full_path()
    languages = []
    for code in settings.LANGUAGE_CODES:
        info = get_language_info(code)
        languages.append(
            {
                "code": code,
                "name": info["name_local"],
                "url": translate_url(path, code),
                "current": code == current,
                "bidi": info["bidi"],
            }
        )
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    coordinated = access.coordinated_groups(user) if signed_in else set()
    return {
        "site_languages": languages,
        "site_rtl": get_language_bidi(),
        "site_can_enter": bool(signed_in and access.review_units(user).exists()),
        "site_is_admin": bool(user and access.is_admin(user)),
        # Status boards of the groups the person coordinates (each opens on its current period).
        "site_boards": list(Group.objects.filter(pk__in=coordinated).order_by("code")) if coordinated else [],
        "site_can_audit": bool(signed_in and access.can_read_audit(user)),
        "site_can_invite": bool(signed_in and (coordinated or access.is_admin(user))),
        # Coordinators and administrators may protect their account with a second factor.
        "site_second_factor": bool(signed_in and (coordinated or access.is_admin(user))),
        "d3_locale": numbers.d3_locale(current),
        "site_planning_menu": planning_menu(user),
    }
