"""Who is calling and what they may do; shared by every interface (API, portal, admin, commands).

A ``Principal`` is the caller as the rules see it: the actor its writes are logged as, its role
(what it may do) and its team (which objects it may touch). Interfaces build one from their own
credentials (``principal_for_user``, ``principal_for_token``) and hand it to services and selectors.
"""

import enum
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from core import changelog
from core.changelog import Actor
from core.models import ApiToken, Role, UserAccess
from core.tokens import token_actor


class Capability(enum.Enum):
    READ = "read"
    REGISTER = "register"  # register models and deployments, ask the deploy gate
    EDIT = "edit"  # change the inventory (an editor with a team: only that team's models)
    AUDIT = "audit"  # audit decisions and waivers
    ADMINISTER = "administer"  # policies, catalogues, tokens, operations


_GRANTS: dict[str, frozenset[Capability]] = {
    Role.VIEWER: frozenset({Capability.READ}),
    Role.DEPLOYER: frozenset({Capability.READ, Capability.REGISTER}),
    Role.EDITOR: frozenset({Capability.READ, Capability.REGISTER, Capability.EDIT}),
    Role.AUDITOR: frozenset({Capability.READ, Capability.AUDIT}),
    Role.ADMIN: frozenset(Capability),
}


def role_can(role: str, capability: Capability) -> bool:
    """Whether ``role`` grants ``capability``."""
    return capability in _GRANTS.get(role, frozenset())


@dataclass(frozen=True)
class Principal:
    """The caller: who to log as the actor, their role, their team, and the person when it is one."""

    actor: Actor
    role: str
    team: str = ""
    person: AbstractBaseUser | None = None  # None for a token or the system
    # The person accountable: the person themselves, or the one who created the token (None: nobody).
    accountable_user_id: int | None = None

    def can(self, capability: Capability) -> bool:
        return role_can(self.role, capability)

    def limited_to_team(self) -> bool:
        """A caller with a team (and no admin role) acts on that team's objects only."""
        return bool(self.team) and self.role != Role.ADMIN

    def may_touch(self, team: str) -> bool:
        return not self.limited_to_team() or team == self.team

    def require_team(self, team: str, what: str) -> None:
        """Refuse (403) a write to an object of another team; ``what`` names the object for the message."""
        if not self.may_touch(team):
            owner = f"team {team!r}" if team else "no team"
            raise PermissionDenied(f"{what} belongs to {owner}; your team ({self.team}) may change only its own")

    def default_team(self, team: str) -> str:
        """The team a new object gets: the one asked for, else the caller's own when it is limited to it."""
        return team or (self.team if self.limited_to_team() else "")


def system_principal(name: str) -> Principal:
    """The product itself acting (refresh, catalogue, demo): an admin with no team."""
    return Principal(actor=Actor.system(name), role=Role.ADMIN)


def role_of(user: AbstractBaseUser, access: UserAccess | None) -> str:
    """A person's role: a superuser is an admin (whatever an access record says); others have the
    role their access record gives, a viewer without one."""
    if user.is_superuser:
        return Role.ADMIN
    return access.role if access else Role.VIEWER


def principal_for_user(user: AbstractBaseUser) -> Principal:
    """A signed-in person, with the role ``role_of`` gives and their access record's team (none for a superuser)."""
    access = None if user.is_superuser else UserAccess.objects.filter(user=user).first()
    return Principal(
        actor=Actor.for_user(user),
        role=role_of(user, access),
        team=access.team if access else "",
        person=user,
        accountable_user_id=user.pk,
    )


def principal_for_token(token: ApiToken) -> Principal:
    """A machine calling with an API token, on behalf of the person who created it (if one did)."""
    return Principal(
        actor=token_actor(token), role=token.role, team=token.team, accountable_user_id=token.created_by_id
    )


SUPERUSER_ACCESS_REFUSAL = "a superuser is always an admin, with no team: an access record would change nothing"


def set_user_access(*, actor: Actor, user: AbstractBaseUser, role: str, team: str = "") -> UserAccess:
    """Give a person a role (and a team, which limits an editor to that team's models). Refused
    (``ValidationError`` naming ``role``) for a superuser, whom no access record limits."""
    if user.is_superuser:
        raise ValidationError({"role": SUPERUSER_ACCESS_REFUSAL})
    with transaction.atomic():
        access = UserAccess.objects.select_for_update().filter(user=user).first()
        before = changelog.snapshot(access) if access else None
        access = access or UserAccess(user=user)
        access.role, access.team = role, team
        access.full_clean()
        access.save()
        after = changelog.snapshot(access)
        if before != after:
            changelog.record(
                actor=actor, action="update" if before else "create", instance=access, before=before, after=after
            )
    return access


def create_person(*, actor: Actor, username: str, password: str, role: str, team: str = "") -> AbstractBaseUser:
    """A person who signs in with ``username`` and ``password``, with a role and a team: the user
    and their access record in one transaction, each with its change-log row (the user's without
    its password). The password must pass Django's password validators and the username the user
    model's checks (``ValidationError`` naming ``password`` or ``username``); a bad role stores nothing."""
    user = get_user_model()(username=username)
    errors: dict[str, list[str]] = {}
    try:
        validate_password(password, user)
    except ValidationError as error:
        errors["password"] = error.messages
    user.set_password(password)
    try:
        user.full_clean()
    except ValidationError as error:
        errors |= error.message_dict
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        user.save()
        logged = {"id": user.pk, "username": user.get_username(), "is_active": user.is_active}
        changelog.record(actor=actor, action="create", instance=user, after=logged)
        set_user_access(actor=actor, user=user, role=role, team=team)
    return user
