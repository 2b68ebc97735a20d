"""The OpenAPI schema and its documentation pages, served without any CDN."""

import re

import pytest
from openapi_spec_validator import validate

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def test_the_schema_is_valid_openapi_and_lists_the_api(admin_client):
    response = admin_client.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert "/api/v1/jobs/" in schema["paths"]
    assert "/api/v1/jobs/worker-check/" in schema["paths"]


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_documentation_pages_load_their_assets_from_this_server(admin_client, page):
    response = admin_client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assert "drf_spectacular_sidecar" in html
