"""Pages live under a language prefix (/en/, /fa/, ...) so that every address names its
language and can be shared; the admin, the API and static files do not."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from municipium.accounts import views as accounts
from municipium.meetings import views as meetings
from municipium.web import views as web

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("municipium.api.urls")),
    # A person's calendar feed: fetched by Outlook or Thunderbird, which know no language prefix.
    path("meetings/calendar/<str:token>.ics", meetings.person_calendar, name="person-calendar"),
]

urlpatterns += i18n_patterns(
    path("", web.start, name="start"),
    path("search/", web.search_results, name="search"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("login/code/", accounts.code, name="login-code"),
    path("account/second-factor/", accounts.second_factor_page, name="second-factor"),
    path("account/second-factor/qr.svg", accounts.second_factor_qr, name="second-factor-qr"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("municipium.benchmarks.urls")),
    path("", include("municipium.places.urls")),
    path("", include("municipium.catalog.urls")),
    path("", include("municipium.observations.urls")),
    path("", include("municipium.reports.urls")),
    path("", include("municipium.observations.workflow_urls")),
    path("", include("municipium.audit.urls")),
    path("", include("municipium.accounts.urls")),
    path("", include("municipium.surveys.urls")),
    path("meetings/", include("municipium.meetings.urls")),
    path("plans/", include("municipium.plans.urls")),
    path("cooperation/", include("municipium.cooperation.urls")),
    path("tariffs/", include("municipium.tariffs.urls")),
    path("siting/", include("municipium.siting.urls")),
    path("social/", include("municipium.socialplanning.urls")),
    prefix_default_language=True,
)
