"""The inventory API: idempotent registration, ETags, lineage, deployments, filters, paging, limits."""

import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.changelog import Actor
from core.tokens import issue_token
from inventory.models import AIModel, Deployment
from inventory.services import revisions
from inventory.sources.base import FileRecord
from tests.inventory_helpers import ACTOR, derive_from, model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

SHA = "a09a35458c702b33eeacc393d103063234e8bc28"


@pytest.fixture
def api(client):
    secret = issue_token(actor=Actor.system("test"), name="pipeline", role="admin").secret
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def post(api, path, body):
    return api.post(path, body, content_type="application/json")


def test_registration_is_idempotent_and_accepts_every_reference_form(api):
    first = post(api, "/api/v1/models/", {"source": "huggingface", "upstream_id": "Qwen/Qwen2.5-7B-Instruct"})
    again = post(api, "/api/v1/models/", {"reference": "huggingface:Qwen/Qwen2.5-7B-Instruct"})
    by_purl = post(api, "/api/v1/models/", {"reference": f"pkg:huggingface/Qwen/Qwen2.5-7B-Instruct@{SHA}"})

    assert (first.status_code, again.status_code, by_purl.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == by_purl.json()["id"]
    body = by_purl.json()
    assert body["purl"] == f"pkg:huggingface/Qwen/Qwen2.5-7B-Instruct@{SHA}"
    assert body["publisher"] == {"id": body["publisher"]["id"], "name": "Qwen", "country": "CN"}
    assert body["effective_origin"] == ["CN"]
    assert first["Location"].endswith(f"/api/v1/models/{body['id']}/")
    assert AIModel.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reference": "github:a/b"}, "reference"),
        ({"reference": "huggingface:a/b\u0007"}, "reference"),
        ({"source": "huggingface"}, "upstream_id"),
        ({"source": "huggingface", "upstream_id": "x" * 201}, "upstream_id"),
        ({"reference": "huggingface:org/model", "revision": "main"}, "revision"),
    ],
)
def test_bad_registrations_name_the_field_and_store_nothing(api, body, field):
    response = post(api, "/api/v1/models/", body)

    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not AIModel.objects.filter(upstream_id="org/model").exists()


def test_patch_needs_the_current_etag(api):
    target = model("org/m", publisher("org", "US"))
    etag = api.get(f"/api/v1/models/{target.pk}/")["ETag"]

    missing = api.patch(f"/api/v1/models/{target.pk}/", {"task": "x"}, content_type="application/json")
    done = api.patch(
        f"/api/v1/models/{target.pk}/",
        {"task": "text-generation"},
        content_type="application/json",
        headers={"If-Match": etag},
    )
    stale = api.patch(
        f"/api/v1/models/{target.pk}/", {"task": "other"}, content_type="application/json", headers={"If-Match": etag}
    )

    assert (missing.status_code, done.status_code, stale.status_code) == (428, 200, 412)
    assert done["ETag"] != etag
    assert AIModel.objects.get(pk=target.pk).task == "text-generation"


def test_lineage_lists_ancestors_and_descendants_with_countries(api):
    base = model("cn/base", publisher("cn-lab", "CN"))
    middle = model("us/middle", publisher("us-lab", "US"))
    leaf = model("fr/leaf", publisher("fr-lab", "FR"))
    derive_from(middle, "cn/base", "distillation")
    derive_from(leaf, "us/middle", "quantized")

    body = api.get(f"/api/v1/models/{middle.pk}/lineage/").json()

    assert body["ancestors"] == [
        {"id": base.pk, "model": "huggingface:cn/base", "relation": "distillation", "depth": 1, "country": "CN"}
    ]
    assert body["descendants"] == [
        {"id": leaf.pk, "model": "huggingface:fr/leaf", "relation": "quantized", "depth": 1, "country": "FR"}
    ]
    assert body["effective_origin"] == ["CN", "US"]
    assert body["cuts"] == []


