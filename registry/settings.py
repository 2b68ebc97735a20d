"""Django settings, read from the environment only (see the configuration table in README.md).

With nothing set, the service runs on its embedded default: SQLite and a file-system message
transport, both under ``DATA_DIR``. ``REGISTRY_ENV=production`` turns the defaults off and makes
every missing production value a start-up error.
"""

import json
import logging
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from registry.env import (
    development_secret_key,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
    require,
)

BASE_DIR = Path(__file__).resolve().parent.parent

REGISTRY_ENV = env_str("REGISTRY_ENV", "development")
if REGISTRY_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"REGISTRY_ENV must be development or production, got {REGISTRY_ENV!r}")
PRODUCTION = REGISTRY_ENV == "production"

# Embedded state (SQLite file, message files, development secret key, beat schedule).
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

_database_url = env_secret("DATABASE_URL")
_broker_url = env_secret("CELERY_BROKER_URL")
SECRET_KEY = env_secret("SECRET_KEY")
if PRODUCTION:
    require(
        {
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": _database_url,
            "CELERY_BROKER_URL": _broker_url,
            "ALLOWED_HOSTS": env_str("ALLOWED_HOSTS"),
        },
        reason="when REGISTRY_ENV=production (each also accepts a *_FILE variant where secret)",
    )
elif not SECRET_KEY:
    SECRET_KEY = development_secret_key(DATA_DIR / "secret_key")

DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must not be true when REGISTRY_ENV=production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "axes",
    "core",
    "inventory",
    "governance",
    "boms",
    "api",
    "portal",
]

