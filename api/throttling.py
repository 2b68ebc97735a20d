"""Per-caller throttling, checked before authentication: failed and forbidden requests count too."""

import hashlib
from typing import Any

from django.conf import settings
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class PerCallerThrottle(SimpleRateThrottle):
    """``API_RATE_LIMIT`` requests per caller (e.g. ``1200/min``); past it, 429 with Retry-After.

    The caller is the credential sent (a token's digest: each token its own budget), else the
    signed-in person, else the client address. It is worked out without authenticating, so it
    runs first and a wrong token cannot skip it.
    """

    scope = "caller"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str:  # APIView: importing it here would be circular
        credential = get_authorization_header(request)
        if credential:
            caller = "credential:" + hashlib.sha256(credential).hexdigest()[:32]
        elif request._request.user.is_authenticated:  # the session, as Django's middleware found it
            caller = f"user:{request._request.user.pk}"
        else:
            caller = f"address:{self.get_ident(request)}"
        return f"throttle:{caller}"


class ThrottleFirst:
    """Mixin for API views: throttle before authenticating and checking permissions (once)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().check_throttles(request)  # type: ignore[misc]
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def check_throttles(self, request: Request) -> None:
        """Already done, first thing, by ``initial``."""