def test_deployments_register_idempotently_retire_and_filter(api):
    post(api, "/api/v1/models/", {"reference": "huggingface:Qwen/Qwen2.5-7B-Instruct"})
    body = {
        "model": f"huggingface:Qwen/Qwen2.5-7B-Instruct@{SHA}",
        "system": "chat",
        "environment": "prod",
        "team": "ml",
    }

    first, again = post(api, "/api/v1/deployments/", body), post(api, "/api/v1/deployments/", body)
    retired = api.post(f"/api/v1/deployments/{first.json()['id']}/retire/")

    assert (first.status_code, again.status_code, retired.status_code) == (201, 200, 200)
    assert retired.json()["active"] is False
    assert api.get("/api/v1/deployments/?environment=prod&active=false").json()["count"] == 1
    assert api.get("/api/v1/deployments/?system=other").json()["count"] == 0
    unknown = post(api, "/api/v1/deployments/", {**body, "model": f"huggingface:nobody/nothing@{SHA}"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "model"
    assert Deployment.objects.count() == 1


def test_artifacts_are_found_by_digest(api):
    target = model("org/m", publisher("org", "US"))
    revisions.add_revision(actor=ACTOR, model=target, revision=SHA, artifacts=[FileRecord("w.bin", 3, "c" * 64)])

    found = api.get(f"/api/v1/artifacts/?sha256={'c' * 64}").json()["results"]

    assert [(item["model"], item["revision"], item["path"], item["pickle_based"]) for item in found] == [
        ("huggingface:org/m", SHA, "w.bin", True)
    ]
    assert found[0]["blob_id"] is None, "no blob id recorded: null, not an empty string"


def test_artifacts_are_found_by_git_blob_id_and_show_it(api):
    target = model("org/m", publisher("org", "US"))
    files = [FileRecord("config.json", 3, blob_id="d" * 40), FileRecord("w.safetensors", 9, "c" * 64, "e" * 40)]
    revisions.add_revision(actor=ACTOR, model=target, revision=SHA, artifacts=files)

    found = api.get(f"/api/v1/artifacts/?blob_id={'d' * 40}").json()["results"]
    listed = api.get(f"/api/v1/revisions/?model={target.pk}").json()["results"][0]["artifacts"]

    assert [(item["path"], item["sha256"], item["blob_id"]) for item in found] == [("config.json", "", "d" * 40)]
    assert [(item["path"], item["blob_id"]) for item in listed] == [
        ("config.json", "d" * 40),
        ("w.safetensors", "e" * 40),
    ]
    assert api.get(f"/api/v1/artifacts/?blob_id={'f' * 40}").json()["count"] == 0


def test_models_filter_by_origin_publisher_country_license_and_text(api):
    base = model("cn/base", publisher("cn-lab", "CN"))
    child = model("us/child", publisher("us-lab", "US"))
    derive_from(child, "cn/base")
    model("us/other", publisher("us-other", "US"))

    def ids(query: str) -> set[str]:
        return {item["upstream_id"] for item in api.get(f"/api/v1/models/?{query}").json()["results"]}

    assert ids("origin=CN") == {base.upstream_id, child.upstream_id}
    assert ids("publisher_country=US") == {"us/child", "us/other"}
    assert ids("q=child") == {"us/child"}
    assert ids("origin=cn&publisher_country=us") == {"us/child"}
    bad = api.get("/api/v1/models/?audit_status=blessed")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "audit_status"


def test_paging_is_bounded_and_cursor_paging_is_offered(api):
    for index in range(3):
        model(f"org/m{index}", publisher(f"lab-{index}", "US"))

    page = api.get("/api/v1/models/?limit=100000").json()
    cursor_page = api.get("/api/v1/models/?cursor=&limit=2").json()

    assert page["count"] == 3
    assert len(cursor_page["results"]) == 2
    assert cursor_page["next"] is not None
    rest = api.get(cursor_page["next"]).json()
    assert len(rest["results"]) == 1


def test_the_list_page_costs_the_same_queries_for_1_or_100_models_and_any_lineage_depth(api):
    owner = publisher("many", "US")
    chain = [model(f"many/m{index:03d}", owner) for index in range(100)]
    api.get("/api/v1/models/?limit=1")  # the token's first use records it: not part of the page

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"/api/v1/models/?limit={limit}").status_code == 200
        return len(captured)

    derive_from(chain[0], chain[1].upstream_id)
    shallow = (queries(1), queries(100))
    for child, parent in itertools.pairwise(chain[1:11]):
        derive_from(child, parent.upstream_id)
    deep = (queries(1), queries(100))

    assert shallow[0] == shallow[1] == deep[0] == deep[1]


def test_a_too_large_body_gets_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = post(api, "/api/v1/models/", {"reference": "huggingface:a/b", "padding": "x" * 4096})

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"


def test_a_non_json_body_gets_415(api):
    response = api.post("/api/v1/models/", "source=huggingface", content_type="text/plain")

    assert response.status_code == 415


def test_the_schema_documents_problem_responses_for_every_route(api):
    from django.urls import reverse

    schema = api.get(reverse("schema") + "?format=json").json()
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            assert "401" in operation["responses"], (path, method)
            problem = operation["responses"]["401"]["content"]
            assert "application/problem+json" in problem


def test_each_caller_has_its_own_request_budget(api, client_factory, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_LIMIT = "2/min"
    other = client_factory()

    answers = [api.get("/api/v1/licenses/").status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    limited = api.get("/api/v1/licenses/")
    assert limited["Content-Type"] == "application/problem+json"
    assert int(limited["Retry-After"]) > 0
    assert other.get("/api/v1/licenses/").status_code == 200, "another token has its own budget"
    cache.clear()


@pytest.fixture
def client_factory():
    from django.test import Client

    def make() -> Client:
        secret = issue_token(actor=Actor.system("test"), name="second-caller", role="viewer").secret
        return Client(headers={"Authorization": f"Bearer {secret}"})

    return make


def test_every_api_route_is_in_the_schema(api):
    from django.urls import reverse

    from tests.test_api_matrix import api_routes

    schema_paths = set(api.get(reverse("schema") + "?format=json").json()["paths"])
    for name, pattern in api_routes().items():
        if name == "api-root":
            continue
        route = re.sub(r"\(\?P<(\w+)>[^)]+\)", r"{\1}", str(pattern.pattern))  # the router's regexes
        path = "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route).strip("^$")  # path() converters
        assert path.replace("{pk}", "{id}") in schema_paths, (name, path)  # the schema names pk "id"
