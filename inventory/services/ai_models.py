"""Services for models: registration, changes, renames and removal."""

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from core import changelog, events
from core.access import Principal
from core.changelog import Actor
from core.versions import ANY_VERSION, VersionRequired, check_version
from inventory import origin
from inventory.events import ModelFactsChanged, ModelRegistered
from inventory.models import (
    AIModel,
    Artifact,
    Deployment,
    License,
    LineageEdge,
    ModelAlias,
    Publisher,
    PublisherNamespace,
    Revision,
)
from inventory.selectors import find_model, model_version, publisher_of_namespace
from inventory.services._common import create_validated, delete_logged, field_changes, update_validated
from inventory.sources import not_refreshed_because
from inventory.validators import validate_upstream_id


class ModelChanges(TypedDict, total=False):
    publisher: Publisher
    declared_license: License | None
    task: str
    library: str
    architecture: str
    parameter_count: int | None
    gated: bool
    description: str
    tags: list[str]
    team: str


# Changes to these alter what the model and its descendants derive.
LINEAGE_FACTS = frozenset({"publisher", "declared_license"})


def publisher_for_namespace(*, actor: Actor, source: str, namespace: str) -> Publisher:
    """The publisher owning the namespace; an unknown namespace gets a publisher of unknown country.

    Call it inside the write's transaction: it holds the publisher's lock for reading (its country
    and its namespace stay as read until the write commits), and writers meeting the same new
    namespace take turns.
    """
    publisher = publisher_of_namespace(source=source, namespace=namespace)
    while publisher is not None:
        origin.lock_lineage(publishers_read={publisher.pk})
        owner = publisher_of_namespace(source=source, namespace=namespace)  # a curator may have moved it
        if owner == publisher:
            return publisher
        publisher = owner
    origin.lock_lineage(new_namespaces={namespace})
    publisher = publisher_of_namespace(source=source, namespace=namespace)  # registered while we waited
    if publisher is not None:
        return publisher
    named = Publisher.objects.filter(name__iexact=namespace).first()
    if named is not None:  # a known publisher seen on another hub under its own name
        create_validated(actor=actor, instance=PublisherNamespace(publisher=named, source=source, namespace=namespace))
        return named
    publisher = create_validated(
        actor=actor,
        instance=Publisher(name=namespace),
        message="publisher of an unknown namespace; its country is unknown until a curator sets it",
    )
    create_validated(actor=actor, instance=PublisherNamespace(publisher=publisher, source=source, namespace=namespace))
    return publisher


def check_upstream_id(upstream_id: str) -> None:
    """``namespace/name`` with a namespace that fits a publisher's name; the error names ``upstream_id``."""
    try:
        validate_upstream_id(upstream_id)
    except ValidationError as error:
        raise ValidationError({"upstream_id": error.messages}) from None
    if len(upstream_id.split("/")[0]) > Publisher._meta.get_field("name").max_length:
        raise ValidationError({"upstream_id": "the namespace is longer than 100 characters"})


def register_model(
    *,
    actor: Actor,
    source: str,
    upstream_id: str,
    publisher: Publisher | None = None,
    declared_license: License | None = None,
    team: str = "",
    task: str = "",
    library: str = "",
    architecture: str = "",
    parameter_count: int | None = None,
    gated: bool = False,
    description: str = "",
    tags: Sequence[str] = (),
) -> tuple[AIModel, bool]:
    """Add a model, or return the one already registered under this id (``created`` False).

    Without a publisher, the namespace names it. Lineage edges that were waiting for this model
    as their parent are linked to it, and the origins that change are recomputed.
    """
    check_upstream_id(upstream_id)
    existing = find_model(source=source, upstream_id=upstream_id)
    if existing is not None:
        return existing, False
    with transaction.atomic():
        # Registrations of one id take turns: the second finds the first's model, so the
        # database's unique index never has to refuse one.
        origin.lock_lineage(new_ids={(source, upstream_id)}, publishers_read={publisher.pk} if publisher else ())
        raced = find_model(source=source, upstream_id=upstream_id)
        if raced is not None:
            return raced, False
        if publisher is None:
            publisher = publisher_for_namespace(actor=actor, source=source, namespace=upstream_id.split("/")[0])
        model = AIModel(
            source=source,
            upstream_id=upstream_id,
            publisher=publisher,
            declared_license=declared_license,
            team=team,
            task=task,
            library=library,
            architecture=architecture,
            parameter_count=parameter_count,
            gated=gated,
            description=description,
            tags=list(tags),
            refresh_error=not_refreshed_because(source),  # why it stays pending, for sources not refreshed
        )
        # The fields' own validators cover every check constraint of the table (choices, the id's
        # form, counts) without a query per constraint; the publisher and license were just read.
        model.full_clean(exclude=["publisher", "declared_license"], validate_unique=False, validate_constraints=False)
        model.save()
        changelog.record(actor=actor, action="create", instance=model, after=changelog.snapshot(model))
        events.record(
            actor=actor,
            events=[ModelRegistered(model.pk, model.source, model.upstream_id, model.publisher_id, model.team)],
        )
        link_waiting_edges(actor=actor, parents={(source, upstream_id): model})
        origin.recompute(actor=actor, model_ids={model.id})
        return model, True


