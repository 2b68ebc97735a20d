"""What every portal page shares: a signed-in viewer, and the capability each method needs, checked
on the server by the same rules as the API (``core.access``) before the view runs."""

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views import View

from core.access import Capability, Principal
from portal.context import principal_of

PAGE_SIZE = settings.REST_FRAMEWORK["PAGE_SIZE"]  # rows a list page shows: as many as the API's lists


class PortalView(LoginRequiredMixin, View):
    """A page: anonymous visitors go to the sign-in page; a method whose capability the viewer's
    role lacks is a 403. ``capabilities`` maps a method to what it needs (reading by default)."""

    capabilities: ClassVar[dict[str, Capability]] = {}

    @property
    def principal(self) -> Principal:
        found = principal_of(self.request)
        assert found is not None  # LoginRequiredMixin let only signed-in people this far
        return found

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            needed = self.capabilities.get(request.method.lower(), Capability.READ)  # type: ignore[union-attr]
            if not self.principal.can(needed):
                raise PermissionDenied(f"your role ({self.principal.role}) may not {needed.value} here")
        return super().dispatch(request, *args, **kwargs)