MIDDLEWARE = [
    "core.request_context.RequestIdMiddleware",
    "core.health.HealthProbeMiddleware",
    # Before anything reads the body (CSRF reads a form's): a chunked body is read here.
    "api.middleware.ChunkedBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry.urls"
WSGI_APPLICATION = "registry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context.principal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        _database_url or f"sqlite:///{DATA_DIR / 'registry.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the worker write to one file: WAL lets readers go on during a write,
    # IMMEDIATE transactions take the write lock up front instead of failing on upgrade, and the
    # timeout waits for the lock rather than raising "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests share the database with a worker process, so it cannot live in memory.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-registry.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # filled by collectstatic in the image
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps in development, so no collectstatic is needed to click around.
WHITENOISE_USE_FINDERS = not PRODUCTION

# Cookies only over HTTPS in production; SECURE_COOKIES=false for a trial over plain HTTP.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
# Behind TLS (production) browsers are told to come back over HTTPS only; 0 turns it off.
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
X_FRAME_OPTIONS = "DENY"
# Scripts, styles, images and fonts from this origin only: no inline script, no handler attribute,
# no eval (the portal's charts and lineage pictures are inline SVG with presentation attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- People ---------------------------------------------------------------------------------------
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a sign-in while its name and address are locked out
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins for one user name from one address before that pair is locked out, and for how long.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("LOGIN_LOCKOUT_MINUTES", 15.0, minimum=0.1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False

# --- Inventory ------------------------------------------------------------------------------------
# How many levels of base models a lineage walk follows before it stops and says so.
LINEAGE_MAX_DEPTH = env_int("LINEAGE_MAX_DEPTH", 32, minimum=1)
# A lineage write touching more models than this locks the whole lineage rather than each model:
# PostgreSQL's lock table holds max_locks_per_transaction * max_connections locks (6,400 by default).
LINEAGE_LOCK_MAX_MODELS = env_int("LINEAGE_LOCK_MAX_MODELS", 256, minimum=1)

# --- CycloneDX BOMs (docs/boms.md) ----------------------------------------------------------------
# A scope of up to this many models is answered inline; a larger one becomes a job writing a file.
BOM_INLINE_MAX_MODELS = env_int("BOM_INLINE_MAX_MODELS", 5000, minimum=1)
# The largest CycloneDX document POST /api/v1/boms/ takes (read up to this many bytes, 413 past it).
BOM_UPLOAD_MAX_BYTES = env_int("BOM_UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)

# --- Compliance exports (docs/boms.md#exports) ----------------------------------------------------
# The Ed25519 key export files are signed with (PEM or a base64 seed); in development, generated once
# into the data folder; in production there is no fallback (an export then fails, naming the variable).
EXPORT_SIGNING_KEY = env_secret("EXPORT_SIGNING_KEY")
EXPORT_SIGNING_KEY_DEVELOPMENT_FILE = None if PRODUCTION else DATA_DIR / "export_signing_key.pem"
# How often beat looks for export schedules that are due.
EXPORT_BEAT_SECONDS = env_float("EXPORT_BEAT_SECONDS", 60.0, minimum=1.0)
# Where export files go: the default storage (MEDIA_ROOT) unless EXPORT_STORAGE_BACKEND names another
# Django storage class, built with the keyword arguments of EXPORT_STORAGE_OPTIONS (a JSON object).
_export_storage_backend = env_str("EXPORT_STORAGE_BACKEND")
if _export_storage_backend:
    try:
        _export_storage_options = json.loads(env_str("EXPORT_STORAGE_OPTIONS", "{}") or "{}")
    except ValueError as exc:
        raise ImproperlyConfigured(f"EXPORT_STORAGE_OPTIONS must be a JSON object: {exc}") from None
    if not isinstance(_export_storage_options, dict):
        raise ImproperlyConfigured("EXPORT_STORAGE_OPTIONS must be a JSON object")
    STORAGES["exports"] = {"BACKEND": _export_storage_backend, "OPTIONS": _export_storage_options}
else:
    STORAGES["exports"] = dict(STORAGES["default"])

# --- Upstream hubs --------------------------------------------------------------------------------
HF_ENDPOINT = env_str("HF_ENDPOINT", "https://huggingface.co")
HF_TOKEN = env_secret("HF_TOKEN")
MODELSCOPE_DOMAIN = env_str("MODELSCOPE_DOMAIN", "www.modelscope.cn")

# --- Upstream refresh -----------------------------------------------------------------------------
# The hub client's telemetry stays off: a server does not report on its environment, and with it on
# the client also fetches an "agent harnesses" list from HF_ENDPOINT in every process.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
HF_REQUEST_TIMEOUT_SECONDS = env_float("HF_REQUEST_TIMEOUT_SECONDS", 20.0, minimum=0.1)
# Requests in flight at once to one hub, per refresh run, and requests per second to one hub
# across every process that shares CACHE_URL (per process without it).
HUB_MAX_IN_FLIGHT = env_int("HUB_MAX_IN_FLIGHT", 32, minimum=1)
HUB_REQUESTS_PER_SECOND = env_int("HUB_REQUESTS_PER_SECOND", 10, minimum=1)
# Tries per model and run; transient errors wait REFRESH_BACKOFF_SECONDS * 2^n (with jitter, at
# most REFRESH_BACKOFF_MAX_SECONDS); a 429 waits what its Retry-After says, unless that is longer
# than REFRESH_MAX_RETRY_AFTER_SECONDS (the model is then left for the next run).
REFRESH_MAX_ATTEMPTS = env_int("REFRESH_MAX_ATTEMPTS", 5, minimum=1)
REFRESH_BACKOFF_SECONDS = env_float("REFRESH_BACKOFF_SECONDS", 1.0, minimum=0.0)
REFRESH_BACKOFF_MAX_SECONDS = env_float("REFRESH_BACKOFF_MAX_SECONDS", 60.0, minimum=0.0)
REFRESH_MAX_RETRY_AFTER_SECONDS = env_float("REFRESH_MAX_RETRY_AFTER_SECONDS", 300.0, minimum=0.0)
# How long one refresh may hold a model's lock (a dead holder on this host is replaced at once),
# and how often a refresh that waits for another one looks again.
REFRESH_LOCK_SECONDS = env_int("REFRESH_LOCK_SECONDS", 900, minimum=1)
REFRESH_LOCK_POLL_SECONDS = env_float("REFRESH_LOCK_POLL_SECONDS", 0.5, minimum=0.01)
# The scheduled refresh looks for stale models this often; a model is stale once its last
# refresh is older than REFRESH_STALE_AFTER_SECONDS (or it never had one, or it failed).
REFRESH_EVERY_SECONDS = env_float("REFRESH_EVERY_SECONDS", 3600.0, minimum=1.0)
REFRESH_STALE_AFTER_SECONDS = env_int("REFRESH_STALE_AFTER_SECONDS", 86400, minimum=1)
# After a failed refresh, registrations and the schedule wait this long before trying the model
# again (a registration meanwhile returns the failed job); after a permanent error (access refused,
# an answer that is no model) they wait REFRESH_PERMANENT_ERROR_RETRY_SECONDS.
REFRESH_RETRY_FAILED_AFTER_SECONDS = env_int("REFRESH_RETRY_FAILED_AFTER_SECONDS", 300, minimum=0)
REFRESH_PERMANENT_ERROR_RETRY_SECONDS = env_int("REFRESH_PERMANENT_ERROR_RETRY_SECONDS", 86400, minimum=0)
# The repository_url qualifier in the purls of internal models (pkg:generic/...?repository_url=...).
INTERNAL_MODEL_REPOSITORY_URL = env_str("INTERNAL_MODEL_REPOSITORY_URL", "https://models.internal.invalid")

# --- Audit reviews (docs/audits.md) ---------------------------------------------------------------
# Four eyes: who asked for a review (or created the token that asked) may not take or decide it.
AUDIT_FOUR_EYES = env_bool("AUDIT_FOUR_EYES", True)
# How long an approval stands when the auditor gives no expiry, per kind of review.
AUDIT_VALIDITY_DAYS = {
    "security": env_int("AUDIT_VALIDITY_DAYS_SECURITY", 180, minimum=1),
    "license": env_int("AUDIT_VALIDITY_DAYS_LICENSE", 365, minimum=1),
    "full": env_int("AUDIT_VALIDITY_DAYS_FULL", 180, minimum=1),
}
# The largest file a piece of evidence may be, and how often the schedule expires lapsed approvals
# (between runs, reads already show them expired).
AUDIT_EVIDENCE_MAX_BYTES = env_int("AUDIT_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
AUDIT_EXPIRE_EVERY_SECONDS = env_float("AUDIT_EXPIRE_EVERY_SECONDS", 3600.0, minimum=1.0)
# Uploaded evidence (and, later, exports) go through Django's storage: this folder by default.
MEDIA_ROOT = DATA_DIR / "media"

# --- REST framework -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.LimitOffsetOrCursor",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.errors.problem_exception_handler",
    # JSON in and out: other request bodies get 415, and errors are never HTML pages.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Checked first by every API view (api.throttling.ThrottleFirst), not after permissions.
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerCallerThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Unknown and malformed query parameters are 400s naming them.
    "DEFAULT_FILTER_BACKENDS": ["api.filtering.StrictFilterBackend"],
    # ``format`` is a filter (an artifact's serialization format); only /api/schema/ takes ?format= to
    # pick JSON or YAML (api.parsers.FormatParameterNegotiation).
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Model Provenance Registry API",
    "DESCRIPTION": "Inventory, provenance and audit status of AI models, for deploy tooling and people.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from the app itself (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets used under several field names get one name each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "AuditStatusEnum": "inventory.models.AuditStatus",
        "ReviewKindEnum": "governance.models.ReviewKind",
        "GateDecisionEnum": "api.governance.policy_serializers.DECISIONS",
        "ExportFormatEnum": "boms.export_models.ExportFormat",
        "FormatEnum": "inventory.models.ArtifactFormat",  # its name from before exports had a format too
        "ExportScopeEnum": "boms.export_models.ExportScopeKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_problem_responses",
    ],
}

# Shared by every process when it is Redis (request budgets count across gunicorn workers then);
# in-process memory by default.
_cache_url = env_str("CACHE_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
if _cache_url and not _cache_url.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, got {_cache_url!r}")
# Requests per caller (token, person or address) and period: N/sec, N/min, N/hour or N/day.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "1200/min")
# Larger request bodies are refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024)

# --- Background work ------------------------------------------------------------------------------
EMBEDDED_BROKER_DIR = DATA_DIR / "broker"
# How long a publish or a readiness probe waits for the broker before calling it unreachable.
BROKER_TIMEOUT_SECONDS = env_float("BROKER_TIMEOUT_SECONDS", 5.0, minimum=0.1)
CELERY_BROKER_URL = _broker_url or "filesystem://localhost/"
CELERY_TASK_TIME_LIMIT = env_int("TASK_TIME_LIMIT", 1800, minimum=1)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded transport: message files in the data folder, so a worker started from the same
    # folder with the same environment finds the messages the web process wrote.
    for folder in ("queue", "control"):
        (EMBEDDED_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(EMBEDDED_BROKER_DIR / "queue"),
        "data_folder_out": str(EMBEDDED_BROKER_DIR / "queue"),
        "control_folder": str(EMBEDDED_BROKER_DIR / "control"),
        "polling_interval": env_float("EMBEDDED_BROKER_POLL_SECONDS", 0.1, minimum=0.01),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # How long a message taken by a worker that then vanished (killed with its pool) stays
        # unseen before Redis hands it out again: longer than any task may run, so Redis does not
        # hand a running task to a second worker.
        "visibility_timeout": env_int("BROKER_VISIBILITY_TIMEOUT_SECONDS", CELERY_TASK_TIME_LIMIT * 2, minimum=1),
        # Look for such messages every 10 s (kombu's default looks only every 100 s).
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
        # A publisher that cannot connect gives up at once: the outbox keeps the work for the
        # relay's next round, and a web request never waits on an absent broker.
        "max_retries": 0,
    }
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "registry")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "refresh-stale-models": {
        "task": "inventory.refresh_stale",
        "schedule": REFRESH_EVERY_SECONDS,
    },
    "expire-audit-reviews": {
        "task": "governance.expire_reviews",
        "schedule": AUDIT_EXPIRE_EVERY_SECONDS,
    },
    "sweep-violations": {
        "task": "governance.sweep_violations",
        "schedule": env_float("VIOLATION_SWEEP_EVERY_SECONDS", 3600.0, minimum=1.0),
    },
    "purge-finished-outbox-messages": {
        "task": "core.purge_outbox",
        "schedule": env_float("OUTBOX_PURGE_EVERY_SECONDS", 3600.0, minimum=1.0),
    },
    "run-due-exports": {
        "task": "boms.run_due_exports",
        "schedule": EXPORT_BEAT_SECONDS,
    },
}

# The outbox relay (runs inside every worker): how often it looks for work to hand to the broker,
# how long a handed-over message may wait before it is handed over again (the broker may have lost
# it), and how long a started message stays with its worker before another may take it over.
OUTBOX_RELAY_INTERVAL_SECONDS = env_float("OUTBOX_RELAY_INTERVAL_SECONDS", 1.0, minimum=0.01)
OUTBOX_REDELIVER_AFTER_SECONDS = env_int("OUTBOX_REDELIVER_AFTER_SECONDS", 900, minimum=1)
OUTBOX_LEASE_SECONDS = CELERY_TASK_TIME_LIMIT + 60
# A message whose runs keep dying (its worker killed each time) fails after this many starts.
OUTBOX_MAX_RUNS = env_int("OUTBOX_MAX_RUNS", 5, minimum=1)
OUTBOX_KEEP_FINISHED_DAYS = env_int("OUTBOX_KEEP_FINISHED_DAYS", 7, minimum=0)

# Domain events: a subscriber that fails is tried again after EVENT_RETRY_SECONDS, doubling each
# time up to EVENT_RETRY_MAX_SECONDS, EVENT_DELIVERY_MAX_ATTEMPTS times in all. Modules named in
# EVENT_SUBSCRIBER_MODULES are imported at start-up: subscribers from outside the apps.
EVENT_RETRY_SECONDS = env_float("EVENT_RETRY_SECONDS", 5.0, minimum=0.0)
EVENT_RETRY_MAX_SECONDS = env_float("EVENT_RETRY_MAX_SECONDS", 600.0, minimum=0.0)
EVENT_DELIVERY_MAX_ATTEMPTS = env_int("EVENT_DELIVERY_MAX_ATTEMPTS", 10, minimum=1)
EVENT_SUBSCRIBER_MODULES = env_list("EVENT_SUBSCRIBER_MODULES", [])

# --- Logging: JSON lines, each with the request id of the work it belongs to ----------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
logging.captureWarnings(True)  # warnings become JSON log lines too
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.request_context.RequestIdLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        }
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Our own access log line replaces Django's, which would log every 4xx a second time.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        # The worker pool's own logger (billiard), which does not propagate to the root.
        "multiprocessing": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        # The hub client logs every request at INFO: thousands of lines per scheduled refresh.
        "httpx2": {"level": "WARNING"},
        # django-axes logs every sign-in and clean-up at INFO; lock-outs come at WARNING.
        "axes": {"level": "WARNING"},
    },
}