def link_waiting_edges(*, actor: Actor, parents: Mapping[tuple[str, str], AIModel]) -> None:
    """Point the edges that named a parent not yet known at the model now known by that name;
    ``parents`` maps ``(source, upstream_id)`` to the model (one query per source)."""
    by_source: dict[str, dict[str, AIModel]] = defaultdict(dict)
    for (source, upstream_id), model in parents.items():
        by_source[source][upstream_id.lower()] = model
    for source, models in by_source.items():
        waiting = (
            LineageEdge.objects.select_for_update()
            .annotate(key=Lower("parent_upstream_id"))
            .filter(parent__isnull=True, parent_source=source, key__in=list(models))
        )
        for edge in waiting:
            _log_new_parent(actor=actor, edge=edge, parent=models[edge.key], message="parent registered")
            edge.save(update_fields=["parent"])


def _log_new_parent(*, actor: Actor, edge: LineageEdge, parent: AIModel | None, message: str) -> None:
    before = changelog.snapshot(edge)
    edge.parent = parent
    changelog.record_many([changelog.update(actor=actor, instance=edge, before=before, message=message)])


def update_model(
    *,
    actor: Actor,
    model: AIModel,
    changes: ModelChanges,
    expected_versions: Collection[str] = (ANY_VERSION,),
    allowed: Callable[[AIModel], None] = lambda current: None,
) -> AIModel:
    """Change a model's facts; a new publisher or license updates what it and its descendants derive.

    ``expected_versions`` are the versions (``model_version``) the caller read: when the model has
    another one now, nothing changes and ``VersionMismatch`` is raised. ``allowed`` sees the model
    as it is locked for the change, and raises to refuse it.
    """
    with transaction.atomic():
        if LINEAGE_FACTS & set(changes):
            publisher = changes.get("publisher")
            origin.lock_lineage(changing={model.pk}, publishers_read={publisher.pk} if publisher else ())
        current = AIModel.objects.select_for_update().get(pk=model.pk)
        allowed(current)
        check_version(expected=expected_versions, current=model_version(current))
        before = changelog.snapshot(current)
        model, changed = update_validated(
            actor=actor, instance=current, changes=changes, allowed=set(ModelChanges.__annotations__)
        )
        record_facts_changed(actor=actor, before=before, model=model)
        if changed & LINEAGE_FACTS:
            origin.recompute(actor=actor, model_ids={model.id})
        return model


def correct_model(
    *, principal: Principal, model: AIModel, changes: ModelChanges, expected_versions: Collection[str] | None
) -> AIModel:
    """A person's or tool's correction of a model, checked against the version they read: a caller
    limited to a team corrects only its team's models, and cannot hand one to another team."""
    principal.require_team(model.team, f"model {model}")
    if "team" in changes:
        principal.require_team(changes["team"], "the team you hand the model to")
    if not expected_versions:  # refused before anything is locked
        raise VersionRequired
    return update_model(
        actor=principal.actor,
        model=model,
        changes=changes,
        expected_versions=expected_versions,
        allowed=lambda current: principal.require_team(current.team, f"model {current}"),  # as it is now
    )


