"""CycloneDX documents for a scope: one model (with its ancestors), a system, a team, an environment,
or the whole organization; JSON 1.6 by default, 1.7 on request.

A document is produced as parts, so that 100,000 models never sit in memory as one dict: the header
(format, serial number, version, metadata), then each component, then the dependency graph. Models
are loaded in chunks (``boms.loading``: a fixed number of queries per chunk); each component is
checked against the schema's component definition as it is produced and the rest of the document
(header and dependencies) against the whole schema, so a document that is written is valid.
``write_bom`` streams JSON; a small document (up to ``WHOLE_VALIDATION_LIMIT`` components) is also
validated whole before a byte is written. ``boms.xml`` writes XML from the same parts.
"""

import contextlib
import gc
import importlib.metadata
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from boms import components as build
from boms import numbering
from boms import properties as mpr
from boms.loading import Entry, load_chunk
from boms.validation import DEFAULT_SPEC_VERSION, SPEC_VERSIONS, validate, validate_component, validate_outer
from inventory.models import AIModel, Deployment, LineageEdge

SCOPE_KINDS = ("model", "system", "team", "environment", "organization")
CHUNK_SIZE = 1000  # models loaded (and components produced) at a time
WHOLE_VALIDATION_LIMIT = 1000  # up to this many components, write_bom validates the whole document too
PRODUCT = "model-provenance-registry"
_ID_BATCH = 5000


class ScopeNotFound(LookupError):
    """The scope names a model that is not in the inventory."""


@dataclass(frozen=True)
class Scope:
    """What a document covers: ``kind`` and, but for the organization, its name (a model's id)."""

    kind: str
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ValueError(f"unknown BOM scope {self.kind!r}; expected one of {', '.join(SCOPE_KINDS)}")
        if (self.kind == "organization") != (self.name == ""):
            raise ValueError("the organization scope has no name; every other scope needs one")

    @classmethod
    def of_model(cls, model: AIModel | int) -> "Scope":
        return cls("model", str(model.pk if isinstance(model, AIModel) else model))

    @classmethod
    def organization(cls) -> "Scope":
        return cls("organization")

    @property
    def key(self) -> str:
        """The scope's numbering key: its documents' versions count up under it."""
        return self.kind if self.kind == "organization" else f"{self.kind}:{self.name}"


@dataclass
class BomInfo:
    """What a written document is: its serial number, version, and how many top-level components it has."""

    serial: str
    version: int
    component_count: int
    spec_version: str
    scope_key: str


