"""Validating CycloneDX JSON against the official schemas, offline, with jsonschema-rs.

The validators are built once per process (per schema set) and kept: building one compiles the whole
schema, validating a document with it takes milliseconds. The schemas are the files bundled with
cyclonedx-python-lib (``cyclonedx/schema/_res``; equal to the official ones except that their
``$ref`` values name ``*.SNAPSHOT.schema.json`` files); the tests also build validators over the
official files of the specification. Every referenced schema (spdx, jsf, cryptography-defs) is a
local resource of the registry, and the retriever refuses every other URL: nothing is fetched.

For documents too large to hold whole, ``validate_outer`` checks the document with an empty
``components`` array and ``validate_component`` checks one component against the schema's
``#/definitions/component``; together they check what ``validate`` checks of a whole document
whose top-level parts are metadata, components and dependencies.

Documents are written as 1.6 or 1.7 (``SPEC_VERSIONS``); ingest also reads 1.4 and 1.5
(``READ_SPEC_VERSIONS``): ``validate_read`` checks a whole document against its version's bundled
schema, with a validator per version built once per process (``read_validator``).
"""

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
from cyclonedx.schema import _res as cyclonedx_resources

SPEC_VERSIONS = ("1.6", "1.7")
DEFAULT_SPEC_VERSION = "1.6"
# The versions read (BOM ingest): the written ones and the two before them, whose schemas
# cyclonedx-python-lib ships too (they reference the same spdx and jsf files).
READ_SPEC_VERSIONS = ("1.4", "1.5", *SPEC_VERSIONS)
SCHEMA_BASE_URL = "http://cyclonedx.org/schema/"
# The schemas a BOM schema references, by their file stem.
REFERENCED_SCHEMAS = ("spdx", "jsf-0.82", "cryptography-defs")
MAX_REPORTED_ERRORS = 20


class SchemaNotLocal(LookupError):
    """A schema asked for a resource that is not among the local files (nothing is fetched)."""


@dataclass(frozen=True)
class BomError:
    """One schema violation: where in the document (a JSON Pointer, "" for the root) and what."""

    pointer: str
    message: str

    @property
    def path(self) -> str:
        """The location as a JSONPath: ``$.components[3].licenses[0]``."""
        text = "$"
        for part in self.pointer.split("/")[1:] if self.pointer else []:
            part = part.replace("~1", "/").replace("~0", "~")
            text += f"[{part}]" if part.isdigit() else f".{part}"
        return text


class BomInvalid(ValueError):
    """A document the schema refuses; ``errors`` name each failing path (the first few of them)."""

    def __init__(self, version: str, errors: list[BomError]) -> None:
        self.version = version
        self.errors = errors
        listed = "; ".join(f"{error.path}: {error.message}" for error in errors)
        super().__init__(f"not a valid CycloneDX {version} document: {listed}")


@dataclass(frozen=True)
class SchemaSet:
    """Where a set of schema files lives and how its files are named (``suffix`` before ``.schema.json``)."""

    directory: Path
    suffix: str = ""

    def url(self, stem: str) -> str:
        """The URL the BOM schemas' ``$ref`` values resolve to for this file."""
        return f"{SCHEMA_BASE_URL}{self.file_name(stem)}"

    def file_name(self, stem: str) -> str:
        return f"{stem}{self.suffix}.schema.json"

    def load(self, stem: str) -> dict[str, Any]:
        return json.loads((self.directory / self.file_name(stem)).read_text(encoding="utf-8"))


# The runtime's schemas: the files cyclonedx-python-lib ships (the Docker image has no specification checkout).
BUNDLED = SchemaSet(directory=Path(cyclonedx_resources.__file__).parent, suffix=".SNAPSHOT")


def _bom_stem(version: str, versions: tuple[str, ...] = SPEC_VERSIONS) -> str:
    if version not in versions:
        raise ValueError(f"unsupported CycloneDX version {version!r}; expected one of {', '.join(versions)}")
    return f"bom-{version}"


