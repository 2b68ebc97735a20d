"""The bulk path writes what registering one model at a time writes, in one transaction."""

import dataclasses
import hashlib
from collections import Counter
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import ChangeLogEntry, DomainEvent
from inventory.demo import demo_entries
from inventory.hashing import git_blob_id
from inventory.models import AIModel, Artifact, License, LineageEdge, OriginCountry, Publisher, Revision
from inventory.services.bulk import ModelEntry, register_many
from inventory.services.lineage import EdgeRef
from inventory.sources.base import FileRecord
from tests.inventory_helpers import ACTOR

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


class Rollback(Exception):
    """Ends a run, undoing what it wrote."""


def parents_first(entries: list[ModelEntry]) -> list[ModelEntry]:
    """Each entry after the entries of the bases it names, so one-at-a-time registration derives
    each model once, from its final lineage."""
    by_key = {entry.key: entry for entry in entries}
    ordered: dict[tuple[str, str], ModelEntry] = {}

    def visit(entry: ModelEntry) -> None:
        for base in entry.bases:
            parent = by_key.get((base.parent_source, base.parent_upstream_id.lower()))
            if parent is not None and parent.key not in ordered:
                visit(parent)
        ordered.setdefault(entry.key, entry)

    for entry in entries:
        visit(entry)
    return list(ordered.values())


def names() -> dict[str, dict[Any, str]]:
    """Natural names of rows, by the key names that hold their ids in snapshots and payloads."""
    models = {
        pk: f"{source}:{upstream_id}"
        for pk, source, upstream_id in AIModel.objects.values_list("pk", "source", "upstream_id")
    }
    publishers = dict(Publisher.objects.values_list("pk", "name"))
    revisions = {row.pk: f"{models[row.model_id]}@{row.revision}" for row in Revision.objects.all()}
    edges = {
        row.pk: f"{models[row.child_id]}<-{row.parent_source}:{row.parent_upstream_id}"
        for row in LineageEdge.objects.all()
    }
    return {
        "aimodel": models,
        "publisher": publishers,
        "revision": revisions,
        "lineageedge": edges,
        "artifact": {row.pk: f"{revisions[row.revision_id]}/{row.path}" for row in Artifact.objects.all()},
        "publishernamespace": {},
    }


ID_KEYS = {
    **dict.fromkeys(["model", "child", "parent", "model_id"], "aimodel"),
    **dict.fromkeys(["publisher", "publisher_id"], "publisher"),
    **dict.fromkeys(["revision", "revision_id"], "revision"),
}


def named(values: Any, row_names: dict[str, dict[Any, str]], own_type: str = "") -> Any:
    """``values`` with every id replaced by the name of its row."""
    if not isinstance(values, dict):
        return values
    result = {}
    for key, value in values.items():
        if key == "id" and own_type:
            value = row_names.get(own_type, {}).get(value, "-")
        elif key in ID_KEYS and isinstance(value, int):
            value = row_names[ID_KEYS[key]].get(value, value)
        result[key] = named(value, row_names) if isinstance(value, dict) else value
    return result


def outcome() -> dict[str, Counter]:
    """Everything the registration wrote, with ids replaced by names, as multisets."""
    row_names = names()
    log = Counter(
        repr(
            (
                entry.action,
                entry.object_type,
                entry.object_repr,
                entry.message,
                named(entry.before, row_names, entry.object_type.split(".")[1]),
                named(entry.after, row_names, entry.object_type.split(".")[1]),
            )
        )
        for entry in ChangeLogEntry.objects.filter(actor_name=ACTOR.name)
    )
    emitted = Counter(repr((event.kind, named(event.payload, row_names))) for event in DomainEvent.objects.all())
    rows = Counter(
        repr(row)
        for row in [
            *AIModel.objects.values_list("source", "upstream_id", "publisher__name", "declared_license__key", "task",
                                         "parameter_count", "license_mismatch", "lineage_cuts", "upstream_license"),
            *OriginCountry.objects.values_list("model__upstream_id", "country"),
            *AIModel.inherited_licenses.through.objects.values_list("aimodel__upstream_id", "license__key"),
            *LineageEdge.objects.values_list("child__upstream_id", "parent__upstream_id", "parent_upstream_id",
                                             "relation", "origin"),
            *Revision.objects.values_list("model__upstream_id", "revision"),
            *Artifact.objects.values_list("revision__model__upstream_id", "path", "size", "sha256", "blob_id",
                                          "format", "pickle_based"),
            *Publisher.objects.values_list("name", "country"),
        ]
    )  # fmt: skip
    return {"rows": rows, "change log": log, "events": emitted}


