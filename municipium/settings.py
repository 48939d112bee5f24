"""Municipium settings: one flat file, every deployment choice read from the environment.

SQLite in the project folder is the default so that `make demo` works on one laptop with
nothing else installed; set DATABASE_URL=postgres://... for a shared installation.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict:
    """Turn sqlite:///path or postgres://user:pw@host:port/name into a DATABASES entry.

    Written out here rather than pulled from a package: it is a dozen lines and the two
    schemes we support are all there is.
    """
    parts = urlparse(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///relative.db is relative to the working folder, sqlite:////abs.db absolute.
        name = path[1:]
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name or str(BASE_DIR / "municipium.sqlite3"),
            "OPTIONS": {
                # WAL lets the web server read while the task worker writes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_NAME") or None},
        }
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "municipium",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
            # No JIT compilation: a page's grouped read over a few hundred thousand rows
            # crosses its cost threshold and spent 40-100 ms compiling for a 50 ms query
            # (issue 18); the engine's reads gain nothing from it either.
            "OPTIONS": {"options": "-c jit=off"},
        }
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use sqlite or postgres)")


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "insecure-development-key-set-SECRET_KEY-in-production" if DEBUG or not env_bool("PRODUCTION") else ""
)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]


def default_data_dir() -> Path:
    """Where uploads in transit, collected static files and (without DATABASE_URL) the SQLite
    database live, unless MUNICIPIUM_DATA_DIR says. The SQLite quick start keeps it all in the
    checkout's ./var (ignored by git); an installation with its own database (DATABASE_URL,
    usually PostgreSQL) writes nothing into the code's folder: it uses the user's data folder,
    $XDG_DATA_HOME/municipium (~/.local/share/municipium). Issue 18."""
    if os.environ.get("MUNICIPIUM_DATA_DIR"):
        return Path(os.environ["MUNICIPIUM_DATA_DIR"])
    if not os.environ.get("DATABASE_URL"):
        return BASE_DIR / "var"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "municipium"


DATA_DIR = default_data_dir()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "django_htmx",
    # django-ninja serves its own copy of the API docs' assets when installed as an app.
    "ninja",
    "municipium.web",
    "municipium.accounts",
    "municipium.places",
    "municipium.catalog",
    "municipium.observations",
    "municipium.benchmarks",
    "municipium.audit",
    "municipium.worker",
    "municipium.reports",
    "municipium.api",
    "municipium.surveys",
    "municipium.meetings",
    "municipium.plans",
    "municipium.cooperation",
    "municipium.tariffs",
    "municipium.siting",
    "municipium.socialplanning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "municipium.web.middleware.NoStoreWhenSignedInMiddleware",
    "municipium.web.middleware.SecondFactorRequiredMiddleware",
    "municipium.web.middleware.RefuseNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "municipium.urls"
WSGI_APPLICATION = "municipium.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "municipium.web.context.site",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'municipium.sqlite3'}")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# An index's INCLUDE columns make PostgreSQL answer from the index alone; SQLite has none and
# builds the index on its key columns, which is what it needs (GroupStatistic's group index).
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Background work (recompute of derived figures) goes through django.tasks with the queue
# kept in the main database: no broker to install, and it works on SQLite and PostgreSQL.
# MUNICIPIUM_TASKS=immediate runs tasks inline (tests, one-off scripts).
TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if os.environ.get("MUNICIPIUM_TASKS") == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": [],
    }
}
# The worker holds a lease on the task it runs and renews it every quarter lease; a task whose
# lease ends (its worker killed or cut off) is taken back by another worker, and given up
# with a recorded failure after this many interrupted runs (README: The task worker).
WORKER_LEASE_SECONDS = float(os.environ.get("WORKER_LEASE_SECONDS", "60"))
WORKER_MAX_ATTEMPTS = int(os.environ.get("WORKER_MAX_ATTEMPTS", "3"))
# How often an idle worker looks for a task by itself (one indexed read). It is woken sooner
# when a task is queued (worker.Wakeup: NOTIFY on PostgreSQL, PRAGMA data_version on
# SQLite), so a save's derived figures follow within the recompute of its slices (issue 18).
WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", "0.2"))

# Argon2 first: new passwords and every login re-hash to it; the others only read old hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_URL = "login"
# Signed-in sessions end after this many idle seconds (ASVS level 2, V3.3.2): every request
# renews the expiry, so someone working is never logged out, an abandoned browser is.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_TIMEOUT", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True
# Every log-in (the site's page, the admin's) goes through the one throttle.
AUTHENTICATION_BACKENDS = ["municipium.accounts.throttle.ThrottledModelBackend"]
# Failed log-ins allowed per user name or address within the window (seconds).
# Administrators must set up a second factor (an authenticator app) before they can work;
# off by default: a coordinator or administrator may set one up on their account page.
SECOND_FACTOR_ISSUER = os.environ.get("SECOND_FACTOR_ISSUER", "Municipium")  # the name authenticator apps show
SECOND_FACTOR_REQUIRED_FOR_ADMINS = os.environ.get("SECOND_FACTOR_REQUIRED_FOR_ADMINS", "") in ("1", "true", "yes")
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("LOGIN_FAILURE_WINDOW", "900"))
# Public consultation comments (no account needed): at most this many from one connection
# within the window, in seconds (meetings.services.submit_comment).
COMMENT_LIMIT = 5
COMMENT_WINDOW = 3600
LOGIN_TRUST_FORWARDED_FOR = env_bool("LOGIN_TRUST_FORWARDED_FOR", env_bool("PRODUCTION"))
# The proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated). A
# request straight from anywhere else is counted by its own address, whatever it claims to
# be forwarded for, so a new X-Forwarded-For per attempt cannot get round the throttle.
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()]
LOGIN_REDIRECT_URL = "start"
LOGOUT_REDIRECT_URL = "start"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # ASVS level 2 (V2.1.1): at least 12 characters; the common-password list below is the
    # offline breached-password check (Django ships 20,000 of the most common ones).
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The six working languages. Django's "sr" is Serbian in Cyrillic script.
LANGUAGES = [
    ("en", _("English")),
    ("pl", _("Polish")),
    ("sr", _("Serbian")),
    ("bg", _("Bulgarian")),
    ("lt", _("Lithuanian")),
    ("fa", _("Persian")),
]
LANGUAGE_CODES = [code for code, _name in LANGUAGES]
LOCALE_PATHS = [BASE_DIR / "municipium" / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# Every asset is vendored under static/ and served by the app itself (WhiteNoise): no page
# asks any other origin for anything. In production and under `municipium serve` (which sets
# COMPRESSED_STATIC), `collectstatic` writes content-hashed copies with gzip and Brotli
# twins; WhiteNoise serves a hashed name with a ten-year, immutable Cache-Control and the
# compressed twin to a browser that accepts it. Elsewhere (tests, runserver) files are
# served straight from the source folders.
COMPRESSED_STATIC = env_bool("PRODUCTION") or env_bool("COMPRESSED_STATIC")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "municipium.web.staticfiles.CompressedManifestStorage"
            if COMPRESSED_STATIC
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not COMPRESSED_STATIC
if not COMPRESSED_STATIC:
    try:
        STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start-up when it is absent
    except OSError:
        pass  # an unwritable data folder costs a warning, not the start-up

# A strict Content-Security-Policy on every response: scripts, styles, fonts, images and
# data only from our own origin, no inline script or style, no eval. Charts run under it
# because Vega is given its CSP-safe expression interpreter (static/js/charts.js).
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Who may frame the embeddable charts (/<language>/embed/...), the only pages that may be
# framed at all: every site by default, or the origins listed (space-separated).
EMBED_FRAME_ANCESTORS = os.environ.get("EMBED_FRAME_ANCESTORS", "*").split() or [CSP.NONE]

# E-mail (invitations, reminders): printed on the console in development; in production,
# or whenever EMAIL_HOST is set, sent by SMTP (to the machine's own mail server unless
# EMAIL_HOST names another). Configured as Django 6.1's MAILERS (the EMAIL_* settings are
# deprecated there); the environment keeps the familiar EMAIL_* names. SITE_URL is this
# installation's address, for links in messages sent without a request (daily reminders).
_EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
_SMTP = bool(_EMAIL_HOST) or env_bool("PRODUCTION")
MAILERS = {
    "default": {
        "BACKEND": os.environ.get("EMAIL_BACKEND")
        or (
            "django.core.mail.backends.smtp.EmailBackend" if _SMTP else "django.core.mail.backends.console.EmailBackend"
        ),
        "OPTIONS": {
            "host": _EMAIL_HOST or "localhost",
            "port": int(os.environ.get("EMAIL_PORT", "587" if _EMAIL_HOST else "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", bool(_EMAIL_HOST)),
            "timeout": int(os.environ.get("EMAIL_TIMEOUT", "30")),
        }
        if _SMTP
        else {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "municipium@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# Uploaded files larger than this are refused before parsing (bytes).
MAX_IMPORT_BYTES = int(os.environ.get("MAX_IMPORT_BYTES", str(200 * 1024 * 1024)))
# A UTF-8 CSV file given by its path (the command line) is read, checked and staged in
# pieces of about this many bytes, so its import takes the same memory at any length.
IMPORT_BATCH_BYTES = int(os.environ.get("IMPORT_BATCH_BYTES", str(4 * 1024 * 1024)))
# The open-data Excel download refuses a selection of more rows than this (CSV, SDMX-CSV and
# JSON-stat stream any size). A sheet holds 1,048,576 rows; XlsxWriter writes about 30,000
# rows a second on one core, and a workbook cannot be sent before it is finished.
OPENDATA_XLSX_MAX_ROWS = min(int(os.environ.get("OPENDATA_XLSX_MAX_ROWS", "500000")), 1_048_575)
# Uploaded files checked but never committed are removed by the daily job after this long (hours).
UPLOAD_MAX_AGE_HOURS = int(os.environ.get("UPLOAD_MAX_AGE_HOURS", "24"))

# Every record passes lib/logs.ScrubTokens: a "Not Found: /fa/s/<token>/" would otherwise
# write a respondent's personal link into the log (README: Privacy). django.server
# (runserver's request lines) is routed through the same handler.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_tokens": {"()": "municipium.lib.logs.ScrubTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["scrub_tokens"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

if env_bool("PRODUCTION"):
    if not SECRET_KEY:
        raise RuntimeError("PRODUCTION=1 needs SECRET_KEY in the environment")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
