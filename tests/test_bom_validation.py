"""boms.validation: the official CycloneDX schemas, offline, built once per process."""

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from boms import validation
from boms.validation import BUNDLED, BomInvalid, SchemaSet, build_validators, validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "cyclonedx"
OFFICIAL = SchemaSet(directory=SHARED / "schema")


def _examples(version: str, prefix: str) -> list[Path]:
    return sorted((SHARED / version).glob(f"{prefix}-*.json"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Recording:
    """A retriever that records every URL asked for and refuses it (no network)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, uri: str) -> Any:
        self.asked.append(uri)
        raise validation.SchemaNotLocal(uri)


@pytest.mark.smoke
@pytest.mark.parametrize("version", validation.SPEC_VERSIONS)
@pytest.mark.parametrize("schemas", [BUNDLED, OFFICIAL], ids=["bundled", "official"])
def test_the_specification_examples_pass_and_fail_as_named(version: str, schemas: SchemaSet) -> None:
    retriever = Recording()
    checks = build_validators(version, schemas, retriever=retriever)
    valid, invalid = _examples(version, "valid"), _examples(version, "invalid")
    assert len(valid) > 40
    assert len(invalid) > 15
    refused = [path.name for path in valid if not checks.document.is_valid(_load(path))]
    accepted = [path.name for path in invalid if checks.document.is_valid(_load(path))]
    assert refused == []
    assert accepted == []
    assert retriever.asked == []  # every referenced schema came from the local resources


def test_a_reference_outside_the_local_schemas_is_refused_not_fetched() -> None:
    retriever = Recording()
    resources = validation.local_resources(BUNDLED)
    registry = jsonschema_rs.Registry(list(resources.items()), draft=jsonschema_rs.Draft7, retriever=retriever)
    with pytest.raises(Exception, match="not-local"):
        jsonschema_rs.Draft7Validator(
            {"$ref": "https://example.invalid/not-local.schema.json"}, registry=registry, retriever=retriever
        )
    assert retriever.asked == ["https://example.invalid/not-local.schema.json"]
    with pytest.raises(Exception, match="nothing is fetched"):
        jsonschema_rs.Draft7Validator(
            {"$ref": "https://example.invalid/x.json"}, registry=registry, retriever=validation.refuse_retrieval
        )


@pytest.mark.smoke
@pytest.mark.parametrize("stem", ["bom-1.6", "bom-1.7", "spdx", "jsf-0.82", "cryptography-defs"])
def test_the_bundled_schemas_equal_the_official_ones_but_for_the_snapshot_names(stem: str) -> None:
    bundled = (BUNDLED.directory / BUNDLED.file_name(stem)).read_text(encoding="utf-8")
    assert json.loads(bundled.replace(".SNAPSHOT", "")) == OFFICIAL.load(stem)


def test_validators_are_built_once_per_process() -> None:
    assert validation.validators("1.6") is validation.validators("1.6")
    assert validation.validators("1.6") is not validation.validators("1.7")


def test_an_invalid_document_names_its_failing_paths() -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {"type": "library", "name": "ok"},
            {"type": "not-a-type", "name": "bad"},
            {"type": "library", "name": "x", "hashes": [{"alg": "SHA-256", "content": "nothex"}]},
        ],
    }
    with pytest.raises(BomInvalid) as caught:
        validate(document, "1.6")
    paths = {error.path for error in caught.value.errors}
    assert "$.components[1].type" in paths
    assert "$.components[2].hashes[0].content" in paths
    assert "$.components[0]" not in paths
    assert "$.components[1].type" in str(caught.value)
    validate({**document, "components": document["components"][:1]}, "1.6")


def test_unsupported_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported CycloneDX version"):
        validate({}, "1.5")


@pytest.mark.parametrize("version", validation.SPEC_VERSIONS)
def test_components_one_by_one_and_the_outer_document(version: str) -> None:
    """The streaming pair: each component against #/definitions/component, the rest with no components."""
    for path in _examples(version, "valid"):
        document = _load(path)
        validation.validate_outer(document, version)
        for index, component in enumerate(document.get("components", [])):
            validation.validate_component(component, version, index=index)
    with pytest.raises(BomInvalid) as caught:
        validation.validate_component({"type": "library"}, version, index=7)
    assert caught.value.errors[0].path == "$.components[7]"
    with pytest.raises(BomInvalid) as caught:
        validation.validate_outer({"bomFormat": "CycloneDX", "specVersion": version, "serialNumber": "x"}, version)
    assert caught.value.errors[0].path == "$.serialNumber"
    # The outer check does not look at the components, and does not change the document.
    document = {"bomFormat": "CycloneDX", "specVersion": version, "components": [{"type": "bad"}]}
    validation.validate_outer(document, version)
    assert document["components"] == [{"type": "bad"}]
