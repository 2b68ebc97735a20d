"""Who is calling: a bearer token (machines) or a session (people), as one ``Principal``."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from core.changelog import Actor
from core.models import ApiToken, Role, UserAccess
from core.tokens import token_actor, token_for_secret


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


@dataclass(frozen=True)
class Principal:
    """The caller as the rules see it: who to log as the actor, their role, and their team."""

    actor: Actor
    role: str
    team: str
    person: AbstractBaseUser | None = None  # the person calling, when it is one (not a token)

    def limited_to_team(self) -> bool:
        """A caller with a team (and no admin role) acts on that team's objects only."""
        return bool(self.team) and self.role != Role.ADMIN

    def may_touch(self, team: str) -> bool:
        return not self.limited_to_team() or team == self.team


def _user_principal(user: AbstractBaseUser) -> Principal:
    if user.is_superuser:
        return Principal(actor=Actor.for_user(user), role=Role.ADMIN, team="", person=user)
    access = UserAccess.objects.filter(user=user).first()
    role, team = (access.role, access.team) if access else (Role.VIEWER, "")
    return Principal(actor=Actor.for_user(user), role=role, team=team, person=user)


def principal_of(request: Request) -> Principal | None:
    """The caller of an authenticated request; None for an anonymous one."""
    if isinstance(request.auth, ApiToken):
        return Principal(actor=token_actor(request.auth), role=request.auth.role, team=request.auth.team)
    user = request.user
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    return _user_principal(user)
