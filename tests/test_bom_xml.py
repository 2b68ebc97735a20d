"""CycloneDX XML out (boms/xml.py): the specification's own JSON documents of the shapes the product
emits, converted, validate against the bundled and the official XSDs and equal the specification's
XML twins; escaping round-trips; a streamed document equals the whole one; invalid XML is refused
with the failing line and path."""

import copy
import io
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from boms import xml as bomxml

pytestmark = [pytest.mark.django_db]

SHARED = Path(__file__).resolve().parents[2] / "shared"
CONFORMANCE = SHARED / "conformance" / "cyclonedx"
SCHEMAS = CONFORMANCE / "schema"
# The conformance documents shaped like what the product emits.
EMITTED_SHAPES = re.compile(
    r"^valid-(machine-learning|metadata|license|dependency|pedigree|properties|external-reference|hash)-"
)
# Parts of those documents the converter has no XML for (the product emits none of them): removed
# from the JSON and from the XML twin before converting and comparing.
UNSUPPORTED_PARTS = {
    "valid-metadata-tool-1.6.json": [("metadata", "tools", "services")],
    "valid-metadata-tool-1.7.json": [("metadata", "tools", "services")],
    "valid-properties-1.6.json": [("services",)],
    "valid-properties-1.7.json": [("services",)],
}


def _fix_license_choice(document: dict) -> None:
    document["components"][0]["purl"] = "pkg:maven/com.acme/tomcat-catalina@9.0.14?packaging=jar"


def _fix_timestamp(document: dict) -> None:
    document["metadata"]["timestamp"] = document["metadata"]["timestamp"].replace("+00:00", "Z")


def _fix_expression_text(document: dict) -> None:
    document["components"][0]["licenses"][0]["expressionDetails"][1]["text"]["content"] += "]"


# Where the specification's JSON and XML twins say different things (not a matter of format): the
# JSON is brought in line with the XML before comparing, so everything else must be equal.
CORPUS_DIFFERENCES = {
    "valid-license-choice-1.7.json": _fix_license_choice,  # the XML's component has a purl, the JSON's not
    "valid-license-declared-concluded-mix-1.7.json": lambda document: document.pop("version"),  # no version in XML
    "valid-metadata-timestamp-1.6.json": _fix_timestamp,  # ...Z in XML, +00:00 in JSON
    "valid-metadata-timestamp-1.7.json": _fix_timestamp,
    "valid-license-expression-with-text-1.7.json": _fix_expression_text,  # a stray "]" in the XML's CDATA
}


def conformance_documents() -> list[Path]:
    return sorted(
        path
        for version in bomxml.SPEC_VERSIONS
        for path in (CONFORMANCE / version).glob("valid-*.json")
        if EMITTED_SHAPES.match(path.name)
    )


@pytest.fixture(scope="module")
def official_schemas() -> dict[str, etree.XMLSchema]:
    """The specification's XSDs, which import SPDX by its URL (mapped onto the local spdx.xsd)."""
    return {
        version: bomxml.load_schema(SCHEMAS / f"bom-{version}.xsd", SCHEMAS / "spdx.xsd")
        for version in bomxml.SPEC_VERSIONS
    }


def load_supported(path: Path) -> dict:
    document = json.loads(path.read_text(encoding="utf-8"))
    for keys in UNSUPPORTED_PARTS.get(path.name, []):
        holder = document
        for key in keys[:-1]:
            holder = holder[key]
        del holder[keys[-1]]
    return document


def tree(element: etree._Element) -> tuple:
    """An element as (name, attributes, whitespace-normalized text, children), namespaces aside."""
    text = " ".join((element.text or "").split())
    children = [tree(child) for child in element if isinstance(child.tag, str)]
    return etree.QName(element).localname, dict(element.attrib), text, children


def first_difference(mine: tuple, theirs: tuple, path: str = "") -> str | None:
    here = f"{path}/{mine[0]}"
    if mine[:3] != theirs[:3]:
        return f"{here}: {mine[:3]} != {theirs[:3]}"
    if [child[0] for child in mine[3]] != [child[0] for child in theirs[3]]:
        return f"{here}: children {[c[0] for c in mine[3]]} != {[c[0] for c in theirs[3]]}"
    for one, other in zip(mine[3], theirs[3], strict=True):
        found = first_difference(one, other, here)
        if found:
            return found
    return None


