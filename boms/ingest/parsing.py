"""Reading a CycloneDX document someone sent: safely parsed, its version found, checked against its schema.

``parse_document(content, media_type)`` is the one entry: the upload request calls it to refuse a bad
document before anything is stored, and the ``bom_ingest`` job calls it again on the stored bytes
(``BomUpload.content`` / ``BomUpload.media_type``) to get the document it applies. It returns a
``ParsedBom``; it raises ``UnsupportedMediaType`` for a Content-Type that is neither CycloneDX JSON
nor XML, and ``BomRejected`` for anything else wrong, whose ``problems`` each name where: a path
that exists in the document (JSON: a JSON Pointer and its JSONPath spelling; XML: an element path
such as ``/bom/components/component[2]/hashes/hash``) or, for text that does not parse, a line and
column.

JSON (``application/vnd.cyclonedx+json``, ``application/json``): UTF-8 (a leading byte order mark
is allowed), nested at most ``MAX_JSON_DEPTH`` levels (checked by a scan of the text before parsing;
Python's parser would otherwise stop with a RecursionError near 1,000), no NaN or Infinity, then the
official JSON schema of its ``specVersion`` (1.4-1.7, ``boms.validation.validate_read``: local
resources, validators built once per process). Nothing is repaired: a trailing comma is an error at
its line and column.

XML (``application/vnd.cyclonedx+xml``, ``application/xml``, ``text/xml``): lxml with
``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False`` (libxml2's default
limits on depth and text size), and any document type declaration is refused, so no entity is ever
defined, expanded or fetched (XXE and entity bombs are 400s). The version is the root element's
namespace (``http://cyclonedx.org/schema/bom/1.x``); the XSD of that version (the files
cyclonedx-python-lib ships, the SPDX import mapped onto the local file by ``boms.xml.load_schema``)
is built once per process.
"""

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from lxml import etree

from boms import xml as bomxml
from boms.validation import READ_SPEC_VERSIONS, BomInvalid, validate_read
from core.validators import has_control_characters

JSON = "json"
XML = "xml"
JSON_MEDIA_TYPES = ("application/vnd.cyclonedx+json", "application/json")
XML_MEDIA_TYPES = ("application/vnd.cyclonedx+xml", "application/xml", "text/xml")
MEDIA_TYPES = JSON_MEDIA_TYPES + XML_MEDIA_TYPES
SPEC_VERSIONS = READ_SPEC_VERSIONS
XML_NAMESPACES = {f"http://cyclonedx.org/schema/bom/{version}": version for version in SPEC_VERSIONS}
MAX_JSON_DEPTH = 128
MAX_REPORTED_PROBLEMS = 20
SYSTEM_MAX_LENGTH = 100  # a deployment's system name (inventory.models.Deployment.system)


class UnsupportedMediaType(ValueError):
    """A Content-Type that is not one of ``MEDIA_TYPES`` (the API answers 415)."""


@dataclass(frozen=True)
class BomProblem:
    """One thing wrong with a document: where (``path``, "" when the text did not parse; ``pointer``
    for JSON; ``line`` / ``column`` when known) and what."""

    message: str
    path: str = ""
    pointer: str | None = None
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"path": self.path, "pointer": self.pointer, "line": self.line, "column": self.column}
        return {"message": self.message, **{key: value for key, value in found.items() if value is not None}}


class BomRejected(ValueError):
    """A document refused: not parseable, not CycloneDX, or not valid against its schema."""

    def __init__(self, summary: str, problems: list[BomProblem]) -> None:
        self.summary = summary
        self.problems = problems
        first = problems[0] if problems else None
        where = ""
        if first is not None:
            if first.path:
                where = f" at {first.path}"
            elif first.line is not None:
                where = f" at line {first.line}, column {first.column}"
        message = f"{summary}{where}: {first.message}" if first is not None else summary
        super().__init__(message)


@dataclass(frozen=True)
class ParsedBom:
    """A document that parsed (and, unless asked not to, passed its schema).

    ``document`` is the JSON document as a dict, or the XML document's root element (an lxml
    ``_Element`` in the namespace of its version). ``system`` is ``metadata.component.name`` ("" when
    there is none), ``serial_number`` and ``bom_version`` the document's own ("" / None without)."""

    format: str  # JSON or XML
    spec_version: str
    document: Any
    media_type: str
    system: str = ""
    serial_number: str = ""
    bom_version: int | None = None
    sha256: str = ""
    size: int = 0
    namespace: str = field(default="")  # XML only: the root's namespace


def media_format(media_type: str) -> tuple[str, str]:
    """``(format, bare media type)`` of a Content-Type; UnsupportedMediaType for any other."""
    bare, _, params = (media_type or "").partition(";")
    bare = bare.strip().lower()
    if bare in JSON_MEDIA_TYPES:
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
                raise UnsupportedMediaType(f"CycloneDX JSON is UTF-8, not {value.strip()}")
        return JSON, bare
    if bare in XML_MEDIA_TYPES:
        return XML, bare
    raise UnsupportedMediaType(f"send the document as {', '.join(MEDIA_TYPES)}, not {bare or 'no Content-Type'}")