def local_resources(schemas: SchemaSet, versions: tuple[str, ...] = SPEC_VERSIONS) -> dict[str, dict[str, Any]]:
    """Every schema a BOM schema may reference, by the URL its ``$ref`` resolves to (the BOM schemas
    of ``versions``, and those they reference)."""
    stems = [*REFERENCED_SCHEMAS, *(_bom_stem(version, versions) for version in versions)]
    return {schemas.url(stem): schemas.load(stem) for stem in stems}


def refuse_retrieval(uri: str) -> Any:
    """The retriever of every validator: a URL not among the local resources is an error, never a fetch."""
    raise SchemaNotLocal(f"schema {uri} is not a local resource; nothing is fetched")


@dataclass(frozen=True)
class Validators:
    """The compiled validators of one CycloneDX version: the whole document, and one component."""

    version: str
    document: jsonschema_rs.Validator
    component: jsonschema_rs.Validator


def build_validators(
    version: str,
    schemas: SchemaSet = BUNDLED,
    retriever: Any = refuse_retrieval,
    versions: tuple[str, ...] = SPEC_VERSIONS,
) -> Validators:
    """Compile the validators of ``version`` (one of ``versions``) over ``schemas`` (draft 7, formats checked)."""
    stem = _bom_stem(version, versions)
    resources = local_resources(schemas, versions)
    registry = jsonschema_rs.Registry(list(resources.items()), draft=jsonschema_rs.Draft7, retriever=retriever)
    options: dict[str, Any] = {"validate_formats": True, "registry": registry, "retriever": retriever}
    document = jsonschema_rs.Draft7Validator(resources[schemas.url(stem)], **options)
    component = jsonschema_rs.Draft7Validator(
        {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": f"{schemas.url(stem)}#/definitions/component"},
        **options,
    )
    return Validators(version=version, document=document, component=component)


@functools.cache
def validators(version: str, schemas: SchemaSet = BUNDLED) -> Validators:
    """The process's validators of ``version``: compiled on first use, then kept."""
    return build_validators(version, schemas)


@functools.cache
def read_validator(version: str) -> jsonschema_rs.Validator:
    """The process's whole-document validator of a version read on ingest (``READ_SPEC_VERSIONS``,
    bundled schemas): the written versions' own validator, or one compiled on first use and kept."""
    if version in SPEC_VERSIONS:
        return validators(version).document
    return build_validators(version, BUNDLED, versions=(version,)).document


def _pointer(parts: Iterable[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _check(validator: jsonschema_rs.Validator, instance: Any, version: str, prefix: str = "") -> None:
    if validator.is_valid(instance):
        return
    errors = []
    for error in validator.iter_errors(instance):
        errors.append(BomError(pointer=prefix + _pointer(error.instance_path), message=error.message))
        if len(errors) == MAX_REPORTED_ERRORS:
            break
    raise BomInvalid(version, errors)


def validate(document: Any, version: str, schemas: SchemaSet = BUNDLED) -> None:
    """Check a whole document against the CycloneDX ``version`` schema; BomInvalid when it fails."""
    _check(validators(version, schemas).document, document, version)


def validate_read(document: Any, version: str) -> None:
    """Check a whole document against the bundled schema of a version read on ingest (1.4-1.7);
    BomInvalid when it fails, ValueError for another version."""
    _check(read_validator(version), document, version)


def validate_outer(document: dict[str, Any], version: str, schemas: SchemaSet = BUNDLED) -> None:
    """Check a document whose components are checked one by one: everything but them (they are
    replaced by an empty array; the document itself is not changed)."""
    outer = {**document, "components": []}
    _check(validators(version, schemas).document, outer, version)


def validate_component(component: Any, version: str, index: int | None = None, schemas: SchemaSet = BUNDLED) -> None:
    """Check one component against ``#/definitions/component``; errors point into ``/components/<index>``."""
    prefix = "" if index is None else f"/components/{index}"
    _check(validators(version, schemas).component, component, version, prefix)
