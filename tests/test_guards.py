"""Slow: every system check and import contract of a generated service trips on a violation.

One service is rendered with the default answers and synced once for the module. Each test
adds one violating module to the project's `users` app, wired in where the checks find it
(docs/checks.md): models through `apps/users/models.py` (Django imports it at start-up and
registers the model in the app), serializers through `apps/users/serializers.py` (which
`check_serializers` imports), views through `apps/users/urls.py` (the checks walk the root
URLconf). Then:

- `uv run python manage.py check --fail-level WARNING` (test settings, as in CI) exits
  non-zero and reports exactly that check id, no other;
- decorating the violating class or view with `silence(<that id>, reason=...)` makes the
  gate pass, while silencing another id does not;
- with the violation removed, the gate passes again ("System check identified no issues").

Each import contract (`[tool.importlinter]` in the rendered pyproject.toml) is broken by one
added import line: `PYTHONPATH=src uv run lint-imports` exits non-zero and prints that
contract, and only it, as BROKEN with the offending import; with the line removed,
"Contracts: 3 kept, 0 broken." Every edit is reverted even when a test fails, so the tests
stay independent while sharing the render.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import host_python, render
from gates import SYNC_GATE, Gate, GateResult, base_env, contains, run_gate

pytestmark = pytest.mark.slow

CHECK = Gate(
    "check",
    ["run", "python", "manage.py", "check", "--fail-level", "WARNING"],
    env={"DJANGO_SETTINGS_MODULE": "config.settings.test"},
    check=contains("System check identified no issues"),
)
# --no-cache: the verdict must come from the files as they are now, never from grimp's cache
# of an earlier run in the same second.
LINT_IMPORTS = Gate(
    "lint-imports",
    ["run", "lint-imports", "--no-cache"],
    env={"PYTHONPATH": "src"},
    check=contains("Contracts: 3 kept, 0 broken."),
)
CHECK_ID_RE = re.compile(r"\(([a-z_]+\.[CEWI]\d{3})\)")  # "... (core.W005) ..."

LAYERS = "Apps are layered: views > serializers > services > selectors > models"
CORE = "Core imports no domain app"
CROSS_APP_MODELS = "Apps use each other's models only in services, selectors and querysets"
CONTRACTS = (LAYERS, CORE, CROSS_APP_MODELS)

USERS = Path("src/apps/users")
VIOLATION_MODULE = USERS / "violation.py"
SILENCE = '@silence("{check_id}", reason="Accepted on purpose in this harness test.")'

# How each kind of violating code is wired in: the line appended to a users module.
HOOKS = {
    "model": (USERS / "models.py", "from apps.users import violation  # noqa: E402, F401"),
    "serializer": (
        USERS / "serializers.py",
        "from apps.users import violation  # noqa: E402, F401",
    ),
    "view": (
        USERS / "urls.py",
        "from apps.users.violation import urlpatterns as violation_urls  # noqa: E402\n"
        "urlpatterns += violation_urls",
    ),
}


@dataclass(frozen=True)
class Violation:
    check_id: str
    kind: str  # a key of HOOKS
    source: str  # the module; "{silence}" marks the line above the violating class or view

    def module(self, silenced_id: str | None = None) -> str:
        decorator = SILENCE.format(check_id=silenced_id) if silenced_id else ""
        header = "from apps.core.checks import silence  # noqa: F401\n"
        return header + self.source.format(silence=decorator)


VIEW_IMPORTS = """\
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.users.models import User
from apps.users.serializers import UserSerializer
"""

VIOLATIONS = {
    "W001-fields-all": Violation(
        "core.W001",
        "serializer",
        """
from rest_framework import serializers

from apps.users.models import User


{silence}
class EverythingSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = "__all__"
""",
    ),
    "W001-exclude": Violation(
        "core.W001",
        "serializer",
        """
from rest_framework import serializers

from apps.users.models import User


{silence}
class AlmostEverythingSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        exclude = ["password"]
""",
    ),
    "W002-no-permission-classes": Violation(
        "core.W002",
        "view",
        VIEW_IMPORTS
        + """

