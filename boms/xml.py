"""CycloneDX XML out: the documents the JSON side builds (plain dicts in CycloneDX JSON shape) as XML.

``to_xml(document)`` converts a whole document to UTF-8 bytes; ``iter_xml(document, components)``
streams one: the head (``<bom>`` and its metadata) first, then each component as its own text chunk,
then the dependencies and the closing tags, so a document of 100,000 components is never held whole
(no DOM: the text is built with escaping string joins, some 30-60 us for a model component of 2 KB);
``write_xml(out, ...)`` writes that stream to a binary file.

JSON has no element order; the XSDs (``bom-1.6.xsd`` / ``bom-1.7.xsd``) fix one, and every complex
type below lists its children in its XSD sequence's order. The JSON-vs-XML naming differences are
the schema's: a JSON array of objects becomes a wrapper with one child per item
(``hashes`` -> ``<hashes><hash alg=...>``, ``externalReferences`` -> ``<externalReferences><reference
type=...><url>``, ``properties`` -> ``<properties><property name=...>value</property>``,
``pedigree.ancestors`` -> ``<ancestors><component>``, ``modelCard...inputs`` -> ``<inputs><input>``,
considerations' ``users`` -> ``<users><user>``); ``bom-ref``, ``type``, ``alg``, ``name`` (of a
property), ``ref``, ``acknowledgement``, ``mime-type``, ``contentType`` (-> ``content-type``) and
``encoding`` are attributes; a license choice item ``{"license": {...}}`` is ``<license>`` and
``{"expression": "..."}`` is ``<expression>`` (1.7: ``<expression-detailed expression=...>`` when the
item has ``expressionDetails``, ``licensing`` or ``properties``); a dependency's ``dependsOn`` refs are
nested ``<dependency ref=.../>`` elements (``provides`` -> ``<provides ref=.../>``); a component's
``data`` items are repeated ``<data>`` elements; modelCard datasets are ``<ref>`` (for ``{"ref": ...}``)
or ``<dataset>``; the 1.5+ ``metadata.tools`` object is ``<tools><components>`` and the legacy tool
list is ``<tools><tool>``.

Supported (what the product emits and the conformance documents of that shape use): the bom's
``serialNumber`` / ``version``; metadata (timestamp, lifecycles, tools (legacy list, or
``components``), authors, component, manufacturer, manufacture, supplier, licenses, properties, 1.7
distributionConstraints); components of every type with supplier / manufacturer (organizational
entity with address, url, contact), authors, author, publisher, group, name, version (1.7 also
versionRange), description, scope, hashes, licenses (id / name, text, url, licensing, properties;
expression; 1.7 expression details), copyright, cpe, purl, omniborId, swhid, modified, pedigree
(ancestors, descendants, variants, notes), externalReferences (url, comment, hashes, 1.7 properties),
properties, nested components, modelCard (modelParameters with approach, task, architectureFamily,
modelArchitecture, datasets (ref or inline), inputs / outputs; quantitativeAnalysis with
performanceMetrics and graphics; considerations with users, useCases, technicalLimitations,
performanceTradeoffs, ethicalConsiderations, environmentalConsiderations (energy consumptions),
fairnessAssessments; properties), data (componentData with contents, classification, sensitiveData,
graphics, description, governance), tags; top-level externalReferences, dependencies (dependsOn,
provides) and properties.

Not supported (a document carrying any of them is refused with ``XmlConversionError`` naming the key,
never silently dropped): services (top-level and in ``metadata.tools``), compositions,
vulnerabilities, annotations, formulation, declarations, definitions, 1.7 citations, a component's
swid, evidence, releaseNotes, cryptoProperties and 1.7 patentAssertions, pedigree commits / patches,
signatures, and any other key the XSD has no place for here.

Validation (``validate_xml``, and both writers by default) is lxml against the XSDs bundled with
cyclonedx-python-lib (``bom-1.x.SNAPSHOT.xsd``, which import ``spdx.SNAPSHOT.xsd``). A resolver maps
the SPDX schema's URL (``http://cyclonedx.org/schema/spdx``, what the official XSDs import) and file
name onto the local file; the parsers have ``no_network=True`` and ``resolve_entities=False``;
the schemas are built once per process. ``to_xml`` validates the finished document whole.
``iter_xml`` never validates the whole text (a 100,000-component document would cost a tree of
several GB): it validates the outer document (everything but components and dependencies) before the
first chunk leaves, then each batch of components wrapped in a minimal ``<bom><components>``
document, and each batch of dependencies likewise, as they stream; the schema's one cross-element rule
(``bom-ref`` unique in the document) is kept across batches by the writer itself. A failure raises
``XmlValidationError`` at that point of the stream, naming the component (``component[N]`` and its
bom-ref) and the element path in it (a writer of a file must then discard it). Validating costs about
as much again as writing (some 100 us a model component), memory stays that of one batch.
"""

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from cyclonedx.schema import _res as cyclonedx_resources
from lxml import etree

SPEC_VERSIONS = ("1.6", "1.7")
DEFAULT_SPEC_VERSION = "1.6"
NAMESPACES = {version: f"http://cyclonedx.org/schema/bom/{version}" for version in SPEC_VERSIONS}
SPDX_NAMESPACE = "http://cyclonedx.org/schema/spdx"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
BUNDLED_SCHEMA_DIR = Path(cyclonedx_resources.__file__).resolve().parent
MAX_REPORTED_ERRORS = 10
# Streaming validation checks components in batches of at most this many / this many characters.
BATCH_COMPONENTS = 200
BATCH_CHARS = 1 << 20


