from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.core.management.commands import startapp


@pytest.fixture
def apps_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(startapp, "APPS_DIR", tmp_path)
    return tmp_path


def test_creates_the_layered_app_and_prints_the_registration_lines(
    apps_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("startapp", "orders")

    created = {path.relative_to(apps_dir / "orders").as_posix() for path in apps_dir.rglob("*.py")}
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
    models = (apps_dir / "orders" / "models.py").read_text()
    assert "class Order(TimeStampedModel):" in models
    assert 'related_name="orders"' in models
    out = capsys.readouterr().out
    assert '"apps.orders",' in out
    assert 'path("orders/", include("apps.orders.urls")),' in out


def test_model_name_can_be_chosen(apps_dir: Path) -> None:
    call_command("startapp", "inventory", model="StockItem")

    assert "class StockItem(TimeStampedModel):" in (apps_dir / "inventory/models.py").read_text()
    assert "def create_stock_item(" in (apps_dir / "inventory/services.py").read_text()


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
    with pytest.raises(CommandError, match=message):
        call_command("startapp", name)

    assert list(apps_dir.iterdir()) == []


def test_an_existing_app_is_never_overwritten(apps_dir: Path) -> None:
    (apps_dir / "users").mkdir()

    with pytest.raises(CommandError, match="already exists"):
        call_command("startapp", "users")


def test_singular_model_names() -> None:
    assert startapp._singular("categories") == "category"
    assert startapp._singular("orders") == "order"
    assert startapp._singular("address") == "address"
