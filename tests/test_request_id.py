"""Each request gets an id: a well-formed incoming X-Request-ID is kept, anything else replaced."""

import json
import logging

import pytest

from core.request_context import bound_request_id, current_request_id

pytestmark = pytest.mark.smoke


def test_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "pipeline-42.build_7"})

    assert response["X-Request-ID"] == "pipeline-42.build_7"


@pytest.mark.parametrize("incoming", ["", "has space", "line\nbreak", "x" * 129, '{"json":1}'])
def test_malformed_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32


def test_each_request_gets_its_own_id(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert first != second


def test_access_log_line_is_json_with_the_request_id(client):
    handler = logging.getLogger().handlers[0]
    records: list[str] = []
    capture = logging.Handler()
    capture.setFormatter(handler.formatter)
    capture.addFilter(handler.filters[0])
    capture.emit = lambda record: records.append(capture.format(record))
    logging.getLogger("registry.access").addHandler(capture)
    try:
        client.get("/healthz", headers={"X-Request-ID": "trace-me"})
    finally:
        logging.getLogger("registry.access").removeHandler(capture)

    line = json.loads(records[-1])
    assert line["request_id"] == "trace-me"
    assert (line["message"], line["method"], line["path"], line["status"]) == ("request", "GET", "/healthz", 200)


def test_bound_request_id_is_restored_after_the_block():
    with bound_request_id("outer"):
        with bound_request_id("inner"):
            assert current_request_id() == "inner"
        assert current_request_id() == "outer"
    assert current_request_id() == ""
