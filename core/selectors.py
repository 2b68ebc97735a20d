"""Reads of core's records that more than one interface needs."""

from django.conf import settings
from django.db.models import QuerySet

from core.access import Capability, Principal
from core.models import ChangeLogEntry

# Who holds which token or role, and who may sign in, is for admins to see.
ADMIN_ONLY_CHANGES = ("core.apitoken", "core.useraccess", settings.AUTH_USER_MODEL.lower())


def changes_visible_to(principal: Principal) -> QuerySet[ChangeLogEntry]:
    """The change log as the principal may read it, newest first."""
    entries = ChangeLogEntry.objects.order_by("-created_at", "-id")
    if not principal.can(Capability.ADMINISTER):
        entries = entries.exclude(object_type__in=ADMIN_ONLY_CHANGES)
    return entries