class XmlConversionError(ValueError):
    """The document holds something this converter has no XML for (or a value of the wrong shape)."""


class XmlValidationError(ValueError):
    """XML the XSD refuses; ``errors`` are ``(line, path, message)`` triples, the first few of them
    (line 0 when unknown: a streamed document's pieces are validated apart from their lines)."""

    def __init__(
        self,
        version: str,
        errors: list[tuple[int, str, str]],
        where: str = "",
        components: list[int | None] | None = None,
    ) -> None:
        self.version = version
        self.errors = errors
        self.components = components or []
        listed = "; ".join(f"{f'line {line}, ' if line else ''}{path}: {message}" for line, path, message in errors)
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}not a valid CycloneDX {version} XML document: {listed}")


# --- escaping -------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all (not even as references): refused, never dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    """Element content: & < > escaped, CR kept as a reference (a parser would turn it into LF)."""
    cls = value.__class__
    if cls is str:
        if "&" in value:
            value = value.replace("&", "&amp;")
        if "<" in value:
            value = value.replace("<", "&lt;")
        if ">" in value:
            value = value.replace(">", "&gt;")
        if "\r" in value:
            value = value.replace("\r", "&#13;")
        return value
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is float:
        text = repr(value)
        # xs:decimal has no exponent form.
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    raise XmlConversionError(f"expected a string, number or boolean, got {cls.__name__}: {value!r:.80}")


def _attr(value: Any) -> str:
    """Attribute value: also quotes, and whitespace other than space as references (kept as written)."""
    text = _text(value)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#9;")
    return text


def _check_chars(chunk: str, where: str) -> None:
    bad = _NOT_XML.search(chunk)
    if bad is not None:
        raise XmlConversionError(f"{where}: character U+{ord(bad.group()):04X} cannot be written in XML 1.0")


# --- the types: each complex type's attributes and children, in XSD order -----------------------

# Child kinds.
_S = 0  # scalar: <tag>text</tag>
_SS = 1  # list of scalars, each its own <tag> (maxOccurs unbounded, no wrapper)
_WS = 2  # list of scalars in a wrapper: <tag><item>text</item>...</tag>
_O = 3  # object: <tag>...</tag>
_OL = 4  # list of objects, each its own <tag>
_WO = 5  # list of objects in a wrapper: <tag><item>...</item>...</tag>
_F = 6  # a function of its own


