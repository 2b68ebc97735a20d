"""Permissions of the API, by capability of the caller's role."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from api.authentication import principal_of
from core.access import Capability, role_can


def requires(capability: Capability) -> type[BasePermission]:
    """A permission class that lets a request through when the caller's role grants ``capability``."""

    class RoleGrants(BasePermission):
        message = f"your role does not allow this (it needs the {capability.value!r} capability)"

        def has_permission(self, request: Request, view: APIView) -> bool:
            principal = principal_of(request)
            return principal is not None and role_can(principal.role, capability)

    RoleGrants.__name__ = f"Requires{capability.name.title()}"
    return RoleGrants
