"""The bulk path: many models with their revisions and lineage in one transaction and one recompute.

Seeding, BOM ingest and other batch work register through ``register_many``. It writes the same
rows, change-log rows and events as registering each model on its own would (each model derived
once, from its final lineage), in a number of queries that does not grow with the batch. It holds
the whole lineage while it runs: other lineage writers wait for the batch, never see half of it.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core import changelog, events
from core.changelog import Actor
from inventory import origin
from inventory.events import ModelRegistered
from inventory.models import AIModel, License, Publisher
from inventory.selectors import find_models, publishers_of_namespaces
from inventory.services.ai_models import check_upstream_id, link_waiting_edges, publisher_for_namespace
from inventory.services.lineage import EdgeRef, add_edges
from inventory.services.revisions import RevisionInput, add_revisions
from inventory.sources import not_refreshed_because, rules_for
from inventory.sources.base import FileRecord
from inventory.validators import validate_upstream_id


@dataclass(frozen=True)
class ModelEntry:
    """One model to register, with the revisions to pin and the base models it derives from."""

    source: str
    upstream_id: str
    declared_license: License | None = None
    upstream_license: str = ""
    team: str = ""
    task: str = ""
    library: str = ""
    architecture: str = ""
    parameter_count: int | None = None
    gated: bool = False
    description: str = ""
    tags: Sequence[str] = ()
    # The card's data in AIModel's shapes (see its validators); a refresh from the hub replaces them.
    datasets: Sequence[dict[str, str]] = ()
    evaluation_results: Sequence[dict[str, Any]] = ()
    architecture_family: str = ""
    model_card: dict[str, Any] | None = None  # a CycloneDX modelCard, kept as a BOM gave it
    revisions: Sequence[str] = ()
    artifacts: Sequence[FileRecord] = ()  # files of the first revision
    bases: Sequence[EdgeRef] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.upstream_id.lower()


@dataclass(frozen=True)
class BulkResult:
    """The batch's models by ``(source, lowercased upstream id)``, and which of them are new."""

    models: dict[tuple[str, str], AIModel]
    created: set[tuple[str, str]]


def register_many(*, actor: Actor, entries: Sequence[ModelEntry]) -> BulkResult:
    """Register every entry's model (an existing one is kept as it is), pin its revisions, add its
    lineage edges, then recompute once what every touched model derives. All or nothing: an
    invalid entry names itself (``entries.<n>.<field>``) and nothing is stored."""
    for position, entry in enumerate(entries):
        with _named(position):
            _check(entry)
    with transaction.atomic():
        origin.lock_whole_lineage()
        models, created = _models(actor=actor, entries=entries)
        add_revisions(
            actor=actor,
            wanted=[
                RevisionInput(models[entry.key], revision, entry.artifacts if index == 0 else ())
                for entry in entries
                for index, revision in enumerate(entry.revisions)
            ],
        )
        linked = add_edges(
            actor=actor, refs_by_child={models[entry.key]: list(entry.bases) for entry in entries if entry.bases}
        )
        origin.recompute(actor=actor, model_ids={models[key].pk for key in created} | linked)
        return BulkResult(models=models, created=created)


@contextmanager
def _named(position: int) -> Iterator[None]:
    """Errors raised inside name the entry: ``entries.<position>.<field>``."""
    try:
        yield
    except ValidationError as error:
        raise ValidationError(
            {f"entries.{position}.{field}": messages for field, messages in error.message_dict.items()}
        ) from None


def _check(entry: ModelEntry) -> None:
    """What can be checked of an entry before anything is written: its id, its bases' ids, its revisions."""
    check_upstream_id(entry.upstream_id)
    for number, base in enumerate(entry.bases):
        try:
            validate_upstream_id(base.parent_upstream_id)
        except ValidationError as error:
            raise ValidationError({f"bases.{number}.parent_upstream_id": error.messages}) from None
    for number, revision in enumerate(entry.revisions):
        try:
            rules_for(entry.source).normalize_revision(revision)
        except ValidationError as error:
            raise ValidationError({f"revisions.{number}": error.messages}) from None


def _models(
    *, actor: Actor, entries: Sequence[ModelEntry]
) -> tuple[dict[tuple[str, str], AIModel], set[tuple[str, str]]]:
    """The entries' models: found, or created in one statement with their change-log rows and events."""
    by_source: dict[str, list[ModelEntry]] = defaultdict(list)
    for entry in entries:
        by_source[entry.source].append(entry)
    models: dict[tuple[str, str], AIModel] = {}
    for source, group in by_source.items():
        found = find_models(source=source, upstream_ids=[entry.upstream_id for entry in group])
        models.update({(source, key): model for key, model in found.items()})
    new: dict[tuple[str, str], AIModel] = {}
    publishers = _publishers(actor=actor, entries=[entry for entry in entries if entry.key not in models])
    for position, entry in enumerate(entries):
        if entry.key in models or entry.key in new:
            continue
        model = AIModel(
            source=entry.source,
            upstream_id=entry.upstream_id,
            publisher=publishers[(entry.source, entry.upstream_id.split("/")[0].lower())],
            declared_license=entry.declared_license,
            upstream_license=entry.upstream_license,
            team=entry.team,
            task=entry.task,
            library=entry.library,
            architecture=entry.architecture,
            parameter_count=entry.parameter_count,
            gated=entry.gated,
            description=entry.description,
            tags=list(entry.tags),
            datasets=[dict(dataset) for dataset in entry.datasets],
            evaluation_results=[dict(result) for result in entry.evaluation_results],
            architecture_family=entry.architecture_family,
            model_card=entry.model_card,
            refresh_error=not_refreshed_because(entry.source),
        )
        with _named(position):
            model.full_clean(
                exclude=["publisher", "declared_license"], validate_unique=False, validate_constraints=False
            )
        new[entry.key] = model
    AIModel.objects.bulk_create(new.values())
    changelog.record_many(changelog.creations(actor=actor, instances=new.values()))
    events.record(
        actor=actor,
        events=[ModelRegistered(m.pk, m.source, m.upstream_id, m.publisher_id, m.team) for m in new.values()],
    )
    link_waiting_edges(actor=actor, parents={(m.source, m.upstream_id): m for m in new.values()})
    return {**models, **new}, set(new)


def _publishers(*, actor: Actor, entries: Sequence[ModelEntry]) -> dict[tuple[str, str], Publisher]:
    """The publisher of each entry's namespace, by ``(source, lowercased namespace)``; a namespace
    nobody owns gets a publisher of unknown country, as single registration gives it."""
    namespaces: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        namespaces[entry.source].add(entry.upstream_id.split("/")[0])
    publishers = {
        (source, key): publisher
        for source, names in namespaces.items()
        for key, publisher in publishers_of_namespaces(source=source, namespaces=names).items()
    }
    for source, names in namespaces.items():
        for namespace in sorted(names):  # in a fixed order, so that the change log reads the same every time
            if (source, namespace.lower()) not in publishers:
                publishers[(source, namespace.lower())] = publisher_for_namespace(
                    actor=actor, source=source, namespace=namespace
                )
    return publishers
