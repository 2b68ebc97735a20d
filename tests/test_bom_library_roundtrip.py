"""Every JSON document the product writes loads through cyclonedx-python-lib's own deserializer, so
other tools built on the library read it; and what the library keeps of it is what was written."""

import io
import json
from typing import Any

import pytest
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import ComponentType

from boms.documents import Scope, write_bom
from inventory.models import AIModel
from tests.test_bom_documents import SCOPES, SHA, build_lineage

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def lineage() -> dict[str, AIModel]:
    return build_lineage()


def _written(scope: Scope, version: str) -> dict[str, Any]:
    out = io.BytesIO()
    write_bom(scope, version, out=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("version", ["1.6", "1.7"])
@pytest.mark.parametrize("make_scope", SCOPES, ids=["model", "system", "team", "environment", "organization"])
def test_the_library_loads_every_document(lineage: dict, make_scope: Any, version: str) -> None:
    document = _written(make_scope(lineage), version)
    bom = Bom.from_json(document)  # type: ignore[attr-defined]  # added by serializable
    assert bom.serial_number.urn == document["serialNumber"]
    assert bom.version == document["version"]
    assert len(bom.components) == len(document["components"])
    refs = {component.bom_ref.value for component in bom.components}
    assert refs == {component["bom-ref"] for component in document["components"]}
    assert len(bom.dependencies) == len(document["dependencies"])


def test_what_the_library_keeps_and_what_it_drops(lineage: dict) -> None:
    """cyclonedx-python-lib 11 reads everything the product writes except the parts it has no model
    for: ``modelCard`` and a data component's ``data`` are dropped on reading (without an error);
    properties become a sorted set. The rest (licenses with their properties, the manufacturer's
    country, the hub supplier, pedigree with its properties, references, hashes, the graph) survives."""
    document = _written(Scope.of_model(lineage["leaf"]), "1.6")
    written_leaf = next(c for c in document["components"] if c["name"] == "leaf")
    assert "modelCard" in written_leaf
    bom = Bom.from_json(document)  # type: ignore[attr-defined]
    leaf = next(c for c in bom.components if c.name == "leaf")
    assert leaf.type == ComponentType.MACHINE_LEARNING_MODEL
    assert leaf.version == SHA["leaf"]
    assert str(leaf.purl) == written_leaf["purl"]
    assert {(p.name, p.value) for p in leaf.properties} == {(p["name"], p["value"]) for p in written_leaf["properties"]}
    (license_,) = leaf.licenses
    assert (license_.name, str(license_.url)) == (
        "Llama 3.3 Community License Agreement",
        written_leaf["licenses"][0]["license"]["url"],
    )
    assert [(p.name, p.value) for p in license_.properties] == [("mpr:license:key", "LicenseRef-test-community")]
    assert leaf.supplier.name == "Hugging Face"
    base = next(c for c in bom.components if c.name == "base")
    assert base.manufacturer.address.country == "CN"
    assert len(leaf.pedigree.ancestors) == len(written_leaf["pedigree"]["ancestors"]) == 6
    relations = {p.value for a in leaf.pedigree.ancestors for p in a.properties if p.name == "mpr:lineage:relation"}
    assert relations == {"adapter", "quantized", "merge", "distillation", "finetune"}
    assert {ref.type.value for ref in leaf.external_references} >= {"model-card", "distribution", "license"}
    assert [h.content for h in leaf.hashes] == [h["content"] for h in written_leaf["hashes"]]
    # The library has no model card: it reads the component and leaves the card out.
    assert not hasattr(leaf, "model_card")
    datasets = [c for c in bom.components if c.type == ComponentType.DATA]
    assert sorted(c.name for c in datasets) == ["fineweb", "squad"]
    assert all(getattr(c, "data", None) is None for c in datasets)
