"""What a CycloneDX document says about models, read without touching the database.

``plan_document(document)`` takes a document in the JSON shape (a dict; ``boms.ingest.xml_reading``
turns an XML one into the same) and returns a ``Plan``: one ``ModelPlan`` per model the document
describes, the system it describes, and a note for everything worth a line in the job's log. The
rules are docs/boms.md's "Ingest: mapping rules"; in short:

- every ``machine-learning-model`` component, at the top level or nested in another's
  ``components``, is a model (``metadata.component`` is the system, ``pedigree`` entries are
  lineage, neither is registered as a model of its own);
- a purl of a source the registry knows gives source, upstream id and revision; without one (or
  with one of no known source) the model is source ``bom``, upstream id ``<group>/<name>`` (the
  manufacturer's, supplier's, publisher's or author's name standing in for a missing group, then
  ``bom``), revision from ``version``;
- ``pedigree.ancestors`` name the model's ancestors; a parent is an ancestor that is not an
  ancestor of another of them (as the document describes that one), unless the dependency graph
  says the model depends on it directly; the relation is ``other`` unless the component's tags
  carry Hugging Face's ``base_model:<relation>:<id>``;
- properties are never read: nothing in the ``mpr:`` namespace (or any other) changes what is
  registered.
"""

import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pycountry
from django.core.exceptions import ValidationError

from core.validators import LINE_BREAKS
from inventory.models import Relation, Source
from inventory.purls import parse_reference
from inventory.sources import rules_for
from inventory.validators import has_control_characters

ML_MODEL = "machine-learning-model"
DATA = "data"
FIELD_LIMITS = {"task": 100, "architecture": 100, "architecture_family": 100}
REVISION_MAX_LENGTH = 100
UPSTREAM_ID_MAX_LENGTH = 200
NO_GROUP = "bom"  # the namespace of a model no group or organization names
# Hugging Face's tags for a model's base (``base_model:finetune:<id>``): the relations they name, and
# the two the hub has no tag for, which this product's exports write in the same form.
HUB_TAG_RELATIONS = {
    "finetune": Relation.FINETUNE,
    "adapter": Relation.ADAPTER,
    "quantized": Relation.QUANTIZED,
    "merge": Relation.MERGE,
    "distillation": Relation.DISTILLATION,
    "other": Relation.OTHER,
}
_HUB_DATASET_URL = re.compile(r"https?://(?:www\.)?huggingface\.co/datasets/([^/?#\s]+(?:/[^/?#\s]+)?)/?(?:[?#].*)?")
_SEPARATORS = re.compile(r"[\s/]+")
_INTEGER = re.compile(r"[+-]?\d{1,15}")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")

Key = tuple[str, str]  # (source, lowercased upstream id)


@dataclass(frozen=True)
class Identity:
    """Who a component is in the inventory's terms."""

    source: str
    upstream_id: str
    revision: str | None
    by_purl: bool

    @property
    def key(self) -> Key:
        return self.source, self.upstream_id.lower()


@dataclass(frozen=True)
class ParentPlan:
    source: str
    upstream_id: str
    relation: str

    @property
    def key(self) -> Key:
        return self.source, self.upstream_id.lower()


@dataclass
class ModelPlan:
    """One model the document describes (the first component that names it gives its facts; later
    ones add revisions and parents)."""

    path: str  # where its first component is: "components[0].components[2]"
    source: str
    upstream_id: str
    revisions: list[str] = field(default_factory=list)
    country: str = ""  # manufacturer's address.country as an ISO 3166-1 alpha-2 code, "" when none
    country_given: str = ""  # the value as the document wrote it
    licenses: list[str] = field(default_factory=list)  # SPDX ids, names or expressions, as written
    task: str = ""
    architecture: str = ""
    architecture_family: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    datasets: list[dict[str, str]] = field(default_factory=list)
    evaluation_results: list[dict[str, Any]] = field(default_factory=list)
    model_card: dict[str, Any] | None = None
    parents: list[ParentPlan] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return self.source, self.upstream_id.lower()

    @property
    def namespace(self) -> str:
        return self.upstream_id.split("/", 1)[0]


@dataclass
class Plan:
    models: list[ModelPlan]
    system: str  # metadata.component's name, "" when the document has none
    notes: list[str]
    data_components: int = 0  # data components in the document (kept as the datasets of the cards that name them)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _slug(value: str) -> str:
    """A name as one part of an upstream id: whitespace and slashes become '-', control characters go."""
    cleaned = "".join(character for character in value if not has_control_characters(character))
    return _SEPARATORS.sub("-", cleaned.strip()).strip("-")