def parse_document(content: bytes, media_type: str, *, validate: bool = True) -> ParsedBom:
    """Parse (and by default schema-validate) a CycloneDX document of ``media_type``; see the module."""
    fmt, bare = media_format(media_type)
    digest = hashlib.sha256(content).hexdigest()
    parsed = _parse_json(content, validate) if fmt == JSON else _parse_xml(content, validate)
    return ParsedBom(**parsed, format=fmt, media_type=bare, sha256=digest, size=len(content))


def _system_refusal(name: str) -> str:
    """Why ``metadata.component.name`` cannot name a system (a deployment's), or ""."""
    if len(name) > SYSTEM_MAX_LENGTH:
        return f"at most {SYSTEM_MAX_LENGTH} characters (a system's name)"
    if has_control_characters(name):
        return "a system's name has no control or format characters"
    return ""


# --- JSON ------------------------------------------------------------------------------------------

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_HIGH = "89abAB"


def json_depth(text: str) -> int:
    """How deeply the text's arrays and objects nest (brackets inside strings not counted), scanned
    without parsing (so without recursion): a few milliseconds a megabyte."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _line_column(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _lone_surrogate(text: str, document: Any) -> int | None:
    """Where the text escapes half a UTF-16 surrogate pair (``"\\ud800"``: valid JSON, no character
    of Unicode, nothing UTF-8 can hold), or None. Looked for only when an escape of one is there."""
    if "\\u" not in text or _SURROGATE_ESCAPE.search(text) is None:
        return None
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
        return None  # every one was half of a pair (or a literal backslash before "u")
    except UnicodeEncodeError:
        pass
    matches = list(_SURROGATE_ESCAPE.finditer(text))
    ends = {match.end(): match for match in matches}
    for match in matches:
        high = match.group()[3] in _HIGH
        paired = (
            (match.end() in {m.start() for m in matches} and text[match.end() + 3] not in _HIGH)
            if high
            else (match.start() in ends and ends[match.start()].group()[3] in _HIGH)
        )
        if not paired:
            return match.start()
    return matches[0].start()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_pointer_path(pointer: str) -> str:
    text = "$"
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def _json_problem(message: str, pointer: str) -> BomProblem:
    return BomProblem(message=message, path=_json_pointer_path(pointer), pointer=pointer)


def _parse_json(content: bytes, validate: bool) -> dict[str, Any]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        column = error.start - (content.rfind(b"\n", 0, error.start) + 1) + 1
        raise BomRejected(
            "the document is not valid UTF-8",
            [BomProblem(message=f"byte {error.start}: {error.reason}", line=line, column=column)],
        ) from None
    text = text.removeprefix("\ufeff")
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise BomRejected(
            "the document nests too deeply",
            [BomProblem(message=f"arrays and objects nest {depth} levels deep; at most {MAX_JSON_DEPTH} are read")],
        )
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise BomRejected(
            "the document is not valid JSON",
            [BomProblem(message=f"{error.msg} (character {error.pos})", line=error.lineno, column=error.colno)],
        ) from None
    except RecursionError:  # not reached below MAX_JSON_DEPTH; kept so it can never be a 500
        raise BomRejected("the document nests too deeply", [BomProblem(message="too deeply nested")]) from None
    except ValueError as error:  # NaN / Infinity, an integer of more digits than Python converts
        raise BomRejected("the document is not valid JSON", [BomProblem(message=str(error))]) from None
    surrogate = _lone_surrogate(text, document)
    if surrogate is not None:
        line, column = _line_column(text, surrogate)
        raise BomRejected(
            "the document is not valid Unicode",
            [BomProblem(message="an escape of half a surrogate pair is no character", line=line, column=column)],
        )
    if not isinstance(document, dict):
        raise BomRejected("not a CycloneDX document", [_json_problem("the document is not a JSON object", "")])
    if document.get("bomFormat") != "CycloneDX":
        where = "/bomFormat" if "bomFormat" in document else ""
        raise BomRejected("not a CycloneDX document", [_json_problem('bomFormat must be "CycloneDX"', where)])
    version = document.get("specVersion")
    if version not in SPEC_VERSIONS:
        where = "/specVersion" if "specVersion" in document else ""
        raise BomRejected(
            "not a CycloneDX version read here",
            [_json_problem(f"specVersion {version!r} is not one of {', '.join(SPEC_VERSIONS)}", where)],
        )
    if validate:
        try:
            validate_read(document, version)
        except BomInvalid as invalid:
            problems = [_json_problem(error.message, error.pointer) for error in invalid.errors]
            raise BomRejected(f"not a valid CycloneDX {version} document", problems) from None
    metadata = document.get("metadata")
    component = metadata.get("component") if isinstance(metadata, dict) else None
    system = component.get("name") if isinstance(component, dict) else None
    system = system if isinstance(system, str) else ""
    refusal = _system_refusal(system)
    if refusal:
        raise BomRejected("the document's system name is refused", [_json_problem(refusal, "/metadata/component/name")])
    serial = document.get("serialNumber")
    bom_version = document.get("version")
    return {
        "spec_version": version,
        "document": document,
        "system": system,
        "serial_number": serial if isinstance(serial, str) else "",
        "bom_version": bom_version if isinstance(bom_version, int) and not isinstance(bom_version, bool) else None,
    }


# --- XML -------------------------------------------------------------------------------------------

_local = threading.local()


def _xml_parser() -> etree.XMLParser:
    """One parser per thread (lxml parsers are not shared between threads); nothing resolved or fetched."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
        )
    return parser


