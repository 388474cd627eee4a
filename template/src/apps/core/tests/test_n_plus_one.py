"""django-zeal is on for every test and every request: an N+1 query fails the run.

The settings for tests add zeal's middleware (one context per request) and src/conftest.py
wraps each test in a context of its own, so an N+1 in a view, a serializer, a service or a
test's own code raises `zeal.NPlusOneError`. Fix it with `select_related` or
`prefetch_related` where the queryset is built (a selector or `get_queryset()`).
"""

from collections.abc import Iterable

import pytest
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path
from zeal import NPlusOneError

from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def group_counts(users: Iterable[User]) -> list[int]:
    counts = []
    for user in users:
        counts.append(len(user.groups.all()))  # one query per user unless prefetched
    return counts


N_PLUS_ONE_LINE = group_counts.__code__.co_firstlineno + 3


def users_with_group_counts(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"counts": group_counts(User.objects.order_by("pk"))})


urlpatterns = [path("group-counts/", users_with_group_counts)]


def test_an_n_plus_one_in_test_code_fails_with_the_exact_place() -> None:
    UserFactory.create_batch(2)

    with pytest.raises(NPlusOneError) as caught:
        group_counts(User.objects.all())

    assert str(caught.value) == (
        f"N+1 detected on users.User.groups at {__file__}:{N_PLUS_ONE_LINE} in group_counts"
    )


@pytest.mark.urls(__name__)
def test_an_n_plus_one_in_a_request_fails_it() -> None:
    UserFactory.create_batch(2)

    with pytest.raises(NPlusOneError) as caught:
        Client().get("/group-counts/")

    assert str(caught.value) == (
        f"N+1 detected on users.User.groups at {__file__}:{N_PLUS_ONE_LINE} in group_counts"
    )


def test_eager_loading_passes() -> None:
    UserFactory.create_batch(2)

    assert group_counts(User.objects.prefetch_related("groups")) == [0, 0]


def test_one_row_is_not_an_n_plus_one() -> None:
    UserFactory.create()

    assert group_counts(User.objects.all()) == [0]
