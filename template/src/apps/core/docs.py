"""The API documentation pages, served from local assets under the strict CSP.

Swagger UI and Redoc set inline styles at run time, and Redoc starts a web worker from a
blob URL, so these two pages (and no other) get a policy that allows exactly that. Scripts
still load only from this origin: the split Swagger view serves its init script as a file.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.csp import CSP
from django.utils.decorators import method_decorator
from django.views.decorators.csp import csp_override, csp_report_only_override
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


def _widen_for_docs(policy: Mapping[str, Any]) -> dict[str, Any]:
    if not policy:  # that header is switched off; keep it off
        return {}
    return {**policy, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE], "worker-src": [CSP.SELF, "blob:"]}


docs_csp = [
    csp_override(_widen_for_docs(settings.SECURE_CSP)),
    csp_report_only_override(_widen_for_docs(settings.SECURE_CSP_REPORT_ONLY)),
]


@method_decorator(docs_csp, name="dispatch")
class SwaggerView(SpectacularSwaggerSplitView):
    pass


@method_decorator(docs_csp, name="dispatch")
class RedocView(SpectacularRedocView):
    pass