def test_the_corpus_holds_the_shapes_under_test():
    names = {path.name for path in conformance_documents()}
    for version in bomxml.SPEC_VERSIONS:
        assert f"valid-machine-learning-{version}.json" in names
        assert f"valid-machine-learning-considerations-env-{version}.json" in names
        assert f"valid-dependency-{version}.json" in names
    assert len(names) >= 40


def test_the_bundled_xsds_are_the_official_ones_but_for_the_spdx_location():
    for version in bomxml.SPEC_VERSIONS:
        bundled = (bomxml.BUNDLED_SCHEMA_DIR / f"bom-{version}.SNAPSHOT.xsd").read_text(encoding="utf-8")
        official = (SCHEMAS / f"bom-{version}.xsd").read_text(encoding="utf-8")
        assert 'schemaLocation="spdx.SNAPSHOT.xsd"' in bundled
        assert 'schemaLocation="http://cyclonedx.org/schema/spdx"' in official
        assert bundled.replace("spdx.SNAPSHOT.xsd", "http://cyclonedx.org/schema/spdx") == official
    spdx = (bomxml.BUNDLED_SCHEMA_DIR / "spdx.SNAPSHOT.xsd").read_text(encoding="utf-8")
    assert spdx == (SCHEMAS / "spdx.xsd").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", conformance_documents(), ids=lambda path: path.name)
def test_conformance_json_converts_to_xml_valid_against_both_xsds(path, official_schemas):
    document = load_supported(path)
    version = document["specVersion"]
    data = bomxml.to_xml(document)  # validated against the bundled XSD
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    bomxml.validate_xml(data, version, against=official_schemas[version])
    assert etree.fromstring(data).tag == f"{{http://cyclonedx.org/schema/bom/{version}}}bom"


@pytest.mark.parametrize("path", conformance_documents(), ids=lambda path: path.name)
def test_conformance_json_converts_to_its_official_xml_twin(path):
    twin = path.with_suffix(".xml")
    assert twin.exists()
    document = load_supported(path)
    fix = CORPUS_DIFFERENCES.get(path.name)
    if fix:
        fix(document)
    theirs = etree.parse(str(twin)).getroot()
    for keys in UNSUPPORTED_PARTS.get(path.name, []):
        element = theirs
        for key in keys:
            element = element.find(f"{{*}}{key}")
        element.getparent().remove(element)
    mine = etree.fromstring(bomxml.to_xml(document, validate=False))
    assert first_difference(tree(mine), tree(theirs)) is None


@pytest.mark.parametrize("path", conformance_documents(), ids=lambda path: path.name)
def test_unsupported_parts_are_refused_by_name_never_dropped(path):
    removed = UNSUPPORTED_PARTS.get(path.name)
    if not removed:
        bomxml.to_xml(json.loads(path.read_text(encoding="utf-8")))
        return
    with pytest.raises(bomxml.XmlConversionError, match="'services'"):
        bomxml.to_xml(json.loads(path.read_text(encoding="utf-8")))


def test_the_validator_accepts_every_valid_xml_and_refuses_every_invalid_one():
    """The bundled schemas, with the local SPDX schema, judge the specification's XML as it says."""
    checked = 0
    for version in bomxml.SPEC_VERSIONS:
        for path in sorted((CONFORMANCE / version).glob("*.xml")):
            if path.name.startswith("valid-"):
                bomxml.validate_xml(path.read_bytes(), version)
            elif path.name.startswith("invalid-"):
                with pytest.raises(bomxml.XmlValidationError):
                    bomxml.validate_xml(path.read_bytes(), version)
            checked += 1
    assert checked > 150


