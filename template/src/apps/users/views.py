from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import RetrieveAPIView
from rest_framework.permissions import IsAuthenticated

from apps.users.models import User
from apps.users.serializers import UserSerializer


class MeView(RetrieveAPIView[User]):
    """The authenticated user's own profile."""

    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self) -> User:
        user = self.request.user
        if not isinstance(user, User):  # IsAuthenticated has already refused anonymous users
            raise NotAuthenticated
        return user
