"""Settings: read once from the environment (the operator contract: README "Operator contract").

Unset DATABASE_URL / REDIS_URL mean the embedded default: PostgreSQL and Redis
started from pip packages under var/ (see tuco.embedded). Everything else has
a dev default here and is required in production.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from tuco import crypto, embedded, error_reporting

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production"
# Unset: the key `make run` made for this checkout (var/secret_key), so a bare `manage.py` works after it.
_LOCAL_KEY = embedded.VAR_DIR / "secret_key"
SECRET_KEY = env("SECRET_KEY", default="") or (_LOCAL_KEY.read_text().strip() if _LOCAL_KEY.is_file() else "")
SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY
DEBUG = env.bool("DEBUG", default=False)
if SECRET_KEY == DEV_SECRET_KEY and not DEBUG:
    # Sessions, password resets and signed values would be forgeable by anyone who read this file.
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: set it to a long random string (e.g. `python -c \"import secrets; "
        "print(secrets.token_urlsafe(50))\"`), or set DEBUG=true for local development. "
        "`make run` makes one for you under var/.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Keys of the secrets stored encrypted (tuco.crypto, docs/encryption.md): required in production;
# dev mode (DEBUG, or the embedded engines) falls back to a key generated once under var/.
TUCO_ENCRYPTION_KEYS = crypto.keys_from_environment(
    env("TUCO_ENCRYPTION_KEYS", default=""), dev_mode=DEBUG or not env("DATABASE_URL", default=""),
    dev_key_path=BASE_DIR / "var" / "dev-encryption-key")

# --- HTTPS (off by default so plain-http development works; docker/env.example turns them on) ----------
# Cookies only over https (session, CSRF).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("TUCO_SECURE_COOKIES", default=False)
SECURE_HSTS_SECONDS = env.int("TUCO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("TUCO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("TUCO_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("TUCO_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^health/"]  # load balancers probe over plain http
# Behind a TLS-terminating proxy: the request header that says the client used https, e.g.
# TUCO_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (only if the proxy always sets or strips it).
_PROXY_SSL_HEADER = env("TUCO_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER else None
# Messages (the admin shows a new API key or signing secret once through one) live in the server-side
# session, not in Django's default signed-but-readable cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- engines -----------------------------------------------------------------
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", **embedded.ensure_postgres()}}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
# Off by default (Django's default): the check is a `SELECT 1` round trip at the start of every
# request and task, about 8 % of POST /api/messages throughput (docs/performance.md). Without it a
# connection dropped by a database restart fails the one request or task that finds it; Django then
# sees the error and replaces the connection (close_old_connections at request end, and before each
# task in tuco.celery). A failed POST wrote nothing and is safe to retry with its Idempotency-Key; a
# failed task is retried (tuco.task_policies). tests/e2e/test_database_loss.py shows both.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
# Behind pgbouncer in transaction mode a session lasts one transaction: a `.iterator()` outside a transaction
# declares a WITH HOLD cursor that the next statement may not find. The project's own iterators run inside
# transactions; this covers everything else (docs/deployment.md "PostgreSQL behind pgbouncer").
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DB_DISABLE_SERVER_SIDE_CURSORS", default=False)
# No automatic server-side prepared statements, which an old transaction pooler would hand to the wrong
# session: client-side binding cursors (Django's default for psycopg 3; OPTIONS "server_side_binding" stays
# off). The one exception, on purpose: POST /api/messages' statement (messaging/services/create_sql.py) is prepared
# on each connection's first use, which takes PostgreSQL's parsing and planning off every later send
# (docs/performance.md). A protocol-level prepare that pgbouncer ≥ 1.21 tracks with `max_prepared_statements`;
# an older pgbouncer, or one without that setting, in transaction mode needs DB_PREPARED_STATEMENTS=false.
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
# psycopg prepares nothing, even when asked, while prepare_threshold is None; a threshold no statement reaches
# (2**31 runs of one text) keeps the automatic preparation off and lets create_sql ask for its one statement.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "prepare_threshold", 2**31 - 1 if DB_PREPARED_STATEMENTS else None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="") or embedded.ensure_redis()


def _broker_url(redis_url: str) -> str:
    # kombu spells a unix-socket Redis as redis+socket://
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or _broker_url(REDIS_URL)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "tuco",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
}

# --- Django ------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "tuco",
    "webhooks",
    "leads",
    "lines",
    "messaging",
    "fallback",
    "campaigns",
]
# Development tools (the relay simulator's `manage.py relay_simulator`): present in a source checkout,
# left out of the production image (.dockerignore) and switched off there (TUCO_DEVTOOLS=false).
if env.bool("TUCO_DEVTOOLS", default=True) and importlib.util.find_spec("devtools") is not None:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "tuco.middleware.CorrelationIdMiddleware",
    "tuco.limits.BodyLimitMiddleware",
    "tuco.request_params.ParameterGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tuco.urls"
WSGI_APPLICATION = "tuco.wsgi.application"

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
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from finders in dev; keep it quiet
MEDIA_ROOT = Path(env("TUCO_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads and the per-line attachment cache (tuco.storage): MEDIA_ROOT, or an S3-compatible bucket shared by
# every host (README "Object storage"). Credentials unset: boto3's own chain (AWS_* env vars, an instance role).
TUCO_STORAGE = env("TUCO_STORAGE", default="filesystem").strip().lower()
if TUCO_STORAGE == "s3":
    from botocore.config import Config as _BotoConfig

    _S3_ADDRESSING_STYLE = env("TUCO_S3_ADDRESSING_STYLE", default="") or None  # path | virtual | auto

    STORAGES["tuco_media"] = {"BACKEND": "tuco.storage.S3MediaStorage", "OPTIONS": {
        "bucket_name": env("TUCO_S3_BUCKET"),
        "endpoint_url": env("TUCO_S3_ENDPOINT_URL", default="") or None,
        "region_name": env("TUCO_S3_REGION", default="") or None,
        "access_key": env("TUCO_S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env("TUCO_S3_SECRET_ACCESS_KEY", default="") or None,
        "addressing_style": _S3_ADDRESSING_STYLE,
        "location": env("TUCO_S3_PREFIX", default="").strip("/"),
        "default_acl": None, "querystring_auth": True, "file_overwrite": True,
        # Given a client config, django-storages no longer applies addressing_style itself.
        "client_config": _BotoConfig(s3={"addressing_style": _S3_ADDRESSING_STYLE}, signature_version="s3v4",
                                     connect_timeout=5, read_timeout=30,
                                     retries={"max_attempts": 3, "mode": "standard"}),
    }}
elif TUCO_STORAGE == "filesystem":
    STORAGES["tuco_media"] = {"BACKEND": "tuco.storage.AtomicFileSystemStorage"}  # location: MEDIA_ROOT
else:
    raise ImproperlyConfigured(f"TUCO_STORAGE must be 'filesystem' or 's3', not {TUCO_STORAGE!r}")
WHITENOISE_USE_FINDERS = True  # admin assets work without a collectstatic step in dev

# Request bodies: JSON API bodies are small; uploads have their own 25 MB cap.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("TUCO_MAX_BODY_BYTES", default=1024 * 1024)
# A raw email with its attachments, POSTed to /hooks/email/<lineId> by the inbound-mail service.
TUCO_INBOUND_EMAIL_MAX_BYTES = env.int("TUCO_INBOUND_EMAIL_MAX_BYTES", default=25 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tuco.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tuco.auth.WorkspaceAccess"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tuco.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "tuco.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tuco API",
    "DESCRIPTION": "Send iMessage, SMS and email through Tuco lines; track delivery, replies and fallbacks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api",
    "APPEND_COMPONENTS": {
        "securitySchemes": {"ApiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "tuco_sk_…"}}
    },
    "SECURITY": [{"ApiKey": []}],
    "AUTHENTICATION_WHITELIST": [],
    # A campaign step's `channel` and a message's `messageType` are one choice set: one schema name.
    "ENUM_NAME_OVERRIDES": {"MessageTypeEnum": ["imessage", "sms", "email"]},
    # The default enum hook, then the 400 of tuco.request_params on every operation with parameters and the
    # 413 of tuco.limits on every operation with a body.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "tuco.request_params.document_parameter_refusals",
                             "tuco.limits.document_body_limit"],
}

# --- Celery ------------------------------------------------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Countdowns stay far below this (docs/architecture.md: long waits live on the row, beat re-enqueues).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 1, "socket_timeout": 2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A POST must not hang when the broker is down: fail fast, the row is already committed.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per kind of outbound work, so a slow tenant endpoint cannot starve the sends: relay sends
# (and their verification), outgoing webhook deliveries, fallback SMS. The Procfile runs a worker per
# group; a worker started without -Q consumes every queue (the simplest deployment, and the tests').
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = tuple(Queue(name) for name in ("celery", "sends", "webhooks", "fallback"))
CELERY_TASK_ROUTES = {
    "messaging.tasks.dispatch_message": {"queue": "sends"},
    "messaging.tasks.verify_send": {"queue": "sends"},
    "messaging.tasks.dispatch_fallback": {"queue": "fallback"},
    "tuco.webhooks.tasks.deliver_webhook_event": {"queue": "webhooks"},
}
# Time limits per task. Celery enforces them in prefork workers only; under the threads pool the Procfile
# uses, every task is bounded by its outbound calls instead (each has an overall deadline: tuco.http).
# The longest legitimate task is a send with attachments: a relay call per part (TUCO_RELAY_TIMEOUT_SECONDS)
# after each part's download (TUCO_ATTACHMENT_TOTAL_TIMEOUT_SECONDS).
CELERY_TASK_SOFT_TIME_LIMIT = env.int("TUCO_TASK_SOFT_TIME_LIMIT_SECONDS", default=1200)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_TASK_ANNOTATIONS = {
    "tuco.webhooks.tasks.deliver_webhook_event": {"soft_time_limit": 60, "time_limit": 90},
    "messaging.tasks.dispatch_fallback": {"soft_time_limit": 120, "time_limit": 150},
    "messaging.tasks.sweep_due_messages": {"soft_time_limit": 120, "time_limit": 150},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup closes every DB connection around every task unless this is set, which makes
# each task open a new PostgreSQL connection. Keep them; tuco.celery applies Django's own age and
# health rules (CONN_MAX_AGE, CONN_HEALTH_CHECKS) before each task instead.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# --- Tuco operator contract ----------------------------------------------------
TUCO_PUBLIC_URL = env("TUCO_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# Off unless asked for: with it on, webhook, fallback and attachment URLs may reach loopback, private and
# metadata addresses (SSRF). `make run` (tuco.run) and the test settings turn it on for their local receivers.
TUCO_ALLOW_PRIVATE_URLS = env.bool("TUCO_ALLOW_PRIVATE_URLS", default=False)
TUCO_RATE_LIMITS_ENABLED = env.bool("TUCO_RATE_LIMITS_ENABLED", default=True)
TUCO_DEVICE_GAP_SECONDS = env.int("TUCO_DEVICE_GAP_SECONDS", default=30)
TUCO_CONTACT_GAP_SECONDS = env.int("TUCO_CONTACT_GAP_SECONDS", default=45)
# The gaps are taken again at the relay call; a hold up to this long is slept out in the worker, a longer
# one queues the message again (messaging.send.pacing.wait_for_call_slot).
TUCO_PACING_INLINE_WAIT_SECONDS = env.float("TUCO_PACING_INLINE_WAIT_SECONDS", default=10.0)
UNIBOX_REPLY_RETRY_ATTEMPTS = env.int("UNIBOX_REPLY_RETRY_ATTEMPTS", default=5)
UNIBOX_REPLY_RETRY_VERIFY_SECONDS = env.float("UNIBOX_REPLY_RETRY_VERIFY_SECONDS", default=90)
UNIBOX_REPLY_RETRY_GAP_SECONDS = env.float("UNIBOX_REPLY_RETRY_GAP_SECONDS", default=60)
SYNC_FALLBACK_RETRY_ATTEMPTS = env.int("SYNC_FALLBACK_RETRY_ATTEMPTS", default=3)
SYNC_FALLBACK_RETRY_GAP_SECONDS = env.float("SYNC_FALLBACK_RETRY_GAP_SECONDS", default=30)
TUCO_SWEEP_INTERVAL_SECONDS = env.float("TUCO_SWEEP_INTERVAL_SECONDS", default=10)
# Campaign step waits are multiplied by this (1 in production; end-to-end tests make an hour a few seconds).
TUCO_CAMPAIGN_WAIT_SCALE = env.float("TUCO_CAMPAIGN_WAIT_SCALE", default=1.0)
TUCO_SENDING_STUCK_SECONDS = env.float("TUCO_SENDING_STUCK_SECONDS", default=300)
TUCO_RELAY_TIMEOUT_SECONDS = env.float("TUCO_RELAY_TIMEOUT_SECONDS", default=130)
TUCO_RELAY_MAX_RESPONSE_BYTES = env.int("TUCO_RELAY_MAX_RESPONSE_BYTES", default=8 * 1024 * 1024)
TUCO_AVAILABILITY_GAP_SECONDS = env.float("TUCO_AVAILABILITY_GAP_SECONDS", default=3)
TUCO_WEBHOOK_RETRY_BASE_SECONDS = env.float("TUCO_WEBHOOK_RETRY_BASE_SECONDS", default=30)
# Extensions of the contract (same naming; documented in README):
TUCO_VERIFY_POLL_SECONDS = env.float("TUCO_VERIFY_POLL_SECONDS", default=5)
TUCO_LINE_RECHECK_SECONDS = env.float("TUCO_LINE_RECHECK_SECONDS", default=60)
TUCO_DEDUP_WINDOW_SECONDS = env.int("TUCO_DEDUP_WINDOW_SECONDS", default=15 * 60)
# Per-process caches of the API key → workspace lookup and a workspace's active lines (tuco/hot_cache.py):
# another process sees a revoked key / past-due workspace / deactivated line within this many seconds.
TUCO_API_KEY_CACHE_SECONDS = env.float("TUCO_API_KEY_CACHE_SECONDS", default=10)
TUCO_LINE_CACHE_SECONDS = env.float("TUCO_LINE_CACHE_SECONDS", default=5)
TUCO_IDEMPOTENCY_TTL_SECONDS = env.int("TUCO_IDEMPOTENCY_TTL_SECONDS", default=24 * 3600)
TUCO_SWEEP_BATCH_SIZE = env.int("TUCO_SWEEP_BATCH_SIZE", default=500)
TUCO_AVAILABILITY_CACHE_POSITIVE_SECONDS = env.int("TUCO_AVAILABILITY_CACHE_POSITIVE_SECONDS", default=30 * 24 * 3600)
TUCO_AVAILABILITY_CACHE_NEGATIVE_SECONDS = env.int("TUCO_AVAILABILITY_CACHE_NEGATIVE_SECONDS", default=24 * 3600)
TUCO_WEBHOOK_PAUSE_AFTER_FAILURES = env.int("TUCO_WEBHOOK_PAUSE_AFTER_FAILURES", default=20)
TUCO_EMAIL_MESSAGE_ID_DOMAIN = env("TUCO_EMAIL_MESSAGE_ID_DOMAIN", default="mail.tuco.ai")
# Attachments: per-line cache limits and download timeouts.
TUCO_ATTACHMENT_CACHE_MAX_BYTES = env.int("TUCO_ATTACHMENT_CACHE_MAX_BYTES", default=2 * 1024**3)
TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS = env.int("TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS", default=7 * 24 * 3600)
TUCO_ATTACHMENT_CONNECT_TIMEOUT_SECONDS = env.float("TUCO_ATTACHMENT_CONNECT_TIMEOUT_SECONDS", default=5)
TUCO_ATTACHMENT_READ_TIMEOUT_SECONDS = env.float("TUCO_ATTACHMENT_READ_TIMEOUT_SECONDS", default=20)
TUCO_ATTACHMENT_TOTAL_TIMEOUT_SECONDS = env.float("TUCO_ATTACHMENT_TOTAL_TIMEOUT_SECONDS", default=60)
# Uploads (POST /api/uploads): kept this long unless a waiting message names them (0 = forever); per-workspace
# quota (0 = no limit); how often beat prunes the uploads and the attachment cache.
TUCO_UPLOAD_RETENTION_DAYS = env.float("TUCO_UPLOAD_RETENTION_DAYS", default=30)
TUCO_UPLOAD_QUOTA_BYTES = env.int("TUCO_UPLOAD_QUOTA_BYTES", default=2 * 1024**3)
TUCO_UPLOAD_QUOTA_FILES = env.int("TUCO_UPLOAD_QUOTA_FILES", default=10_000)
TUCO_DISK_PRUNE_INTERVAL_SECONDS = env.float("TUCO_DISK_PRUNE_INTERVAL_SECONDS", default=3600)

# --- metrics and error reporting (README "Metrics", "Error reporting") ----------------------------------
# Bearer token of GET /metrics (web) and of the workers' metrics port; unset: both are off.
TUCO_METRICS_TOKEN = env("TUCO_METRICS_TOKEN", default="")
# Each Celery worker process serves its own metrics on this port (unset: none); the address to bind.
TUCO_WORKER_METRICS_PORT = env.int("TUCO_WORKER_METRICS_PORT", default=None)
TUCO_WORKER_METRICS_ADDR = env("TUCO_WORKER_METRICS_ADDR", default="127.0.0.1")
# Error reporting to Sentry: off unless SENTRY_DSN is set; secrets scrubbed (tuco.error_reporting).
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENABLED = error_reporting.sentry_init(
    dsn=SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", default=""), release=env("SENTRY_RELEASE", default=""),
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0))

# --- logging (structured JSON, one event name per fact) --------------------------
TUCO_LOG_LEVEL = env("TUCO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "tuco.logging.json_formatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": TUCO_LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
    },
}
from tuco.logging import configure_structlog  # noqa: E402

configure_structlog()
