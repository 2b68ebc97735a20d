"""A CycloneDX XML document (the root element ``boms.ingest.parsing`` returns) in the JSON shape, so
that one mapping (``boms.ingest.mapping``) reads both formats.

It is the inverse of ``boms.xml``'s naming for the parts an ingest reads: a wrapper element becomes
an array of its items (``<components><component>``, ``<hashes><hash>``, ``<properties><property>``,
``<externalReferences><reference>``, ``<ancestors><component>``, ``<inputs><input>``...), an element
that repeats without a wrapper becomes an array (a component's ``<data>``, an organization's
``<url>`` and ``<contact>``, ``<omniborId>``, ``<swhid>``), attributes are keys (``content-type`` ->
``contentType``), an element with attributes and text keeps its text under the key JSON gives it
(``<property name=..>value`` -> ``value``, ``<hash alg=..>`` -> ``content``), ``<licenses>`` items
become ``{"license": {...}}`` or ``{"expression": ...}``, a model card's ``<datasets>`` hold
``{"ref": ...}`` or inline datasets, and ``<dependencies>`` become ``{"ref", "dependsOn"}`` objects.
Every scalar stays text (JSON's numbers and booleans are not restored, but for the bom's
``version`` and energy measures' ``value``); elements of other namespaces (the XSD's extension
points) are left out, as are the parts no ingest reads (services, compositions, vulnerabilities,
formulation, annotations...).
"""

import contextlib
from typing import Any

WRAPPED = {
    "components": "component",
    "ancestors": "component",
    "descendants": "component",
    "variants": "component",
    "hashes": "hash",
    "externalReferences": "reference",
    "properties": "property",
    "inputs": "input",
    "outputs": "output",
    "users": "user",
    "useCases": "useCase",
    "technicalLimitations": "technicalLimitation",
    "performanceTradeoffs": "performanceTradeoff",
    "ethicalConsiderations": "ethicalConsideration",
    "fairnessAssessments": "fairnessAssessment",
    "energyConsumptions": "energyConsumption",
    "performanceMetrics": "performanceMetric",
    "collection": "graphic",
    "authors": "author",
    "tags": "tag",
    "lifecycles": "lifecycle",
}
REPEATED = frozenset(("data", "contact", "omniborId", "swhid", "energyProviders"))
# Organizational entities, whose ``<url>`` repeats (elsewhere a url is one value).
ORGANIZATIONS = frozenset(("supplier", "manufacturer", "manufacture", "organization"))
TEXT_KEYS = {"property": "value", "hash": "content", "expression": "expression"}
ATTRIBUTE_KEYS = {"content-type": "contentType"}
# Energy measures, whose ``value`` is a number in JSON.
MEASURES = frozenset(("activityEnergyCost", "co2CostEquivalent", "co2CostOffset", "energyProvided"))
ROOT_PARTS = frozenset(("metadata", "components", "externalReferences", "dependencies", "properties"))


def _local(element: Any) -> str | None:
    """The element's name without its namespace; None for a comment or processing instruction."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    return tag.rsplit("}", 1)[-1]


class _Reader:
    def __init__(self, namespace: str) -> None:
        self.prefix = f"{{{namespace}}}" if namespace else ""

    def children(self, element: Any) -> list[tuple[str, Any]]:
        """The element's children of the document's namespace, with their local names."""
        found = []
        for child in element:
            if isinstance(child.tag, str) and child.tag.startswith(self.prefix):
                found.append((child.tag[len(self.prefix) :], child))
        return found

    def value(self, element: Any, name: str, parent: str = "") -> Any:
        children = self.children(element)
        if not children and not element.attrib:
            return (element.text or "").strip()
        return self.object(element, name, children)

    def object(self, element: Any, name: str, children: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {ATTRIBUTE_KEYS.get(key, key): value for key, value in element.attrib.items()}
        children = self.children(element) if children is None else children
        if not children and (element.text or "").strip():
            result[TEXT_KEYS.get(name, "content")] = element.text.strip()
        for child_name, child in children:
            if child_name in WRAPPED:
                item = WRAPPED[child_name]
                result[child_name] = [
                    self.value(one, item, child_name) for one_name, one in self.children(child) if one_name == item
                ]
            elif child_name == "licenses":
                result[child_name] = self.licenses(child)
            elif child_name == "datasets" and name == "modelParameters":
                result[child_name] = self.datasets(child)
            elif child_name in REPEATED or (child_name == "url" and name in ORGANIZATIONS):
                result.setdefault(child_name, []).append(self.value(child, child_name, name))
            else:
                result[child_name] = self.value(child, child_name, name)
        if name in MEASURES and isinstance(result.get("value"), str):
            with contextlib.suppress(ValueError):  # the schema's decimal: a number in a valid document
                result["value"] = float(result["value"])
        return result

    def licenses(self, element: Any) -> list[dict[str, Any]]:
        choices = []
        for name, child in self.children(element):
            if name == "license":
                choices.append({"license": self.object(child, name)})
            elif name == "expression":
                choices.append({**self.object(child, name), "expression": (child.text or "").strip()})
            elif name == "expression-detailed":
                choices.append(self.object(child, name))
        return choices

    def datasets(self, element: Any) -> list[dict[str, Any]]:
        entries = []
        for name, child in self.children(element):
            if name == "ref":
                entries.append({"ref": (child.text or "").strip()})
            elif name == "dataset":
                entries.append(self.object(child, name))
        return entries

    def dependencies(self, element: Any) -> list[dict[str, Any]]:
        graph = []
        for name, child in self.children(element):
            if name != "dependency":
                continue
            entry: dict[str, Any] = {"ref": child.get("ref", "")}
            depends = [one.get("ref", "") for one_name, one in self.children(child) if one_name == "dependency"]
            provides = [one.get("ref", "") for one_name, one in self.children(child) if one_name == "provides"]
            if depends:
                entry["dependsOn"] = depends
            if provides:
                entry["provides"] = provides
            graph.append(entry)
        return graph


def document_from_xml(root: Any, spec_version: str = "") -> dict[str, Any]:
    """The document under ``root`` (a ``<bom>`` element) as a dict in CycloneDX JSON's shape."""
    namespace = root.tag[1:].split("}", 1)[0] if isinstance(root.tag, str) and root.tag.startswith("{") else ""
    reader = _Reader(namespace)
    version = spec_version or namespace.rsplit("/", 1)[-1]
    document: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": version}
    if serial := root.get("serialNumber"):
        document["serialNumber"] = serial
    if (number := root.get("version", "")).isdigit():
        document["version"] = int(number)
    for name, child in reader.children(root):
        if name not in ROOT_PARTS:
            continue
        if name == "metadata":
            document[name] = reader.object(child, name)
        elif name == "dependencies":
            document[name] = reader.dependencies(child)
        else:
            item = WRAPPED[name]
            document[name] = [
                reader.value(one, item, name) for one_name, one in reader.children(child) if one_name == item
            ]
    return document
