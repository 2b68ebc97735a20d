"""CycloneDX components, as plain dicts in the JSON shape, from what ``boms.loading`` read.

A model is a ``machine-learning-model`` component; each dataset its card names is a ``data``
component at the document's top level, referenced from the model card. What the inventory does not
know is left out: no field is ever filled with a guess or an empty string (docs/boms.md lists
every field and where it comes from).
"""

from collections.abc import Iterable
from typing import Any

from cyclonedx import spdx
from django.conf import settings

from boms import properties as mpr
from boms.loading import LineageLink, ModelFacts
from boms.purls import model_purl
from inventory.models import UNKNOWN_COUNTRY, Source

ML_MODEL = "machine-learning-model"

# The inputs and outputs of a model, from its task (the hub's pipeline tag), where the task fixes
# them. A task missing here writes no inputs or outputs (feature-extraction, for example, takes text
# or images depending on the model).
TASK_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "text-generation": (("text",), ("text",)),
    "text2text-generation": (("text",), ("text",)),
    "summarization": (("text",), ("text",)),
    "translation": (("text",), ("text",)),
    "fill-mask": (("text",), ("text",)),
    "question-answering": (("text",), ("text",)),
    "table-question-answering": (("table", "text"), ("text",)),
    "text-classification": (("text",), ("label",)),
    "token-classification": (("text",), ("label",)),
    "zero-shot-classification": (("text",), ("label",)),
    "sentence-similarity": (("text",), ("score",)),
    "image-classification": (("image",), ("label",)),
    "object-detection": (("image",), ("bounding-boxes",)),
    "image-segmentation": (("image",), ("mask",)),
    "image-to-text": (("image",), ("text",)),
    "image-text-to-text": (("image", "text"), ("text",)),
    "text-to-image": (("text",), ("image",)),
    "automatic-speech-recognition": (("audio",), ("text",)),
    "audio-classification": (("audio",), ("label",)),
    "text-to-speech": (("text",), ("audio",)),
    "text-to-audio": (("text",), ("audio",)),
}


def hub_of(source: str) -> dict[str, str] | None:
    """The hub that supplies models of ``source`` (its name and URL); None for internal models."""
    if source == Source.HUGGINGFACE:
        return {"name": "Hugging Face", "url": "https://huggingface.co"}
    if source == Source.MODELSCOPE:
        return {"name": "ModelScope", "url": f"https://{settings.MODELSCOPE_DOMAIN}"}
    return None


def hub_page(source: str, upstream_id: str) -> str | None:
    """The model's page on its hub (its model card); None for internal models."""
    hub = hub_of(source)
    if hub is None:
        return None
    return f"{hub['url']}/{upstream_id}" if source == Source.HUGGINGFACE else f"{hub['url']}/models/{upstream_id}"


def license_choice(key: str | None, name: str | None, url: str | None) -> list[dict[str, Any]] | None:
    """A catalogue license as a CycloneDX license choice: an SPDX id, else an SPDX expression, else a
    named license (``LicenseRef-`` terms: their name and URL, the key kept in a property)."""
    if not key:
        return None
    if spdx.is_supported_id(key):
        entry: dict[str, Any] = {"id": key}
    elif not key.startswith("LicenseRef-") and spdx.is_expression(key):
        return [{"expression": key, "acknowledgement": "declared"}]
    else:
        entry = {"name": name or key}
        entry["properties"] = [mpr.prop(mpr.LICENSE_KEY, key)]
    if url:
        entry["url"] = url
    entry["acknowledgement"] = "declared"
    return [{"license": entry}]


