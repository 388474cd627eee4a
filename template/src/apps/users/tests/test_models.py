import pytest
from django.db import IntegrityError

from apps.users.models import User
from apps.users.tests.factories import UserFactory


@pytest.mark.django_db
def test_create_user_lowercases_email_and_hashes_password() -> None:
    user = User.objects.create_user(email="  Ana@Example.COM ", password="s3cret-enough-pass")

    assert user.email == "ana@example.com"
    assert user.check_password("s3cret-enough-pass")
    assert not user.is_staff
    assert not user.is_superuser


@pytest.mark.django_db
def test_create_user_requires_an_email() -> None:
    with pytest.raises(ValueError, match="must have an email"):
        User.objects.create_user(email="", password="x")


@pytest.mark.django_db
def test_create_superuser_sets_flags() -> None:
    user = User.objects.create_superuser(email="root@example.com", password="s3cret-enough")

    assert user.is_staff
    assert user.is_superuser


@pytest.mark.django_db
def test_create_superuser_refuses_non_staff() -> None:
    with pytest.raises(ValueError, match="is_staff=True"):
        User.objects.create_superuser(email="root@example.com", password="x", is_staff=False)


@pytest.mark.django_db
def test_login_lookup_ignores_case() -> None:
    user = UserFactory.create(email="ana@example.com")

    assert User.objects.get_by_natural_key("ANA@example.com") == user


@pytest.mark.django_db
def test_database_rejects_uppercase_email_written_around_the_orm_checks() -> None:
    with pytest.raises(IntegrityError, match="users_user_email_lowercase"):
        User.objects.bulk_create([User(email="Mixed@Example.com")])


@pytest.mark.django_db
def test_database_rejects_duplicate_email() -> None:
    UserFactory.create(email="ana@example.com")

    with pytest.raises(IntegrityError, match="email"):
        User.objects.bulk_create([User(email="ana@example.com")])


def test_str_and_names_need_no_database() -> None:
    user = User(email="ana@example.com", full_name="Ana Lima")

    assert str(user) == "ana@example.com"
    assert user.get_full_name() == "Ana Lima"
    assert user.get_short_name() == "Ana"
    assert User(email="bo@example.com").get_short_name() == "bo@example.com"
