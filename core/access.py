"""Roles and what each may do; shared by every interface (API, portal, commands)."""

import enum

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from core import changelog
from core.changelog import Actor
from core.models import Role, UserAccess


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


def set_user_access(*, actor: Actor, user: AbstractBaseUser, role: str, team: str = "") -> UserAccess:
    """Give a person a role (and a team, which limits an editor to that team's models)."""
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
