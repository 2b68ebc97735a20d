"""The OpenAPI schema and its documentation pages, served without any CDN; the schema states the
contract exactly (tests/test_schemathesis.py fuzzes the server against it)."""

import os
import re
from typing import Any

import pytest
import requests
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation) for path, methods in schema["paths"].items() for method, operation in methods.items()
    ]


def body_schema(schema: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    return schema["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]


def test_the_schema_is_valid_openapi_and_lists_the_api(admin_client):
    response = admin_client.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert "/api/v1/jobs/" in schema["paths"]
    assert "/api/v1/jobs/worker-check/" in schema["paths"]


def test_building_the_schema_warns_of_nothing():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


def test_serving_the_schema_logs_json_lines_only(web):
    service, base_url = web

    assert requests.get(f"{base_url}/api/schema/?format=json", timeout=30).status_code == 200
    assert service.json_lines()  # each line parsed: a plain-text warning fails here


def test_the_catch_all_route_is_no_operation(schema):
    assert all(path.startswith("/api/v1/") and path.endswith("/") for path in schema["paths"])
    assert "/api/v1/." not in schema["paths"]


def test_no_response_field_is_untyped(schema):
    untyped = [
        f"{name}.{field}"
        for name, component in schema["components"]["schemas"].items()
        for field, field_schema in component.get("properties", {}).items()
        if not {"type", "$ref", "allOf", "oneOf"} & set(field_schema)
    ]
    assert untyped == []


def test_models_carry_a_typed_publisher_and_license_and_lineage_its_own_schema(schema):
    components = schema["components"]["schemas"]
    model = components["Model"]["properties"]

    assert components["ModelPublisher"]["properties"]["country"]["nullable"] is True
    assert model["publisher"]["nullable"] is True
    assert model["publisher"]["allOf"] == [{"$ref": "#/components/schemas/ModelPublisher"}]
    assert model["license"]["allOf"] == [{"$ref": "#/components/schemas/ModelLicense"}]
    assert model["lineage_cuts"]["items"] == {"$ref": "#/components/schemas/LineageCut"}
    lineage = schema["paths"]["/api/v1/models/{id}/lineage/"]["get"]["responses"]["200"]
    assert lineage["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Lineage"}


def test_write_bodies_are_the_inputs_the_server_takes(schema):
    patch = schema["paths"]["/api/v1/models/{id}/"]["patch"]
    deployment = schema["paths"]["/api/v1/deployments/"]["post"]

    patch_body = body_schema(schema, patch["requestBody"]["content"]["application/json"]["schema"])
    assert set(patch_body["properties"]) == {
        "publisher", "declared_license", "task", "library", "architecture", "parameter_count", "gated",
        "description", "tags", "team",
    }  # fmt: skip
    assert patch_body["additionalProperties"] is False
    if_match = next(parameter for parameter in patch["parameters"] if parameter["name"] == "If-Match")
    assert (if_match["in"], if_match["required"]) == ("header", True)
    assert {"412", "428"} <= set(patch["responses"])
    deployment_body = body_schema(schema, deployment["requestBody"]["content"]["application/json"]["schema"])
    assert deployment_body["required"] == ["environment", "model", "system"]
    assert "requestBody" not in schema["paths"]["/api/v1/deployments/{id}/retire/"]["post"]


def test_each_operation_lists_the_status_codes_it_answers(schema):
    codes = {(method, path): set(operation["responses"]) for path, method, operation in operations(schema)}

    assert {"200", "201"} <= codes[("post", "/api/v1/models/")]
    assert {"200", "201"} <= codes[("post", "/api/v1/deployments/")]
    assert "202" in codes[("post", "/api/v1/jobs/worker-check/")]
    for (method, path), answered in codes.items():
        assert {"400", "401", "403", "429"} <= answered, (method, path)
        assert ("404" in answered) == ("{id}" in path), (method, path)
        # Models are corrected with If-Match; a policy's edits are versions of their own (no If-Match).
        assert ({"412", "428"} <= answered) == ((method, path) == ("patch", "/api/v1/models/{id}/")), (method, path)


def test_list_filters_are_documented_as_the_server_reads_them(schema):
    artifacts = {
        parameter["name"]: parameter for parameter in schema["paths"]["/api/v1/artifacts/"]["get"]["parameters"]
    }
    deployments = {
        parameter["name"]: parameter for parameter in schema["paths"]["/api/v1/deployments/"]["get"]["parameters"]
    }

    assert "safetensors" in artifacts["format"]["schema"]["enum"]
    assert {"cursor", "limit", "offset"} <= set(artifacts)
    assert artifacts["limit"]["schema"]["minimum"] == 1
    assert deployments["model"]["schema"]["minimum"] == 1
    assert all(parameter["allowEmptyValue"] for parameter in artifacts.values())


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_documentation_pages_load_their_assets_from_this_server(admin_client, page):
    response = admin_client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assert "drf_spectacular_sidecar" in html