def _organization(name: str | None, country: str | None, website: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    entity: dict[str, Any] = {"name": name}
    if country and country != UNKNOWN_COUNTRY:
        entity["address"] = {"country": country}
    if website:
        entity["url"] = [website]
    return entity


def identity(row: dict[str, Any], revision: str | None, *, with_ref: bool = False) -> dict[str, Any]:
    """What names a model: type, group, name, version, purl, manufacturer, supplier and license
    (``with_ref``: and its purl as its ``bom-ref``)."""
    namespace, name = row["upstream_id"].split("/", 1)
    purl = model_purl(row["source"], row["upstream_id"], revision)
    component: dict[str, Any] = {"type": ML_MODEL, "bom-ref": purl} if with_ref else {"type": ML_MODEL}
    component["group"] = namespace
    component["name"] = name
    if revision:
        component["version"] = revision
    component["purl"] = purl
    manufacturer = _organization(
        row["publisher__display_name"] or row["publisher__name"], row["publisher__country"], row["publisher__website"]
    )
    if manufacturer:
        component["manufacturer"] = manufacturer
    if hub := hub_of(row["source"]):
        component["supplier"] = {"name": hub["name"], "url": [hub["url"]]}
    licenses = license_choice(row["declared_license__key"], row["declared_license__name"], row["declared_license__url"])
    if licenses:
        component["licenses"] = licenses
    return component


def ancestor_entry(link: LineageLink, ancestors: dict[int, dict[str, Any]], child_purl: str) -> dict[str, Any]:
    """One edge of the lineage as a ``pedigree.ancestors`` entry: the parent's identity (no bom-ref:
    an ancestor in the document is also a top-level component, and bom-refs are unique) with the
    relation, the depth and the child it is the parent of."""
    row = ancestors.get(link.parent_id) if link.parent_id is not None else None
    if row is not None:  # the ancestor's identity is built once per loaded row, shared by every entry naming it
        if "identity" not in row:
            row["identity"] = identity(row, row["revision"])
        entry = dict(row["identity"])
    else:  # named by the child's card, not in the inventory: what the name says, and no more
        namespace, _, name = link.parent_upstream_id.partition("/")
        entry = {"type": ML_MODEL, "group": namespace, "name": name} if name else {"type": ML_MODEL, "name": namespace}
        if name:
            entry["purl"] = model_purl(link.parent_source, link.parent_upstream_id, None)
    entry["properties"] = [
        mpr.prop(mpr.LINEAGE_RELATION, link.relation),
        mpr.prop(mpr.LINEAGE_DEPTH, str(link.depth)),
        mpr.prop(mpr.LINEAGE_CHILD, child_purl),
        *([] if row is not None else [mpr.prop(mpr.LINEAGE_IN_INVENTORY, "false")]),
    ]
    return entry


def dataset_ref(dataset: dict[str, str]) -> str:
    """The bom-ref of the data component of one of a model's datasets."""
    return f"dataset:{dataset['source']}/{dataset['id']}"


def dataset_component(dataset: dict[str, str]) -> dict[str, Any]:
    """A dataset a model card names, as a top-level ``data`` component."""
    namespace, _, name = dataset["id"].partition("/")
    component: dict[str, Any] = {"type": "data", "bom-ref": dataset_ref(dataset)}
    component.update({"group": namespace, "name": name} if name else {"name": namespace})
    if dataset["source"] == Source.HUGGINGFACE:
        component["supplier"] = {"name": "Hugging Face", "url": ["https://huggingface.co"]}
        page = f"https://huggingface.co/datasets/{dataset['id']}"
        component["externalReferences"] = [{"type": "website", "url": page}]
    component["data"] = [{"type": "dataset", "name": dataset["id"]}]
    return component


def _metric(result: dict[str, Any]) -> dict[str, Any]:
    metric: dict[str, Any] = {"type": result["metric"], "value": str(result["value"])}
    where = result["dataset_name"] or result["dataset"]
    if where:
        metric["slice"] = where
    return metric


def model_card(row: dict[str, Any]) -> dict[str, Any] | None:
    """The model card: parameters (task, architecture, datasets as references, inputs and outputs)
    and the reported evaluation results; None when the inventory knows none of it."""
    parameters: dict[str, Any] = {}
    if row["task"]:
        parameters["task"] = row["task"]
    if row["architecture_family"]:
        parameters["architectureFamily"] = row["architecture_family"]
    if row["architecture"]:
        parameters["modelArchitecture"] = row["architecture"]
    if row["datasets"]:
        parameters["datasets"] = [{"ref": dataset_ref(dataset)} for dataset in _unique_datasets(row["datasets"])]
    if io := TASK_IO.get(row["task"]):
        parameters["inputs"] = [{"format": value} for value in io[0]]
        parameters["outputs"] = [{"format": value} for value in io[1]]
    card: dict[str, Any] = {}
    if parameters:
        card["modelParameters"] = parameters
    if row["evaluation_results"]:
        metrics = []
        for result in row["evaluation_results"]:
            metric = _metric(result)
            if metric not in metrics:
                metrics.append(metric)
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    # ``considerations`` (users, use cases, limitations, ethics...): the inventory records none of
    # them, so none is written.
    return card or None


def _unique_datasets(datasets: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for dataset in datasets:
        seen.setdefault(dataset_ref(dataset), dataset)
    return list(seen.values())


def model_component(
    facts: ModelFacts, ancestors: dict[int, dict[str, Any]], ancestor_only: bool = False
) -> dict[str, Any]:
    """The full component of one model (``ancestor_only``: in the document as another's ancestor)."""
    row = facts.row
    component = identity(row, facts.revision, with_ref=True)
    if facts.sha256s:
        component["hashes"] = [{"alg": "SHA-256", "content": sha256} for sha256 in facts.sha256s]
    references = []
    if page := hub_page(row["source"], row["upstream_id"]):
        references.append({"type": "model-card", "url": page})
        if row["source"] == Source.HUGGINGFACE and facts.revision:
            references.append({"type": "distribution", "url": f"{page}/tree/{facts.revision}"})
        else:
            references.append({"type": "distribution", "url": page})
    if row["declared_license__url"]:
        references.append({"type": "license", "url": row["declared_license__url"]})
    if references:
        component["externalReferences"] = references
    if facts.lineage:
        own = component["purl"]
        entries = [
            ancestor_entry(link, ancestors, own if link.depth == 1 else ancestors[link.child_id]["purl"])
            for link in facts.lineage
        ]
        component["pedigree"] = {"ancestors": entries}
        # The relation to each base as well, in Hugging Face's own tags for it (``base_model:<relation>:<id>``):
        # outside this product's namespace, so a BOM reader (this product's ingest included) may use it.
        component["tags"] = sorted(
            {f"base_model:{link.relation}:{link.parent_upstream_id}" for link in facts.lineage if link.depth == 1}
        )
    if card := model_card(row):
        component["modelCard"] = card
    if properties := mpr.model_properties(facts, ancestor_only=ancestor_only):
        component["properties"] = properties
    return component


def datasets_of(facts: ModelFacts) -> list[dict[str, str]]:
    """The datasets a model's card names (each once)."""
    return _unique_datasets(facts.row["datasets"] or [])
