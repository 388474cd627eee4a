"""ASGI entry point (gunicorn's ASGI worker). Production sets DJANGO_SETTINGS_MODULE."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
# Under ASGI, connections come from psycopg's pool unless the environment says otherwise
# (apps.core.database): async requests do not map to threads, persistent connections would.
os.environ.setdefault("DJANGO_DB_POOL", "true")

application = get_asgi_application()