def run(register) -> dict[str, Counter]:
    try:
        with transaction.atomic():
            register()
            result = outcome()
            raise Rollback
    except Rollback:
        return result


def test_the_demo_in_bulk_writes_what_one_model_at_a_time_writes(catalogue):
    entries = demo_entries()

    bulk = run(lambda: register_many(actor=ACTOR, entries=entries))
    one_by_one = run(lambda: [register_many(actor=ACTOR, entries=[entry]) for entry in parents_first(entries)])

    for part in ("rows", "change log", "events"):
        assert bulk[part] == one_by_one[part], part
    assert sum(bulk["events"].values()) > len(entries)


def test_files_with_digests_in_bulk_are_the_rows_one_model_at_a_time_writes(catalogue):
    def with_files(entry: ModelEntry) -> ModelEntry:
        digest = hashlib.sha256(entry.upstream_id.encode()).hexdigest()
        files = [
            FileRecord("config.json", 120, blob_id=git_blob_id(entry.upstream_id.encode())),
            FileRecord("model.safetensors", 4_000, digest, git_blob_id(digest.encode())),
            FileRecord("README.md"),  # nothing known but its path
        ]
        return dataclasses.replace(entry, artifacts=files) if entry.revisions else entry

    entries = [with_files(entry) for entry in demo_entries()]
    assert any(entry.artifacts for entry in entries)

    bulk = run(lambda: register_many(actor=ACTOR, entries=entries))
    one_by_one = run(lambda: [register_many(actor=ACTOR, entries=[entry]) for entry in parents_first(entries)])

    for part in ("rows", "change log", "events"):
        assert bulk[part] == one_by_one[part], part
    assert any("blob_id" in key and "'config.json'" in key for key in bulk["events"]), "in the event's artifacts"


def test_registering_again_changes_nothing(catalogue):
    entries = demo_entries()
    register_many(actor=ACTOR, entries=entries)
    logged = ChangeLogEntry.objects.count()

    result = register_many(actor=ACTOR, entries=entries)

    assert result.created == set()
    assert ChangeLogEntry.objects.count() == logged


@pytest.mark.parametrize(
    ("wrong", "field"),
    [
        ({"upstream_id": "not an id"}, "entries.1.upstream_id"),
        ({"task": "x" * 300}, "entries.1.task"),
        ({"bases": [EdgeRef("huggingface", "no slash", "finetune", "bom")]}, "entries.1.bases.0.parent_upstream_id"),
        ({"revisions": ["main"]}, "entries.1.revisions.0"),  # Hugging Face revisions are commit shas
    ],
)
def test_an_invalid_entry_is_named_and_nothing_is_stored(wrong, field):
    entries = [
        ModelEntry(source="huggingface", upstream_id="lab/fine"),
        ModelEntry(**{"source": "huggingface", "upstream_id": "lab/wrong", **wrong}),
    ]

    with pytest.raises(ValidationError) as refused:
        register_many(actor=ACTOR, entries=entries)

    assert list(refused.value.message_dict) == [field]
    assert not AIModel.objects.exists()


def test_the_number_of_queries_does_not_grow_with_the_batch():
    def batch(size: int, prefix: str) -> list[ModelEntry]:
        return [
            ModelEntry(
                source="huggingface",
                upstream_id=f"lab/{prefix}-{index}",
                revisions=[f"{index:040x}"],
                bases=[EdgeRef("huggingface", f"lab/{prefix}-{index - 1}", "finetune", "manual")] if index else [],
            )
            for index in range(size)
        ]

    register_many(actor=ACTOR, entries=batch(1, "warm-up"))  # the lab's publisher exists from here on
    with CaptureQueriesContext(connection) as small:
        register_many(actor=ACTOR, entries=batch(5, "small"))
    with CaptureQueriesContext(connection) as large:
        register_many(actor=ACTOR, entries=batch(5, "large") + batch(40, "more")[5:])

    # The recompute walks the lineage level by level: the 40-deep chain reaches the depth bound.
    assert len(large) <= len(small) + 2 * 40


@pytest.fixture
def catalogue() -> None:
    """The shipped catalogue is in the database from its data migration."""
    assert License.objects.exists()
