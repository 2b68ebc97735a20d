"""Per-caller throttling: each token (or person, or anonymous address) gets its own budget."""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.models import ApiToken


class PerCallerThrottle(SimpleRateThrottle):
    """``API_RATE_LIMIT`` requests per caller (e.g. ``1200/min``); past it, 429 with Retry-After."""

    scope = "caller"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str:  # APIView: importing it here would be circular
        if isinstance(request.auth, ApiToken):
            caller = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            caller = f"user:{request.user.pk}"
        else:
            caller = f"address:{self.get_ident(request)}"
        return f"throttle:{caller}"
