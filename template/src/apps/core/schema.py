"""OpenAPI descriptions for this project's own building blocks (drf-spectacular).

Extensions register themselves when this module is imported: CoreConfig.ready() does it.
"""

from drf_spectacular.authentication import SessionScheme


class ProjectSessionScheme(SessionScheme):  # type: ignore[no-untyped-call]  # untyped registry hook
    """Documents apps.core.authentication.SessionAuthentication as cookie auth."""

    target_class = "apps.core.authentication.SessionAuthentication"