def model_document(version: str) -> dict:
    """The shape the product emits for a system: a model with a model card, lineage, a data component."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": version,
        "serialNumber": "urn:uuid:0f9d6c1e-7d7b-4f4e-9d55-8d1d3f0b7a11",
        "version": 3,
        "metadata": {
            "timestamp": "2025-01-02T03:04:05Z",
            "tools": {"components": [{"type": "application", "name": "model-provenance-registry", "version": "1"}]},
            "component": {"type": "application", "bom-ref": "system:chat", "name": "chat-assistant"},
            "properties": [{"name": "mpr:scope", "value": "system"}],
        },
        "components": [
            {
                "type": "machine-learning-model",
                "bom-ref": "pkg:huggingface/acme/chat-7b@0123abcd",
                "supplier": {"name": "Hugging Face", "url": ["https://huggingface.co"]},
                "manufacturer": {"name": "Acme AI", "address": {"country": "FR"}},
                "group": "acme",
                "name": "chat-7b",
                "version": "0123abcd",
                "hashes": [{"alg": "SHA-256", "content": "ab" * 32}],
                "licenses": [{"license": {"name": "LicenseRef-acme-model", "url": "https://acme.example/license"}}],
                "purl": "pkg:huggingface/acme/chat-7b@0123abcd",
                "pedigree": {
                    "ancestors": [
                        {
                            "type": "machine-learning-model",
                            "bom-ref": "pkg:huggingface/meta-llama/Llama-2-7b@ffff",
                            "manufacturer": {"name": "Meta", "address": {"country": "US"}},
                            "group": "meta-llama",
                            "name": "Llama-2-7b",
                            "licenses": [{"expression": "Apache-2.0 OR MIT"}],
                            "properties": [{"name": "mpr:lineage:relation", "value": "finetune"}],
                        }
                    ]
                },
                "externalReferences": [
                    {"type": "model-card", "url": "https://huggingface.co/acme/chat-7b"},
                    {"type": "distribution", "url": "https://huggingface.co/acme/chat-7b/tree/0123abcd"},
                ],
                "properties": [
                    {"name": "mpr:origin:effective", "value": "US"},
                    {"name": "mpr:audit:status", "value": "approved"},
                    {"name": "mpr:violations:open", "value": "0"},
                ],
                "modelCard": {
                    "modelParameters": {
                        "approach": {"type": "supervised"},
                        "task": "text-generation",
                        "architectureFamily": "llama",
                        "modelArchitecture": "LlamaForCausalLM",
                        "datasets": [{"ref": "dataset:huggingface:acme/instructions"}],
                        "inputs": [{"format": "text"}],
                        "outputs": [{"format": "text"}],
                    },
                    "quantitativeAnalysis": {
                        "performanceMetrics": [{"type": "accuracy", "value": "0.71", "slice": "cais/mmlu"}]
                    },
                    "considerations": {"useCases": ["chat"], "technicalLimitations": ["English only"]},
                },
            },
            {
                "type": "data",
                "bom-ref": "dataset:huggingface:acme/instructions",
                "name": "acme/instructions",
                "data": [{"type": "dataset", "name": "acme/instructions", "contents": {"url": "https://hf.co/d"}}],
            },
        ],
        "dependencies": [
            {"ref": "system:chat", "dependsOn": ["pkg:huggingface/acme/chat-7b@0123abcd"]},
            {
                "ref": "pkg:huggingface/acme/chat-7b@0123abcd",
                "dependsOn": ["pkg:huggingface/meta-llama/Llama-2-7b@ffff"],
            },
            {"ref": "pkg:huggingface/meta-llama/Llama-2-7b@ffff"},
        ],
    }


@pytest.mark.smoke
@pytest.mark.parametrize("version", bomxml.SPEC_VERSIONS)
def test_a_product_shaped_document_is_valid_and_ordered_as_the_xsd_says(version, official_schemas):
    data = bomxml.to_xml(model_document(version))
    bomxml.validate_xml(data, version, against=official_schemas[version])
    root = etree.fromstring(data)
    ns = {"b": bomxml.NAMESPACES[version]}
    assert root.get("serialNumber") == "urn:uuid:0f9d6c1e-7d7b-4f4e-9d55-8d1d3f0b7a11"
    assert root.get("version") == "3"
    assert [etree.QName(child).localname for child in root] == ["metadata", "components", "dependencies"]
    model = root.find("b:components/b:component", ns)
    assert model.get("type") == "machine-learning-model"
    assert [etree.QName(child).localname for child in model] == [
        "supplier",
        "manufacturer",
        "group",
        "name",
        "version",
        "hashes",
        "licenses",
        "purl",
        "pedigree",
        "externalReferences",
        "properties",
        "modelCard",
    ]
    assert model.findtext("b:manufacturer/b:address/b:country", namespaces=ns) == "FR"
    assert model.find("b:hashes/b:hash", ns).get("alg") == "SHA-256"
    assert model.findtext("b:licenses/b:license/b:name", namespaces=ns) == "LicenseRef-acme-model"
    ancestor = model.find("b:pedigree/b:ancestors/b:component", ns)
    assert ancestor.findtext("b:licenses/b:expression", namespaces=ns) == "Apache-2.0 OR MIT"
    assert ancestor.find("b:properties/b:property", ns).get("name") == "mpr:lineage:relation"
    assert model.find("b:externalReferences/b:reference", ns).get("type") == "model-card"
    parameters = model.find("b:modelCard/b:modelParameters", ns)
    assert [etree.QName(child).localname for child in parameters] == [
        "approach",
        "task",
        "architectureFamily",
        "modelArchitecture",
        "datasets",
        "inputs",
        "outputs",
    ]
    assert parameters.findtext("b:datasets/b:ref", namespaces=ns) == "dataset:huggingface:acme/instructions"
    data_component = root.findall("b:components/b:component", ns)[1]
    assert data_component.get("type") == "data"
    assert data_component.findtext("b:data/b:contents/b:url", namespaces=ns) == "https://hf.co/d"
    system = root.find("b:dependencies/b:dependency", ns)
    assert system.get("ref") == "system:chat"
    assert [one.get("ref") for one in system.findall("b:dependency", ns)] == ["pkg:huggingface/acme/chat-7b@0123abcd"]


AWKWARD = "Tom & \"Jerry\" <b>bold</b> 'q' ]]> 模型 Ünïcødé 🤗\ttab\r\nline"


@pytest.mark.smoke
def test_characters_needing_escape_round_trip_in_text_and_attributes():
    document = model_document("1.6")
    model = document["components"][0]
    model["name"] = AWKWARD
    model["description"] = AWKWARD
    model["properties"].append({"name": AWKWARD, "value": AWKWARD})
    model["modelCard"]["considerations"]["useCases"] = [AWKWARD]
    model["bom-ref"] = AWKWARD
    document["dependencies"][0]["dependsOn"] = [AWKWARD]
    document["dependencies"][1]["ref"] = AWKWARD
    data = bomxml.to_xml(document)
    root = etree.fromstring(data)
    ns = {"b": bomxml.NAMESPACES["1.6"]}
    component = root.find("b:components/b:component", ns)
    assert component.findtext("b:name", namespaces=ns) == AWKWARD
    assert component.findtext("b:description", namespaces=ns) == AWKWARD
    assert component.get("bom-ref") == AWKWARD
    assert component.findall("b:properties/b:property", ns)[-1].get("name") == AWKWARD
    assert component.findall("b:properties/b:property", ns)[-1].text == AWKWARD
    assert component.findtext("b:modelCard/b:considerations/b:useCases/b:useCase", namespaces=ns) == AWKWARD
    assert root.find("b:dependencies/b:dependency/b:dependency", ns).get("ref") == AWKWARD
    assert root.findall("b:dependencies/b:dependency", ns)[1].get("ref") == AWKWARD
    assert "模型".encode() in data  # written as UTF-8, not as character references


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\ud800", "\uffff"])
def test_characters_xml_cannot_carry_are_refused_not_dropped(character):
    document = model_document("1.6")
    document["components"][0]["description"] = f"bad{character}char"
    with pytest.raises(bomxml.XmlConversionError, match=r"U\+[0-9A-F]{4}"):
        bomxml.to_xml(document)
    with pytest.raises(bomxml.XmlConversionError, match="chat-7b"):
        list(bomxml.iter_xml(document))


def test_numbers_and_booleans_are_written_as_the_xsd_types():
    document = json.loads((CONFORMANCE / "1.6" / "valid-machine-learning-considerations-env-1.6.json").read_text())
    consumption = document["components"][0]["modelCard"]["considerations"]["environmentalConsiderations"][
        "energyConsumptions"
    ][0]
    consumption["activityEnergyCost"]["value"] = 1e-05
    consumption["co2CostEquivalent"]["value"] = 31
    document["components"][0]["modified"] = False
    data = bomxml.to_xml(document)
    assert b"<value>0.00001</value>" in data
    assert b"<value>31</value>" in data
    assert b"<modified>false</modified>" in data


@pytest.mark.parametrize("version", bomxml.SPEC_VERSIONS)
def test_a_streamed_document_equals_the_whole_document(version, monkeypatch, official_schemas):
    monkeypatch.setattr(bomxml, "BATCH_COMPONENTS", 2)  # several validation batches
    document = model_document(version)
    for index in range(5):
        extra = copy.deepcopy(document["components"][0])
        extra["bom-ref"] = f"pkg:huggingface/acme/extra-{index}@1"
        extra["name"] = f"extra-{index}"
        extra["pedigree"]["ancestors"][0]["bom-ref"] = f"ancestor-{index}"
        document["components"].append(extra)
    whole = bomxml.to_xml(document)
    head = {key: value for key, value in document.items() if key not in ("components", "dependencies")}
    chunks = list(bomxml.iter_xml(head, iter(document["components"]), dependencies=iter(document["dependencies"])))
    assert "".join(chunks).encode("utf-8") == whole
    assert chunks[0].startswith("<?xml")
    assert "<metadata>" in chunks[0]
    assert chunks[0].endswith("</metadata>")  # the head goes out before any component is read
    assert sum(chunk.startswith("<component ") for chunk in chunks) == len(document["components"])
    assert "".join(bomxml.iter_xml(document)).encode("utf-8") == whole
    bomxml.validate_xml(whole, version, against=official_schemas[version])


def test_write_xml_takes_dependencies_known_only_after_the_components():
    document = model_document("1.7")
    head = {key: value for key, value in document.items() if key not in ("components", "dependencies")}
    written_components = []

    def components():
        for component in document["components"]:
            written_components.append(component["bom-ref"])
            yield component

    def dependencies():
        assert len(written_components) == len(document["components"])  # called after the components
        return document["dependencies"]

    out = io.BytesIO()
    size = bomxml.write_xml(out, head, components(), dependencies=dependencies)
    assert size == len(out.getvalue())
    assert out.getvalue() == bomxml.to_xml(document)


def test_streaming_reads_components_one_at_a_time():
    read = []

    def components():
        for index in range(3):
            read.append(index)
            yield {"type": "library", "name": f"c{index}", "bom-ref": f"ref-{index}"}

    stream = bomxml.iter_xml({"specVersion": "1.6"}, components(), validate=False)
    assert next(stream).endswith('version="1.0" encoding="UTF-8"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.6">')
    assert read == []
    assert next(stream) == "<components>\n"
    assert next(stream).startswith('<component type="library" bom-ref="ref-0">')
    assert read == [0]
    assert list(stream)[-1] == "</bom>\n"
    assert read == [0, 1, 2]


def test_streaming_refuses_an_invalid_component_naming_it_after_the_valid_ones_went_out(monkeypatch):
    monkeypatch.setattr(bomxml, "BATCH_COMPONENTS", 2)
    components = [{"type": "library", "name": f"c{index}", "bom-ref": f"ref-{index}"} for index in range(5)]
    components[3]["hashes"] = [{"alg": "SHA-999", "content": "ab" * 16}]
    stream = bomxml.iter_xml({"specVersion": "1.6"}, iter(components))
    sent = []

    def drain() -> None:
        sent.extend(stream)

    with pytest.raises(bomxml.XmlValidationError) as raised:
        drain()
    message = str(raised.value)
    assert "component[4] ('ref-3')" in message
    assert "/bom/components/component[4]/hashes/hash" in message
    assert "SHA-999" in message
    assert sum(chunk.startswith("<component ") for chunk in sent) <= 4


def test_streaming_keeps_bom_refs_unique_across_batches(monkeypatch):
    monkeypatch.setattr(bomxml, "BATCH_COMPONENTS", 2)
    components = [{"type": "library", "name": f"c{index}", "bom-ref": f"ref-{index}"} for index in range(4)]
    components[3]["bom-ref"] = "ref-0"
    with pytest.raises(bomxml.XmlValidationError, match="'ref-0' is not unique"):
        list(bomxml.iter_xml({"specVersion": "1.6"}, iter(components)))
    head = {"specVersion": "1.6", "metadata": {"component": {"type": "application", "name": "s", "bom-ref": "ref-2"}}}
    with pytest.raises(bomxml.XmlValidationError, match="'ref-2' is not unique"):
        list(bomxml.iter_xml(head, iter(components[:3])))


def test_streaming_checks_the_outer_document_before_the_first_chunk():
    head = {"specVersion": "1.6", "serialNumber": "not-a-urn", "metadata": {"timestamp": "yesterday"}}
    stream = bomxml.iter_xml(head, iter([]))
    with pytest.raises(bomxml.XmlValidationError, match="without its components") as raised:
        next(stream)
    assert "serialNumber" in str(raised.value)
    assert "timestamp" in str(raised.value)


def test_validate_xml_names_the_failing_line_and_path():
    document = model_document("1.6")
    del document["components"][1]["name"]  # required
    data = bomxml.to_xml(document, validate=False)
    with pytest.raises(bomxml.XmlValidationError) as raised:
        bomxml.validate_xml(data, "1.6")
    error = raised.value
    line, path, message = error.errors[0]
    lines = data.decode().splitlines()
    assert 'type="data"' in lines[line - 1]  # one top-level component a line
    assert path.startswith("/bom/components/component[2]/")
    assert "name" in message
    assert f"line {line}, {path}" in str(error)


def test_to_xml_validates_by_default():
    bad = {"specVersion": "1.6", "components": [{"type": "library", "name": "x", "hashes": [{"alg": "SHA-999"}]}]}
    with pytest.raises(bomxml.XmlValidationError, match="SHA-999"):
        bomxml.to_xml(bad)
    assert b'alg="SHA-999"' in bomxml.to_xml(bad, validate=False)


def test_validate_xml_refuses_other_roots_versions_bad_syntax_and_doctypes():
    data = bomxml.to_xml(model_document("1.6"))
    with pytest.raises(bomxml.XmlValidationError, match=r"not .*bom/1\.7"):
        bomxml.validate_xml(data, "1.7")
    with pytest.raises(bomxml.XmlValidationError, match="line 1"):
        bomxml.validate_xml(b"<bom xmlns='http://cyclonedx.org/schema/bom/1.6'", "1.6")
    entity = (
        b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library">'
        b"<name>&x;</name></component></components></bom>"
    )
    with pytest.raises(bomxml.XmlValidationError, match="document type declaration"):
        bomxml.validate_xml(entity, "1.6")


def test_unknown_keys_and_wrong_shapes_are_refused_by_name():
    document = model_document("1.6")
    document["components"][0]["modelCard"]["modelParameters"]["hyperparameters"] = {"lr": 1}
    with pytest.raises(bomxml.XmlConversionError, match=r"modelParameters.*'hyperparameters'"):
        bomxml.to_xml(document)
    document = model_document("1.6")
    document["components"][0]["hashes"] = {"alg": "SHA-256"}
    with pytest.raises(bomxml.XmlConversionError, match="expected an array"):
        bomxml.to_xml(document)
    document = model_document("1.6")
    document["vulnerabilities"] = []
    with pytest.raises(bomxml.XmlConversionError, match="'vulnerabilities'"):
        bomxml.to_xml(document)
    with pytest.raises(bomxml.XmlConversionError, match=r"1\.5"):
        bomxml.to_xml({"specVersion": "1.5"})
    with pytest.raises(bomxml.XmlConversionError, match=r"not 1\.7"):
        bomxml.to_xml(model_document("1.6"), "1.7")


def test_1_7_only_parts_are_written_only_for_1_7():
    component = {"type": "library", "name": "x", "isExternal": True, "versionRange": "vers:npm/>=1"}
    data = bomxml.to_xml({"specVersion": "1.7", "components": [component]})
    assert b'isExternal="true"' in data
    assert b"<versionRange>vers:npm/&gt;=1</versionRange>" in data
    with pytest.raises(bomxml.XmlConversionError, match="isExternal"):
        bomxml.to_xml({"specVersion": "1.6", "components": [component]})


def test_the_schemas_are_built_once_per_process():
    assert bomxml.schema("1.6") is bomxml.schema("1.6")
    assert bomxml.schema("1.7") is not bomxml.schema("1.6")
