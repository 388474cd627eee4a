"""System checks that hold the project to its standard (docs/checks.md).

`manage.py check` runs them, so CI fails on a violation (`check --fail-level WARNING`).
Each has a stable id:
- core.W001-core.W010 (models.py, serializers.py, views.py): the project's own code, only
  this project's apps (modules under `apps.`), never third-party code;
- core.W011-core.W017 (deploy.py): production settings, with `check --deploy`;
- core.W018 (deploy.py): a core check silenced without a reason.

To accept one case of a code check on purpose, decorate that class (or function view) with
`silence()`, giving the reason:

    @silence("core.W003", reason="Log-in takes anonymous POSTs; throttled, CSRF-checked.")
    class SessionLoginView(APIView): ...

To accept a check for the whole project, say why in settings (common.py):

    SILENCED_CHECK_REASONS = {"core.W016": "The API is public; its docs are part of it."}
"""

# Importing the modules registers their checks with Django.
from apps.core.checks.common import CHECKS, is_silenced, silence
from apps.core.checks.deploy import DEPLOY_CHECKS, SILENCE_CHECK, check_deploy, check_silenced
from apps.core.checks.models import check_models
from apps.core.checks.serializers import check_serializers
from apps.core.checks.views import check_views

__all__ = [
    "CHECKS",
    "DEPLOY_CHECKS",
    "SILENCE_CHECK",
    "check_deploy",
    "check_models",
    "check_serializers",
    "check_silenced",
    "check_views",
    "is_silenced",
    "silence",
]
