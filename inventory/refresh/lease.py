"""The per-model refresh lock: a lease on the model's row, so two refreshes of one model never
overlap, in one process or across many. A lease runs out after REFRESH_LOCK_SECONDS, and one
whose holder died on this host is taken over at once."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.processes import process_identity, process_is_gone
from inventory.models import AIModel


def new_holder() -> str:
    """A holder name for one refresh run: ``host:pid:run``, so a dead run's process can be checked."""
    return f"{process_identity()}:{uuid.uuid4().hex[:12]}"


def try_acquire(*, model_id: int, holder: str) -> bool:
    """Take the model's refresh lock for ``holder``; False while another live holder has it."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.REFRESH_LOCK_SECONDS)
    free = Q(refresh_lock_owner="") | Q(refresh_lock_until__lt=now) | Q(refresh_lock_owner=holder)
    if AIModel.objects.filter(free, pk=model_id).update(refresh_lock_owner=holder, refresh_lock_until=until):
        return True
    current = AIModel.objects.filter(pk=model_id).values_list("refresh_lock_owner", flat=True).first()
    if current and process_is_gone(current):
        taken = AIModel.objects.filter(pk=model_id, refresh_lock_owner=current)
        return taken.update(refresh_lock_owner=holder, refresh_lock_until=until) == 1
    return False


def release(*, model_id: int, holder: str) -> None:
    """Give the lock back (only its holder can)."""
    held = AIModel.objects.filter(pk=model_id, refresh_lock_owner=holder)
    held.update(refresh_lock_owner="", refresh_lock_until=None)
