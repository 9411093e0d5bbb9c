"""Settings of the Moorage console, all from the environment (see README "Configuration").

Nothing secret lives in git: the secret key is generated on first use into `var/secret_key`
(mode 0600) unless `SECRET_KEY` is set.
"""
import os
import secrets
from pathlib import Path

import dj_database_url
from csp import constants as csp

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MOORAGE_VAR", BASE_DIR / "var"))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def load_secret_key() -> str:
    """The key from $SECRET_KEY, else from var/secret_key, made on first run (0600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


SECRET_KEY = load_secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "console.core",
    "console.teams",
    "console.accounts",
    "console.sso",
    "console.hosts",
    "console.images",
    "console.containers",
    "console.grants",
    "console.stacks",
    "console.volumes",
    "console.quotas",
    "console.schedules",
    "console.jobs",
    "console.hostapi",
    "console.audit",
    "console.streams",
]

MIDDLEWARE = [
    # First, so that it sees every other answer: errors under /api/ as JSON
    # (console/core/errors.py).
    "console.core.errors.ApiErrorsMiddleware",
    # A host's key opens the host API alone: refused (and audited) anywhere else.
    "console.hostapi.fence.HostKeyFence",
    "django.middleware.security.SecurityMiddleware",
    "console.core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Whether the session passed its second factor; if it must and did not, only the
    # two-factor pages answer it (console/accounts/middleware.py).
    "django_otp.middleware.OTPMiddleware",
    "console.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "console.urls"
ASGI_APPLICATION = "console.asgi.application"

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
                "console.grants.context.pending_requests",
            ],
        },
    },
]

# SQLite by default (WAL, so the web process reads while a worker writes); PostgreSQL (or any
# database dj-database-url knows) through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'moorage.sqlite3'}", conn_max_age=0),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    })

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from static/ as well, so a checkout works before `collectstatic`.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LOGIN_URL = "login"
# Single sign-on (console/sso/configuration.py: MOORAGE_OIDC_*, MOORAGE_LDAP_*). Local accounts
# first (a superuser can turn them off, but for the first superuser), then the directories.
from console.sso.configuration import ldap_settings, oidc_settings  # noqa: E402

_single_sign_on = {**oidc_settings(os.environ), **ldap_settings(os.environ)}
globals().update(_single_sign_on)
AUTHENTICATION_BACKENDS = ["console.accounts.backends.LocalAccountBackend"]
if _single_sign_on["LDAP_ENABLED"]:
    AUTHENTICATION_BACKENDS.append("console.sso.ldap.LdapBackend")
if _single_sign_on["OIDC_ENABLED"]:
    AUTHENTICATION_BACKENDS.append("console.sso.oidc.OidcBackend")
# Two-factor login (console/accounts/two_factor.py): who must have it is the login settings'
# and the teams' business (in the database); a token is made only within this many seconds
# of a second factor.
TWO_FACTOR_FRESH_SECONDS = int(os.environ.get("MOORAGE_TWO_FACTOR_FRESH_SECONDS", 300))
OTP_TOTP_ISSUER = os.environ.get("MOORAGE_TWO_FACTOR_ISSUER", "Moorage")
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Cookies and headers. HTTPS deployments set MOORAGE_HTTPS=1.
HTTPS = env_bool("MOORAGE_HTTPS")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 12 * 3600))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 3600))
# Content-Security-Policy (django-csp, see console/core/csp.py): our own scripts, styles,
# images and fonts only; nothing inline; no plugins; no framing; forms post only here.
# connect-src also gets the page's websocket origin, and pages hosting a terminal allow
# inline styles (xterm.js draws with them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}
# Whether subdomains are HTTPS-only too is the deployment's business, not ours to declare.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def without_credentials(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# `rediss://` (`./moorage up --tls`): Redis's certificate is checked, host name included,
# against MOORAGE_REDIS_CA (a CA file), else the system's CAs. redis-py's connection options,
# for every client of REDIS_URL (the channel layer, Celery, the hosts' Redis users).
REDIS_CA = os.environ.get("MOORAGE_REDIS_CA") or None
REDIS_SSL = ({"ssl_cert_reqs": "required", **({"ssl_ca_certs": REDIS_CA} if REDIS_CA else {})}
             if REDIS_URL.startswith("rediss://") else {})

# Where the hosts' agents reach Redis (their notices), without credentials: each agent is its
# own Redis user (`host-<name>`, its key the password). `rediss://` across machines.
AGENT_REDIS_URL = os.environ.get("MOORAGE_AGENT_REDIS_URL") or without_credentials(REDIS_URL)

if os.environ.get("MOORAGE_CHANNEL_LAYER") == "memory":
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    from redis.exceptions import ConnectionError as RedisConnectionError

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's default read timeout (5 s) equals channels_redis's blocking pop
            # (BZPOPMIN, 5 s): an idle receive then raises TimeoutError and ends the
            # consumer. Reads wait longer than the pop.
            # A command on a pooled connection that a Redis restart left dead is sent again
            # once on a new connection, instead of failing the socket that needed it.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15,
                                  "socket_connect_timeout": 5,
                                  "retry_on_error": [RedisConnectionError], **REDIS_SSL}],
                       "capacity": 500, "expiry": 30},
        },
    }

# Celery: JSON only (workers run as root and must not unpickle), one message in flight per
# worker process, acknowledged after the task ran: every task is idempotent (it claims its job
# row with a conditional update), so a redelivered message does nothing.
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_USE_SSL = REDIS_SSL or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_CREATE_MISSING_QUEUES = True
CELERY_TASK_DEFAULT_QUEUE = "console"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
# Scheduled actions (console/schedules): beat asks for a tick this often; each tick fires the
# schedules that are due. A tick nobody ran in time is dropped: the next one does its work.
SCHEDULE_TICK_SECONDS = float(os.environ.get("MOORAGE_SCHEDULE_TICK_SECONDS", 15))
CELERY_BEAT_SCHEDULE = {
    "schedules-tick": {"task": "console.schedules.tick", "schedule": SCHEDULE_TICK_SECONDS,
                       "options": {"queue": "console", "expires": SCHEDULE_TICK_SECONDS}},
}

# Hosts and jobs (a host's agent is told these periods when it starts).
HOST_HEARTBEAT_SECONDS = float(os.environ.get("MOORAGE_HEARTBEAT_SECONDS", 5))
HOST_OFFLINE_AFTER_SECONDS = float(os.environ.get("MOORAGE_OFFLINE_AFTER_SECONDS", 20))
HOST_SYNC_SECONDS = float(os.environ.get("MOORAGE_SYNC_SECONDS", 15))
# A row the engine no longer lists is forgotten after this many consecutive syncs.
SYNC_MISSES = max(1, int(os.environ.get("MOORAGE_SYNC_MISSES", 3)))
JOB_QUEUED_TIMEOUT_SECONDS = float(os.environ.get("MOORAGE_JOB_QUEUED_TIMEOUT", 600))
JOB_WAIT_SECONDS = float(os.environ.get("MOORAGE_JOB_WAIT_SECONDS", 120))
# How long a join token lasts unless its maker says otherwise.
JOIN_TOKEN_SECONDS = int(os.environ.get("MOORAGE_JOIN_TOKEN_SECONDS", 3600))
# The web process's own bookkeeping (stale jobs and terminal sessions), every this many seconds
# in a background thread (0: never; the hosts' workers reap jobs too).
HOUSEKEEPING_SECONDS = float(os.environ.get("MOORAGE_HOUSEKEEPING_SECONDS", 10))
# The PIDs limit of containers run by anyone but superusers: the most they may ask for, and
# what they get when they ask for none (0: no cap). Without one, a fork bomb in a container
# exhausts the host's process table.
MAX_PIDS = int(os.environ.get("MOORAGE_MAX_PIDS", 4096))
# The largest build context a build request may carry (it travels through the database).
BUILD_CONTEXT_MAX_BYTES = int(os.environ.get("MOORAGE_BUILD_CONTEXT_MAX_BYTES", 32 << 20))
# How deep (path components) and how many entries an uploaded context may hold when the host
# unpacks it: the engine walks trees at most 256 directories deep.
BUILD_CONTEXT_MAX_DEPTH = int(os.environ.get("MOORAGE_BUILD_CONTEXT_MAX_DEPTH", 256))
BUILD_CONTEXT_MAX_ENTRIES = int(os.environ.get("MOORAGE_BUILD_CONTEXT_MAX_ENTRIES", 200_000))

# Stacks: the largest Compose file and .env a stack may have (the engine refuses files over
# 4 MiB); how long a page or `?dry_run=1` waits for the host's plan; how often a host measures
# its volumes' sizes (walking their files) in its syncs.
STACK_FILE_MAX_BYTES = int(os.environ.get("MOORAGE_STACK_FILE_MAX_BYTES", 512 << 10))
STACK_PLAN_WAIT_SECONDS = float(os.environ.get("MOORAGE_STACK_PLAN_WAIT_SECONDS", 30))
VOLUME_SIZE_SECONDS = float(os.environ.get("MOORAGE_VOLUME_SIZE_SECONDS", 60))

# Terminals and log streams: how long a terminal whose socket dropped waits to be resumed
# before its session is ended; where terminal sessions are recorded (asciicast v2), and how
# much of one session is kept.
TERMINAL_RESUME_SECONDS = float(os.environ.get("MOORAGE_TERMINAL_RESUME_SECONDS", 300))
RECORDINGS_DIR = Path(os.environ.get("MOORAGE_RECORDINGS", VAR_DIR / "recordings"))
RECORDING_MAX_BYTES = int(os.environ.get("MOORAGE_RECORDING_MAX_BYTES", 64 << 20))
# What is typed is not recorded unless asked: passwords typed at prompts that do not echo
# them would be kept and replayable. The echoed output shows what a shell displayed.
RECORD_TERMINAL_INPUT = env_bool("MOORAGE_RECORD_TERMINAL_INPUT")

# The registries console users may pull from (`host[:port]` as in an image reference, Docker
# Hub is docker.io), comma-separated; empty: any. Superusers may pull from anywhere. A pull
# makes the host's worker, which runs as root on the host's network, connect where the
# reference says.
PULL_REGISTRIES = [name.strip().lower() for name in
                   os.environ.get("MOORAGE_PULL_REGISTRIES", "").split(",") if name.strip()]
# Where non-superusers' pulls may not connect, besides the host's own, loopback and link-local
# addresses and its containers' networks (always refused): addresses, CIDRs and host names;
# and what is let through all the same: `address[:port]`, `name[:port]` or CIDRs (a registry
# the host runs on loopback, say). Checked by the host after DNS, on every connection a pull
# makes, redirects included.
PULL_DENY = env_list("MOORAGE_PULL_DENY")
PULL_ALLOW = env_list("MOORAGE_PULL_ALLOW")

# Audit retention in days; empty = keep forever.
AUDIT_RETENTION_DAYS = int(os.environ["AUDIT_RETENTION_DAYS"]) if os.environ.get(
    "AUDIT_RETENTION_DAYS") else None

# Failed logins (console/accounts/login_limits.py): after this many failures of one username
# from one address within the window, that pair is refused until the window has passed; after
# the much higher address limit, that address is refused for every username.
LOGIN_FAILURE_LIMIT = int(os.environ.get("MOORAGE_LOGIN_FAILURE_LIMIT", 10))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("MOORAGE_LOGIN_ADDRESS_FAILURE_LIMIT", 100))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("MOORAGE_LOGIN_FAILURE_WINDOW", 300))

# Where users other than superusers may publish container ports on a host: IPv4 addresses and
# networks, `*` for every address but loopback; host ports and ranges (console/containers/
# publishing.py; checked when the console starts).
PUBLISH_ADDRESSES = os.environ.get("MOORAGE_PUBLISH_ADDRESSES", "*")
PUBLISH_PORTS = os.environ.get("MOORAGE_PUBLISH_PORTS", "1024-65535")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "console.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "console.core.api.Pagination",
    # The console's errors (console/core/errors.py) answered with their status and message.
    "EXCEPTION_HANDLER": "console.core.errors.api_exception_handler",
    # JSON nested too deep or holding NUL characters is a 400 (console/core/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["console.core.parsers.JSONParser",
                               "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Moorage API",
    "DESCRIPTION": "Containers, images, hosts, jobs, teams, grants, tokens and the audit log.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # A job's kind and state appear in two components (a job, and a job with its output).
    "ENUM_NAME_OVERRIDES": {"JobKindEnum": "console.jobs.models.Job.Kind",
                            "JobStateEnum": "console.jobs.models.Job.State"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "console.streams.schema.add_log_endpoint"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