def _organization_name(component: dict[str, Any]) -> str:
    for key in ("manufacturer", "supplier"):
        entity = component.get(key)
        if isinstance(entity, dict) and _slug(_text(entity.get("name"))):
            return _text(entity["name"])
    for key in ("publisher", "author"):
        if _slug(_text(component.get(key))):
            return _text(component[key])
    return ""


def identify(component: dict[str, Any], path: str, notes: list[str]) -> Identity | None:
    """The component's identity (see the module); None for one that has no name to go by."""
    purl = _text(component.get("purl"))
    if purl:
        try:
            reference = parse_reference(purl)
        except ValidationError as error:
            why = " ".join(error.messages)
            notes.append(
                f"{path}: purl {purl!r} names no model source here ({why}): read as a component without a purl"
            )
        else:
            return Identity(
                reference.source,
                reference.upstream_id,
                _revision(reference.source, reference.revision, path, notes),
                True,
            )
    name = _slug(_text(component.get("name")))
    if not name:
        notes.append(f"{path}: a machine-learning-model without a name: not registered")
        return None
    namespace = _slug(_text(component.get("group"))) or _slug(_organization_name(component)) or NO_GROUP
    upstream_id = f"{namespace}/{name}"
    return Identity(Source.BOM, upstream_id, _revision(Source.BOM, _text(component.get("version")), path, notes), False)


def _revision(source: str, revision: str | None, path: str, notes: list[str]) -> str | None:
    """The revision to pin, or None (a value the source's rules refuse is noted and not pinned)."""
    if not revision:
        return None
    if len(revision) > REVISION_MAX_LENGTH or has_control_characters(revision):
        notes.append(f"{path}: version {revision[:60]!r}... is not a revision the registry stores: not pinned")
        return None
    try:
        return rules_for(source).normalize_revision(revision)
    except ValidationError:
        notes.append(f"{path}: {revision!r} is not a {source} revision (a commit sha): not pinned")
        return None


