"""Edges of the API: team scoping of deployments, hidden token records, throttling before
authentication, control characters after decoding, strict input, and errors that stay problem+json."""

import pytest
from django.core.cache import cache

from core.changelog import Actor
from core.models import ChangeLogEntry
from core.tokens import issue_token
from inventory.models import AIModel, Deployment
from tests.inventory_helpers import model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

SHA = "a09a35458c702b33eeacc393d103063234e8bc28"


def bearer(role: str, team: str = "", name: str = "") -> dict[str, str]:
    secret = issue_token(actor=Actor.system("test"), name=name or f"{role}-{team}", role=role, team=team).secret
    return {"Authorization": f"Bearer {secret}"}


def post(client, path, body, headers):
    return client.post(path, body, content_type="application/json", headers=headers)


@pytest.fixture
def deployed(client):
    model("org/served", publisher("org", "US"))
    body = {"model": f"huggingface:org/served@{SHA}", "system": "chat", "environment": "prod", "team": "devtools"}
    response = post(client, "/api/v1/deployments/", body, bearer("admin"))
    assert response.status_code == 201
    return response.json()


def test_a_team_cannot_take_over_or_retire_another_teams_deployment(client, deployed):
    ml_editor = bearer("editor", "ml")
    takeover = {"model": f"huggingface:org/served@{SHA}", "system": "chat", "environment": "prod", "team": "ml"}

    assert post(client, "/api/v1/deployments/", takeover, ml_editor).status_code == 403
    assert post(client, "/api/v1/deployments/", {**takeover, "team": ""}, ml_editor).status_code == 403
    assert (
        client.post(f"/api/v1/deployments/{deployed['id']}/retire/", headers=bearer("deployer", "ml")).status_code
        == 403
    )
    assert Deployment.objects.get().team == "devtools"
    assert Deployment.objects.get().active


def test_a_teams_token_registers_for_its_team(client):
    ml = bearer("deployer", "ml")

    registered = post(client, "/api/v1/models/", {"reference": "huggingface:org/new"}, ml).json()
    deployment = post(
        client, "/api/v1/deployments/", {"model": f"huggingface:org/new@{SHA}", "system": "s", "environment": "dev"}, ml
    )

    assert registered["team"] == "ml"
    assert deployment.json()["team"] == "ml"


def test_retiring_twice_changes_nothing_the_second_time(client, deployed):
    admin = bearer("admin", name="retirer")
    client.post(f"/api/v1/deployments/{deployed['id']}/retire/", headers=admin)
    logged = ChangeLogEntry.objects.count()
    first_retired_at = Deployment.objects.get().retired_at

    again = client.post(f"/api/v1/deployments/{deployed['id']}/retire/", headers=admin)

    assert again.status_code == 200
    assert ChangeLogEntry.objects.count() == logged
    assert Deployment.objects.get().retired_at == first_retired_at


def test_token_records_in_the_change_log_are_for_admins_only(client):
    issue_token(actor=Actor.system("test"), name="secret-holder", role="admin")

    seen_by_viewer = client.get("/api/v1/changes/?object_type=core.apitoken", headers=bearer("viewer")).json()
    seen_by_admin = client.get("/api/v1/changes/?object_type=core.apitoken", headers=bearer("admin")).json()

    assert seen_by_viewer["count"] == 0
    assert seen_by_admin["count"] >= 2


def test_failed_and_anonymous_requests_are_throttled_too(client, settings):
    cache.clear()
    settings.API_RATE_LIMIT = "2/min"
    wrong = {"Authorization": "Bearer wrong"}

    assert [client.get("/api/v1/models/", headers=wrong).status_code for _ in range(3)] == [401, 401, 429]
    assert [client.get("/api/v1/models/").status_code for _ in range(3)] == [401, 401, 429]
    cache.clear()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/models/", {"reference": "pkg:huggingface/esc%1Bns/model"}, "reference"),
        ("/api/v1/models/", {"reference": "huggingface:org/m\u202eodel"}, "reference"),
        ("/api/v1/models/", {"source": "huggingface", "upstream_id": "n" * 101 + "/m"}, "upstream_id"),
        ("/api/v1/models/", {"reference": "huggingface:org/m", "audit_status": "approved"}, "audit_status"),
        (
            "/api/v1/deployments/",
            {"model": f"huggingface:org/m@{SHA}", "system": "s\u202e", "environment": "dev"},
            "system",
        ),
    ],
)
def test_bad_input_is_refused_by_field_and_stores_nothing(client, path, body, field):
    response = post(client, path, body, bearer("admin"))

    assert response.status_code == 400, response.content
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not AIModel.objects.exists()


def test_unknown_patch_fields_are_refused(client):
    target = model("org/m", publisher("org", "US"))
    admin = bearer("admin")
    etag = client.get(f"/api/v1/models/{target.pk}/", headers=admin)["ETag"]

    response = client.patch(
        f"/api/v1/models/{target.pk}/", {"audit_status": "approved"}, content_type="application/json",
        headers={**admin, "If-Match": etag},
    )  # fmt: skip

    assert response.status_code == 400
    assert AIModel.objects.get(pk=target.pk).audit_status == "unaudited"


@pytest.mark.parametrize("header", ["*", "W/{etag}", '"other", {etag}'])
def test_if_match_accepts_any_weak_and_listed_tags(client, header):
    target = model("org/m", publisher("org", "US"))
    admin = bearer("admin")
    etag = client.get(f"/api/v1/models/{target.pk}/", headers=admin)["ETag"]

    response = client.patch(
        f"/api/v1/models/{target.pk}/", {"task": "x"}, content_type="application/json",
        headers={**admin, "If-Match": header.format(etag=etag)},
    )  # fmt: skip

    assert response.status_code == 200


def test_errors_are_problem_json_even_for_html_clients_and_unknown_routes(client):
    html = client.get("/api/v1/models/", headers={"Accept": "text/html"})
    unknown = client.get("/api/v1/nope/", headers=bearer("viewer", name="lost"))
    form = client.post(
        "/api/v1/models/",
        "reference=huggingface:a/b",
        content_type="application/x-www-form-urlencoded",
        headers=bearer("admin"),
    )
    huge = client.get("/api/v1/deployments/?model=99999999999999999999", headers=bearer("viewer"))

    assert (html.status_code, html["Content-Type"]) == (406, "application/problem+json")  # JSON only
    assert html.json()["status"] == 406
    assert (unknown.status_code, unknown["Content-Type"]) == (404, "application/problem+json")
    assert (form.status_code, form["Content-Type"]) == (415, "application/problem+json")
    assert huge.status_code == 400
    assert not AIModel.objects.exists()


def test_the_schema_documents_bearer_authentication(client):
    schema = client.get("/api/schema/?format=json", headers=bearer("viewer")).json()

    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "an API token from manage.py create_token",
    }  # fmt: skip
