"""The per-model refresh lock: a lease on the model's row, so two refreshes of one model never
overlap, in one process or across many. A lease runs out after REFRESH_LOCK_SECONDS, and one
whose holder died on this host is taken over at once."""

import uuid
from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.processes import process_identity, process_is_gone
from inventory.models import AIModel


def new_holder() -> str:
    """A holder name for one refresh run: ``host:pid:run``, so a dead run's process can be checked."""
    return f"{process_identity()}:{uuid.uuid4().hex[:12]}"


def try_acquire_many(*, model_ids: Collection[int], holder: str) -> set[int]:
    """Take the refresh locks of these models for ``holder``; returns the ids it now holds (models
    locked by another live holder, or deleted, are left out)."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.REFRESH_LOCK_SECONDS)
    free = Q(refresh_lock_owner="") | Q(refresh_lock_until__lt=now) | Q(refresh_lock_owner=holder)
    AIModel.objects.filter(free, pk__in=model_ids).update(refresh_lock_owner=holder, refresh_lock_until=until)
    held: set[int] = set()
    for model_id, owner in AIModel.objects.filter(pk__in=model_ids).values_list("pk", "refresh_lock_owner"):
        if owner == holder:
            held.add(model_id)
        elif process_is_gone(owner):
            taken = AIModel.objects.filter(pk=model_id, refresh_lock_owner=owner)
            if taken.update(refresh_lock_owner=holder, refresh_lock_until=until):
                held.add(model_id)
    return held


def renew_many(*, model_ids: Collection[int], holder: str) -> set[int]:
    """Extend ``holder``'s locks on these models by REFRESH_LOCK_SECONDS; returns the ids it still
    holds (a lock that ran out may have been taken by another run meanwhile)."""
    until = timezone.now() + timedelta(seconds=settings.REFRESH_LOCK_SECONDS)
    held = AIModel.objects.filter(pk__in=model_ids, refresh_lock_owner=holder)
    held.update(refresh_lock_until=until)
    return set(held.values_list("pk", flat=True))


def release_many(*, model_ids: Collection[int], holder: str) -> None:
    """Give the locks back (only their holder can)."""
    held = AIModel.objects.filter(pk__in=model_ids, refresh_lock_owner=holder)
    held.update(refresh_lock_owner="", refresh_lock_until=None)


def release_all(*, holder: str) -> None:
    """Give back every lock ``holder`` still has (a run that stopped on an error)."""
    AIModel.objects.filter(refresh_lock_owner=holder).update(refresh_lock_owner="", refresh_lock_until=None)
