from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from apps.users.models import User


def authenticated_user(request: HttpRequest | Request) -> User:
    """The request's user, typed as ours. Views call it after `IsAuthenticated` has run, so
    the anonymous branch only guards against a view that forgot its permission class."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user
