"""The client's address, as far as this deployment can know it (README: Behind proxies)."""

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def client_address(request: HttpRequest | Request) -> str:
    """The address of the client that sent `request`, for throttles and log-in lock-outs.

    The socket's peer (REMOTE_ADDR) unless `settings.TRUSTED_PROXIES` proxies stand in front.
    Each of those appends the address it received the request from to X-Forwarded-For, so
    the client is the TRUSTED_PROXIES-th entry from the right; entries further left were
    written by the client itself and are never believed. `Forwarded` and `X-Real-IP` are
    ignored: anyone can send them.
    """
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR", ""))
    proxies: int = settings.TRUSTED_PROXIES
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies == 0 or not forwarded.strip():
        return remote
    entries = [entry.strip() for entry in forwarded.split(",")]
    # Fewer entries than proxies: the request skipped one; the leftmost is the best guess.
    return entries[-min(proxies, len(entries))] or remote
