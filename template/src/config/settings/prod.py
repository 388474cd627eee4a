"""Production: everything from the environment; refuses to start without the essentials.

A missing `DJANGO_SECRET_KEY`, `DATABASE_URL`, `DJANGO_ALLOWED_HOSTS` or `REDIS_URL` stops
start-up with environs' `EnvError`, which names the variable.
"""

import logging

from apps.core.logs import logging_config
from config.settings.base import *  # noqa: F403
from config.settings.base import CSP_POLICY, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
# Old keys stay valid for signatures (sessions, password resets) while a new key rolls out.
SECRET_KEY_FALLBACKS: list[str] = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL",
        conn_max_age=env.int("DJANGO_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
        ssl_require=env.bool("DJANGO_DATABASE_SSL_REQUIRE", default=False),
    ),
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("REDIS_URL"),
    },
}

# HTTPS only. The TLS terminating proxy must set X-Forwarded-Proto and strip any value a
# client sent: behind a proxy that passes the header through, a client could claim https.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Load balancers probe over plain http on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# Roll a new policy out in report-only mode first: browsers report, nothing breaks.
_CSP_REPORT_ONLY = env.bool("DJANGO_CSP_REPORT_ONLY", default=False)
SECURE_CSP = {} if _CSP_REPORT_ONLY else CSP_POLICY
SECURE_CSP_REPORT_ONLY = CSP_POLICY if _CSP_REPORT_ONLY else {}

MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env.str("DJANGO_SMTP_HOST", default="localhost"),
            "port": env.int("DJANGO_SMTP_PORT", default=587),
            "username": env.str("DJANGO_SMTP_USER", default=""),
            "password": env.str("DJANGO_SMTP_PASSWORD", default=""),
            "use_tls": env.bool("DJANGO_SMTP_USE_TLS", default=True),
            "timeout": env.int("DJANGO_SMTP_TIMEOUT", default=10),
        },
    },
}

# One JSON object per line for the log collector, each with the request id.
LOGGING = logging_config(
    formatter="json", level=env.log_level("DJANGO_LOG_LEVEL", default=logging.INFO)
)
