"""Who is calling: a bearer token (machines) or a session (people), as one ``Principal``."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from core.access import Principal, principal_for_token, principal_for_user
from core.models import ApiToken
from core.tokens import token_for_secret


@dataclass(frozen=True)
class TokenUser:
    """``request.user`` for a token: authenticated, never staff, named after the token."""

    token: ApiToken
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None

    def get_username(self) -> str:
        return f"token:{self.token.name}"

    def __str__(self) -> str:
        return self.get_username()


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``; an unknown, revoked or expired token gets 401."""

    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("send the token as: Authorization: Bearer <token>")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("the token is not valid") from None
        token = token_for_secret(secret)
        if token is None:
            raise AuthenticationFailed("the token is unknown, revoked or expired")
        return TokenUser(token=token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def principal_of(request: Request) -> Principal | None:
    """The caller of an authenticated request; None for an anonymous one (worked out once per request)."""
    if not hasattr(request, "_principal"):
        request._principal = _principal(request)
    return request._principal


def _principal(request: Request) -> Principal | None:
    if isinstance(request.auth, ApiToken):
        return principal_for_token(request.auth)
    user = request.user
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    return principal_for_user(user)
