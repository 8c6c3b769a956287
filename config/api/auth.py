"""Registration, token login and logout (docs/api.md, Auth)."""

from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import RegistrationRefused, register_customer
from accounts.tokens import issue_token
from config.api.authentication import TokenAuthentication
from config.api.fields import StrictCharField
from config.api.schema import error

REGISTRATION_REFUSED = (
    "These details cannot be used to register; if you already have an account, sign in."
)


class RegisterSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)

    def validate(self, attrs):
        candidate = get_user_model()(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                {"password": [serializers.ErrorDetail(m, code="weak") for m in exc.messages]}
            ) from exc
        return attrs


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, trim_whitespace=False)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "auth"

    @extend_schema(
        request=RegisterSerializer,
        responses={
            201: inline_serializer(
                "Registered",
                {
                    "username": serializers.CharField(),
                    "email": serializers.EmailField(),
                    "token": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user, token = register_customer(**serializer.validated_data)
        except RegistrationRefused as exc:
            # One answer for a taken username and a taken email: it must not
            # tell a stranger which accounts exist.
            raise serializers.ValidationError(
                {"non_field_errors": [serializers.ErrorDetail(REGISTRATION_REFUSED, "duplicate")]}
            ) from exc
        return Response(
            {"username": user.username, "email": user.email, "token": token},
            status=status.HTTP_201_CREATED,
        )


class TokenView(APIView):
    """POST logs in (a new token each time); DELETE revokes the token presented."""

    throttle_scope = "auth"

    def _logs_out(self) -> bool:
        # No request while the schema is generated: describe the logout side.
        return getattr(self.request, "method", "DELETE") == "DELETE"

    def get_authenticators(self):
        # Logging in reads only the body: a stale token in the header must not
        # stop its owner from getting a new one.
        return [TokenAuthentication()] if self._logs_out() else []

    def get_permissions(self):
        return [IsAuthenticated()] if self._logs_out() else [AllowAny()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenIssued", {"token": serializers.CharField()})},
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        serializers.ErrorDetail(
                            "Unable to log in with these credentials.", code="invalid_credentials"
                        )
                    ]
                }
            )
        return Response({"token": issue_token(user)})

    @extend_schema(request=None, responses={204: None, 401: error(401)})
    def delete(self, request):
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
