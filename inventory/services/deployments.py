"""Services for deployments: where revisions run."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import events
from core.access import Principal
from core.changelog import Actor
from inventory.events import DeploymentRegistered, DeploymentRetired
from inventory.models import Deployment, Revision
from inventory.purls import ModelReference
from inventory.selectors import find_model
from inventory.services._common import create_validated, update_validated
from inventory.services.revisions import add_revision


def register_deployment(
    *, principal: Principal, reference: ModelReference, system: str, environment: str, team: str = ""
) -> tuple[Deployment, bool]:
    """Deploy tooling reports that a model's revision runs in ``system``/``environment``: the revision
    is pinned if new, and the deployment recorded or seen again (``created`` False).

    The model must be registered first. A caller limited to a team records deployments for its team
    (the default) and may not touch another team's.
    """
    model = find_model(source=reference.source, upstream_id=reference.upstream_id)
    if model is None:
        raise ValidationError({"model": "not in the inventory: register it first"})
    if not reference.revision:
        raise ValidationError({"revision": "give the revision that runs (or model@revision)"})
    team = principal.default_team(team)
    principal.require_team(team, "a deployment for this team")
    with transaction.atomic():
        revision, _ = add_revision(actor=principal.actor, model=model, revision=reference.revision)
        return record_deployment(
            actor=principal.actor,
            revision=revision,
            system=system,
            environment=environment,
            team=team,
            principal=principal,
        )


def record_deployment(
    *,
    actor: Actor,
    revision: Revision,
    system: str,
    environment: str,
    team: str = "",
    principal: Principal | None = None,
) -> tuple[Deployment, bool]:
    """Register that ``revision`` runs in ``system``/``environment``, or refresh the existing record:
    it is seen now, and active again if it had been retired. With a ``principal``, an existing
    record of another team is refused."""
    now = timezone.now()
    with transaction.atomic():
        # Reports of one revision take turns, so that two first reports create one record.
        Revision.objects.select_for_update().filter(pk=revision.pk).first()
        existing = (
            Deployment.objects.select_for_update()
            .filter(revision=revision, system=system, environment=environment)
            .first()
        )
        if existing is None:
            deployment = Deployment(
                revision=revision, system=system, environment=environment, team=team, first_seen=now, last_seen=now
            )
            deployment, created = create_validated(actor=actor, instance=deployment), True
        else:
            if principal is not None:
                principal.require_team(existing.team, "this deployment")
            changes = {"last_seen": now, "active": True, "retired_at": None}
            if team:
                changes["team"] = team
            deployment, _ = update_validated(actor=actor, instance=existing, changes=changes, allowed=set(changes))
            created = False
        events.record(actor=actor, events=[DeploymentRegistered(**_described(deployment), created=created)])
        return deployment, created


def retire_deployment(*, principal: Principal, deployment: Deployment) -> Deployment:
    """Mark a deployment as no longer running (kept for the record); retiring it twice changes nothing."""
    with transaction.atomic():
        current = Deployment.objects.select_for_update().select_related("revision").get(pk=deployment.pk)
        principal.require_team(current.team, "this deployment")
        if not current.active:
            return current
        retired, _ = update_validated(
            actor=principal.actor,
            instance=current,
            changes={"active": False, "retired_at": timezone.now()},
            allowed={"active", "retired_at"},
        )
        events.record(actor=principal.actor, events=[DeploymentRetired(**_described(retired))])
        return retired


def _described(deployment: Deployment) -> dict[str, object]:
    """What a deployment event tells about it."""
    return {
        "deployment_id": deployment.pk,
        "model_id": deployment.revision.model_id,
        "revision": deployment.revision.revision,
        "system": deployment.system,
        "environment": deployment.environment,
        "team": deployment.team,
    }
