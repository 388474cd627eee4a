"""Gunicorn settings, from the environment so that one image fits every host size.

WSGI with threads:           gunicorn --config gunicorn.conf.py config.wsgi
ASGI with the native worker: gunicorn --config gunicorn.conf.py --worker-class asgi config.asgi
"""

import multiprocessing
import os

pythonpath = "src"
# Inside a container the port must be reachable from outside it; set GUNICORN_BIND to
# 127.0.0.1:8000 when running on a host directly.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak never takes a host down.
max_requests = 1000
max_requests_jitter = 100
# Addresses of the proxies allowed to set X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# No control socket: it would be shared by every server of one user and needs a writable
# home, which a read-only container file system does not have.
control_socket_disable = True
