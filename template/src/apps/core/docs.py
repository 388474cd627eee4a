"""The API documentation page: Swagger UI, served from local assets under the strict CSP.

Scripts load only from this origin (the split view serves Swagger's init script as a
file, not inline). Swagger UI's page carries an inline stylesheet and the UI sets styles at
run time, so this page, and no other, allows inline styles. Redoc is not offered: its
bundle loads a logo from a third-party CDN that no option turns off.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.csp import CSP
from django.utils.decorators import method_decorator
from django.views.decorators.csp import csp_override, csp_report_only_override
from drf_spectacular.views import SpectacularSwaggerSplitView


def _widen_for_docs(policy: Mapping[str, Any]) -> dict[str, Any]:
    if not policy:  # that header is switched off; keep it off
        return {}
    return {**policy, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}


docs_csp = [
    csp_override(_widen_for_docs(settings.SECURE_CSP)),
    csp_report_only_override(_widen_for_docs(settings.SECURE_CSP_REPORT_ONLY)),
]


@method_decorator(docs_csp, name="dispatch")
class SwaggerView(SpectacularSwaggerSplitView):
    pass
