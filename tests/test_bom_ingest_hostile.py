"""POST /api/v1/boms/ with hostile documents: external entities, entity expansion, DTDs, deep
nesting, bad encodings, numbers no parser should convert, bodies over the limit. Each is a clean
4xx, quickly, nothing is stored, nothing is fetched, and the service answers the next request."""

import socket
import time

import pytest

from boms.models import BomUpload
from core.models import Job
from tests.support.bom_ingest import ingest_kind, minimal_json, minimal_xml, post  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_kind")]

NS = "http://cyclonedx.org/schema/bom/1.6"
HEAD = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, '


def _system_xml(name: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<bom xmlns="{NS}" version="1"><metadata>'
        f'<component type="application"><name>{name}</name></component></metadata></bom>'
    ).encode()


XXE_FILE = _system_xml("&xxe;", '<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
XXE_HTTP = _system_xml("&xxe;", '<!DOCTYPE bom [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>')
EXTERNAL_DTD = _system_xml("x", '<!DOCTYPE bom SYSTEM "http://127.0.0.1:9/bom.dtd">')
PARAMETER_ENTITY = _system_xml("x", '<!DOCTYPE bom [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>')
_LAUGHS = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{"".join([f"&lol{i - 1};"] * 10)}">' for i in range(1, 10)]
BILLION_LAUGHS = _system_xml("&lol9;", "<!DOCTYPE bom [" + "".join(_LAUGHS) + "]>")
_BIG = "x" * 50_000
QUADRATIC = _system_xml("&big;" * 2000, f'<!DOCTYPE bom [<!ENTITY big "{_BIG}">]>')
DEEP_XML = f'<bom xmlns="{NS}" version="1">'.encode() + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</bom>"

HOSTILE_XML = {
    "xxe-file": XXE_FILE,
    "xxe-http": XXE_HTTP,
    "external-dtd": EXTERNAL_DTD,
    "parameter-entity": PARAMETER_ENTITY,
    "billion-laughs": BILLION_LAUGHS,
    "quadratic-blowup": QUADRATIC,
    "deep-10000": DEEP_XML,
    "invalid-utf-8": minimal_xml(
        "1.6", '<metadata><component type="application"><name>a</name></component></metadata>'
    ).replace(b"<name>a", b"<name>\xff\xfe"),
    "nul-reference": _system_xml("a&#0;b"),
    "not-xml": b"{}",
    "empty": b"",
    "truncated": minimal_xml()[:-4],
}

HOSTILE_JSON = {
    "nested-10000-arrays": HEAD + b'"components": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "nested-10000-objects": HEAD + b'"metadata": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}",
    "nested-100000-bare": b"[" * 100_000,
    "invalid-utf-8": HEAD + b'"metadata": {"component": {"type": "application", "name": "\xff\xfe"}}}',
    "overlong-utf-8": HEAD + b'"metadata": {"component": {"type": "application", "name": "\xc0\xaf"}}}',
    "lone-surrogate-value": HEAD + b'"metadata": {"component": {"type": "application", "name": "\\ud800"}}}',
    "lone-surrogate-key": HEAD + b'"\\udc00": 1}',
    "nul-in-system": HEAD + b'"metadata": {"component": {"type": "application", "name": "a\\u0000b"}}}',
    "nan": HEAD.replace(b'"version": 1', b'"version": NaN') + b'"components": []}',
    "infinity": HEAD.replace(b'"version": 1', b'"version": -Infinity') + b'"components": []}',
    "huge-integer": HEAD.replace(b'"version": 1', b'"version": ' + b"9" * 5000) + b'"components": []}',
    "not-an-object": b"[]",
    "a-string": b'"CycloneDX"',
    "empty": b"",
    "utf-16": minimal_json().decode().encode("utf-16"),
    "trailing-garbage": minimal_json() + b" {}",
    "not-cyclonedx": b'{"spdxVersion": "SPDX-2.3"}',
}


@pytest.fixture
def no_network(monkeypatch):
    """Any outgoing connection fails the test (and is refused), so nothing can have been fetched."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
    assert attempts == []


def _still_answering(client) -> None:
    """The next request, a valid document, is taken."""
    response = post(client, minimal_json(), "application/json")
    assert response.status_code == 202, response.content
    BomUpload.objects.all().delete()
    Job.objects.all().delete()


def _refused_cleanly(response, started: float) -> dict:
    assert response.status_code == 400, response.content[:1000]
    assert response["Content-Type"] == "application/problem+json"
    assert time.monotonic() - started < 5
    assert BomUpload.objects.count() == 0
    assert Job.objects.count() == 0
    return response.json()


@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
def test_hostile_xml_is_a_clean_400(client, no_network, name):
    started = time.monotonic()

    problem = _refused_cleanly(post(client, HOSTILE_XML[name], "application/vnd.cyclonedx+xml"), started)

    assert "root:" not in problem["detail"]  # nothing of /etc/passwd
    assert problem["errors"]
    _still_answering(client)


@pytest.mark.parametrize("name", ["xxe-file", "xxe-http", "external-dtd", "parameter-entity", "billion-laughs"])
def test_a_document_type_declaration_is_refused_as_such(client, no_network, name):
    problem = post(client, HOSTILE_XML[name], "application/xml").json()
    assert (
        "DOCTYPE" in problem["detail"]
        or "DOCTYPE" in problem["errors"][0]["message"]
        or ("entity" in problem["detail"].lower())
    )


@pytest.mark.parametrize("name", sorted(HOSTILE_JSON))
def test_hostile_json_is_a_clean_400(client, name):
    started = time.monotonic()

    problem = _refused_cleanly(post(client, HOSTILE_JSON[name], "application/vnd.cyclonedx+json"), started)

    assert problem["errors"]
    _still_answering(client)


def test_json_nested_10000_deep_says_how_deep(client):
    problem = post(client, HOSTILE_JSON["nested-10000-arrays"], "application/json").json()
    assert "nest" in problem["detail"]
    assert "10001 levels" in problem["errors"][0]["message"]


def test_invalid_utf8_gives_where(client):
    body = HOSTILE_JSON["invalid-utf-8"]
    problem = post(client, body, "application/json").json()
    assert "UTF-8" in problem["detail"]
    assert (problem["line"], problem["column"]) == (1, body.index(b"\xff") + 1)


def test_a_body_over_the_limit_is_413_before_it_is_parsed(client, settings, monkeypatch):
    settings.BOM_UPLOAD_MAX_BYTES = 1024 * 1024
    from boms.ingest import parsing

    def never(*args, **kwargs):
        raise AssertionError("a body over the limit is not parsed")

    monkeypatch.setattr(parsing, "parse_document", never)
    body = HEAD + b'"components": [' + b'{"type": "library", "name": "x"},' * 40_000 + b"{}]}"
    assert len(body) > 1024 * 1024

    response = post(client, body, "application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert BomUpload.objects.count() == 0
    monkeypatch.undo()
    _still_answering(client)


def test_brackets_inside_strings_do_not_count_as_nesting(client):
    body = minimal_json(metadata={"component": {"type": "application", "name": "[" * 500 + "{" * 500}})
    response = post(client, body, "application/json")
    assert response.status_code == 400  # the name is too long for a system, not too deep
    assert response.json()["errors"][0]["path"] == "$.metadata.component.name"
    body = minimal_json(components=[{"type": "library", "name": "x", "description": "[{" * 5000}])
    assert post(client, body, "application/json").status_code == 202