def set_audit_status(*, actor: Actor, model: AIModel, status: str, expires_at: datetime | None) -> AIModel:
    """Store the audit summary governance derived for ``model`` (and when the approvals it rests on
    run out); logged and published as a change of the model's facts when it differs."""
    with transaction.atomic():
        current = AIModel.objects.select_for_update().get(pk=model.pk)
        before = changelog.snapshot(current)
        updated, _ = update_validated(
            actor=actor,
            instance=current,
            changes={"audit_status": status, "audit_expires_at": expires_at},
            allowed={"audit_status", "audit_expires_at"},
            message="audit status",
        )
        record_facts_changed(actor=actor, before=before, model=updated)
        return updated


def record_facts_changed(*, actor: Actor, before: dict[str, object], model: AIModel) -> None:
    """Publish what changed in the model's own facts since ``before`` (its snapshot), if anything did."""
    changes = field_changes(before, changelog.snapshot(model))
    if changes:
        events.record(actor=actor, events=[ModelFactsChanged(model.pk, changes)])


def add_model_alias(*, actor: Actor, model: AIModel, source: str, upstream_id: str) -> ModelAlias:
    """Record a former upstream id of the model (its repository was renamed or moved); edges that
    named the old id as a parent now lead to the model."""
    with transaction.atomic():
        origin.lock_lineage(changing={model.pk}, new_ids={(source, upstream_id)})
        if find_model(source=source, upstream_id=upstream_id) is not None:
            raise ValidationError({"upstream_id": "a model already has this id"})
        alias = create_validated(actor=actor, instance=ModelAlias(model=model, source=source, upstream_id=upstream_id))
        link_waiting_edges(actor=actor, parents={(source, upstream_id): model})
        origin.recompute(actor=actor, model_ids={model.id})
        return alias


def move_model(*, actor: Actor, model: AIModel, upstream_id: str) -> AIModel:
    """The hub moved the model's repository: the model takes the new id and keeps the old one as
    an alias, its publisher follows the new namespace, and edges waiting for the new id link to it."""
    try:
        validate_upstream_id(upstream_id)
    except ValidationError as error:
        raise ValidationError({"upstream_id": error.messages}) from None
    with transaction.atomic():
        origin.lock_lineage(changing={model.pk}, new_ids={(model.source, upstream_id)})
        holder = find_model(source=model.source, upstream_id=upstream_id)
        if holder is not None and holder.pk != model.pk:
            raise ValidationError({"upstream_id": f"{upstream_id} is registered as another model (#{holder.pk})"})
        former = model.upstream_id
        publisher = publisher_for_namespace(actor=actor, source=model.source, namespace=upstream_id.split("/")[0])
        before = changelog.snapshot(model)
        model, _ = update_validated(
            actor=actor,
            instance=model,
            changes={"upstream_id": upstream_id, "publisher": publisher},
            allowed={"upstream_id", "publisher"},
            message=f"moved upstream from {former}",
        )
        record_facts_changed(actor=actor, before=before, model=model)
        for alias in ModelAlias.objects.filter(source=model.source, upstream_id__iexact=upstream_id):
            delete_logged(actor=actor, instance=alias, message="the model moved back to this id")
        if former.lower() != upstream_id.lower():
            create_validated(actor=actor, instance=ModelAlias(model=model, source=model.source, upstream_id=former))
        link_waiting_edges(actor=actor, parents={(model.source, upstream_id): model})
        origin.recompute(actor=actor, model_ids={model.id})
        return model


def delete_model(*, actor: Actor, model: AIModel) -> None:
    """Remove a model that runs nowhere, logging every row that goes with it; its children's edges
    wait for it again, and their origins include "unknown" until it returns."""
    with transaction.atomic():
        children = origin.lock_lineage(changing={model.pk}) - {model.pk}
        if Deployment.objects.filter(revision__model=model).exists():
            raise ValidationError("the model has deployed revisions: retire and remove its deployments first")
        rows = [
            *LineageEdge.objects.filter(child=model),
            *ModelAlias.objects.filter(model=model),
            *Artifact.objects.filter(revision__model=model),
            *Revision.objects.filter(model=model),
        ]
        changelog.record_many(changelog.deletions(actor=actor, instances=rows, message=f"deleted with {model}"))
        for edge in LineageEdge.objects.filter(parent=model):  # the database unlinks them (SET NULL)
            _log_new_parent(actor=actor, edge=edge, parent=None, message=f"parent {model} deleted")
        delete_logged(actor=actor, instance=model)
        origin.recompute(actor=actor, model_ids=children)