class _Type:
    __slots__ = ("attrs", "children", "known", "text", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self.attrs: tuple[tuple[str, str], ...] = ()
        self.children: tuple[tuple[str, str, int, Any, str], ...] = ()
        self.text: str | None = None
        self.known: frozenset[str] = frozenset()

    def define(
        self,
        attrs: Iterable[tuple[str, str]] = (),
        children: Iterable[tuple] = (),
        text: str | None = None,
        ignore: Iterable[str] = (),
    ) -> "_Type":
        self.attrs = tuple(attrs)
        self.children = tuple((*c, None, "")[:5] for c in children)
        self.text = text
        keys = {key for key, _ in self.attrs} | {child[0] for child in self.children} | set(ignore)
        if text:
            keys.add(text)
        self.known = frozenset(keys)
        return self


def _unsupported(obj: dict, kind: _Type) -> None:
    extra = sorted(set(obj) - kind.known)
    raise XmlConversionError(f"{kind.where}: no XML for key(s) {', '.join(map(repr, extra))} (not supported)")


def _emit(out: list[str], tag: str, obj: Any, kind: _Type, minor: int) -> None:
    if obj.__class__ is not dict:
        raise XmlConversionError(f"{kind.where}: expected an object, got {type(obj).__name__}")
    if not kind.known.issuperset(obj):
        _unsupported(obj, kind)
    head = "<" + tag
    for key, name in kind.attrs:
        value = obj.get(key)
        if value is not None:
            head += f' {name}="{_attr(value)}"'
    out.append(head + ">")
    if kind.text is not None:
        value = obj.get(kind.text)
        if value is not None:
            out.append(_text(value))
    for key, name, how, sub, item in kind.children:
        value = obj.get(key)
        if value is None:
            continue
        if how == _S:
            out.append(f"<{name}>{_text(value)}</{name}>")
        elif how == _O:
            _emit(out, name, value, sub, minor)
        elif how == _WO:
            out.append(f"<{name}>")
            for one in _listed(value, kind, key):
                _emit(out, item, one, sub, minor)
            out.append(f"</{name}>")
        elif how == _WS:
            out.append(f"<{name}>")
            for one in _listed(value, kind, key):
                out.append(f"<{item}>{_text(one)}</{item}>")
            out.append(f"</{name}>")
        elif how == _OL:
            for one in _listed(value, kind, key):
                _emit(out, name, one, sub, minor)
        elif how == _SS:
            for one in _listed(value, kind, key):
                out.append(f"<{name}>{_text(one)}</{name}>")
        else:
            sub(out, name, value, minor)
    out.append(f"</{tag}>")


def _listed(value: Any, kind: _Type, key: str) -> list:
    if value.__class__ is not list:
        raise XmlConversionError(f"{kind.where}.{key}: expected an array, got {type(value).__name__}")
    return value


_PROPERTY = _Type("property").define(attrs=[("name", "name")], text="value")
_HASH = _Type("hash").define(attrs=[("alg", "alg")], text="content")
_ATTACHED = _Type("attachedText").define(
    attrs=[("contentType", "content-type"), ("encoding", "encoding")], text="content"
)
_ADDRESS = _Type("address").define(
    attrs=[("bom-ref", "bom-ref")],
    children=[
        (key, key, _S)
        for key in ("country", "region", "locality", "postOfficeBoxNumber", "postalCode", "streetAddress")
    ],
)
_CONTACT = _Type("organizationalContact").define(
    attrs=[("bom-ref", "bom-ref")], children=[("name", "name", _S), ("email", "email", _S), ("phone", "phone", _S)]
)
_ORG = _Type("organizationalEntity").define(
    attrs=[("bom-ref", "bom-ref")],
    children=[
        ("name", "name", _S),
        ("address", "address", _O, _ADDRESS),
        ("url", "url", _SS),
        ("contact", "contact", _OL, _CONTACT),
    ],
)
_ORG_OR_INDIVIDUAL = _Type("organizationOrIndividual").define(
    children=[("organization", "organization", _O, _ORG), ("individual", "individual", _O, _CONTACT)]
)
_MEASURE = _Type("energyMeasure").define(children=[("value", "value", _S), ("unit", "unit", _S)])
_FORMAT = _Type("inputOutput").define(children=[("format", "format", _S)])
_GRAPHIC = _Type("graphic").define(children=[("name", "name", _S), ("image", "image", _O, _ATTACHED)])
_GRAPHICS = _Type("graphics").define(
    children=[("description", "description", _S), ("collection", "collection", _WO, _GRAPHIC, "graphic")]
)
_LIFECYCLE = _Type("metadata.lifecycle").define(
    children=[("phase", "phase", _S), ("name", "name", _S), ("description", "description", _S)]
)
_DATA_CONTENTS = _Type("data.contents").define(
    children=[
        ("attachment", "attachment", _O, _ATTACHED),
        ("url", "url", _S),
        ("properties", "properties", _WO, _PROPERTY, "property"),
    ]
)
_GOVERNANCE = _Type("data.governance").define(
    children=[
        ("custodians", "custodians", _WO, _ORG_OR_INDIVIDUAL, "custodian"),
        ("stewards", "stewards", _WO, _ORG_OR_INDIVIDUAL, "steward"),
        ("owners", "owners", _WO, _ORG_OR_INDIVIDUAL, "owner"),
    ]
)
_DATA = _Type("componentData").define(
    attrs=[("bom-ref", "bom-ref")],
    children=[
        ("type", "type", _S),
        ("name", "name", _S),
        ("contents", "contents", _O, _DATA_CONTENTS),
        ("classification", "classification", _S),
        ("sensitiveData", "sensitiveData", _SS),
        ("graphics", "graphics", _O, _GRAPHICS),
        ("description", "description", _S),
        ("governance", "governance", _O, _GOVERNANCE),
    ],
)
_LICENSING = _Type("license.licensing").define(
    children=[
        ("altIds", "altIds", _WS, None, "altId"),
        ("licensor", "licensor", _O, _ORG_OR_INDIVIDUAL),
        ("licensee", "licensee", _O, _ORG_OR_INDIVIDUAL),
        ("purchaser", "purchaser", _O, _ORG_OR_INDIVIDUAL),
        ("purchaseOrder", "purchaseOrder", _S),
        ("licenseTypes", "licenseTypes", _WS, None, "licenseType"),
        ("lastRenewal", "lastRenewal", _S),
        ("expiration", "expiration", _S),
    ]
)
_LICENSE_ATTRS = (("bom-ref", "bom-ref"), ("acknowledgement", "acknowledgement"))
_LICENSE = _Type("license").define(
    attrs=_LICENSE_ATTRS,
    children=[
        ("id", "id", _S),
        ("name", "name", _S),
        ("text", "text", _O, _ATTACHED),
        ("url", "url", _S),
        ("licensing", "licensing", _O, _LICENSING),
        ("properties", "properties", _WO, _PROPERTY, "property"),
    ],
)
_EXPRESSION = _Type("license expression").define(attrs=_LICENSE_ATTRS, text="expression")
_EXPRESSION_DETAIL = _Type("license expressionDetails").define(
    attrs=[("licenseIdentifier", "license-identifier"), ("bom-ref", "bom-ref")],
    children=[("text", "text", _O, _ATTACHED), ("url", "url", _S)],
)
_EXPRESSION_DETAILED = _Type("license expression (detailed)").define(
    attrs=(("expression", "expression"), *_LICENSE_ATTRS),
    children=[
        ("expressionDetails", "details", _OL, _EXPRESSION_DETAIL),
        ("licensing", "licensing", _O, _LICENSING),
        ("properties", "properties", _WO, _PROPERTY, "property"),
    ],
)
_DETAILED_KEYS = frozenset(("expressionDetails", "licensing", "properties"))


def _licenses(out: list[str], tag: str, value: Any, minor: int) -> None:
    out.append(f"<{tag}>")
    for item in _listed(value, _LICENSE, "licenses"):
        if item.__class__ is not dict:
            raise XmlConversionError(f"licenses: expected an object, got {type(item).__name__}")
        if "license" in item:
            if len(item) != 1:
                raise XmlConversionError("licenses: a license choice item holds `license` alone")
            _emit(out, "license", item["license"], _LICENSE, minor)
        elif "expression" in item:
            if minor >= 7 and not _DETAILED_KEYS.isdisjoint(item):
                _emit(out, "expression-detailed", item, _EXPRESSION_DETAILED, minor)
            else:
                _emit(out, "expression", item, _EXPRESSION, minor)
        else:
            raise XmlConversionError(f"licenses: an item holds `license` or `expression`, not {sorted(item)}")
    out.append(f"</{tag}>")


_EXTERNAL_REFERENCE = {}
_TOOL = {}
_COMPONENT = {}
_DEPENDENCY = _Type("dependency")
_TOOLS_OBJECT = _Type("metadata.tools")


def _tools(out: list[str], tag: str, value: Any, minor: int) -> None:
    out.append(f"<{tag}>")
    if value.__class__ is list:  # the legacy (deprecated) form
        for tool in value:
            _emit(out, "tool", tool, _TOOL[minor], minor)
    elif value.__class__ is dict:
        if not _TOOLS_OBJECT.known.issuperset(value):
            _unsupported(value, _TOOLS_OBJECT)
        components = value.get("components")
        if components is not None:
            out.append("<components>")
            for component in _listed(components, _TOOLS_OBJECT, "components"):
                _emit(out, "component", component, _COMPONENT[minor], minor)
            out.append("</components>")
    else:
        raise XmlConversionError(f"metadata.tools: expected an array or an object, got {type(value).__name__}")
    out.append(f"</{tag}>")


_TOOLS_OBJECT.define(children=[("components", "components", _F, None)])


def _datasets(out: list[str], tag: str, value: Any, minor: int) -> None:
    out.append(f"<{tag}>")
    for item in _listed(value, _DATA, "datasets"):
        if item.__class__ is dict and "ref" in item:
            if len(item) != 1:
                raise XmlConversionError("modelCard.modelParameters.datasets: a reference holds `ref` alone")
            out.append(f"<ref>{_text(item['ref'])}</ref>")
        else:
            _emit(out, "dataset", item, _DATA, minor)
    out.append(f"</{tag}>")


def _dependency(out: list[str], tag: str, obj: Any, minor: int) -> None:
    if obj.__class__ is not dict:
        raise XmlConversionError(f"dependency: expected an object, got {type(obj).__name__}")
    if not _DEPENDENCY.known.issuperset(obj):
        _unsupported(obj, _DEPENDENCY)
    ref = obj.get("ref")
    if ref is None:
        raise XmlConversionError("dependency: `ref` is required")
    depends_on = obj.get("dependsOn")
    provides = obj.get("provides")
    if not depends_on and not provides:
        out.append(f'<dependency ref="{_attr(ref)}"/>')
        return
    parts = [f'<dependency ref="{_attr(ref)}">']
    if depends_on:
        parts.extend(f'<dependency ref="{_attr(one)}"/>' for one in _listed(depends_on, _DEPENDENCY, "dependsOn"))
    if provides:
        parts.extend(f'<provides ref="{_attr(one)}"/>' for one in _listed(provides, _DEPENDENCY, "provides"))
    parts.append("</dependency>")
    out.append("".join(parts))


_DEPENDENCY.define(attrs=[("ref", "ref")], children=[("dependsOn", "", _F, None), ("provides", "", _F, None)])


def _dependencies(out: list[str], tag: str, value: Any, minor: int) -> None:
    out.append(f"<{tag}>")
    for one in _listed(value, _DEPENDENCY, "dependencies"):
        _dependency(out, "dependency", one, minor)
    out.append(f"</{tag}>")


def _define_version(minor: int) -> dict[str, _Type]:
    """The version-dependent types (1.6 and 1.7 differ in a few places), keyed by name."""
    external_reference = _Type("externalReference").define(
        attrs=[("type", "type")],
        children=[
            ("url", "url", _S),
            ("comment", "comment", _S),
            ("hashes", "hashes", _WO, _HASH, "hash"),
            *([("properties", "properties", _WO, _PROPERTY, "property")] if minor >= 7 else []),
        ],
    )
    external_references = ("externalReferences", "externalReferences", _WO, external_reference, "reference")
    properties = ("properties", "properties", _WO, _PROPERTY, "property")
    tool = _Type("metadata.tools[] (legacy tool)").define(
        children=[
            ("vendor", "vendor", _S),
            ("name", "name", _S),
            ("version", "version", _S),
            ("hashes", "hashes", _WO, _HASH, "hash"),
            external_references,
        ]
    )
    component = _Type("component")
    pedigree = _Type("component.pedigree").define(
        children=[
            ("ancestors", "ancestors", _WO, component, "component"),
            ("descendants", "descendants", _WO, component, "component"),
            ("variants", "variants", _WO, component, "component"),
            ("notes", "notes", _S),
        ]
    )
    energy_provider = _Type("energyProvider").define(
        attrs=[("bom-ref", "bom-ref")],
        children=[
            ("description", "description", _S),
            ("organization", "organization", _O, _ORG),
            ("energySource", "energySource", _S),
            ("energyProvided", "energyProvided", _O, _MEASURE),
            external_references,
        ],
    )
    energy_consumption = _Type("energyConsumption").define(
        children=[
            ("activity", "activity", _S),
            ("energyProviders", "energyProviders", _OL, energy_provider),
            ("activityEnergyCost", "activityEnergyCost", _O, _MEASURE),
            ("co2CostEquivalent", "co2CostEquivalent", _O, _MEASURE),
            ("co2CostOffset", "co2CostOffset", _O, _MEASURE),
            properties,
        ]
    )
    environmental = _Type("modelCard.considerations.environmentalConsiderations").define(
        children=[
            ("energyConsumptions", "energyConsumptions", _WO, energy_consumption, "energyConsumption"),
            properties,
        ]
    )
    considerations = _Type("modelCard.considerations").define(
        children=[
            ("users", "users", _WS, None, "user"),
            ("useCases", "useCases", _WS, None, "useCase"),
            ("technicalLimitations", "technicalLimitations", _WS, None, "technicalLimitation"),
            ("performanceTradeoffs", "performanceTradeoffs", _WS, None, "performanceTradeoff"),
            (
                "ethicalConsiderations",
                "ethicalConsiderations",
                _WO,
                _Type("ethicalConsideration").define(
                    children=[("name", "name", _S), ("mitigationStrategy", "mitigationStrategy", _S)]
                ),
                "ethicalConsideration",
            ),
            ("environmentalConsiderations", "environmentalConsiderations", _O, environmental),
            (
                "fairnessAssessments",
                "fairnessAssessments",
                _WO,
                _Type("fairnessAssessment").define(
                    children=[(key, key, _S) for key in ("groupAtRisk", "benefits", "harms", "mitigationStrategy")]
                ),
                "fairnessAssessment",
            ),
        ]
    )
    performance_metric = _Type("performanceMetric").define(
        children=[
            ("type", "type", _S),
            ("value", "value", _S),
            ("slice", "slice", _S),
            (
                "confidenceInterval",
                "confidenceInterval",
                _O,
                _Type("confidenceInterval").define(
                    children=[("lowerBound", "lowerBound", _S), ("upperBound", "upperBound", _S)]
                ),
            ),
        ]
    )
    model_card = _Type("modelCard").define(
        attrs=[("bom-ref", "bom-ref")],
        children=[
            (
                "modelParameters",
                "modelParameters",
                _O,
                _Type("modelCard.modelParameters").define(
                    children=[
                        ("approach", "approach", _O, _Type("approach").define(children=[("type", "type", _S)])),
                        ("task", "task", _S),
                        ("architectureFamily", "architectureFamily", _S),
                        ("modelArchitecture", "modelArchitecture", _S),
                        ("datasets", "datasets", _F, _datasets),
                        ("inputs", "inputs", _WO, _FORMAT, "input"),
                        ("outputs", "outputs", _WO, _FORMAT, "output"),
                    ]
                ),
            ),
            (
                "quantitativeAnalysis",
                "quantitativeAnalysis",
                _O,
                _Type("modelCard.quantitativeAnalysis").define(
                    children=[
                        ("performanceMetrics", "performanceMetrics", _WO, performance_metric, "performanceMetric"),
                        ("graphics", "graphics", _O, _GRAPHICS),
                    ]
                ),
            ),
            ("considerations", "considerations", _O, considerations),
            properties,
        ],
    )
    component.define(
        attrs=[
            ("type", "type"),
            ("mime-type", "mime-type"),
            *([("isExternal", "isExternal")] if minor >= 7 else []),
            ("bom-ref", "bom-ref"),
        ],
        children=[
            ("supplier", "supplier", _O, _ORG),
            ("manufacturer", "manufacturer", _O, _ORG),
            ("authors", "authors", _WO, _CONTACT, "author"),
            ("author", "author", _S),
            ("publisher", "publisher", _S),
            ("group", "group", _S),
            ("name", "name", _S),
            ("version", "version", _S),
            *([("versionRange", "versionRange", _S)] if minor >= 7 else []),
            ("description", "description", _S),
            ("scope", "scope", _S),
            ("hashes", "hashes", _WO, _HASH, "hash"),
            ("licenses", "licenses", _F, _licenses),
            ("copyright", "copyright", _S),
            ("cpe", "cpe", _S),
            ("purl", "purl", _S),
            ("omniborId", "omniborId", _SS),
            ("swhid", "swhid", _SS),
            ("modified", "modified", _S),
            ("pedigree", "pedigree", _O, pedigree),
            external_references,
            properties,
            ("components", "components", _WO, component, "component"),
            ("modelCard", "modelCard", _O, model_card),
            ("data", "data", _OL, _DATA),
            ("tags", "tags", _WS, None, "tag"),
        ],
    )
    metadata = _Type("metadata").define(
        children=[
            ("timestamp", "timestamp", _S),
            ("lifecycles", "lifecycles", _WO, _LIFECYCLE, "lifecycle"),
            ("tools", "tools", _F, _tools),
            ("authors", "authors", _WO, _CONTACT, "author"),
            ("component", "component", _O, component),
            ("manufacturer", "manufacturer", _O, _ORG),
            ("manufacture", "manufacture", _O, _ORG),
            ("supplier", "supplier", _O, _ORG),
            ("licenses", "licenses", _F, _licenses),
            properties,
            *(
                [
                    (
                        "distributionConstraints",
                        "distributionConstraints",
                        _O,
                        _Type("metadata.distributionConstraints").define(children=[("tlp", "tlp", _S)]),
                    )
                ]
                if minor >= 7
                else []
            ),
        ]
    )
    # The bom element's children after components; metadata and components are written by the writer.
    bom_tail = _Type("bom").define(
        attrs=[("serialNumber", "serialNumber"), ("version", "version")],
        children=[external_references, ("dependencies", "dependencies", _F, _dependencies), properties],
        ignore=("$schema", "bomFormat", "specVersion", "metadata", "components"),
    )
    return {
        "component": component,
        "externalReference": external_reference,
        "tool": tool,
        "metadata": metadata,
        "bom": bom_tail,
    }


_BY_VERSION = {version: _define_version(int(version.split(".")[1])) for version in SPEC_VERSIONS}
for _version, _types in _BY_VERSION.items():
    _minor = int(_version.split(".")[1])
    _COMPONENT[_minor] = _types["component"]
    _TOOL[_minor] = _types["tool"]
    _EXTERNAL_REFERENCE[_minor] = _types["externalReference"]


# --- writing -------------------------------------------------------------------------------------


def _spec_version(document: dict, version: str | None) -> str:
    declared = document.get("specVersion")
    version = version or declared or DEFAULT_SPEC_VERSION
    if version not in NAMESPACES:
        raise XmlConversionError(f"CycloneDX {version} is not written here (only {', '.join(SPEC_VERSIONS)})")
    if declared is not None and declared != version:
        raise XmlConversionError(f"the document is CycloneDX {declared}, not {version}")
    return version


def component_xml(component: dict, version: str = DEFAULT_SPEC_VERSION) -> str:
    """One component dict as its ``<component>`` element (text, no namespace declaration)."""
    minor = int(version.split(".")[1])
    out: list[str] = []
    try:
        _emit(out, "component", component, _COMPONENT[minor], minor)
    except XmlConversionError as error:
        raise XmlConversionError(f"component {_describe(component)}: {error}") from None
    chunk = "".join(out)
    _check_chars(chunk, f"component {_describe(component)}")
    return chunk


def _describe(component: Any) -> str:
    if component.__class__ is not dict:
        return repr(component)[:60]
    return repr(component.get("bom-ref") or component.get("name"))


class _Parts:
    """The text of a document's parts other than its components, in document order."""

    def __init__(self, document: dict, version: str) -> None:
        if document.__class__ is not dict:
            raise XmlConversionError(f"a document is an object, got {type(document).__name__}")
        minor = int(version.split(".")[1])
        types = _BY_VERSION[version]
        bom = types["bom"]
        if not bom.known.issuperset(document):
            _unsupported(document, bom)
        head = f'<bom xmlns="{NAMESPACES[version]}"'
        for key, name in bom.attrs:
            value = document.get(key)
            if value is not None:
                head += f' {name}="{_attr(value)}"'
        head += ">"
        metadata = document.get("metadata")
        if metadata is not None:
            out: list[str] = []
            _emit(out, "metadata", metadata, types["metadata"], minor)
            head += "".join(out)
        self.head = head
        out = []
        external_references = document.get("externalReferences")
        if external_references is not None:
            out.append("<externalReferences>")
            for one in _listed(external_references, bom, "externalReferences"):
                _emit(out, "reference", one, types["externalReference"], minor)
            out.append("</externalReferences>")
        self.before_dependencies = "".join(out)
        properties = document.get("properties")
        out = []
        if properties is not None:
            out.append("<properties>")
            for one in _listed(properties, bom, "properties"):
                _emit(out, "property", one, _PROPERTY, minor)
            out.append("</properties>")
        self.tail = "".join(out) + "</bom>\n"
        _check_chars(self.head + self.before_dependencies + self.tail, "document")


def iter_xml(
    document: dict,
    components: Iterable[dict] | None = None,
    *,
    dependencies: Iterable[dict] | Callable[[], Iterable[dict]] | None = None,
    version: str | None = None,
    validate: bool = True,
) -> Iterator[str]:
    """Stream a document as XML text chunks (encode them as UTF-8): the head, each component, the rest.

    ``document`` is the CycloneDX JSON-shaped dict; its components (and dependencies) may instead be
    passed as iterables, consumed one at a time (then the document must not hold them too);
    ``dependencies`` may be a callable, called once the components are written (a graph known
    only after them: ``iter_xml(bom.header, bom.components(), dependencies=bom.dependencies)``).
    ``version`` defaults to the document's ``specVersion``, else 1.6. With ``validate`` (the default)
    the outer document is validated before the first chunk, components and dependencies in batches
    as they stream (see the module's docstring); a failure raises ``XmlValidationError``.
    """
    version = _spec_version(document, version)
    components = _one_source(document, components, "components")
    dependencies = _one_source(document, dependencies, "dependencies")
    parts = _Parts(document, version)
    checker = _StreamChecker(version, parts) if validate else None
    yield XML_DECLARATION + parts.head
    if components is not None:
        yield "<components>\n"
        for component in components:
            chunk = component_xml(component, version) + "\n"
            if checker is not None:
                checker.add_component(chunk, component)
            yield chunk
        if checker is not None:
            checker.flush()
        yield "</components>"
    if parts.before_dependencies:
        yield parts.before_dependencies
    if callable(dependencies):
        dependencies = dependencies()
    if dependencies is not None:
        yield "<dependencies>\n"
        for dependency in dependencies:
            out: list[str] = []
            _dependency(out, "dependency", dependency, 0)
            chunk = out[0] + "\n"
            _check_chars(chunk, f"dependency {dependency.get('ref')!r}")
            if checker is not None:
                checker.add_dependency(chunk)
            yield chunk
        if checker is not None:
            checker.flush()
        yield "</dependencies>"
    yield parts.tail


def _one_source(document: dict, given: Any, key: str) -> Any:
    inside = document.get(key)
    if given is not None and inside is not None:
        raise XmlConversionError(f"{key}: given both in the document and separately")
    if inside is not None and inside.__class__ is not list:
        raise XmlConversionError(f"{key}: expected an array, got {type(inside).__name__}")
    return given if given is not None else inside


def write_xml(
    out: BinaryIO,
    document: dict,
    components: Iterable[dict] | None = None,
    *,
    dependencies: Iterable[dict] | Callable[[], Iterable[dict]] | None = None,
    version: str | None = None,
    validate: bool = True,
) -> int:
    """Write ``iter_xml``'s chunks to ``out`` as UTF-8, about 64 KB a write; returns the bytes written.

    On ``XmlValidationError`` / ``XmlConversionError`` ``out`` holds part of a document: discard it.
    """
    written, pending, size = 0, [], 0
    for chunk in iter_xml(document, components, dependencies=dependencies, version=version, validate=validate):
        pending.append(chunk)
        size += len(chunk)
        if size >= 1 << 16:
            written += out.write("".join(pending).encode("utf-8"))
            pending, size = [], 0
    if pending:
        written += out.write("".join(pending).encode("utf-8"))
    return written


def to_xml(document: dict, version: str | None = None, *, validate: bool = True) -> bytes:
    """A whole document as UTF-8 XML bytes; validated whole against the XSD unless ``validate`` is False."""
    version = _spec_version(document, version)
    data = "".join(iter_xml(document, version=version, validate=False)).encode("utf-8")
    if validate:
        validate_xml(data, version)
    return data


# --- validation ----------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)


_local = threading.local()


def _document_parser() -> etree.XMLParser:
    """The parser for documents, one per thread (an lxml parser is not shared between threads)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _parser()
    return parser


class _LocalSpdx(etree.Resolver):
    """Maps the SPDX schema, by its URL or its file name, onto one local file; refuses every other URL."""

    def __init__(self, spdx: Path) -> None:
        super().__init__()
        self.spdx = spdx

    def resolve(self, url: str, pubid: str | None, context: Any) -> Any:
        name = url.rsplit("/", 1)[-1]
        if url.rstrip("/") in (SPDX_NAMESPACE, SPDX_NAMESPACE + ".xsd") or name == self.spdx.name:
            return self.resolve_filename(str(self.spdx), context)
        if url.startswith(("http:", "https:", "ftp:")):
            raise XmlConversionError(f"the XSD asked for {url}: nothing is fetched")
        return None


def load_schema(xsd: Path, spdx: Path) -> etree.XMLSchema:
    """An XMLSchema over a CycloneDX XSD whose SPDX import (URL or file name) is the local ``spdx`` file."""
    parser = _parser()
    parser.resolvers.add(_LocalSpdx(spdx))
    return etree.XMLSchema(etree.parse(str(xsd), parser))


_schemas: dict[str, etree.XMLSchema] = {}
# One lock for building and for using the schemas: an XMLSchema object keeps its error log on itself.
_schema_lock = threading.Lock()


def schema(version: str) -> etree.XMLSchema:
    """The bundled XSD of ``version``, built once per process."""
    found = _schemas.get(version)
    if found is None:
        if version not in NAMESPACES:
            raise XmlConversionError(f"CycloneDX {version} has no XSD here (only {', '.join(SPEC_VERSIONS)})")
        with _schema_lock:
            found = _schemas.get(version)
            if found is None:
                found = load_schema(
                    BUNDLED_SCHEMA_DIR / f"bom-{version}.SNAPSHOT.xsd", BUNDLED_SCHEMA_DIR / "spdx.SNAPSHOT.xsd"
                )
                _schemas[version] = found
    return found


def _parse(data: bytes, version: str, where: str) -> Any:
    try:
        root = etree.fromstring(data, _document_parser())
    except etree.XMLSyntaxError as error:
        line = error.position[0] if error.position else 0
        raise XmlValidationError(version, [(line, "/", str(error.msg))], where) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlValidationError(version, [(1, "/", "a document type declaration is not allowed")], where)
    return root


def validate_xml(
    data: bytes, version: str = DEFAULT_SPEC_VERSION, *, against: etree.XMLSchema | None = None, where: str = ""
) -> None:
    """Raise ``XmlValidationError`` unless ``data`` is a valid CycloneDX ``version`` XML document.

    The error names each failure's line, element path (``/bom/components/component[3]/hashes/hash``)
    and the XSD's message. ``against`` defaults to the bundled XSD of ``version``; the root must be
    the version's ``bom`` element; a DOCTYPE is refused (no entities, nothing fetched).
    """
    _validate_tree(_parse(data, version, where), version, against, where)


def _validate_tree(root: Any, version: str, against: etree.XMLSchema | None, where: str, offset: int = 0) -> None:
    """Validate; on failure raise with readable paths (top-level component indexes shifted by ``offset``)."""
    expected = f"{{{NAMESPACES.get(version, '?')}}}bom"
    if root.tag != expected:
        raise XmlValidationError(version, [(root.sourceline or 1, "/", f"root is {root.tag}, not {expected}")], where)
    checker = against if against is not None else schema(version)
    with _schema_lock:
        try:
            valid = checker.validate(root)
        except etree.Error as error:  # libxml2 gives up on some inputs rather than reporting them
            raise XmlValidationError(version, [(0, "/", str(error))], where) from None
        entries = [] if valid else list(checker.error_log)[:MAX_REPORTED_ERRORS]
    if valid:
        return
    namespace = "{" + NAMESPACES[version] + "}"
    errors, tops = [], []
    for entry in entries:
        path, top = _readable_path(root, entry.path, offset)
        errors.append((0 if offset else entry.line, path, entry.message.replace(namespace, "")))
        tops.append(top)
    raise XmlValidationError(version, errors, where, tops)


def _readable_path(root: Any, xpath: str | None, offset: int) -> tuple[str, int | None]:
    """``/bom/components/component[3]/hashes/hash`` for libxml2's ``/*/*/*[3]/*[2]/*``; and which
    top-level component (0-based, before ``offset``) it is in, if any."""
    try:
        found = root.xpath(xpath) if xpath else []
    except etree.XPathError:
        found = []
    if not found or not isinstance(found[0], etree._Element):
        return xpath or "/", None
    steps, top, element = [], None, found[0]
    while element is not None:
        name = etree.QName(element).localname
        parent = element.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == element.tag]
            index = same.index(element)
            is_top = (
                parent.getparent() is root and name == "component" and etree.QName(parent).localname == "components"
            )
            if is_top:
                top = index
                name += f"[{index + 1 + offset}]"
            elif len(same) > 1:
                name += f"[{index + 1}]"
        steps.append(name)
        element = parent
    return "/" + "/".join(reversed(steps)), top


class _StreamChecker:
    """Validates a streamed document piecewise: outer document, then batches of components / dependencies."""

    def __init__(self, version: str, parts: _Parts) -> None:
        self.version = version
        self.open = f'<bom xmlns="{NAMESPACES[version]}">'
        self.refs: set[str] = set()
        self.batch: list[str] = []
        self.described: list[str] = []
        self.size = 0
        self.wrapper = "components"
        self.seen = 0
        outer = (XML_DECLARATION + parts.head + parts.before_dependencies + parts.tail).encode("utf-8")
        where = "the document without its components and dependencies"
        root = _parse(outer, version, where)
        _validate_tree(root, version, None, where)
        self._keep_refs(root, "the document's metadata")

    def add_component(self, chunk: str, component: dict) -> None:
        if self.wrapper != "components":
            self.flush()
            self.wrapper = "components"
        self.batch.append(chunk)
        self.described.append(_describe(component))
        self.size += len(chunk)
        if len(self.batch) >= BATCH_COMPONENTS or self.size >= BATCH_CHARS:
            self.flush()

    def add_dependency(self, chunk: str) -> None:
        if self.wrapper != "dependencies":
            self.flush()
            self.wrapper = "dependencies"
        self.batch.append(chunk)
        self.described.append("")
        self.size += len(chunk)
        if len(self.batch) >= BATCH_COMPONENTS * 5 or self.size >= BATCH_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        first = self.seen
        data = f"{self.open}<{self.wrapper}>{''.join(self.batch)}</{self.wrapper}></bom>".encode()
        described = self.described
        self.batch, self.described, self.size = [], [], 0
        self.seen += len(described)
        where = f"{self.wrapper} {first}-{self.seen - 1}"
        try:
            root = _parse(data, self.version, where)
            _validate_tree(root, self.version, None, where, offset=first if self.wrapper == "components" else 0)
        except XmlValidationError as error:
            index = error.components[0] if error.components else None
            if index is not None and 0 <= index < len(described):
                where = f"component[{first + index + 1}] ({described[index]})"
            raise XmlValidationError(self.version, error.errors, where) from None
        if self.wrapper == "components":
            self._keep_refs(root, "components")

    def _keep_refs(self, root: Any, where: str) -> None:
        refs = self.refs
        for ref in root.xpath("//@bom-ref"):
            if ref in refs:
                raise XmlValidationError(
                    self.version, [(0, "//@bom-ref", f"{str(ref)!r} is not unique in the document")], where
                )
            refs.add(str(ref))


__all__ = [
    "DEFAULT_SPEC_VERSION",
    "NAMESPACES",
    "SPEC_VERSIONS",
    "XmlConversionError",
    "XmlValidationError",
    "component_xml",
    "iter_xml",
    "load_schema",
    "schema",
    "to_xml",
    "validate_xml",
    "write_xml",
]
