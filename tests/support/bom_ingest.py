"""Helpers of the BOM-ingest request tests: posting a document, and finding a reported path in it."""

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from core import jobs
from core.changelog import Actor
from core.tokens import issue_token

INGEST_URL = "/api/v1/boms/"
KIND = "bom_ingest"


@pytest.fixture
def ingest_kind() -> Iterator[None]:
    """The ``bom_ingest`` job kind: the applier's handler when it is registered, else a test-only one
    (never run here: these tests are about the request)."""
    if KIND in jobs.job_kinds():
        yield
        return
    jobs.job_handler(KIND)(lambda run: None)
    yield
    jobs._handlers.pop(KIND, None)


_issued = itertools.count(1)


def token(role: str = "deployer") -> str:
    return issue_token(actor=Actor.system("test"), name=f"bom-ingest-{role}-{next(_issued)}", role=role).secret


def post(
    client: Any, body: bytes, content_type: str, role: str = "deployer", query: str = "", secret: str | None = None
) -> Any:
    """POST a document as a new token of ``role`` (or as ``secret``); the Content-Type is sent with an
    empty body too (Django's test client leaves it out then)."""
    return client.generic(
        "POST", INGEST_URL + query, body, content_type=content_type,
        headers={"Authorization": f"Bearer {secret or token(role)}"}, CONTENT_TYPE=content_type,
    )  # fmt: skip


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at a JSON Pointer; KeyError / IndexError when it is not in the document."""
    value = document
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def resolve_element_path(content: bytes, path: str) -> list[Any]:
    """The elements an element path (``/bom/components/component[2]/hashes/hash``) finds in the
    document, namespaces aside."""
    steps = []
    for step in path.strip("/").split("/"):
        name, _, index = step.partition("[")
        steps.append(f"*[local-name()='{name}']" + (f"[{index}" if index else ""))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(content, parser)
    return root.getroottree().xpath("/" + "/".join(steps))


def assert_paths_exist(content: bytes, content_type: str, problem: dict[str, Any]) -> None:
    """Every error of a 400 names a path that exists in the document sent."""
    assert problem["errors"], problem
    for error in problem["errors"]:
        assert error["field"] == error["path"], error
        if "json" in content_type:
            document = json.loads(content)
            resolve_pointer(document, error["pointer"])  # raises when the path is not in it
            assert error["path"].startswith("$")
        else:
            assert resolve_element_path(content, error["path"]), error


MINIMAL = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}


def minimal_json(version: str = "1.6", **extra: Any) -> bytes:
    return json.dumps({**MINIMAL, "specVersion": version, **extra}).encode()


def minimal_xml(version: str = "1.6", inner: str = "") -> bytes:
    namespace = f"http://cyclonedx.org/schema/bom/{version}"
    return f'<?xml version="1.0"?><bom xmlns="{namespace}" version="1">{inner}</bom>'.encode()
