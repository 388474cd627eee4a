import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.core.management.commands import startapp


@pytest.fixture
def apps_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty apps directory, and copies of the project's settings and urls to register in."""
    apps = tmp_path / "apps"
    apps.mkdir()
    monkeypatch.setattr(startapp, "APPS_DIR", apps)
    for name in ("SETTINGS_FILE", "URLS_FILE"):
        real: Path = getattr(startapp, name)
        copy = tmp_path / real.name
        copy.write_text(real.read_text())
        monkeypatch.setattr(startapp, name, copy)
    return apps


# The apps these tests create are named so that no real app of the service is likely to
# have the name already (a team's own `startapp orders` must not break them).


def registered() -> tuple[str, str]:
    return (startapp.SETTINGS_FILE.read_text(), startapp.URLS_FILE.read_text())


def test_creates_the_layered_app_and_registers_it(
    apps_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_before, urls_before = registered()

    call_command("startapp", "sample_orders")

    created = {
        path.relative_to(apps_dir / "sample_orders").as_posix() for path in apps_dir.rglob("*.py")
    }
    assert created == {
        "__init__.py",
        "admin.py",
        "apps.py",
        "filters.py",
        "models.py",
        "querysets.py",
        "selectors.py",
        "serializers.py",
        "services.py",
        "urls.py",
        "views.py",
        "migrations/__init__.py",
        "migrations/0001_initial.py",
        "tests/__init__.py",
        "tests/factories.py",
        "tests/test_api.py",
    }
    models = (apps_dir / "sample_orders" / "models.py").read_text()
    assert "class SampleOrder(TimeStampedModel):" in models
    assert 'related_name="sample_orders"' in models
    settings_after, urls_after = registered()
    # Appended as the last item of each list, nothing else touched.
    assert settings_after == settings_before.replace(
        "\n]\n\nMIDDLEWARE", '\n    "apps.sample_orders",\n]\n\nMIDDLEWARE', 1
    )
    assert urls_after.count('path("sample_orders/", include("apps.sample_orders.urls")),') == 1
    assert len(urls_after.splitlines()) == len(urls_before.splitlines()) + 1
    out = capsys.readouterr().out
    assert (
        'Registered in src/config/settings/base.py, in INSTALLED_APPS:  "apps.sample_orders",'
        in out
    )
    assert 'Registered in src/config/urls.py, in api_v1:  path("sample_orders/"' in out


def test_registration_is_idempotent(apps_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("startapp", "sample_orders")
    once = registered()
    shutil.rmtree(apps_dir / "sample_orders")

    call_command("startapp", "sample_orders")

    assert registered() == once
    assert "Already in src/config/settings/base.py" in capsys.readouterr().out


def test_no_register_prints_the_lines_and_edits_nothing(
    apps_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = registered()

    call_command("startapp", "sample_orders", no_register=True)

    assert registered() == before
    out = capsys.readouterr().out
    assert 'Add to src/config/settings/base.py, in INSTALLED_APPS:  "apps.sample_orders",' in out
    assert (
        "Add to src/config/urls.py, in api_v1:  "
        'path("sample_orders/", include("apps.sample_orders.urls")),'
    ) in out


def test_a_list_it_cannot_edit_is_left_alone_with_the_line_to_add(
    apps_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    startapp.URLS_FILE.write_text("api_v1 = [*something_else]\n")

    call_command("startapp", "sample_orders")

    assert startapp.URLS_FILE.read_text() == "api_v1 = [*something_else]\n"
    assert "api_v1 is not a multi-line list; Add to src/config/urls.py" in capsys.readouterr().out


def test_model_name_can_be_chosen(apps_dir: Path) -> None:
    call_command("startapp", "sample_inventory", model="StockItem")

    assert (
        "class StockItem(TimeStampedModel):"
        in (apps_dir / "sample_inventory/models.py").read_text()
    )
    assert "def create_stock_item(" in (apps_dir / "sample_inventory/services.py").read_text()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Orders", "not a valid app name"),
        ("order-lines", "not a valid app name"),
        ("class", "not a valid app name"),
        ("json", "conflicts with the name of an existing Python module"),
    ],
)
def test_bad_names_are_refused_and_leave_nothing(apps_dir: Path, name: str, message: str) -> None:
    before = registered()

    with pytest.raises(CommandError, match=message):
        call_command("startapp", name)

    assert list(apps_dir.iterdir()) == []
    assert registered() == before


def test_an_existing_app_is_never_overwritten(apps_dir: Path) -> None:
    (apps_dir / "users").mkdir()

    with pytest.raises(CommandError, match="already exists"):
        call_command("startapp", "users")


def test_singular_model_names() -> None:
    assert startapp._singular("categories") == "category"
    assert startapp._singular("orders") == "order"
    assert startapp._singular("address") == "address"
