"""Services for deployments: where revisions run."""

from django.db import transaction
from django.utils import timezone

from core.changelog import Actor
from inventory.models import Deployment, Revision
from inventory.services._common import create_validated, update_validated


def record_deployment(
    *, actor: Actor, revision: Revision, system: str, environment: str, team: str = ""
) -> tuple[Deployment, bool]:
    """Register that ``revision`` runs in ``system``/``environment``, or refresh the existing record:
    it is seen now, and active again if it had been retired."""
    now = timezone.now()
    with transaction.atomic():
        existing = (
            Deployment.objects.select_for_update()
            .filter(revision=revision, system=system, environment=environment)
            .first()
        )
        if existing is None:
            deployment = Deployment(
                revision=revision, system=system, environment=environment, team=team, first_seen=now, last_seen=now
            )
            return create_validated(actor=actor, instance=deployment), True
        changes = {"last_seen": now, "active": True, "retired_at": None}
        if team:
            changes["team"] = team
        deployment, _ = update_validated(actor=actor, instance=existing, changes=changes, allowed=set(changes))
        return deployment, False


def retire_deployment(*, actor: Actor, deployment: Deployment) -> Deployment:
    """Mark a deployment as no longer running (kept for the record)."""
    if not deployment.active:
        return deployment  # retired already: nothing to change
    with transaction.atomic():
        retired, _ = update_validated(
            actor=actor,
            instance=deployment,
            changes={"active": False, "retired_at": timezone.now()},
            allowed={"active", "retired_at"},
        )
        return retired