_collection_lock = threading.Lock()
_collection_pauses = 0
_collection_was_enabled = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's automatic (cyclic) garbage collection off while a document's components are produced.

    A chunk's hundred thousand rows, dicts and lists stay alive until its components are written, and
    allocating them sets off full collections over every object of the process: a quarter of the
    document's time. Plain data frees itself by reference counting; ``components()`` collects the
    young generations (where a chunk's few reference cycles are) after each chunk instead. Documents
    produced at once in several threads share one pause; the last to end restores the collector.
    """
    global _collection_pauses, _collection_was_enabled
    with _collection_lock:
        if _collection_pauses == 0:
            _collection_was_enabled = gc.isenabled()
            gc.disable()
        _collection_pauses += 1
    try:
        yield
    finally:
        with _collection_lock:
            _collection_pauses -= 1
            if _collection_pauses == 0 and _collection_was_enabled:
                gc.enable()


def _batches(ids: list[int], size: int = _ID_BATCH) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def ancestor_ids(model_ids: set[int]) -> set[int]:
    """The registered ancestors of the models (not the models themselves), up to the lineage depth
    bound: one query per level and batch of ids."""
    found: set[int] = set()
    frontier = set(model_ids)
    for _ in range(settings.LINEAGE_MAX_DEPTH):
        parents: set[int] = set()
        for batch in _batches(sorted(frontier)):
            edges = LineageEdge.objects.filter(child_id__in=batch, parent__isnull=False)
            parents.update(edges.values_list("parent_id", flat=True))
        frontier = parents - found - model_ids
        if not frontier:
            break
        found |= frontier
    return found


def _deployed(deployments: QuerySet[Deployment]) -> list[Entry]:
    pairs = deployments.filter(active=True).values_list("revision__model_id", "revision_id").distinct()
    return [Entry(model_id, revision_id) for model_id, revision_id in sorted(pairs)]


def scope_entries(scope: Scope) -> tuple[list[Entry], list[Entry]]:
    """The scope's models (at the revision their component describes) and the registered ancestors
    of those models that are not themselves in scope (each at its latest revision)."""
    if scope.kind == "organization":
        return [Entry(model_id) for model_id in AIModel.objects.order_by("pk").values_list("pk", flat=True)], []
    if scope.kind == "model":
        if not scope.name.isdigit() or not AIModel.objects.filter(pk=int(scope.name)).exists():
            raise ScopeNotFound(f"no model #{scope.name}")
        members = [Entry(int(scope.name))]
    elif scope.kind == "team":
        members = [
            Entry(pk) for pk in AIModel.objects.filter(team=scope.name).order_by("pk").values_list("pk", flat=True)
        ]
    else:  # system, environment: what runs there, at the deployed revisions
        members = _deployed(Deployment.objects.filter(**{scope.kind: scope.name}))
    in_scope = {entry.model_id for entry in members}
    return members, [Entry(model_id) for model_id in sorted(ancestor_ids(in_scope))]


def _tool() -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "application", "name": PRODUCT}
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):  # not installed: the version is unknown
        tool["version"] = importlib.metadata.version(PRODUCT)
    return tool


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def system_component(name: str) -> dict[str, Any]:
    """A system as the ``application`` a system BOM describes."""
    return {"type": "application", "bom-ref": f"system:{name}", "name": name}


@dataclass
class BomDocument:
    """One document being produced: ``header`` first, then ``components()``, then ``dependencies()``."""

    scope: Scope
    spec_version: str
    header: dict[str, Any]
    members: list[Entry]
    ancestors_only: list[Entry]
    now: datetime
    chunk_size: int = CHUNK_SIZE
    component_count: int = 0
    _refs_of_model: dict[int, list[str]] = field(default_factory=dict)
    _graph: list[tuple[str, list[int]]] = field(default_factory=list)
    _root_refs: list[str] = field(default_factory=list)
    _done: bool = False

    @property
    def info(self) -> BomInfo:
        return BomInfo(
            serial=self.header["serialNumber"],
            version=self.header["version"],
            component_count=self.component_count,
            spec_version=self.spec_version,
            scope_key=self.scope.key,
        )

    def components(self) -> Iterator[dict[str, Any]]:
        """Every top-level component, each validated: the scope's models, the ancestors only in the
        document as ancestors, then the datasets their cards name."""
        with _collector_paused():
            yield from self._components()

    def _components(self) -> Iterator[dict[str, Any]]:
        datasets: dict[str, dict[str, str]] = {}
        seen: set[str] = set()
        entries = [(entry, False) for entry in self.members] + [(entry, True) for entry in self.ancestors_only]
        for start in range(0, len(entries), self.chunk_size):
            part = entries[start : start + self.chunk_size]
            chunk = load_chunk([entry for entry, _ in part], self.now)
            for (entry, ancestor_only), facts in zip(part, chunk.models, strict=True):
                component = build.model_component(facts, chunk.ancestors, ancestor_only=ancestor_only)
                ref = component["bom-ref"]
                if ref in seen:  # one model at one revision: once (a system may deploy it in several places)
                    continue
                seen.add(ref)
                self._refs_of_model.setdefault(entry.model_id, []).append(ref)
                self._graph.append((ref, chunk.parents.get(entry.model_id, [])))
                if not ancestor_only:
                    self._root_refs.append(ref)
                for dataset in build.datasets_of(facts):
                    datasets.setdefault(build.dataset_ref(dataset), dataset)
                yield self._checked(component)
            del chunk  # freed before the next one is loaded
            gc.collect(1)
        for dataset in datasets.values():
            yield self._checked(build.dataset_component(dataset))
        self._done = True

    def _checked(self, component: dict[str, Any]) -> dict[str, Any]:
        validate_component(component, self.spec_version, index=self.component_count)
        self.component_count += 1
        return component

    def dependencies(self) -> list[dict[str, Any]]:
        """The dependency graph (after ``components()``): each model on its registered parents, and
        for a system, the system on the models it runs. The header and graph are validated."""
        if not self._done:
            raise RuntimeError("the dependencies follow the components: consume components() first")
        graph = []
        if self.scope.kind == "system":
            runs = sorted(set(self._root_refs))
            graph.append({"ref": f"system:{self.scope.name}", **({"dependsOn": runs} if runs else {})})
        for ref, parent_ids in self._graph:
            depends = sorted({parent_ref for pid in parent_ids for parent_ref in self._refs_of_model.get(pid, [])})
            graph.append({"ref": ref, "dependsOn": depends} if depends else {"ref": ref})
        validate_outer({**self.header, "dependencies": graph}, self.spec_version)
        return graph


def open_document(
    scope: Scope, spec_version: str = DEFAULT_SPEC_VERSION, now: datetime | None = None, chunk_size: int = CHUNK_SIZE
) -> BomDocument:
    """Start a document: resolve the scope, number it (its scope's next version) and check its header."""
    if spec_version not in SPEC_VERSIONS:
        raise ValueError(f"unsupported CycloneDX version {spec_version!r}; expected one of {', '.join(SPEC_VERSIONS)}")
    now = now or timezone.now()
    members, ancestors_only = scope_entries(scope)
    number = numbering.next_number(scope.key, spec_version, now)
    metadata: dict[str, Any] = {"timestamp": _timestamp(now), "tools": {"components": [_tool()]}}
    if scope.kind == "system":
        metadata["component"] = system_component(scope.name)
    metadata["properties"] = [mpr.prop(mpr.SCOPE_KIND, scope.kind)]
    if scope.name:
        metadata["properties"].append(mpr.prop(mpr.SCOPE_NAME, scope.name))
    header = {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec_version}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "serialNumber": number.serial,
        "version": number.version,
        "metadata": metadata,
    }
    validate_outer(header, spec_version)
    return BomDocument(
        scope=scope,
        spec_version=spec_version,
        header=header,
        members=members,
        ancestors_only=ancestors_only,
        now=now,
        chunk_size=chunk_size,
    )


def iter_document(
    scope: Scope, spec_version: str = DEFAULT_SPEC_VERSION, now: datetime | None = None
) -> Iterator[tuple[str, Any]]:
    """The document as parts: ``("header", dict)``, then ``("component", dict)`` for each top-level
    component, then ``("dependencies", list)``; every part validated as it comes (the XML writer's input)."""
    document = open_document(scope, spec_version, now)
    yield "header", document.header
    for component in document.components():
        yield "component", component
    yield "dependencies", document.dependencies()


def build_bom(scope: Scope, spec_version: str = DEFAULT_SPEC_VERSION, now: datetime | None = None) -> dict[str, Any]:
    """The whole document as one dict, validated whole (for scopes small enough to hold)."""
    document = open_document(scope, spec_version, now)
    whole = {**document.header, "components": list(document.components())}
    whole["dependencies"] = document.dependencies()
    validate(whole, spec_version)
    return whole


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_bom(
    scope: Scope,
    spec_version: str = DEFAULT_SPEC_VERSION,
    *,
    out: BinaryIO,
    now: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> BomInfo:
    """Write the scope's JSON document to ``out`` (UTF-8), component by component.

    Raises ``boms.validation.BomInvalid`` when any part fails the schema: ``out`` may then hold part
    of a document, which the caller discards (a stored file is written to a temporary name first).
    """
    return write_json(out, open_document(scope, spec_version, now, chunk_size))


def write_json(out: BinaryIO, document: BomDocument, components: Iterator[dict[str, Any]] | None = None) -> BomInfo:
    """Write an opened document as JSON: its header, ``components`` (its own ``components()`` unless
    the caller wraps them, e.g. to report progress) and its dependencies. A small document is held
    and validated whole before the first byte is written; a larger one streams, each part validated
    as it comes."""
    spec_version = document.header["specVersion"]
    head = _json(document.header)[:-1] + ',"components":['
    pending: list[dict[str, Any]] = []
    components = document.components() if components is None else components
    for component in components:  # small documents: held and validated whole before writing
        pending.append(component)
        if len(pending) > WHOLE_VALIDATION_LIMIT:
            break
    else:
        dependencies = document.dependencies()
        validate({**document.header, "components": pending, "dependencies": dependencies}, spec_version)
        out.write((head + ",".join(map(_json, pending)) + '],"dependencies":' + _json(dependencies) + "}").encode())
        return document.info
    out.write((head + ",".join(map(_json, pending))).encode())
    batch: list[str] = []
    for component in components:
        batch.append(_json(component))
        if len(batch) == document.chunk_size:
            out.write(("," + ",".join(batch)).encode())
            batch = []
    if batch:
        out.write(("," + ",".join(batch)).encode())
    out.write(('],"dependencies":' + _json(document.dependencies()) + "}").encode())
    return document.info