def _components(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every component at the top level and nested in ``components``, with its path, depth first."""
    stack = [(f"components[{index}]", component) for index, component in enumerate(document.get("components") or [])]
    stack.reverse()
    while stack:
        path, component = stack.pop()
        if not isinstance(component, dict):
            continue
        yield path, component
        nested = component.get("components") or []
        stack.extend(reversed([(f"{path}.components[{index}]", child) for index, child in enumerate(nested)]))


def _ancestors(component: dict[str, Any]) -> list[dict[str, Any]]:
    pedigree = component.get("pedigree")
    ancestors = pedigree.get("ancestors") if isinstance(pedigree, dict) else None
    return [entry for entry in ancestors or [] if isinstance(entry, dict)]


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 code for what ``address.country`` holds (CycloneDX: a name or a code),
    "" when it names no country pycountry knows."""
    if not value:
        return ""
    if len(value) == 2:
        found = pycountry.countries.get(alpha_2=value.upper())
    elif len(value) == 3:
        found = pycountry.countries.get(alpha_3=value.upper())
    else:
        try:
            found = pycountry.countries.lookup(value)
        except LookupError:
            found = None
    return found.alpha_2 if found is not None else ""


def _licenses(component: dict[str, Any]) -> list[str]:
    """The licenses as written: each choice's SPDX id, else its name; or the expression."""
    written = []
    for choice in component.get("licenses") or []:
        if not isinstance(choice, dict):
            continue
        license_ = choice.get("license")
        if isinstance(license_, dict):
            value = _text(license_.get("id")) or _text(license_.get("name"))
        else:
            value = _text(choice.get("expression"))
        if value and value not in written:
            written.append(value)
    return written


def _metric_value(value: Any) -> int | float | str:
    """A metric's value as a number when the text is one (the product writes numbers as text)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    text = _text(value)
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    return text


def _evaluation_results(card: dict[str, Any], task: str) -> list[dict[str, Any]]:
    analysis = card.get("quantitativeAnalysis")
    metrics = analysis.get("performanceMetrics") if isinstance(analysis, dict) else None
    results = []
    for metric in metrics or []:
        if not isinstance(metric, dict) or not _text(metric.get("type")):
            continue
        where = _text(metric.get("slice"))
        result = {
            "task": task,
            "dataset": "",
            "dataset_name": where,
            "metric": _text(metric["type"]),
            "value": _metric_value(metric.get("value")),
            "verified": None,
        }
        if result not in results:
            results.append(result)
    return results


def _data_identity(entry: dict[str, Any]) -> dict[str, str] | None:
    """A dataset as the inventory keeps it: a Hugging Face dataset when a URL of it on the hub says
    so, else source ``bom`` and its name (``group/name`` for a component with a group)."""
    urls = [
        _text(reference.get("url"))
        for reference in entry.get("externalReferences") or []
        if isinstance(reference, dict)
    ]
    contents = entry.get("contents")
    if isinstance(contents, dict):
        urls.append(_text(contents.get("url")))
    for item in entry.get("data") or []:
        if isinstance(item, dict) and isinstance(item.get("contents"), dict):
            urls.append(_text(item["contents"].get("url")))
    for url in urls:
        if match := _HUB_DATASET_URL.fullmatch(url):
            return {"source": Source.HUGGINGFACE, "id": match.group(1)}
    name = _text(entry.get("name"))
    group = _text(entry.get("group"))
    if not name:
        named = [_text(item.get("name")) for item in entry.get("data") or [] if isinstance(item, dict)]
        name = next((value for value in named if value), "")
    if not name or has_control_characters(name + group):
        return None
    return {"source": "bom", "id": f"{group}/{name}" if group else name}


def _datasets(
    parameters: dict[str, Any], data_by_ref: dict[str, dict[str, Any]], path: str, notes: list[str]
) -> list[dict[str, str]]:
    datasets: list[dict[str, str]] = []
    for entry in parameters.get("datasets") or []:
        if not isinstance(entry, dict):
            continue
        if "ref" in entry:
            target = data_by_ref.get(_text(entry["ref"]))
            if target is None:
                notes.append(f"{path}: dataset ref {entry['ref']!r} names no data component of the document")
                continue
            dataset = _data_identity(target)
        else:
            dataset = _data_identity(entry)
        if dataset is not None and dataset not in datasets:
            datasets.append(dataset)
    return datasets


def _limited(plan: ModelPlan, name: str, value: str, notes: list[str]) -> None:
    if len(value) > FIELD_LIMITS[name]:
        notes.append(f"{plan.path}: {name} longer than {FIELD_LIMITS[name]} characters: left unset")
    elif value and not has_control_characters(value):
        setattr(plan, name, value)


def _card_facts(plan: ModelPlan, card: Any, data_by_ref: dict[str, dict[str, Any]], notes: list[str]) -> None:
    if not isinstance(card, dict):
        return
    plan.model_card = card
    parameters = card.get("modelParameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    _limited(plan, "task", _text(parameters.get("task")), notes)
    _limited(plan, "architecture", _text(parameters.get("modelArchitecture")), notes)
    _limited(plan, "architecture_family", _text(parameters.get("architectureFamily")), notes)
    plan.datasets = _datasets(parameters, data_by_ref, plan.path, notes)
    plan.evaluation_results = _evaluation_results(card, plan.task)


def _tags(component: dict[str, Any]) -> list[str]:
    return [tag for tag in component.get("tags") or [] if isinstance(tag, str) and not has_control_characters(tag)]


def _hub_relations(tags: list[str]) -> dict[str, str]:
    """``base_model:<relation>:<id>`` tags: the relation of each base, by lowercased id."""
    relations = {}
    for tag in tags:
        parts = tag.split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model" and parts[1] in HUB_TAG_RELATIONS:
            relations[parts[2].lower()] = HUB_TAG_RELATIONS[parts[1]]
    return relations


class _Graph:
    """The lineage the document states, by identity: each component's pedigree ancestors (nested
    pedigrees included) and its direct dependencies."""

    def __init__(self) -> None:
        self.ancestors: dict[Key, set[Key]] = defaultdict(set)
        self.depends: dict[Key, set[Key]] = defaultdict(set)

    def closure(self, start: Key) -> set[Key]:
        """Everything above ``start`` (not ``start`` itself, unless a cycle leads back to it)."""
        found: set[Key] = set()
        frontier = set(self.ancestors.get(start, ()))
        while frontier:
            found |= frontier
            frontier = {above for key in frontier for above in self.ancestors.get(key, ())} - found
        return found

    def parents(self, child: Key, named: list[Identity]) -> list[Identity]:
        """The ancestors of ``child`` that are its parents (see the module)."""
        closures = {identity.key: self.closure(identity.key) for identity in named}
        kept = []
        for identity in named:
            key = identity.key
            further = any(
                key in closures[other.key] and other.key not in closures[key] for other in named if other.key != key
            )
            if not further or key in self.depends.get(child, ()):
                kept.append(identity)
        return kept


def plan_document(document: dict[str, Any]) -> Plan:
    """The models of a document and what it says of them (see the module)."""
    notes: list[str] = []
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    system_component = metadata.get("component") if isinstance(metadata.get("component"), dict) else None
    system = _text(system_component.get("name")) if system_component else ""
    components = list(_components(document))
    data_by_ref = {
        _text(component.get("bom-ref")): component
        for _, component in components
        if component.get("type") == DATA and _text(component.get("bom-ref"))
    }
    graph = _Graph()
    identities: dict[str, Identity] = {}  # by component path
    by_ref: dict[str, Key] = {}
    silent: list[str] = []  # notes about ancestors are made once, where they are read as parents

    def read_pedigree(component: dict[str, Any], key: Key, depth: int = 0) -> None:
        for entry in _ancestors(component):
            ancestor = identify(entry, "", silent)
            if ancestor is not None:
                graph.ancestors[key].add(ancestor.key)
                if depth < 32:  # nested pedigrees: bounded, whatever the document does
                    read_pedigree(entry, ancestor.key, depth + 1)

    for path, component in components:
        if component.get("type") != ML_MODEL:
            continue
        identity = identify(component, path, notes)
        if identity is None:
            continue
        identities[path] = identity
        if ref := _text(component.get("bom-ref")):
            by_ref[ref] = identity.key
        read_pedigree(component, identity.key)
    for dependency in document.get("dependencies") or []:
        if isinstance(dependency, dict) and (child := by_ref.get(_text(dependency.get("ref")))):
            graph.depends[child] |= {by_ref[ref] for ref in dependency.get("dependsOn") or [] if ref in by_ref}

    plans: dict[Key, ModelPlan] = {}
    for path, component in components:
        identity = identities.get(path)
        if identity is None:
            continue
        plan = plans.get(identity.key)
        if plan is None:
            plan = plans[identity.key] = _model_plan(path, identity, component, data_by_ref, notes)
        elif identity.upstream_id != plan.upstream_id:
            pass  # the same model in another letter case: the first spelling stands
        if identity.revision and identity.revision not in plan.revisions:
            plan.revisions.append(identity.revision)
        named = []
        for number, entry in enumerate(_ancestors(component)):
            ancestor = identify(entry, f"{path}.pedigree.ancestors[{number}]", notes)
            if ancestor is None:
                continue
            if ancestor.key == identity.key:
                notes.append(f"{path}.pedigree.ancestors[{number}]: names the model itself: no edge")
            elif ancestor.key not in {one.key for one in named}:
                named.append(ancestor)
        relations = _hub_relations(_tags(component))
        for parent in graph.parents(identity.key, named):
            relation = relations.get(parent.upstream_id.lower(), Relation.OTHER)
            if parent.key not in {known.key for known in plan.parents}:
                plan.parents.append(ParentPlan(parent.source, parent.upstream_id, relation))
    if components and not plans:
        notes.append("the document holds no machine-learning-model component: no model registered")
    return Plan(models=list(plans.values()), system=system, notes=notes, data_components=len(data_by_ref))


def _model_plan(
    path: str, identity: Identity, component: dict[str, Any], data_by_ref: dict[str, dict[str, Any]], notes: list[str]
) -> ModelPlan:
    plan = ModelPlan(path=path, source=identity.source, upstream_id=identity.upstream_id)
    if len(plan.upstream_id) > UPSTREAM_ID_MAX_LENGTH:
        raise ValidationError(
            {path: f"the model's id {plan.upstream_id[:60]!r}... is longer than {UPSTREAM_ID_MAX_LENGTH} characters"}
        )
    manufacturer = component.get("manufacturer")
    address = manufacturer.get("address") if isinstance(manufacturer, dict) else None
    if isinstance(address, dict) and (given := _text(address.get("country"))):
        plan.country_given = given
        plan.country = country_code(given)
        if not plan.country:
            notes.append(f"{path}.manufacturer.address.country: {given!r} is no ISO 3166-1 country: not used")
    plan.licenses = _licenses(component)
    description = _text(component.get("description"))
    plan.description = "" if has_control_characters(description, allowed=LINE_BREAKS) else description
    plan.tags = _tags(component)
    _card_facts(plan, component.get("modelCard"), data_by_ref, notes)
    return plan
