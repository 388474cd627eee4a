from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAuthenticated

from apps.users.access import authenticated_user
from apps.users.models import User
from apps.users.serializers import UserSerializer


class MeView(RetrieveAPIView[User]):
    """The authenticated user's own profile."""

    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self) -> User:
        return authenticated_user(self.request)
