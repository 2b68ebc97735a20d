"""What Schemathesis found the API taking that its schema does not allow: values of another JSON type,
misspelt booleans and repeated parameters in queries, an offset beside a cursor. Each is a 400 naming it.
And the links a model carries, built without a reverse() per row, are the router's."""

import pytest
from django.urls import reverse

from core.changelog import Actor
from core.models import Job
from core.tokens import issue_token
from inventory.models import AIModel
from tests.inventory_helpers import model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture
def api(client):
    secret = issue_token(actor=Actor.system("test"), name="contract", role="admin").secret
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def fields_of(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"hold_seconds": False}, "hold_seconds", "must be a number"),
        ({"hold_seconds": "1"}, "hold_seconds", "must be a number"),
    ],
)
def test_a_body_value_of_another_json_type_is_refused(api, body, field, message):
    response = api.post("/api/v1/jobs/worker-check/", body, content_type="application/json")

    assert fields_of(response) == {field: message}
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"task": 5}, "must be a string"),
        ({"gated": "yes"}, "must be a boolean"),
        ({"parameter_count": "7"}, "must be an integer"),
        ({"tags": ["a", 1]}, "item 1 must be a string"),
        ({"publisher": 3}, "must be a string"),
    ],
)
def test_a_correction_of_another_json_type_is_refused_and_changes_nothing(api, body, message):
    instance = model("acme/bot", publisher("acme"))
    etag = api.get(f"/api/v1/models/{instance.pk}/")["ETag"]

    response = api.patch(f"/api/v1/models/{instance.pk}/", body, content_type="application/json", HTTP_IF_MATCH=etag)

    assert fields_of(response) == {next(iter(body)): message}
    assert AIModel.objects.get(pk=instance.pk).updated_at == instance.updated_at


@pytest.mark.parametrize("query", ["active=maybe", "active=null"])
def test_a_boolean_filter_takes_true_or_false_only(api, query):
    assert fields_of(api.get(f"/api/v1/deployments/?{query}")) == {"active": "true or false"}
    assert api.get("/api/v1/deployments/?active=false").status_code == 200
    assert api.get("/api/v1/artifacts/?pickle_based=true").status_code == 200


def test_a_repeated_query_parameter_is_refused(api):
    assert fields_of(api.get("/api/v1/models/?limit=1&limit=2")) == {"limit": "given more than once"}


def test_an_offset_beside_a_cursor_is_still_checked(api):
    assert set(fields_of(api.get("/api/v1/models/?cursor=&offset=x"))) == {"offset"}


def test_a_model_links_where_the_router_serves_it(api):
    instance = model("acme/bot", publisher("acme"))

    links = api.get("/api/v1/models/").json()["results"][0]["links"]

    assert links == {
        "self": "http://testserver" + reverse("model-detail", args=[instance.pk]),
        "lineage": "http://testserver" + reverse("model-lineage", args=[instance.pk]),
        "revisions": "http://testserver" + reverse("revision-list") + f"?model={instance.pk}",
        "audits": "http://testserver" + reverse("audit-list") + f"?model={instance.pk}",
    }