{silence}
class DefaultPermissionsView(APIView):
    def get(self, request: Request) -> Response:
        return Response({{}})


urlpatterns = [path("violation/", DefaultPermissionsView.as_view())]
""",
    ),
    "W003-anonymous-post": Violation(
        "core.W003",
        "view",
        VIEW_IMPORTS
        + """

{silence}
class AnonymousWriteView(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response({{}})


urlpatterns = [path("violation/", AnonymousWriteView.as_view())]
""",
    ),
    "W004-unpaginated-list": Violation(
        "core.W004",
        "view",
        VIEW_IMPORTS
        + """

{silence}
class WholeTableView(ListAPIView[User]):
    permission_classes = [IsAuthenticated]
    pagination_class = None
    queryset = User.objects.all()
    serializer_class = UserSerializer


urlpatterns = [path("violation/", WholeTableView.as_view())]
""",
    ),
    "W005-model-float-money": Violation(
        "core.W005",
        "model",
        """
from django.db import models


{silence}
class Invoice(models.Model):
    total_price = models.FloatField()
""",
    ),
    "W005-serializer-float-money": Violation(
        "core.W005",
        "serializer",
        """
from rest_framework import serializers


{silence}
class QuoteSerializer(serializers.Serializer[None]):
    unit_price = serializers.FloatField()
""",
    ),
    "W006-no-related-name": Violation(
        "core.W006",
        "model",
        """
from django.db import models


{silence}
class Note(models.Model):
    author = models.ForeignKey("users.User", on_delete=models.CASCADE)
""",
    ),
    "W007-unique-together": Violation(
        "core.W007",
        "model",
        """
from django.db import models


{silence}
class Pair(models.Model):
    left = models.IntegerField()
    right = models.IntegerField()

    class Meta:
        unique_together = [("left", "right")]
""",
    ),
    "W008-free-choices": Violation(
        "core.W008",
        "model",
        """
from django.db import models


{silence}
class Ticket(models.Model):
    state = models.CharField(max_length=10, choices=[("open", "Open"), ("closed", "Closed")])
""",
    ),
    "W009-csrf-exempt": Violation(
        "core.W009",
        "view",
        VIEW_IMPORTS
        + """

{silence}
@csrf_exempt
def webhook(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("violation/", webhook)]
""",
    ),
    "W010-declared-secret": Violation(
        "core.W010",
        "serializer",
        """
from rest_framework import serializers


{silence}
class CredentialsSerializer(serializers.Serializer[None]):
    api_key = serializers.CharField()
""",
    ),
    "W010-secret-in-meta-fields": Violation(
        "core.W010",
        "serializer",
        """
from rest_framework import serializers

from apps.users.models import User


{silence}
class LeakySerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "password"]
""",
    ),
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, isolated_copier: None) -> Path:
    """The default render (example app included), synced once for the module."""
    service = render(tmp_path_factory.mktemp("guards") / "svc", python_version=host_python())
    synced = run_gate(SYNC_GATE, service, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    assert (service / "src/apps/catalog").is_dir(), "the default render has the example app"
    return service


@pytest.fixture(scope="module")
def bare_project(tmp_path_factory: pytest.TempPathFactory, isolated_copier: None) -> Path:
    """The render without the example app (example_app=false): the guards hold there too."""
    service = render(
        tmp_path_factory.mktemp("guards-bare") / "svc",
        python_version=host_python(),
        example_app=False,
    )
    synced = run_gate(SYNC_GATE, service, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    assert not (service / "src/apps/catalog").exists(), "example_app=false has no catalog app"
    return service


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return base_env()


@contextlib.contextmanager
def edited(project: Path, appended: dict[Path, str], created: dict[Path, str]) -> Iterator[None]:
    """Append lines to existing files and create new ones; restore everything on exit."""
    originals = {path: (project / path).read_bytes() for path in appended}
    assert not any((project / path).exists() for path in created), "left over from a test"
    try:
        for path, text in created.items():
            (project / path).write_text(text)
        for path, text in appended.items():
            with (project / path).open("a") as file:
                file.write(f"\n{text}\n")
        yield
    finally:
        for path in created:
            (project / path).unlink(missing_ok=True)
        for path, content in originals.items():
            (project / path).write_bytes(content)


@contextlib.contextmanager
def violating(
    project: Path, violation: Violation, silenced_id: str | None = None
) -> Iterator[None]:
    hook_file, hook_line = HOOKS[violation.kind]
    with edited(project, {hook_file: hook_line}, {VIOLATION_MODULE: violation.module(silenced_id)}):
        yield


def reported_ids(result: GateResult) -> list[str]:
    return CHECK_ID_RE.findall(result.stdout + result.stderr)


def assert_green(result: GateResult, after: str) -> None:
    if not result.ok:
        pytest.fail(f"{after}, the gate should pass:\n{result.report()}", pytrace=False)


# --------------------------------------------------------------------------- system checks


def test_the_checks_cover_every_documented_id(project: Path) -> None:
    """The cases below cover every code check the rendered checks package and docs define;
    the deploy checks (deploy.py) are documented too (test_deploy_checks.py trips them)."""
    package = project / "src/apps/core/checks"
    ids = re.compile(r'^    "(core\.W\d{3})":', re.MULTILINE)
    code = set(ids.findall((package / "common.py").read_text()))
    deploy = set(re.findall(r'"(core\.W\d{3})":', (package / "deploy.py").read_text()))
    docs = (project / "docs/checks.md").read_text()
    documented = set(re.findall(r"^## (core\.W\d{3})$", docs, re.MULTILINE))
    covered = {violation.check_id for violation in VIOLATIONS.values()}
    assert code == covered == {f"core.W{n:03d}" for n in range(1, 11)}
    assert documented == code | deploy
    assert deploy == {f"core.W{n:03d}" for n in range(11, 19)}


@pytest.mark.parametrize("case", VIOLATIONS)
def test_system_check_trips_then_passes_when_removed(
    case: str, project: Path, env: dict[str, str]
) -> None:
    assert_trips_then_passes(case, project, env)


@pytest.mark.parametrize("case", VIOLATIONS)
def test_system_check_trips_without_the_example_app(
    case: str, bare_project: Path, env: dict[str, str]
) -> None:
    assert_trips_then_passes(case, bare_project, env)


def assert_trips_then_passes(case: str, project: Path, env: dict[str, str]) -> None:
    violation = VIOLATIONS[case]
    with violating(project, violation):
        tripped = run_gate(CHECK, project, env)

    assert tripped.returncode != 0, f"check did not fail:\n{tripped.report()}"
    output = tripped.stdout + tripped.stderr
    assert set(reported_ids(tripped)) == {violation.check_id}, (
        f"expected exactly {violation.check_id}, got {reported_ids(tripped)}:\n{output}"
    )
    assert "SystemCheckError" in output or "System check identified some issues" in output

    assert_green(run_gate(CHECK, project, env), f"with the {case} violation removed")


@pytest.mark.parametrize("case", VIOLATIONS)
def test_silence_accepts_that_one_case(case: str, project: Path, env: dict[str, str]) -> None:
    violation = VIOLATIONS[case]
    with violating(project, violation, silenced_id=violation.check_id):
        result = run_gate(CHECK, project, env)

    assert_green(result, f"with @silence({violation.check_id!r}) on the {case} violation")
    assert "(0 silenced)" in result.stdout, "silence() must not go through SILENCED_SYSTEM_CHECKS"


@pytest.mark.parametrize("case", ["W003-anonymous-post", "W006-no-related-name"])
def test_silencing_another_id_silences_nothing(
    case: str, project: Path, env: dict[str, str]
) -> None:
    violation = VIOLATIONS[case]
    other = "core.W001" if violation.check_id != "core.W001" else "core.W002"
    with violating(project, violation, silenced_id=other):
        result = run_gate(CHECK, project, env)

    assert result.returncode != 0, f"@silence({other!r}) hid {violation.check_id}"
    assert set(reported_ids(result)) == {violation.check_id}, result.report()


# --------------------------------------------------------------------------- import contracts


@dataclass(frozen=True)
class Breach:
    contract: str
    file: str  # under src/apps/
    line: str  # appended to it
    reported: str  # the offending import as lint-imports prints it


BREACHES = {
    "layers-model-imports-view": Breach(
        LAYERS,
        "users/models.py",
        "import apps.users.views",
        "apps.users.models -> apps.users.views",
    ),
    "layers-serializer-imports-view": Breach(
        LAYERS,
        "catalog/serializers.py",
        "from apps.catalog import views",
        "apps.catalog.serializers -> apps.catalog.views",
    ),
    "layers-selector-imports-service": Breach(
        LAYERS,
        "catalog/selectors.py",
        "from apps.catalog import services",
        "apps.catalog.selectors -> apps.catalog.services",
    ),
    "core-imports-users": Breach(
        CORE,
        "core/pagination.py",
        "from apps.users.access import authenticated_user",
        "apps.core.pagination -> apps.users.access",
    ),
    "core-imports-catalog": Breach(
        CORE, "core/models.py", "import apps.catalog.choices", "apps.core.models -> apps.catalog"
    ),
    "cross-app-view-imports-models": Breach(
        CROSS_APP_MODELS,
        "users/views.py",
        "from apps.catalog.models import Product",
        "apps.users.views -> apps.catalog.models",
    ),
    "cross-app-serializer-imports-models": Breach(
        CROSS_APP_MODELS,
        "catalog/serializers.py",
        "from apps.users.models import User",
        "apps.catalog.serializers -> apps.users.models",
    ),
}


@pytest.mark.parametrize("case", BREACHES)
def test_import_contract_breaks_then_holds_when_removed(
    case: str, project: Path, env: dict[str, str]
) -> None:
    assert_breaks_then_holds(case, project, env)


# The breaches that need no example app, on the render without it.
WITHOUT_CATALOG = [case for case, breach in BREACHES.items() if "catalog" not in repr(breach)]


@pytest.mark.parametrize("case", WITHOUT_CATALOG)
def test_import_contract_breaks_without_the_example_app(
    case: str, bare_project: Path, env: dict[str, str]
) -> None:
    assert_breaks_then_holds(case, bare_project, env)


def assert_breaks_then_holds(case: str, project: Path, env: dict[str, str]) -> None:
    breach = BREACHES[case]
    file = Path("src/apps") / breach.file
    with edited(project, {file: f"{breach.line}  # noqa: E402, F401"}, {}):
        broken = run_gate(LINT_IMPORTS, project, env)

    output = broken.stdout + broken.stderr
    assert broken.returncode != 0, f"lint-imports did not fail:\n{broken.report()}"
    for contract in CONTRACTS:
        verdict = "BROKEN" if contract == breach.contract else "KEPT"
        assert re.search(rf"^{re.escape(contract)} {verdict}\b", output, re.MULTILINE), (
            f"expected {contract!r} {verdict}:\n{output}"
        )
    assert "Contracts: 2 kept, 1 broken." in output, output
    assert breach.reported in output, f"the offending import is not shown:\n{output}"

    assert_green(run_gate(LINT_IMPORTS, project, env), f"with the {case} import removed")


def test_type_checking_imports_are_not_counted(project: Path, env: dict[str, str]) -> None:
    """docs/checks.md: imports under `if TYPE_CHECKING:` name types; they break nothing.
    (The same import outside the guard breaks a contract: cross-app-view-imports-models.)"""
    guarded = (
        "from typing import TYPE_CHECKING  # noqa: E402\n\n"
        "if TYPE_CHECKING:\n"
        "    from apps.catalog.models import Product  # noqa: F401"
    )
    with edited(project, {Path("src/apps/users/views.py"): guarded}, {}):
        result = run_gate(LINT_IMPORTS, project, env)

    assert_green(result, "with a cross-app model import under TYPE_CHECKING")
