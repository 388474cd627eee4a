from rest_framework import serializers

from apps.core.serializers import ModelSerializer, Serializer
from apps.users.models import User


class LoginSerializer(Serializer[None]):
    email = serializers.EmailField()
    # A password is compared exactly as typed (as Django's own log-in form does): trimming it
    # would lock out anyone whose password starts or ends with a space.
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class UserSerializer(ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "date_joined"]
        read_only_fields = fields
