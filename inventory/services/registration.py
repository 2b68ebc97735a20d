"""Registration as deploy tooling and people do it: one call from a reference to a tracked model."""

from dataclasses import dataclass

from django.db import transaction

from core.access import Principal
from core.models import Job
from inventory.models import AIModel, RefreshState
from inventory.purls import ModelReference
from inventory.refresh.jobs import request_refresh
from inventory.services.ai_models import register_model
from inventory.services.revisions import add_revision


@dataclass(frozen=True)
class Registration:
    """The model registered (or found), whether it is new, and the refresh it started or joined."""

    model: AIModel
    created: bool
    refresh_job: Job | None


def register(*, principal: Principal, reference: ModelReference) -> Registration:
    """Register the model a reference names, idempotently, for the caller's team; pin the revision
    it names; and start (or join) the model's refresh from its hub when the model is new or its
    last refresh did not succeed. All of it in one transaction."""
    with transaction.atomic():
        model, created = register_model(
            actor=principal.actor, source=reference.source, upstream_id=reference.upstream_id, team=principal.team
        )
        if reference.revision:
            add_revision(actor=principal.actor, model=model, revision=reference.revision)
        refresh = None
        if created or model.refresh_state != RefreshState.OK:
            refresh = request_refresh(actor=principal.actor, model=model, requested_by=principal.person)
        return Registration(model=model, created=created, refresh_job=refresh)
