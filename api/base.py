"""The base every API viewset stands on: throttled first, each action allowed by a capability,
the caller as a ``Principal``, the version checks of services answered as 428 / 412 and their
state conflicts as 409."""

from typing import Any

from rest_framework import status, viewsets
from rest_framework.response import Response

from api.authentication import principal_of
from api.errors import problem
from api.permissions import requires
from api.throttling import ThrottleFirst
from core.access import Capability, Principal
from core.conflicts import Conflict
from core.versions import VersionMismatch, VersionRequired


class RegistryViewSet(ThrottleFirst, viewsets.GenericViewSet):
    """Actions need ``Capability.READ`` unless ``capabilities`` names another one for them."""

    capabilities: dict[str, Capability] = {}

    def get_permissions(self) -> list[Any]:
        return [requires(self.capabilities.get(self.action, Capability.READ))()]

    @property
    def principal(self) -> Principal:
        """The caller (the permission check has let only authenticated ones through)."""
        return principal_of(self.request)

    def expected_versions(self) -> list[str]:
        """The ``If-Match`` tags (RFC 9110: ``*`` or a list; weak tags compare as strong ones)."""
        header = self.request.headers.get("If-Match", "")
        return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, VersionRequired):
            return problem(status.HTTP_428_PRECONDITION_REQUIRED, "send If-Match with the ETag from GET")
        if isinstance(exc, VersionMismatch):
            return problem(status.HTTP_412_PRECONDITION_FAILED, "it changed since you read it; GET it again")
        if isinstance(exc, Conflict):
            return problem(status.HTTP_409_CONFLICT, str(exc))
        return super().handle_exception(exc)
