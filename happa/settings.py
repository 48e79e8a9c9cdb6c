"""Happa's settings: environment first, safe defaults.

Production is configured by environment variables only (see the table in README.md). `make run`
sets the embedded defaults (SQLite, an embedded Redis, the sandbox AWS); nothing here guesses them
in production: DEBUG is off unless asked for, and an insecure combination stops start-up.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HAPPA_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

# Only the embedded, loopback-only set-up may run on this key; check_production_safety refuses it
# anywhere else.
INSECURE_DEV_SECRET_KEY = "django-insecure-happa-local-development-only"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY") or (INSECURE_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY to a long random value (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set DEBUG=true for "
        "local development on 127.0.0.1."
    )

# Encrypts secrets at rest (accounts/crypto.py); derived from SECRET_KEY when unset.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ",".join(LOOPBACK_HOSTS) if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The public URL of the site, used in links that leave it (e-mails, redirect URIs to register at an
# identity provider). Defaults to the embedded site.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "allauth.usersessions",
    "mozilla_django_oidc",
    "accounts",
    "clusters",
    "monitoring",
    "api",
    "happa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "happa.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's UserSessionsMiddleware, throttled: it writes the session's IP and last-seen time
    # at most once a minute instead of on every request (accounts/middleware.py says why).
    "accounts.middleware.UserSessionActivityMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
]

ROOT_URLCONF = "happa.urls"
WSGI_APPLICATION = "happa.wsgi.application"
ASGI_APPLICATION = "happa.asgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
                "happa.context_processors.platform",
                "accounts.staff_oidc.staff_sso",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'happa.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat write to one file at once: WAL lets readers go on while
    # one writes, IMMEDIATE takes the write lock up front so two writers queue instead of failing
    # half-way with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-happa.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and results, the channel layer, the cache -----------------------------

EMBEDDED_REDIS_PORT = env_int("EMBEDDED_REDIS_PORT", 6390)
REDIS_URL = env_str("REDIS_URL", f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "happa",
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 times a read out after 5 s by default, exactly channels-redis' BZPOPMIN
            # wait: an idle socket's receive would fail every 5 s. Reads may take longer here.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            # Members of dead processes would otherwise linger for a day and slow every broadcast.
            "group_expiry": 300,
            "capacity": 200,
            "prefix": "happa-ws",
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}

# --- Authentication ---------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "accounts.staff_oidc.StaffOIDCBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# allauth: customers, with e-mail as the login, verified e-mail, TOTP MFA, and SSO through their
# organization's own OpenID Connect provider (see accounts/sso.py).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Happa] "
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_ADAPTER = "accounts.sso.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.sso.SocialAccountAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ONLY = False
# Deliberate (docs/sso.md): an org's IdP never signs into an existing account by e-mail; users
# connect it while signed in. SSO apps come from IdentityProvider rows, never from settings.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
# allauth.usersessions: one row per signed-in browser, listed and ended on the account's sessions
# page (accounts/sessions.py). Activity (IP, last seen) is tracked, throttled by the middleware.
USERSESSIONS_TRACK_ACTIVITY = True
USERSESSIONS_ACTIVITY_SECONDS = env_int("USERSESSIONS_ACTIVITY_SECONDS", 60)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Happa"

# mozilla-django-oidc: operations staff sign in to the ops panel through the operator's own IdP.
# It does no discovery, so every endpoint is set (README explains how to read them off discovery).
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile groups")
OIDC_USE_PKCE = True
OIDC_STAFF_GROUPS_CLAIM = env_str("OIDC_STAFF_GROUPS_CLAIM", "groups")
OIDC_STAFF_GROUP = env_str("OIDC_STAFF_GROUP", "happa-ops")
OIDC_SUPERUSER_GROUP = env_str("OIDC_SUPERUSER_GROUP", "happa-admins")
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/ops/login/"
STAFF_OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and OIDC_OP_AUTHORIZATION_ENDPOINT)

# --- E-mail -----------------------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Happa <happa@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- AWS --------------------------------------------------------------------------------------

# With an endpoint set, boto3 talks to it: `make run` points it at the sandbox AWS (a moto server
# on loopback). Unset in production: real AWS, with the operator's default credentials.
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL")
AWS_DEFAULT_REGION = env_str("AWS_DEFAULT_REGION", "eu-central-1")
AWS_SANDBOX = bool(AWS_ENDPOINT_URL)
HAPPA_BASE_DOMAIN = env_str("HAPPA_BASE_DOMAIN", "k8s.happa.test")

# --- Provisioning engine (clusters/provisioning, docs/provisioning.md) --------------------------
# A run's lock lapses this long after its last step, so a killed worker blocks its cluster briefly.
HAPPA_RECONCILE_LOCK_SECONDS = env_int("HAPPA_RECONCILE_LOCK_SECONDS", 120)
# Beat re-runs clusters mid-work that no run touched for this long.
HAPPA_STUCK_AFTER_SECONDS = env_int("HAPPA_STUCK_AFTER_SECONDS", 180)
# One run yields the worker after this long and continues in a new run.
HAPPA_RECONCILE_RUN_SECONDS = env_int("HAPPA_RECONCILE_RUN_SECONDS", 120)
HAPPA_BASTION_INSTANCE_TYPE = env_str("HAPPA_BASTION_INSTANCE_TYPE", "t3.micro")
HAPPA_MASTER_INSTANCE_TYPE = env_str("HAPPA_MASTER_INSTANCE_TYPE", "m5.large")

# --- Static files, i18n -----------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need `collectstatic` first; the embedded set-up and tests serve as-is.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security ---------------------------------------------------------------------------------

SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# --- Monitoring's periodic tasks (monitoring/tasks.py) -----------------------------------------

HEALTH_POLL_SECONDS = env_int("HEALTH_POLL_SECONDS", 60)
# /metrics answers a Prometheus presenting `Authorization: Bearer <METRICS_TOKEN>` (or ops staff).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Each ASGI process republishes its open-websocket count this often (s/3); a process that stops
# (killed, crashed) drops out of happa_websocket_connections after at most this many seconds.
HAPPA_WS_GAUGE_TTL_SECONDS = env_int("HAPPA_WS_GAUGE_TTL_SECONDS", 60)
# Outgoing webhooks may reach loopback/private/link-local addresses only when this is on: for
# `make run` and tests posting to a loopback receiver, never in production (SSRF: see
# monitoring/egress.py).
HAPPA_WEBHOOK_ALLOW_PRIVATE = env_bool("HAPPA_WEBHOOK_ALLOW_PRIVATE", False)

# The API (api/): requests per minute per token before 429.
HAPPA_API_RATE_PER_MINUTE = env_int("HAPPA_API_RATE_PER_MINUTE", 600)
CELERY_BEAT_SCHEDULE.update(
    {
        "monitoring-poll-cluster-health": {
            "task": "monitoring.tasks.poll_cluster_health",
            "schedule": HEALTH_POLL_SECONDS,
            # A poll that waited longer than its interval is stale: the next one is coming.
            "options": {"expires": HEALTH_POLL_SECONDS},
        },
    }
)

from happa.safety import check_production_safety  # noqa: E402  (needs the values above)

check_production_safety(
    debug=DEBUG,
    secret_key=SECRET_KEY,
    insecure_dev_key=INSECURE_DEV_SECRET_KEY,
    allowed_hosts=ALLOWED_HOSTS,
    loopback_hosts=LOOPBACK_HOSTS,
)