class _Schema:
    """One version's XSD: built on first use, then kept; used under its own lock (an lxml XMLSchema
    keeps its error log on itself)."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.lock = threading.Lock()
        self.schema: etree.XMLSchema | None = None

    def check(self, root: Any) -> list[Any]:
        """The first error-log entries of validating ``root`` ([] when valid)."""
        with self.lock:
            if self.schema is None:
                directory = bomxml.BUNDLED_SCHEMA_DIR
                self.schema = bomxml.load_schema(
                    directory / f"bom-{self.version}.SNAPSHOT.xsd", directory / "spdx.SNAPSHOT.xsd"
                )
            if self.schema.validate(root):
                return []
            return list(self.schema.error_log)[:MAX_REPORTED_PROBLEMS]


_SCHEMAS = {version: _Schema(version) for version in SPEC_VERSIONS}


def xml_schema_entries(root: Any, version: str) -> list[Any]:
    """Validate an XML document's root against the bundled XSD of ``version`` (built once per process)."""
    return _SCHEMAS[version].check(root)


def element_path(element: Any) -> str:
    """``/bom/components/component[2]/hashes/hash``: local names, a 1-based index where an element
    has siblings of its name (an XPath that finds it again, namespaces aside)."""
    steps = []
    while element is not None:
        name = etree.QName(element).localname
        parent = element.getparent()
        if parent is not None:
            same = list(parent.iterchildren(element.tag))
            if len(same) > 1:
                name += f"[{same.index(element) + 1}]"
        steps.append(name)
        element = parent
    return "/" + "/".join(reversed(steps))


def _entry_path(root: Any, entry: Any) -> str:
    found = None
    if entry.path:
        try:
            found = root.getroottree().xpath(entry.path)
        except etree.XPathError:
            found = None
    if found and isinstance(found[0], etree._Element):
        return element_path(found[0])
    return element_path(root)


def _parse_xml(content: bytes, validate: bool) -> dict[str, Any]:
    try:
        root = etree.fromstring(content, _xml_parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (None, None)
        raise BomRejected(
            "the document is not well-formed XML", [BomProblem(message=str(error.msg), line=line, column=column)]
        ) from None
    if root is None:
        raise BomRejected("the document is not well-formed XML", [BomProblem(message="no root element")])
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise BomRejected(
            "the document has a document type declaration",
            [BomProblem(message="a DOCTYPE (and so any entity) is not allowed", line=1)],
        )
    qname = etree.QName(root)
    version = XML_NAMESPACES.get(qname.namespace or "")
    if qname.localname != "bom" or version is None:
        raise BomRejected(
            "not a CycloneDX document",
            [
                BomProblem(
                    message=f"the root element is {root.tag}; expected bom in the namespace of CycloneDX "
                    f"{', '.join(SPEC_VERSIONS)} (http://cyclonedx.org/schema/bom/<version>)",
                    path=element_path(root),
                    line=root.sourceline,
                )
            ],
        )
    namespace = qname.namespace or ""
    if validate:
        entries = xml_schema_entries(root, version)
        if entries:
            prefix = "{" + namespace + "}"
            problems = [
                BomProblem(
                    message=entry.message.replace(prefix, ""), path=_entry_path(root, entry), line=entry.line or None
                )
                for entry in entries
            ]
            raise BomRejected(f"not a valid CycloneDX {version} XML document", problems)
    ns = {"c": namespace}
    names = root.xpath("c:metadata/c:component/c:name/text()", namespaces=ns)
    system = str(names[0]).strip() if names else ""
    refusal = _system_refusal(system)
    if refusal:
        name_element = root.xpath("c:metadata/c:component/c:name", namespaces=ns)[0]
        raise BomRejected(
            "the document's system name is refused",
            [
                BomProblem(
                    message=refusal,
                    path=element_path(name_element),
                    line=name_element.sourceline,
                )
            ],
        )
    raw_version = root.get("version")
    return {
        "spec_version": version,
        "document": root,
        "system": system,
        "serial_number": root.get("serialNumber") or "",
        "bom_version": int(raw_version) if raw_version and raw_version.isdigit() else None,
        "namespace": namespace,
    }
